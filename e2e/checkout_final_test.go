package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/page"
)

// TestCheckoutFinalStatesInBrowser covers what TestCheckoutStatesInBrowser does not: PAID with
// its receipt (and a surplus), FROZEN, CANCELED and the page at 0:00, from real orders paid
// on the dev chain, at 360 and 1280 px (screenshots under artifacts/); then, with the wasm
// running, that only PAID returns to the shop, after showing its receipt, and that the
// unhappy final statuses never do.
func TestCheckoutFinalStatesInBrowser(t *testing.T) {
	w := newWorld(t)
	dir := builtWasm(t)
	const delay = 2 * time.Second
	// The page reads the test's clock, so 0:00 comes when the test says; mainnet explorers.
	edge := w.startCheckoutEdge(t, "127.0.0.1", page.Config{WebDir: dir, ReturnDelay: delay, Now: w.clock.Now,
		Explorers: page.DefaultExplorers}, nil, nil)
	site := merchantSite(t, "127.0.0.2", edge.url)
	edge.merch.SupportEmail, edge.merch.SupportURL = "help@shop.example", "https://shop.example/help"
	if err := w.store.PutMerchant(w.ctx, edge.merch); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	newOrder := func(amount string) *checkout.Order {
		t.Helper()
		o, err := edge.client.CreateOrder(w.ctx, &client.OrderParams{Amount: amount, Network: checkout.TRC20,
			Description: "Order #1001", ReturnURL: site + "/return?cart=7"})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	get := func(id string) *checkout.Order {
		t.Helper()
		o, err := edge.client.GetOrder(w.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	wait := func(id, what string, cond func(*checkout.Order) bool) *checkout.Order {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if o, err := edge.client.GetOrder(w.ctx, id); err == nil && cond(o) {
				return o
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("order %s never became %s", id, what)
		return nil
	}
	noWasm := func(o *checkout.Order) string { return o.PaymentURL + "?wasm=false" }

	paid, over, frozen, canceled := newOrder("20"), newOrder("10"), newOrder("10"), newOrder("9")
	if err := w.store.Block(w.ctx, checkout.TRC20, deposit.Format(checkout.TRC20, w.chains[checkout.TRC20].Payer(6))); err != nil {
		t.Fatal(err)
	}
	w.pay(paid, 1, "20")
	w.pay(over, 2, "13")
	w.pay(frozen, 6, "10")
	w.mine(checkout.TRC20, required)
	if _, err := edge.client.CancelOrder(w.ctx, canceled.ID); err != nil {
		t.Fatal(err)
	}
	paid = wait(paid.ID, "PAID", status(checkout.StatusPaid))
	over = wait(over.ID, "PAID", status(checkout.StatusPaid))
	wait(frozen.ID, "FROZEN", status(checkout.StatusFrozen))

	tx := paid.Payments[0].TxHash
	t.Run("PAID receipt", func(t *testing.T) {
		shootState(t, browser, "paid", noWasm(paid), []string{"Payment received", "Amount paid", "20 USDT", "Paid at",
			paid.ID, tx, "View on tronscan.org", "help@shop.example", "Return to the shop"}, []string{paid.Address, "Time left"})
		tab := newTab(t, browser)
		if err := chromedp.Do(tab, chromedp.Navigate(noWasm(paid)), chromedp.WaitVisible("#receipt")); err != nil {
			t.Fatal(err)
		}
		href, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#details a.explorer").href`))
		if want := "https://tronscan.org/#/transaction/" + tx; err != nil || href != want {
			t.Errorf("explorer link %q (err %v), want %q", href, err, want)
		}
		when, err := chromedp.Run(tab, chromedp.Text("#paid-at"))
		if err != nil || !strings.Contains(when, paid.PaidAt.UTC().Format("3:04 PM")) {
			t.Errorf("paid at %q (err %v), want the time %s", when, err, paid.PaidAt.UTC().Format("3:04 PM"))
		}
	})
	t.Run("OVERPAID names the surplus", func(t *testing.T) {
		shootState(t, browser, "overpaid", noWasm(over), []string{"Payment received", "13 USDT is confirmed",
			"You sent 3 USDT more than the amount due", "contact them about the surplus", "help@shop.example"}, []string{over.Address})
	})
	t.Run("FROZEN says what happened and whom to ask", func(t *testing.T) {
		shootState(t, browser, "frozen", noWasm(frozen), []string{"Payment under review",
			"Your payment of 10 USDT arrived and is held for review", "Do not send again", "help@shop.example", "shop.example", frozen.ID},
			[]string{frozen.Address, "Payment received", "Returning"})
	})
	t.Run("CANCELED", func(t *testing.T) {
		shootState(t, browser, "canceled", noWasm(canceled), []string{"Order canceled", "canceled this order before any payment arrived",
			"Do not send funds", "help@shop.example"}, []string{canceled.Address, "Time left"})
	})

	t.Run("only PAID returns to the shop, after its receipt", func(t *testing.T) {
		// The unhappy pages start first: by the time the PAID page has returned, their
		// return delay has long passed too.
		var unhappy []context.Context
		for _, o := range []*checkout.Order{frozen, canceled} {
			tab := newTab(t, browser)
			if err := chromedp.Do(tab, chromedp.Navigate(o.PaymentURL)); err != nil {
				t.Fatal(err)
			}
			poll(t, tab, "wasm started", `document.querySelector("main[data-client=wasm]") !== null`, 60*time.Second)
			unhappy = append(unhappy, tab)
		}
		tab := newTab(t, browser)
		if err := chromedp.Do(tab, chromedp.EmulateViewport(360, 740), chromedp.Navigate(paid.PaymentURL)); err != nil {
			t.Fatal(err)
		}
		// The receipt is on the page, with the countdown to the return and the way to stay.
		poll(t, tab, "receipt with the return countdown", `location.pathname.startsWith("/pay/") &&
			document.querySelector("main[data-client=wasm] #receipt") !== null &&
			/Returning to the shop in \d s/.test(document.querySelector("#returning").textContent) &&
			document.querySelector("#stay") !== null`, 60*time.Second)
		// The countdown starts at the configured delay, not above it.
		if n, err := chromedp.Run(tab, chromedp.Evaluate[int](`+document.querySelector("#returning").textContent.match(/\d+/)[0]`)); err != nil || n > int(delay/time.Second) {
			t.Errorf("return countdown shows %d s (err %v) for a %s delay", n, err, delay)
		}
		if png, err := chromedp.Run(tab, chromedp.FullScreenshot(100)); err == nil {
			saveArtifact(t, "paid-returning-360.png", png)
		}
		want := site + "/return?cart=7&order_id=" + url.QueryEscape(paid.ID)
		poll(t, tab, "PAID returns to the shop", `location.href === `+jsString(want), 15*time.Second)
		for i, tab := range unhappy {
			got, err := chromedp.Run(tab, chromedp.Evaluate[[]any](`[location.pathname, document.querySelector("#returning") === null,
				document.querySelector("#stay") === null, document.querySelector("#return-link") !== null]`))
			if err != nil || len(got) != 4 || !strings.HasPrefix(got[0].(string), "/pay/") || got[1] != true || got[2] != true || got[3] != true {
				t.Errorf("unhappy page %d: [path, no countdown, no stay button, manual link] = %v (err %v)", i, got, err)
			}
		}
		// "Stay on this page" keeps a PAID customer on the receipt.
		tab2 := newTab(t, browser)
		if err := chromedp.Do(tab2, chromedp.Navigate(over.PaymentURL)); err != nil {
			t.Fatal(err)
		}
		poll(t, tab2, "stay button", `document.querySelector("main[data-client=wasm] #stay") !== null`, 60*time.Second)
		if err := chromedp.Do(tab2, chromedp.Click("#stay")); err != nil {
			t.Fatal(err)
		}
		poll(t, tab2, "countdown gone", `document.querySelector("#returning") === null && document.querySelector("#return-link") !== null`, 10*time.Second)
	})

	// 0:00 (the expiry worker has not run yet): no QR code, no address; a confirming
	// transfer is still followed.
	waiting, confirming := newOrder("5"), newOrder("6")
	w.pay(confirming, 3, "6")
	w.mine(checkout.TRC20, 1)
	wait(confirming.ID, "CONFIRMING", status(checkout.StatusConfirming))
	w.clock.Add(confirming.ExpiresAt.Sub(w.clock.Now()) + time.Second) // created after waiting: both are up
	t.Run("0:00", func(t *testing.T) {
		shootState(t, browser, "timeup", noWasm(waiting), []string{"Time is up", "do not send funds now"},
			[]string{waiting.Address, "Scan with your wallet", "Time left"})
		shootState(t, browser, "timeup-confirming", noWasm(confirming), []string{"Payment seen, confirming", "1 of 3 confirmations",
			"do not send again"}, []string{confirming.Address, "Scan with your wallet", "Time is up"})
		for _, o := range []*checkout.Order{waiting, confirming} {
			tab := newTab(t, browser)
			if err := chromedp.Do(tab, chromedp.Navigate(noWasm(o)), chromedp.WaitVisible("#status")); err != nil {
				t.Fatal(err)
			}
			if n, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll(".qr, #address, #copy-address").length`)); err != nil || n != 0 {
				t.Errorf("%s at 0:00: %d QR/address elements (err %v)", o.ID, n, err)
			}
		}
		if o := get(waiting.ID); o.Status != checkout.StatusPending {
			t.Fatalf("%s is %s: the test needs it still PENDING at 0:00", o.ID, o.Status)
		}
	})
}
