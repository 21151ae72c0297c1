package dashboard_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client/webhook"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/dashboard"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/outbox"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
	"github.com/mpchat/checkout/internal/redistest"
)

// hook is a merchant's webhook endpoint: it records what it gets and answers 200 "ok from
// the shop".
type hook struct {
	mu     sync.Mutex
	bodies []string
	sigs   []string
	srv    *httptest.Server
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, string(b))
		h.sigs = append(h.sigs, r.Header.Get(webhook.Header))
		h.mu.Unlock()
		_, _ = io.WriteString(w, "ok from the shop\n")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) count(typ string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, b := range h.bodies {
		if strings.Contains(b, `"type":"`+typ+`"`) {
			n++
		}
	}
	return n
}

// detailEdge is the edge with the dashboard's every area served (Store, Actions, a running
// webhook dispatcher, explorer links).
type detailEdge struct {
	*edge
	orders *orders.Service
}

const explorerEth = "https://explorer.example/tx/{tx}"

func newDetailEdge(t *testing.T) *detailEdge {
	t.Helper()
	st := store.New(redistest.Shared(t).Client(t), redistest.Prefix())
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	svc := &users.Service{Store: st, Now: c.Now, Params: users.Params{Time: 1, Memory: 8 * 1024, Threads: 1}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	os := &orders.Service{Store: st, PublicURL: base}
	disp := &outbox.Dispatcher{Store: st, Client: outbox.NewClient(true, 5*time.Second), Timeout: 5 * time.Second,
		Poll: 20 * time.Millisecond, Backoff: outbox.Backoff{Base: time.Hour}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = disp.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	d, err := dashboard.New(dashboard.Config{Users: svc, Store: st, Actions: os, Origin: base, Dev: true,
		Explorers: map[checkout.Network]string{checkout.ERC20: explorerEth, checkout.TRC20: "https://tron.example/#/transaction/{tx}"},
		Webhooks:  disp})
	if err != nil {
		t.Fatal(err)
	}
	s := &api.Server{Store: st, Orders: os, Auth: &auth.Verifier{Keys: st}, Dev: true, ExtraRoutes: d.Routes, Webhooks: disp}
	hs := &fasthttp.Server{Handler: s.Handler()}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown() })
	return &detailEdge{edge: &edge{t: t, url: base, st: st, svc: svc, clock: c, ctx: context.Background()}, orders: os}
}

