// Package shop is the demo's merchant: a small web shop on its own origin that does what a
// real merchant's server does with MP Checkout. It creates orders through the merchant API from
// its server side (the API key never reaches the browser), embeds the checkout with embed.js,
// verifies the webhooks it receives, and on the customer's return checks the order with
// GET /v1/orders/{id} instead of trusting the redirect. In dev mode it also hosts the dev-chain
// payer that the checkout's dev-only "pay" control calls.
package shop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/client/webhook"
)

// Product is what the shop sells: one item, for the demo.
const (
	ProductName  = "Single-origin coffee beans, 250 g"
	ProductPrice = "12.50"
)

// Payer pays an order on the development chain (the demo's dev-only control).
type Payer interface {
	PayOrder(ctx context.Context, o *checkout.CheckoutView) (txHash string, err error)
}

// Shop is the demo shop's HTTP handler.
type Shop struct {
	BaseURL       string         // this shop's own origin, e.g. http://127.0.0.1:8081
	EdgeURL       string         // the edge's public URL (embed.js, the checkout)
	API           *client.Client // the merchant API, with the shop's key
	WebhookSecret string         // verifies MP-Signature
	Payer         Payer          // nil: no dev payer
	Log           *slog.Logger

	mu       sync.Mutex
	received []Received // newest last
}

// Received is one webhook request the shop got, with the outcome of its verification.
type Received struct {
	At       time.Time          `json:"at"`
	Verified bool               `json:"verified"`
	Error    string             `json:"error,omitempty"`
	EventID  string             `json:"event_id,omitempty"`
	Type     checkout.EventType `json:"type,omitempty"`
	OrderID  string             `json:"order_id,omitempty"`
	Status   checkout.Status    `json:"status,omitempty"`
}

// Handler returns the shop's routes.
func (s *Shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("POST /buy", s.buy)
	mux.HandleFunc("GET /order/{id}", s.order)
	mux.HandleFunc("GET /return", s.returned)
	mux.HandleFunc("POST /webhooks", s.webhook)
	mux.HandleFunc("GET /webhooks.json", s.webhooksJSON)
	mux.HandleFunc("GET /shop.js", s.script)
	mux.HandleFunc("POST /dev/pay", s.devPay)
	mux.HandleFunc("OPTIONS /dev/pay", s.devPay)
	return securityHeaders(mux, s.EdgeURL)
}

// securityHeaders: the shop's pages load scripts only from itself and the edge (embed.js) and
// frame only the edge's checkout.
func securityHeaders(next http.Handler, edge string) http.Handler {
	csp := "default-src 'self'; script-src 'self' " + edge + "; frame-src " + edge +
		"; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "strict-origin-when-cross-origin")
		next.ServeHTTP(w, r)
	})
}

func (s *Shop) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Shop) home(w http.ResponseWriter, r *http.Request) {
	// A cart id per page view: the order's idempotency key, so a double click or a retried
	// POST /buy never makes two orders.
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	render(w, http.StatusOK, homePage, map[string]any{"Name": ProductName, "Price": ProductPrice, "Cart": hex.EncodeToString(b)})
}

func (s *Shop) buy(w http.ResponseWriter, r *http.Request) {
	network, err := checkout.ParseNetwork(r.FormValue("network"))
	cart := r.FormValue("cart")
	if err != nil || len(cart) != 16 {
		http.Error(w, "choose a network", http.StatusBadRequest)
		return
	}
	o, err := s.API.CreateOrder(r.Context(), &client.OrderParams{
		Amount: ProductPrice, Network: network, Description: ProductName,
		ReturnURL: s.BaseURL + "/return", Metadata: map[string]string{"cart": cart, "sku": "coffee-250"},
		IdempotencyKey: "cart_" + cart,
	})
	if err != nil {
		s.log().Error("shop: create order", "err", err)
		render(w, http.StatusBadGateway, errorPage, map[string]any{"Message": "The payment service refused the order: " + err.Error()})
		return
	}
	http.Redirect(w, r, "/order/"+url.PathEscape(o.ID), http.StatusSeeOther)
}

func (s *Shop) order(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !strings.HasPrefix(id, "ord_") {
		http.NotFound(w, r)
		return
	}
	render(w, http.StatusOK, orderPage, map[string]any{"ID": id, "Edge": s.EdgeURL, "Name": ProductName, "Price": ProductPrice})
}

// returned is the return_url. The redirect proves nothing (anyone can type this URL): the shop
// asks the API for the order's status.
func (s *Shop) returned(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("order_id")
	o, err := s.API.GetOrder(r.Context(), id)
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.HTTPStatus == http.StatusNotFound {
		render(w, http.StatusNotFound, errorPage, map[string]any{"Message": "No such order."})
		return
	}
	if err != nil {
		render(w, http.StatusBadGateway, errorPage, map[string]any{"Message": "Could not check the order: " + err.Error()})
		return
	}
	render(w, http.StatusOK, returnPage, map[string]any{"Order": o, "Paid": o.Status == checkout.StatusPaid})
}

