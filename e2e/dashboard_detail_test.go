package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
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

// detailRig is the edge's route table with the dashboard, a running webhook dispatcher and
// explorer links, one merchant (xpub on ERC20, its own address on TRC20) whose webhooks go
// to a local endpoint, and the orders service to build orders' states with.
type detailRig struct {
	base   string
	st     *store.Store
	svc    *users.Service
	orders *orders.Service
	m      *checkout.Merchant
	addr   string // the merchant's TRC20 receive address
	feed   atomic.Int64
}

func newDetailRig(t *testing.T) *detailRig {
	t.Helper()
	ctx := context.Background()
	st := store.New(redistest.Shared(t).Client(t), redistest.Prefix())
	svc := &users.Service{Store: st, Params: users.Params{Time: 1, Memory: 8 * 1024, Threads: 1}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	os := &orders.Service{Store: st, PublicURL: base}
	disp := &outbox.Dispatcher{Store: st, Client: outbox.NewClient(true, 5*time.Second), Poll: 20 * time.Millisecond,
		Backoff: outbox.Backoff{Base: time.Hour}}
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = disp.Run(dctx) }()
	t.Cleanup(func() { cancel(); <-done })
	d, err := dashboard.New(dashboard.Config{Users: svc, Store: st, Actions: os, Origin: base, Dev: true, Webhooks: disp,
		Explorers: map[checkout.Network]string{checkout.ERC20: "https://explorer.example/tx/{tx}"}})
	if err != nil {
		t.Fatal(err)
	}
	s := &api.Server{Store: st, Orders: os, Auth: &auth.Verifier{Keys: st}, Dev: true, ExtraRoutes: d.Routes, Webhooks: disp}
	hs := &fasthttp.Server{Handler: s.Handler()}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown() })

	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"received":true}`)
	}))
	t.Cleanup(hook.Close)
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<30))
	m := &checkout.Merchant{ID: ids.Merchant(), Name: "Acme Tea 茶", XPubs: map[checkout.Network]string{}, WebhookURL: hook.URL + "/hook",
		WebhookSecret: "whsec_e2e", CreatedAt: time.Now()}
	x, err := deposit.DevAccountXPub(checkout.ERC20, uint32(n.Int64())+2000)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := deposit.ParseAccountXPub(x)
	m.XPubs[checkout.ERC20] = x
	if err := st.CreateMerchant(ctx, m, &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk"}, []string{k.Fingerprint()}); err != nil {
		t.Fatal(err)
	}
	var a [20]byte
	_, _ = rand.Read(a[:])
	addr := deposit.EncodeTRON(a)
	if err := st.SetReceive(ctx, m, checkout.TRC20, checkout.ReceiveConfig{Mode: checkout.ReceiveAddresses, Addresses: []string{addr}}); err != nil {
		t.Fatal(err)
	}
	if m, err = st.Merchant(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	return &detailRig{base: base, st: st, svc: svc, orders: os, m: m, addr: addr}
}

func (g *detailRig) order(t *testing.T, body string) *checkout.Order {
	t.Helper()
	p, err := orders.ParseCreate([]byte(body), "", orders.Policy{Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := g.orders.Create(context.Background(), g.m, p)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func detailTx() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "0x" + hex.EncodeToString(b[:])
}

// pay applies a transfer to the order as the settlement consumer does with the watcher's
// observations: seen, then confirmed.
func (g *detailRig) pay(t *testing.T, o *checkout.Order, amount string) {
	t.Helper()
	a, _ := checkout.ParseAmount(amount)
	tx := detailTx()
	for _, kind := range []checkout.TransferKind{checkout.TransferSeen, checkout.TransferConfirmed} {
		pos := strconv.FormatInt(time.Now().UnixMilli(), 10) + "-" + strconv.FormatInt(g.feed.Add(1), 10)
		tr := &checkout.Transfer{Kind: kind, Network: o.Network, TxHash: tx, From: "0x1111111111111111111111111111111111111111",
			To: o.Address, Amount: a, BlockNumber: 7, Confirmations: 12, Required: 12, ObservedAt: time.Now()}
		if _, err := g.orders.ApplyTransfer(context.Background(), o.ID, pos, tr); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDashboardDetail drives the order page and the attention queue in Chromium: a paid
// order's timeline and webhook deliveries, Redeliver making a new attempt, an open order
// canceled from the queue (beside the unmatched transfer to its address), and an UNDERPAID
// order marked reviewed. Screenshots at 1280 and 360 px go to artifacts/.
func TestDashboardDetail(t *testing.T) {
	g := newDetailRig(t)
	ctx := context.Background()
	created, err := g.svc.CreateUser(ctx, users.CreateParams{Email: "ops@acme.example", MerchantID: g.m.ID}, users.OperatorActor)
	if err != nil {
		t.Fatal(err)
	}
	const pw = "green tea with honey"
	if _, err := g.svc.SetPassword(ctx, created.Token, pw, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	paid := g.order(t, `{"amount":"25","currency":"USDT","network":"ERC20","metadata":{"cart":"c-1001"}}`)
	g.pay(t, paid, "25")

	tab := newTab(t, newBrowser(t))
	shot := func(name string) {
		t.Helper()
		for _, width := range []int64{1280, 360} {
			if err := chromedp.Do(tab, chromedp.EmulateViewport(width, 800)); err != nil {
				t.Fatal(err)
			}
			if wide, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); wide > int(width) {
				t.Errorf("%s: page is %d px wide on a %d px screen", name, wide, width)
			}
			png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			saveArtifact(t, fmt.Sprintf("dashboard-%s-%d.png", name, width), png)
		}
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(g.base+"/dashboard/login"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "ops@acme.example"), chromedp.SendKeys("#password", pw+"\r")); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "signed in", `location.pathname === "/dashboard"`, 10*time.Second)

	// The order page: timeline, payment, and both deliveries answered (reloaded until the
	// dispatcher has made them).
	attempts := `document.querySelectorAll("tr.attempt").length`
	orderURL := g.base + "/dashboard/orders/" + paid.ID
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := chromedp.Do(tab, chromedp.Navigate(orderURL), chromedp.WaitVisible("#timeline")); err != nil {
			t.Fatal(err)
		}
		if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](attempts)); n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deliveries' attempts never showed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	text, err := chromedp.Run(tab, chromedp.Text("main"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"25 USDT", "Created", "Payment seen", "payment.confirmed", "received", "c-1001", "12 / 12"} {
		if !strings.Contains(text, want) {
			t.Errorf("order page lacks %q", want)
		}
	}
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("#timeline li").length`)); n < 3 {
		t.Errorf("timeline has %d events", n)
	}
	shot("order")

	// Redeliver the first delivery with the keyboard: a third attempt appears.
	if err := chromedp.Do(tab, chromedp.Focus("button.redeliver"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "redelivered notice", `location.search.includes("m=redelivered")`, 10*time.Second)
	deadline = time.Now().Add(15 * time.Second)
	for {
		if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](attempts)); n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new attempt after Redeliver")
		}
		time.Sleep(100 * time.Millisecond)
		if err := chromedp.Do(tab, chromedp.Reload(), chromedp.WaitVisible("#timeline")); err != nil {
			t.Fatal(err)
		}
	}

	// The queue: an UNDERPAID order, and a transfer of the wrong amount to the TRC20 address
	// beside the open order it was meant for.
	under := g.order(t, `{"amount":"10","currency":"USDT","network":"ERC20"}`)
	g.pay(t, under, "4")
	g.orders.Now = func() time.Time { return under.ExpiresAt.Add(time.Minute) }
	if x, err := g.orders.Expire(ctx, under.ID); err != nil || x.Status != checkout.StatusUnderpaid {
		t.Fatalf("expire: %+v %v", x, err)
	}
	g.orders.Now = nil
	open := g.order(t, `{"amount":"30","currency":"USDT","network":"TRC20"}`)
	time.Sleep(1100 * time.Millisecond) // first seen after the order's creation second
	tr := &checkout.Transfer{Kind: checkout.TransferConfirmed, Network: checkout.TRC20, TxHash: detailTx(), From: "TNo7Q6QfPAbtVZvWcVGZsRDYWy5TfL3mLQ",
		To: g.addr, Amount: 12_000_000, BlockNumber: 9, Confirmations: 19, Required: 19, ObservedAt: time.Now()}
	mt, err := g.st.MatchTransfer(ctx, strconv.FormatInt(time.Now().UnixMilli(), 10)+"-1", tr, false, time.Now())
	if err != nil || mt.State != "unmatched" {
		t.Fatalf("match: %+v %v", mt, err)
	}
	if err := g.st.IndexUnmatched(ctx, g.m.ID, tr, mt.FirstSeen); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(g.base+"/dashboard/attention"), chromedp.WaitVisible("#attention-list")); err != nil {
		t.Fatal(err)
	}
	text, _ = chromedp.Run(tab, chromedp.Text("main"))
	for _, want := range []string{under.ID, "Underpaid: 4 USDT of 10 USDT received", "12 USDT", open.ID} {
		if !strings.Contains(text, want) {
			t.Errorf("queue lacks %q", want)
		}
	}
	shot("attention")

	// Cancel the open order from the queue: its page shows CANCELED.
	if err := chromedp.Do(tab, chromedp.Click("#cancel-"+open.ID)); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "canceled order page", `location.pathname === "/dashboard/orders/`+open.ID+`" && document.querySelector(".badge.st-canceled") !== null && document.body.innerText.includes("The order is canceled.")`, 10*time.Second)
	if rec, _ := g.st.Order(ctx, open.ID); rec.Order.Status != checkout.StatusCanceled {
		t.Fatalf("status %s", rec.Order.Status)
	}

	// Mark the UNDERPAID order reviewed with a note: it leaves the queue, its page says so.
	if err := chromedp.Do(tab, chromedp.Navigate(g.base+"/dashboard/attention"), chromedp.WaitVisible("#note-"+under.ID),
		chromedp.SendKeys("#note-"+under.ID, "refunded 4 USDT off-line"), chromedp.Click("#review-"+under.ID)); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "reviewed", `location.search.includes("m=reviewed") && !document.body.innerText.includes(`+jsString(under.ID)+`)`, 10*time.Second)
	if err := chromedp.Do(tab, chromedp.Navigate(g.base+"/dashboard/orders/"+under.ID), chromedp.WaitVisible("#review")); err != nil {
		t.Fatal(err)
	}
	if rv, _ := chromedp.Run(tab, chromedp.Text("#review")); !strings.Contains(rv, "Reviewed by ops@acme.example") || !strings.Contains(rv, "refunded 4 USDT off-line") {
		t.Fatalf("review on the order page: %q", rv)
	}
	shot("order-reviewed")
}
