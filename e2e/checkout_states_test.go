package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/page"
)

// TestCheckoutStatesInBrowser makes each unhappy state from real orders (real payments on the
// dev chain, the real expiry worker) and checks what the first paint tells the customer, at
// 360 and 1280 px, saving screenshots under artifacts/ (gitignored) to look at.
func TestCheckoutStatesInBrowser(t *testing.T) {
	w := newWorld(t)
	edge := w.startCheckoutEdge(t, "127.0.0.1", page.Config{}, nil, nil)
	edge.merch.SupportEmail, edge.merch.SupportURL = "help@shop.example", "https://shop.example/help"
	if err := w.store.PutMerchant(w.ctx, edge.merch); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	newOrder := func(amount string) *checkout.Order {
		o, err := edge.client.CreateOrder(w.ctx, &client.OrderParams{Amount: amount, Network: checkout.TRC20, Description: "Order #1001"})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	shoot := func(t *testing.T, name, url string, want, absent []string) {
		t.Helper()
		shootState(t, browser, name, url, want, absent)
	}

	wait := func(id, what string, cond func(*checkout.Order) bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if o, err := edge.client.GetOrder(w.ctx, id); err == nil && cond(o) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("order %s never became %s", id, what)
	}
	pending := newOrder("25")
	partial := newOrder("40")
	w.pay(partial, 1, "15")
	w.mine(checkout.TRC20, required)
	wait(partial.ID, "partly paid", func(o *checkout.Order) bool { return o.AmountPaid > 0 })
	shoot(t, "pending", pending.PaymentURL, []string{"Waiting for your payment", pending.Address, "Time left", pending.ID, "help@shop.example"}, nil)
	shoot(t, "topup", partial.PaymentURL, []string{"Amount still to send", "25", "Received 15 of 40 USDT", partial.Address}, nil)

	expired := newOrder("10")
	late := newOrder("12")
	w.clock.Add(31 * time.Minute)
	if _, err := w.expiry.Tick(w.ctx); err != nil {
		t.Fatal(err)
	}
	wait(expired.ID, "EXPIRED", status(checkout.StatusExpired))
	wait(partial.ID, "UNDERPAID", status(checkout.StatusUnderpaid))
	w.pay(late, 2, "12")
	w.mine(checkout.TRC20, required)
	wait(late.ID, "late funds", func(o *checkout.Order) bool { return o.AmountLate > 0 })
	shoot(t, "expired", expired.PaymentURL, []string{"Order expired", "No payment arrived before the order expired", expired.ID},
		[]string{expired.Address})
	shoot(t, "late", late.PaymentURL, []string{"Your payment arrived late", "received 12 USDT after the order expired", "merchant has been told", "help@shop.example"},
		[]string{"No payment arrived", late.Address})
	shoot(t, "underpaid", partial.PaymentURL, []string{"Payment incomplete", "received 15 of 40 USDT", "25 USDT is missing", "Do not send more"},
		[]string{partial.Address})
	shoot(t, "rtl-ar", expired.PaymentURL+"?lang=ar", []string{"انتهت صلاحية الطلب"}, nil)
}

// shootState loads url in a new tab of browser at 360 and 1280 px, checks the page's text has
// every want and no absent string and is no wider than the screen, and saves a screenshot of
// each width as artifacts/{name}-{width}.png (or under $MP_SCREENSHOT_DIR).
func shootState(t *testing.T, browser context.Context, name, url string, want, absent []string) {
	t.Helper()
	for _, width := range []int64{360, 1280} {
		tab := newTab(t, browser)
		h := int64(740)
		if width > 360 {
			h = 800
		}
		if err := chromedp.Do(tab, chromedp.EmulateViewport(width, h), chromedp.Navigate(url), chromedp.WaitVisible("#status")); err != nil {
			t.Fatal(err)
		}
		text, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range want {
			if !strings.Contains(text, s) {
				t.Errorf("%s at %d px lacks %q; text: %s", name, width, s, text)
			}
		}
		for _, s := range absent {
			if strings.Contains(text, s) {
				t.Errorf("%s at %d px has %q", name, width, s)
			}
		}
		if wide, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); wide > int(width) {
			t.Errorf("%s: page is %d px wide on a %d px screen", name, wide, width)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		dir := os.Getenv("MP_SCREENSHOT_DIR")
		if dir == "" {
			saveArtifact(t, name+"-"+itoa(width)+".png", png)
		} else if err := os.WriteFile(filepath.Join(dir, name+"-"+itoa(width)+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