// webhook is the shop's webhook endpoint: verify, record, answer 2xx quickly.
func (s *Shop) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	rec := Received{At: time.Now().UTC()}
	ev, err := webhook.ConstructEvent(body, r.Header.Get(webhook.Header), s.WebhookSecret)
	if err != nil {
		rec.Error = err.Error()
		s.add(rec)
		s.log().Warn("shop: webhook refused", "err", err)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	rec.Verified, rec.EventID, rec.Type, rec.OrderID, rec.Status = true, ev.ID, ev.Type, ev.Data.Order.ID, ev.Data.Order.Status
	s.add(rec)
	s.log().Info("shop: webhook verified", "event_id", ev.ID, "type", ev.Type, "order_id", ev.Data.Order.ID, "status", ev.Data.Order.Status)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Shop) add(r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received = append(s.received, r)
	if len(s.received) > 1000 {
		s.received = s.received[len(s.received)-1000:]
	}
}

// Webhooks returns the webhooks received for the order ("" for all), oldest first.
func (s *Shop) Webhooks(orderID string) []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Received{}
	for _, r := range s.received {
		if orderID == "" || r.OrderID == orderID {
			out = append(out, r)
		}
	}
	return out
}

func (s *Shop) webhooksJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(s.Webhooks(r.URL.Query().Get("order")))
}

// devPay pays an order on the dev chain: the target of the checkout's dev-only control (a form
// posted from the edge's origin, or a fetch with CORS). It pays only what the checkout page
// asked for (sameSite: a page of another site cannot make a visitor's browser spend the dev
// payer's funds) and only orders of the shop's own merchant, read with the shop's API key
// (another merchant's order is a 404, as in the API).
func (s *Shop) devPay(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", s.EdgeURL)
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if s.Payer == nil {
		http.Error(w, "no dev payer", http.StatusNotFound)
		return
	}
	if !s.sameSite(r) {
		s.log().Warn("shop: dev pay refused: cross-site request", "origin", r.Header.Get("Origin"),
			"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		http.Error(w, "dev pay accepts only the checkout's own request", http.StatusForbidden)
		return
	}
	id := r.FormValue("order")
	o, err := s.ownOrder(r.Context(), id)
	if errors.Is(err, errNoOrder) {
		http.Error(w, "no such order", http.StatusNotFound)
		return
	}
	if err != nil {
		s.log().Error("shop: dev pay: read order", "order_id", id, "err", err)
		http.Error(w, "could not read the order", http.StatusBadGateway)
		return
	}
	if o.Status.Terminal() {
		http.Error(w, "the order is "+string(o.Status)+": nothing to pay", http.StatusConflict)
		return
	}
	view := o.CheckoutView()
	tx, err := s.Payer.PayOrder(r.Context(), &view)
	if err != nil {
		s.log().Error("shop: dev pay", "order_id", id, "err", err)
		http.Error(w, "dev payment failed: "+err.Error(), http.StatusBadGateway)
		return
	}
	s.log().Info("shop: paid on the dev chain", "order_id", id, "amount", view.PayAmount.String(), "tx", tx)
	render(w, http.StatusOK, paidPage, map[string]any{"Amount": view.PayAmount.String(), "Network": view.Network, "Tx": tx})
}

// sameSite reports whether r may be the checkout's own post. The checkout page is served with
// Referrer-Policy: no-referrer, so its form arrives with Origin: null and cannot carry a token
// of the shop's; the browser's Sec-Fetch-Site still tells a page of another site
// ("cross-site") from the checkout, which shares the shop's site in the demo ("same-site").
// A real Origin must be the edge's or the shop's. Browsers that send no fetch metadata
// (plain-http origins other than localhost, old browsers) must name one of those origins;
// a request with neither header comes from no browser (curl), which no other page can drive.
func (s *Shop) sameSite(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin != "" && origin != "null" && origin != originOf(s.EdgeURL) && origin != originOf(s.BaseURL) {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "same-site":
		return true
	case "":
		return origin != "null"
	}
	return false // cross-site, none (no user types a POST) or unknown
}

func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

var errNoOrder = errors.New("no such order")

// ownOrder reads an order of the shop's merchant through the merchant API; an unknown id and
// another merchant's order are both errNoOrder.
func (s *Shop) ownOrder(ctx context.Context, id string) (*checkout.Order, error) {
	if !strings.HasPrefix(id, "ord_") || len(id) > 64 || strings.ContainsAny(id, "/?#%") {
		return nil, errNoOrder
	}
	o, err := s.API.GetOrder(ctx, id)
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.HTTPStatus == http.StatusNotFound {
		return nil, errNoOrder
	}
	return o, err
}

func (s *Shop) script(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_, _ = io.WriteString(w, shopJS)
}

func render(w http.ResponseWriter, status int, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := t.Execute(w, data); err != nil {
		slog.Default().Error("shop: render", "err", err)
	}
}
