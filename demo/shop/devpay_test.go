package shop

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// recordingPayer stands in for the dev chain: these tests are about which requests reach it.
type recordingPayer struct {
	mu   sync.Mutex
	paid []checkout.CheckoutView
}

func (p *recordingPayer) PayOrder(_ context.Context, o *checkout.CheckoutView) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paid = append(p.paid, *o)
	return "0xfeed", nil
}

func (p *recordingPayer) count() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.paid) }

// edgeWithTwoMerchants runs a real merchant API (its store on the test Redis) with two
// merchants, and returns the edge's URL and each merchant's API client.
func edgeWithTwoMerchants(t *testing.T) (edgeURL string, shopAPI, otherAPI *client.Client) {
	t.Helper()
	srv := redistest.Shared(t)
	st := store.New(srv.Client(t), redistest.Prefix())
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	edgeURL = "http://" + ln.Addr().String()
	var clients []*client.Client
	for i, name := range []string{"shop", "other"} {
		xpub, err := deposit.DevAccountXPub(checkout.ERC20, uint32(700+i))
		if err != nil {
			t.Fatal(err)
		}
		k, err := deposit.ParseAccountXPub(xpub)
		if err != nil {
			t.Fatal(err)
		}
		m := &checkout.Merchant{ID: ids.Merchant(), Name: name, XPubs: map[checkout.Network]string{checkout.ERC20: xpub},
			WebhookSecret: "whsec_" + name, CreatedAt: time.Now().UTC()}
		key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_" + ids.Key(), CreatedAt: time.Now().UTC()}
		if err := st.CreateMerchant(ctx, m, key, []string{k.Fingerprint()}); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, client.New(edgeURL, key.ID, key.Secret))
	}
	s := &api.Server{Store: st, Orders: &orders.Service{Store: st, PublicURL: edgeURL},
		Auth: &auth.Verifier{Keys: st}, Log: slog.New(slog.DiscardHandler)}
	hs := &fasthttp.Server{Handler: s.Handler()}
	served := make(chan struct{})
	go func() { defer close(served); _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown(); <-served })
	return edgeURL, clients[0], clients[1]
}

// TestDevPayGuards: the dev payer pays only on a request the checkout page itself posted (not
// a cross-site page's forged form), and only orders of the shop's own merchant: another
// merchant's order, or an unknown one, is a 404 and nothing is paid.
func TestDevPayGuards(t *testing.T) {
	edgeURL, shopAPI, otherAPI := edgeWithTwoMerchants(t)
	ctx := context.Background()
	own, err := shopAPI.CreateOrder(ctx, &client.OrderParams{Amount: "12.50", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := otherAPI.CreateOrder(ctx, &client.OrderParams{Amount: "99", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	payer := &recordingPayer{}
	s := &Shop{BaseURL: "http://127.0.0.1:8081", EdgeURL: edgeURL, API: shopAPI, Payer: payer}
	h := s.Handler()
	post := func(order string, header map[string]string) int {
		req := httptest.NewRequest("POST", "/dev/pay", strings.NewReader(url.Values{"order": {order}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	// The checkout page (Referrer-Policy: no-referrer) posts with Origin: null; the browser
	// marks the request same-site (edge and shop share the host).
	fromCheckout := map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "null"}
	for _, c := range []struct {
		name   string
		order  string
		header map[string]string
		want   int
	}{
		{"cross-site form", own.ID, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "null"}, http.StatusForbidden},
		{"cross-site with an origin", own.ID, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"same-site page of another origin", own.ID, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:9999"}, http.StatusForbidden},
		{"no fetch metadata, foreign origin", own.ID, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"no fetch metadata, opaque origin", own.ID, map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"another merchant's order", foreign.ID, fromCheckout, http.StatusNotFound},
		{"unknown order", ids.Order(), fromCheckout, http.StatusNotFound},
		{"not an order id", "../v1/orders", fromCheckout, http.StatusNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := post(c.order, c.header); got != c.want {
				t.Errorf("status %d, want %d", got, c.want)
			}
			if n := payer.count(); n != 0 {
				t.Fatalf("the payer paid %d times", n)
			}
		})
	}
	if got := post(own.ID, fromCheckout); got != http.StatusOK {
		t.Fatalf("the checkout's own post: %d", got)
	}
	if got := post(own.ID, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8081"}); got != http.StatusOK {
		t.Fatalf("a post from the shop's own page: %d", got)
	}
	if payer.count() != 2 || payer.paid[0].ID != own.ID || payer.paid[0].Address != own.Address || payer.paid[0].PayAmount != own.PayAmount {
		t.Fatalf("paid %d times (first %+v), want twice the shop's order %s to %s", payer.count(), payer.paid[0], own.ID, own.Address)
	}
}
