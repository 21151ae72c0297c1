package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/merchants"
	"github.com/mpchat/checkout/edge/page"
)

// TestCheckoutClaimInBrowser: on a merchant's shared TRON address, two orders at the same
// price get distinct pay amounts and the page tells the customer to send theirs exactly. A
// customer whose exchange deducted a fee (the transfer matches no order) finds the claim form,
// pastes the hash as TRON explorers show it (no 0x), and the order credits it live; the same
// hash claimed on the other order is refused in words, and a malformed hash is caught on the
// page. Screenshots at 360 and 1280 px under artifacts/.
func TestCheckoutClaimInBrowser(t *testing.T) {
	w := newWorld(t)
	edge := w.startCheckoutEdge(t, "127.0.0.1", page.Config{WebDir: builtWasm(t)}, nil, nil)
	var raw [20]byte
	copy(raw[:], "claim-form-address!!")
	addr := deposit.EncodeTRON(raw)
	if _, err := merchants.SetReceive(w.ctx, w.store, merchants.ReceiveParams{ID: edge.merch.ID,
		Network: string(checkout.TRC20), Mode: string(checkout.ReceiveAddresses), Addresses: []string{addr}}); err != nil {
		t.Fatal(err)
	}
	newOrder := func() *checkout.Order {
		o, err := edge.client.CreateOrder(w.ctx, &client.OrderParams{Amount: "25", Network: checkout.TRC20, Description: "Order #2002"})
		if err != nil {
			t.Fatal(err)
		}
		if o.Address != addr || o.ReceiveMode != checkout.ReceiveAddresses {
			t.Fatalf("order on %s in mode %q, want the merchant's %s", o.Address, o.ReceiveMode, addr)
		}
		return o
	}
	first, second := newOrder(), newOrder()
	if first.PayAmount != 25*checkout.Unit || second.PayAmount != 25*checkout.Unit+1 {
		t.Fatalf("pay amounts %s and %s, want 25 and 25.000001", first.PayAmount, second.PayAmount)
	}

	// The settlement consumer runs on the world's clock, which stopped when the world was
	// made; this edge creates orders on the wall clock. Move the former past the latter so
	// the transfer is first seen after the orders were created, as it is in production.
	w.clock.Add(time.Minute)

	// The customer of the second order sends 24.5: their exchange kept 0.500001 as its fee.
	short, _ := checkout.ParseAmount("24.5")
	tx, err := w.chains[checkout.TRC20].Pay(w.ctx, 1, common.Address(raw), short)
	if err != nil {
		t.Fatal(err)
	}
	w.mine(checkout.TRC20, required)
	w.settled(checkout.TRC20)
	for _, o := range []*checkout.Order{first, second} {
		if got, err := edge.client.GetOrder(w.ctx, o.ID); err != nil || len(got.Payments) != 0 {
			t.Fatalf("order %s took the unmatched transfer before any claim: %+v (err %v)", o.ID, got, err)
		}
	}

	browser := newBrowser(t)
	open := func(t *testing.T, o *checkout.Order, width int64) context.Context {
		tab := newTab(t, browser)
		h := int64(740)
		if width > 360 {
			h = 800
		}
		if err := chromedp.Do(tab, chromedp.EmulateViewport(width, h), chromedp.Navigate(o.PaymentURL), chromedp.WaitVisible("#status")); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "wasm started", `document.querySelector("main[data-client=wasm]") !== null`, 60*time.Second)
		return tab
	}
	text := func(t *testing.T, tab context.Context, sel string) string {
		s, err := chromedp.Run(tab, chromedp.Evaluate[string](`(document.querySelector(`+jsString(sel)+`) || {}).innerText || ""`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	claim := func(t *testing.T, tab context.Context, hash string) {
		t.Helper()
		if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("#claim").open = true; document.querySelector("#claim-tx").value = ""; true`)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(tab,
			chromedp.SendKeys("#claim-tx", hash),
			chromedp.Click("#claim-submit"),
		); err != nil {
			t.Fatal(err)
		}
	}

	tab := open(t, second, 360)
	if got := text(t, tab, "#exact-amount"); !strings.Contains(got, "Send exactly 25.000001 USDT") {
		t.Errorf("exact-amount notice %q", got)
	}
	shootTab(t, tab, "claim-before-360")

	claim(t, tab, "0xnot-a-hash")
	poll(t, tab, "malformed hash refused on the page", `document.querySelector("#claim-result").dataset.result === "refused"`, 15*time.Second)
	if got := text(t, tab, "#claim-result"); !strings.Contains(got, "64 hexadecimal characters") {
		t.Errorf("malformed hash: %q", got)
	}

	bare := strings.TrimPrefix(strings.ToUpper(tx.Hex()), "0X") // as a TRON explorer shows it
	claim(t, tab, bare)
	poll(t, tab, "claim accepted", `document.querySelector("#claim-result").dataset.result === "accepted"`, 30*time.Second)
	poll(t, tab, "the page shows what is still missing", `document.querySelector("#pay-amount") && document.querySelector("#pay-amount").textContent === "0.500001"`, 15*time.Second)
	shootTab(t, tab, "claim-accepted-360")
	got, err := edge.client.GetOrder(w.ctx, second.ID)
	if err != nil || len(got.Payments) != 1 || got.Payments[0].TxHash != strings.ToLower(tx.Hex()) || got.AmountPaid != short {
		t.Fatalf("after the claim: %+v (err %v)", got, err)
	}

	wide := open(t, first, 1280)
	claim(t, wide, tx.Hex())
	poll(t, wide, "claim of a credited transfer refused", `document.querySelector("#claim-result").dataset.result === "refused"`, 15*time.Second)
	if got := text(t, wide, "#claim-result"); !strings.Contains(got, "already been credited") {
		t.Errorf("second claim: %q", got)
	}
	shootTab(t, wide, "claim-refused-1280")
	if o, err := edge.client.GetOrder(w.ctx, first.ID); err != nil || len(o.Payments) != 0 {
		t.Fatalf("the first order took a transfer credited elsewhere: %+v (err %v)", o, err)
	}
}

// shootTab saves a screenshot of tab under artifacts/.
func shootTab(t *testing.T, tab context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	saveArtifact(t, name+".png", png)
}