// xpubMerchant is a merchant with development xpubs of a random account, its webhooks going to wh.
func (e *detailEdge) xpubMerchant(name, wh string) *checkout.Merchant {
	e.t.Helper()
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<30))
	m := &checkout.Merchant{ID: ids.Merchant(), Name: name, XPubs: map[checkout.Network]string{}, WebhookURL: wh,
		WebhookSecret: "whsec_" + name, CreatedAt: time.Now(), RateLimit: 1000}
	var fps []string
	for _, nw := range []checkout.Network{checkout.ERC20, checkout.TRC20} {
		x, err := deposit.DevAccountXPub(nw, uint32(n.Int64())+1000)
		if err != nil {
			e.t.Fatal(err)
		}
		k, _ := deposit.ParseAccountXPub(x)
		m.XPubs[nw] = x
		fps = append(fps, k.Fingerprint())
	}
	if err := e.st.CreateMerchant(e.ctx, m, &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk"}, fps); err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *detailEdge) order(m *checkout.Merchant, body string) *checkout.Order {
	e.t.Helper()
	p, err := orders.ParseCreate([]byte(body), "", orders.Policy{Dev: true})
	if err != nil {
		e.t.Fatal(err)
	}
	o, _, err := e.orders.Create(e.ctx, m, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func txHash() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "0x" + hex.EncodeToString(b[:])
}

var feedSeq struct {
	sync.Mutex
	n int
}

// pay applies a transfer of amount to the order as the settlement consumer would (seen, then
// confirmed when final), at a fresh feed position.
func (e *detailEdge) pay(o *checkout.Order, amount string, final bool) string {
	e.t.Helper()
	a, _ := checkout.ParseAmount(amount)
	tx := txHash()
	for _, kind := range []checkout.TransferKind{checkout.TransferSeen, checkout.TransferConfirmed} {
		if kind == checkout.TransferConfirmed && !final {
			break
		}
		feedSeq.Lock()
		feedSeq.n++
		pos := time.Now().UnixMilli()
		seq := feedSeq.n
		feedSeq.Unlock()
		tr := &checkout.Transfer{Kind: kind, Network: o.Network, TxHash: tx, From: "0x1111111111111111111111111111111111111111",
			To: o.Address, Amount: a, BlockNumber: 7, Confirmations: 12, Required: 12, ObservedAt: time.Now()}
		if _, err := e.orders.ApplyTransfer(e.ctx, o.ID, itoa(pos)+"-"+itoa(int64(seq)), tr); err != nil {
			e.t.Fatal(err)
		}
	}
	return tx
}

func itoa(n int64) string { return big.NewInt(n).String() }

// signIn makes a user of m with a password and returns its session cookie.
func (e *detailEdge) signIn(m *checkout.Merchant, email string) string {
	e.t.Helper()
	e.user(m, email, "a long enough password")
	return e.login(email, "a long enough password", "")
}

// until polls cond for up to 10 s.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOrderPage(t *testing.T) {
	e := newDetailEdge(t)
	wh := newHook(t)
	m := e.xpubMerchant("Acme", wh.srv.URL+"/hook")
	cookie := e.signIn(m, "ops@acme.example")
	o := e.order(m, `{"amount":"10","currency":"USDT","network":"ERC20","description":"Tea <b>box</b>",
		"metadata":{"cart":"<script>alert(1)</script>","user":"42"}}`)
	tx := e.pay(o, "10", true)
	until(t, "payment.confirmed delivered", func() bool { return wh.count("payment.confirmed") == 1 })

	var page resp
	until(t, "the page showing both deliveries delivered", func() bool {
		page = e.do("GET", "/dashboard/orders/"+o.ID, nil, cookie, nil)
		return strings.Count(page.body, `class="attempt"`) == 2
	})
	checkHeaders2(t, page)
	for _, want := range []string{
		"10 USDT", `>Paid<`, o.Address,
		`href="https://explorer.example/address/` + o.Address + `"`, // the address's explorer page
		`href="https://explorer.example/tx/` + tx + `"`,             // the payment's
		"12 / 12",                     // confirmations
		">Created<", ">Payment seen<", // the timeline
		`&lt;script&gt;alert(1)&lt;/script&gt;`, "Tea &lt;b&gt;box&lt;/b&gt;", // escaped
		"payment.detected", "payment.confirmed", ">200<", "ok from the shop", // deliveries and attempts
		`id="send-test"`,
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("order page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "<script>alert") || strings.Contains(page.body, "<b>box") {
		t.Fatal("order data is not escaped")
	}

	// Redeliver: a third attempt, and the audit log names it.
	evt := regexp.MustCompile(`id="redeliver-(evt_[0-9A-Z]+)"`).FindStringSubmatch(page.body)
	if evt == nil {
		t.Fatal("no Redeliver button")
	}
	csrf := csrfOf(t, page.body)
	r := e.do("POST", "/dashboard/orders/"+o.ID+"/webhooks/"+evt[1]+"/redeliver", url.Values{"csrf": {csrf}}, cookie, nil)
	if r.status != 303 || r.header.Get("Location") != "/dashboard/orders/"+o.ID+"?m=redelivered" {
		t.Fatalf("redeliver: %d %q", r.status, r.header.Get("Location"))
	}
	until(t, "the redelivered attempt", func() bool {
		return strings.Count(e.do("GET", "/dashboard/orders/"+o.ID, nil, cookie, nil).body, `class="attempt"`) == 3
	})
	// Unknown event: 404, nothing queued.
	if r := e.do("POST", "/dashboard/orders/"+o.ID+"/webhooks/evt_NOPE/redeliver", url.Values{"csrf": {csrf}}, cookie, nil); r.status != 404 {
		t.Fatalf("unknown event: %d", r.status)
	}

	// The test event: signed with the merchant's secret, type webhook.test, its answer shown.
	r = e.do("POST", "/dashboard/orders/"+o.ID+"/webhooks/test", url.Values{"csrf": {csrf}}, cookie, nil)
	if r.status != 303 || !strings.HasSuffix(r.header.Get("Location"), "?m=tested") {
		t.Fatalf("test event: %d %q", r.status, r.header.Get("Location"))
	}
	if wh.count("webhook.test") != 1 {
		t.Fatal("no webhook.test event received")
	}
	wh.mu.Lock()
	body, sig := wh.bodies[len(wh.bodies)-1], wh.sigs[len(wh.sigs)-1]
	wh.mu.Unlock()
	ev, err := webhook.ConstructEvent([]byte(body), sig, m.WebhookSecret)
	if err != nil || ev.Type != checkout.EventWebhookTest || !strings.Contains(body, `"order_id":"`+o.ID+`"`) {
		t.Fatalf("test event %v %v %s", ev, err, body)
	}
	page = e.do("GET", "/dashboard/orders/"+o.ID+"?m=tested", nil, cookie, nil)
	res := regexp.MustCompile(`(?s)id="test-result".*?</table>`).FindString(page.body)
	if !strings.Contains(res, ">200<") || !strings.Contains(res, "ok from the shop") || !strings.Contains(page.body, "The test event was sent") {
		t.Fatalf("test result not shown:\n%s", res)
	}
	// A PAID order needs no review and cannot be canceled.
	if r := e.do("POST", "/dashboard/orders/"+o.ID+"/review", url.Values{"csrf": {csrf}, "note": {"x"}}, cookie, nil); r.status != 409 {
		t.Fatalf("review of a paid order: %d", r.status)
	}
	if r := e.do("POST", "/dashboard/orders/"+o.ID+"/cancel", url.Values{"csrf": {csrf}}, cookie, nil); r.status != 409 ||
		!strings.Contains(r.body, "only a PENDING order") {
		t.Fatalf("cancel of a paid order: %d", r.status)
	}
	log, _ := e.svc.Audit(e.ctx, m.ID, 10)
	var acts []string
	for _, a := range log {
		acts = append(acts, a.Action)
	}
	if got := strings.Join(acts, " "); !strings.HasPrefix(got, "webhook.test_sent webhook.redelivered") {
		t.Fatalf("audit: %s", got)
	}
	// Malformed and unknown ids are 404.
	for _, p := range []string{"/dashboard/orders/nope", "/dashboard/orders/" + ids.Order()} {
		if r := e.do("GET", p, nil, cookie, nil); r.status != 404 {
			t.Fatalf("%s: %d", p, r.status)
		}
	}
}

// checkHeaders2 is checkHeaders for pages that link to the operator's explorer (https links).
func checkHeaders2(t *testing.T, r resp) {
	t.Helper()
	csp := r.header.Get("Content-Security-Policy")
	if strings.Contains(csp, "script-src") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(r.body, "<script") {
		t.Errorf("CSP %q or a script in the page", csp)
	}
}

func TestAttentionQueue(t *testing.T) {
	e := newDetailEdge(t)
	m := e.xpubMerchant("Acme", "")
	cookie := e.signIn(m, "ops@acme.example")
	// UNDERPAID: 4 of 10 confirmed, then expired.
	under := e.order(m, `{"amount":"10","currency":"USDT","network":"ERC20"}`)
	e.pay(under, "4", true)
	e.orders.Now = func() time.Time { return under.ExpiresAt.Add(time.Minute) }
	if x, err := e.orders.Expire(e.ctx, under.ID); err != nil || x.Status != checkout.StatusUnderpaid {
		t.Fatalf("expire: %+v %v", x, err)
	}
	e.orders.Now = nil
	q := e.do("GET", "/dashboard/attention", nil, cookie, nil)
	if q.status != 200 || !strings.Contains(q.body, `id="item-`+under.ID+`"`) || !strings.Contains(q.body, "Underpaid: 4 USDT of 10 USDT received") {
		t.Fatalf("queue %d\n%s", q.status, q.body)
	}
	csrf := csrfOf(t, q.body)
	// A note too long: 400 beside the field, nothing stored, still queued.
	r := e.do("POST", "/dashboard/orders/"+under.ID+"/review", url.Values{"csrf": {csrf}, "note": {strings.Repeat("é", 501)}, "from": {"attention"}}, cookie, nil)
	if r.status != 400 || !strings.Contains(r.body, `aria-invalid="true"`) || !strings.Contains(r.body, "at most 500 characters") {
		t.Fatalf("long note: %d\n%s", r.status, r.body)
	}
	if rv, _ := e.st.OrderReview(e.ctx, under.ID); rv != nil {
		t.Fatal("a refused review was stored")
	}
	r = e.do("POST", "/dashboard/orders/"+under.ID+"/review", url.Values{"csrf": {csrf}, "note": {"refunded 4 USDT <off-line>"}, "from": {"attention"}}, cookie, nil)
	if r.status != 303 || r.header.Get("Location") != "/dashboard/attention?m=reviewed" {
		t.Fatalf("review: %d %q", r.status, r.header.Get("Location"))
	}
	if q := e.do("GET", "/dashboard/attention", nil, cookie, nil); strings.Contains(q.body, under.ID) || !strings.Contains(q.body, "Nothing needs attention") {
		t.Fatalf("reviewed order still queued:\n%s", q.body)
	}
	page := e.do("GET", "/dashboard/orders/"+under.ID, nil, cookie, nil)
	if !strings.Contains(page.body, "Reviewed by ops@acme.example on ") || !strings.Contains(page.body, "refunded 4 USDT &lt;off-line&gt;") {
		t.Fatalf("review not on the order page:\n%s", page.body)
	}
	// Late funds on the reviewed order: it is back in the queue.
	e.pay(under, "1", true)
	if q := e.do("GET", "/dashboard/attention", nil, cookie, nil); !strings.Contains(q.body, "Late funds: 1 USDT") ||
		!strings.Contains(q.body, "Reviewed before by ops@acme.example") {
		t.Fatalf("late funds not queued:\n%s", q.body)
	}

	// Cancel: PENDING with nothing received; 409 once something was seen.
	open := e.order(m, `{"amount":"3","currency":"USDT","network":"ERC20"}`)
	r = e.do("POST", "/dashboard/orders/"+open.ID+"/cancel", url.Values{"csrf": {csrf}}, cookie, nil)
	if r.status != 303 || r.header.Get("Location") != "/dashboard/orders/"+open.ID+"?m=canceled" {
		t.Fatalf("cancel: %d %q", r.status, r.header.Get("Location"))
	}
	if rec, _ := e.st.Order(e.ctx, open.ID); rec.Order.Status != checkout.StatusCanceled {
		t.Fatalf("status after cancel: %s", rec.Order.Status)
	}
	seen := e.order(m, `{"amount":"3","currency":"USDT","network":"ERC20"}`)
	e.pay(seen, "3", false)
	if r := e.do("POST", "/dashboard/orders/"+seen.ID+"/cancel", url.Values{"csrf": {csrf}}, cookie, nil); r.status != 409 ||
		!strings.Contains(r.body, "funds were received") {
		t.Fatalf("cancel with funds seen: %d", r.status)
	}
}

// addrMerchant is a merchant receiving TRC20 on its own address.
func (e *detailEdge) addrMerchant(name string) (*checkout.Merchant, string) {
	m := e.xpubMerchant(name, "")
	var a [20]byte
	_, _ = rand.Read(a[:])
	addr := deposit.EncodeTRON(a)
	if err := e.st.SetReceive(e.ctx, m, checkout.TRC20, checkout.ReceiveConfig{Mode: checkout.ReceiveAddresses, Addresses: []string{addr}}); err != nil {
		e.t.Fatal(err)
	}
	got, err := e.st.Merchant(e.ctx, m.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return got, addr
}

// unmatched records a transfer to addr that matches no order, as settlement does.
func (e *detailEdge) unmatched(m *checkout.Merchant, addr, amount string) *checkout.Transfer {
	e.t.Helper()
	a, _ := checkout.ParseAmount(amount)
	tr := &checkout.Transfer{Kind: checkout.TransferConfirmed, Network: checkout.TRC20, TxHash: txHash(), From: "TNo7Q6QfPAbtVZvWcVGZsRDYWy5TfL3mLQ",
		To: addr, Amount: a, BlockNumber: 9, Confirmations: 19, Required: 19, ObservedAt: time.Now()}
	mt, err := e.st.MatchTransfer(e.ctx, itoa(time.Now().UnixMilli())+"-1", tr, false, time.Now())
	if err != nil || mt.State != "unmatched" {
		e.t.Fatalf("match: %+v %v", mt, err)
	}
	if err := e.st.IndexUnmatched(e.ctx, m.ID, tr, mt.FirstSeen); err != nil {
		e.t.Fatal(err)
	}
	return tr
}

func TestAttachUnmatchedTransfer(t *testing.T) {
	e := newDetailEdge(t)
	m, addr := e.addrMerchant("Acme")
	cookie := e.signIn(m, "ops@acme.example")
	o := e.order(m, `{"amount":"10","currency":"USDT","network":"TRC20"}`)
	time.Sleep(1100 * time.Millisecond) // the transfer must be first seen after the order's creation second
	tr := e.unmatched(m, addr, "7")
	q := e.do("GET", "/dashboard/attention", nil, cookie, nil)
	if !strings.Contains(q.body, "7 USDT") || !strings.Contains(q.body, `id="attach-`+o.ID+`"`) || !strings.Contains(q.body, `id="cancel-`+o.ID+`"`) {
		t.Fatalf("queue:\n%s", q.body)
	}
	csrf := csrfOf(t, q.body)
	form := func(orderID string) url.Values {
		return url.Values{"csrf": {csrf}, "tx_hash": {tr.TxHash}, "log_index": {"0"}, "key": {tr.TxHash[:18] + "-0"}, "order_id": {orderID}}
	}
	for _, c := range []struct {
		id, want string
		status   int
	}{{"", "Enter the order", 400}, {"ord_bad", "An order id is ord_", 400}, {ids.Order(), "There is no such order", 404}} {
		r := e.do("POST", "/dashboard/attention/attach", form(c.id), cookie, nil)
		if r.status != c.status || !strings.Contains(r.body, c.want) || !strings.Contains(r.body, `aria-invalid="true"`) {
			t.Fatalf("attach %q: %d\n%s", c.id, r.status, r.body)
		}
	}
	if rec, _ := e.st.Order(e.ctx, o.ID); len(rec.Order.Payments) != 0 {
		t.Fatal("refused attach credited the order")
	}
	r := e.do("POST", "/dashboard/attention/attach", form(o.ID), cookie, nil)
	if r.status != 303 || r.header.Get("Location") != "/dashboard/orders/"+o.ID+"?m=attached" {
		t.Fatalf("attach: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	rec, _ := e.st.Order(e.ctx, o.ID)
	if len(rec.Order.Payments) != 1 || rec.Order.Payments[0].TxHash != tr.TxHash {
		t.Fatalf("order after attach: %+v", rec.Order.Payments)
	}
	if q := e.do("GET", "/dashboard/attention", nil, cookie, nil); strings.Contains(q.body, "7 USDT") {
		t.Fatal("attached transfer still listed")
	}
	// Attaching it again (to another order) is the claim's 409.
	o2 := e.order(m, `{"amount":"5","currency":"USDT","network":"TRC20"}`)
	if r := e.do("POST", "/dashboard/attention/attach", form(o2.ID), cookie, nil); r.status != 409 || !strings.Contains(r.body, "already credited") {
		t.Fatalf("attach twice: %d\n%s", r.status, r.body)
	}
}

// TestDetailOtherMerchant: another merchant's user gets 404 on every route of the order page
// and the queue, and nothing changes.
func TestDetailOtherMerchant(t *testing.T) {
	e := newDetailEdge(t)
	m, addr := e.addrMerchant("Acme")
	other := e.xpubMerchant("Other", "")
	mine := e.signIn(m, "ops@acme.example")
	theirs := e.signIn(other, "ops@other.example")
	o := e.order(m, `{"amount":"10","currency":"USDT","network":"TRC20"}`)
	time.Sleep(1100 * time.Millisecond)
	tr := e.unmatched(m, addr, "7")
	if r := e.do("GET", "/dashboard/orders/"+o.ID, nil, mine, nil); r.status != 200 {
		t.Fatalf("own order: %d", r.status)
	}
	page := e.do("GET", "/dashboard/attention", nil, theirs, nil)
	if strings.Contains(page.body, "7 USDT") {
		t.Fatal("another merchant's transfer on the queue")
	}
	csrf := csrfOf(t, e.do("GET", "/dashboard", nil, theirs, nil).body)
	for _, c := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/dashboard/orders/" + o.ID, nil},
		{"GET", "/dashboard/attention?merchant=" + m.ID, nil},
		{"POST", "/dashboard/orders/" + o.ID + "/cancel", url.Values{"csrf": {csrf}}},
		{"POST", "/dashboard/orders/" + o.ID + "/review", url.Values{"csrf": {csrf}, "note": {"x"}}},
		{"POST", "/dashboard/orders/" + o.ID + "/webhooks/test", url.Values{"csrf": {csrf}}},
		{"POST", "/dashboard/orders/" + o.ID + "/webhooks/evt_X/redeliver", url.Values{"csrf": {csrf}}},
		{"POST", "/dashboard/attention/attach", url.Values{"csrf": {csrf}, "tx_hash": {tr.TxHash}, "log_index": {"0"}, "order_id": {o.ID}}},
		{"POST", "/dashboard/attention/attach?merchant=" + m.ID, url.Values{"csrf": {csrf}, "tx_hash": {tr.TxHash}, "log_index": {"0"}, "order_id": {o.ID}}},
	} {
		r := e.do(c.method, c.path, c.form, theirs, nil)
		if r.status != 404 || strings.Contains(r.body, o.Address) {
			t.Errorf("%s %s as another merchant: %d", c.method, c.path, r.status)
		}
	}
	rec, _ := e.st.Order(e.ctx, o.ID)
	if rec.Order.Status != checkout.StatusPending || len(rec.Order.Payments) != 0 {
		t.Fatalf("another merchant changed the order: %+v", rec.Order)
	}
	if rv, _ := e.st.OrderReview(e.ctx, o.ID); rv != nil {
		t.Fatal("another merchant reviewed the order")
	}
	if a, _ := e.st.WebhookTest(e.ctx, o.ID); a != nil {
		t.Fatal("another merchant sent a test event")
	}
	// An operator sees it.
	e.user(nil, "root@ops.example", "operator long password")
	op := e.login("root@ops.example", "operator long password", "")
	if r := e.do("GET", "/dashboard/orders/"+o.ID, nil, op, nil); r.status != 200 || !strings.Contains(r.body, m.ID) {
		t.Fatalf("operator: %d", r.status)
	}
	if r := e.do("GET", "/dashboard/attention?merchant="+m.ID, nil, op, nil); !strings.Contains(r.body, "7 USDT") {
		t.Fatalf("operator's queue:\n%s", r.body)
	}
}
