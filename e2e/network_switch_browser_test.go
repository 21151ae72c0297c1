package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/page"
	"github.com/mpchat/checkout/watcher/devchain"
)

// TestNetworkSwitchInBrowser drives the network choice in headless Chromium against the dev
// chains: the customer switches a TRC20 order to ERC20 on the page (wasm running), the page
// shows the new address, QR code and amount, the customer pays on Ethereum and the page turns
// PAID. At 360 and 1280 px, with screenshots before and after under artifacts/. Then the same
// click before the wasm runs (the page's live script posts it).
func TestNetworkSwitchInBrowser(t *testing.T) {
	w := newWorld(t)
	dir := builtWasm(t)
	eth := w.chains[checkout.ERC20]
	edge := w.startCheckoutEdge(t, "127.0.0.1", page.Config{WebDir: dir,
		ERC20Token: devchain.TokenAddress().Hex(), ERC20ChainID: eth.ChainID().Uint64()}, nil, nil)
	browser := newBrowser(t)
	allow := true
	newOrder := func(t *testing.T) *checkout.Order {
		t.Helper()
		o, err := edge.client.CreateOrder(w.ctx, &client.OrderParams{Amount: "15", Network: checkout.TRC20,
			Description: "Order #2002", AllowNetworkSwitch: &allow})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	text := func(t *testing.T, tab context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	shot := func(t *testing.T, tab context.Context, name string) {
		t.Helper()
		png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		saveArtifact(t, name+".png", png)
	}
	// switched waits until the page shows the order on ERC20 at the merchant's new address.
	switched := func(t *testing.T, tab context.Context, id, old string) *checkout.Order {
		t.Helper()
		poll(t, tab, "the ERC20 address", `document.querySelector("#network").dataset.network === "ERC20" && `+
			`document.querySelector("#address").textContent !== `+jsString(old), 20*time.Second)
		o, err := edge.client.GetOrder(w.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if o.Network != checkout.ERC20 || len(o.PreviousAddresses) != 1 || o.PreviousAddresses[0].Address != old {
			t.Fatalf("order after the click: %s %s previous %+v", o.Network, o.Address, o.PreviousAddresses)
		}
		// One evaluation, not a node query then a read: the live script may re-render the
		// section between the two.
		got, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#address").textContent.trim()`))
		if err != nil {
			t.Fatal(err)
		}
		if got != o.Address {
			t.Fatalf("page shows %s, the order is on %s", got, o.Address)
		}
		qr, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector(".qr-box svg").getAttribute("aria-label")`))
		if !strings.Contains(qr, "ethereum:") || !strings.Contains(qr, o.Address) {
			t.Errorf("QR code after the switch: %q, want an EIP-681 request to %s", qr, o.Address)
		}
		return o
	}

	for _, width := range []int64{360, 1280} {
		t.Run("wasm "+itoa(width), func(t *testing.T) {
			o := newOrder(t)
			tab := newTab(t, browser)
			h := int64(800)
			if err := chromedp.Do(tab, chromedp.EmulateViewport(width, h), chromedp.Navigate(o.PaymentURL),
				chromedp.WaitVisible("#network-switch")); err != nil {
				t.Fatal(err)
			}
			poll(t, tab, "wasm started", `document.querySelector("main[data-client=wasm]") !== null`, 90*time.Second)
			sw := text(t, tab, "#network-switch")
			for _, want := range []string{"Choose your network", "TRC20 · TRON", "Lower network fee", "ERC20 · Ethereum", "Higher network fee"} {
				if !strings.Contains(sw, want) {
					t.Errorf("network choice lacks %q: %s", want, sw)
				}
			}
			// One evaluation, not a node query then a read: the live script may re-render the
			// section between the two.
			got, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#address").textContent.trim()`))
			if err != nil {
				t.Fatal(err)
			}
			if got != o.Address {
				t.Fatalf("address %s, want %s", got, o.Address)
			}
			if wide, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); wide > int(width) {
				t.Errorf("page is %d px wide on a %d px screen", wide, width)
			}
			shot(t, tab, "network-switch-before-"+itoa(width))
			if err := chromedp.Do(tab, chromedp.Click("#switch-ERC20")); err != nil {
				t.Fatal(err)
			}
			o = switched(t, tab, o.ID, o.Address)
			if got := text(t, tab, "#pay-amount"); got != "15" {
				t.Errorf("amount after the switch %q", got)
			}
			shot(t, tab, "network-switch-after-"+itoa(width))

			w.pay(o, 0, "15")
			w.mine(checkout.ERC20, required)
			poll(t, tab, "PAID on the page", `document.querySelector("main").dataset.status === "PAID"`, 30*time.Second)
			if gone, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("#network-switch") === null`)); !gone {
				t.Error("network choice still shown on a paid order")
			}
			shot(t, tab, "network-switch-paid-"+itoa(width))
			if got, err := edge.client.GetOrder(w.ctx, o.ID); err != nil || got.Status != checkout.StatusPaid || got.Network != checkout.ERC20 {
				t.Fatalf("merchant's order: %+v %v", got, err)
			}
		})
	}

	t.Run("before the wasm runs", func(t *testing.T) {
		o := newOrder(t)
		tab := newTab(t, browser)
		block := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{
				URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/web/*.wasm", Block: true}}})
			return err
		})
		if err := chromedp.Do(tab, block, chromedp.EmulateViewport(360, 800), chromedp.Navigate(o.PaymentURL),
			chromedp.WaitVisible("#switch-ERC20"), chromedp.Click("#switch-ERC20")); err != nil {
			t.Fatal(err)
		}
		switched(t, tab, o.ID, o.Address)
		if client, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("[data-client]") !== null`)); client {
			t.Error("the wasm ran although it was blocked")
		}
	})
}
