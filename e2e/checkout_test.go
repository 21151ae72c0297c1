package e2e

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/page"
	"github.com/mpchat/checkout/watcher/devchain"
)

// TestCheckoutInBrowser drives the hosted checkout and embed.js in real headless Chromium
// against real dev chains, watchers and an edge: first paint without the wasm, the wasm
// following a payment to PAID and the redirect, the script-tag embed on another origin, the
// MPChat deep link, and a 360 px screenshot.
func TestCheckoutInBrowser(t *testing.T) {
	w := newWorld(t)
	dir := builtWasm(t)
	eth := w.chains[checkout.ERC20]
	edge := w.startCheckoutEdge(t, "127.0.0.1", page.Config{WebDir: dir, ReturnDelay: time.Second,
		ERC20Token: devchain.TokenAddress().Hex(), ERC20ChainID: eth.ChainID().Uint64()}, nil, nil)
	site := merchantSite(t, "127.0.0.2", edge.url)
	other := merchantSite(t, "127.0.0.3", edge.url)
	// The merchant allows embedding from the 127.0.0.2 site only.
	edge.merch.EmbedOrigins = []string{site}
	if err := w.store.PutMerchant(w.ctx, edge.merch); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)

	newOrder := func(n checkout.Network, amount, returnURL string) *checkout.Order {
		t.Helper()
		o, err := edge.client.CreateOrder(w.ctx, &client.OrderParams{Amount: amount, Network: n,
			Description: "Order #1001 <b>", ReturnURL: returnURL})
		if err != nil {
			t.Fatal(err)
		}
		if o.PaymentURL != edge.url+"/pay/"+o.ID {
			t.Fatalf("payment_url %q", o.PaymentURL)
		}
		return o
	}

	t.Run("first paint without wasm", func(t *testing.T) {
		o := newOrder(checkout.ERC20, "12.5", site+"/return?cart=7")
		tab := newTab(t, browser)
		block := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{
				URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/web/*.wasm", Block: true}}})
			return err
		})
		if err := chromedp.Do(tab, block, chromedp.Navigate(o.PaymentURL), chromedp.WaitVisible("#address")); err != nil {
			t.Fatal(err)
		}
		text := func(sel string) string {
			s, err := chromedp.Run(tab, chromedp.Text(sel))
			if err != nil {
				t.Fatalf("%s: %v", sel, err)
			}
			return strings.TrimSpace(s)
		}
		if got := text("#pay-amount"); got != "12.5" {
			t.Errorf("amount %q", got)
		}
		if got := text("#network"); got != "ERC20 · Ethereum" {
			t.Errorf("network %q", got)
		}
		if got := text("#address"); got != o.Address {
			t.Errorf("address %q, want %q", got, o.Address)
		}
		if got := text("#description"); got != "Order #1001 <b>" {
			t.Errorf("description %q (must be text, not markup)", got)
		}
		if got := text("#countdown"); !strings.Contains(got, ":") {
			t.Errorf("countdown %q", got)
		}
		if got := text("#status-title"); got != "Waiting for your payment" {
			t.Errorf("status %q", got)
		}
		want := "ethereum:" + devchain.TokenAddress().Hex() + "@1337/transfer?address=" + o.Address + "&uint256=12500000"
		label, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector(".qr svg").getAttribute("aria-label")`))
		if err != nil || !strings.HasSuffix(label, want) {
			t.Errorf("QR label %q (err %v), want it to end with %q", label, err, want)
		}
		if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll(".qr svg path").length`)); n != 1 {
			t.Errorf("QR paths %d", n)
		}
		for _, sel := range []string{"#copy-address", "#copy-amount"} {
			text(sel)
		}
		// The wasm never ran: the prerendered page has no client mark and no live stream.
		if client, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("[data-client]") !== null`)); client {
			t.Error("client-rendered mark present although the wasm was blocked")
		}
		// Chinese, chosen by ?lang=.
		if err := chromedp.Do(tab, chromedp.Navigate(o.PaymentURL+"?lang=zh&wasm=false"), chromedp.WaitVisible("#address")); err != nil {
			t.Fatal(err)
		}
		if got := text("h1"); got != "使用 USDT 支付" {
			t.Errorf("zh title %q", got)
		}
	})

	t.Run("markup in the description stays text, first paint and wasm", func(t *testing.T) {
		desc := `Order "><b id="inj">INJECTED</b><i>' onmouseover='alert(1)' x="`
		o, err := edge.client.CreateOrder(w.ctx, &client.OrderParams{Amount: "3", Network: checkout.ERC20,
			Description: desc, ReturnURL: site + "/return"})
		if err != nil {
			t.Fatal(err)
		}
		tab := newTab(t, browser)
		if err := chromedp.Do(tab, chromedp.Navigate(o.PaymentURL), chromedp.WaitVisible("#description")); err != nil {
			t.Fatal(err)
		}
		check := func(when string) {
			injected, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("#inj, b, i, [onmouseover], [x]") !== null`))
			if err != nil || injected {
				t.Errorf("%s: injected element or attribute in the DOM (err %v)", when, err)
			}
			got, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#description").textContent`))
			if err != nil || got != desc {
				t.Errorf("%s: description %q (err %v), want %q", when, got, err, desc)
			}
		}
		check("first paint")
		poll(t, tab, "wasm started", `document.querySelector("main[data-client=wasm]") !== null`, 60*time.Second)
		check("after the wasm rendered")
	})

	t.Run("wasm follows the payment to PAID and returns with order_id", func(t *testing.T) {
		o := newOrder(checkout.ERC20, "30", site+"/return?cart=7")
		tab := newTab(t, browser)
		if err := chromedp.Do(tab, chromedp.Navigate(o.PaymentURL)); err != nil {
			t.Fatal(err)
		}
		// The wasm started (its render differs from the prerendered one) and the stream is open.
		poll(t, tab, "wasm started", `document.querySelector("main[data-client=wasm]") !== null`, 60*time.Second)
		poll(t, tab, "live", `document.querySelector("main[data-live=true]") !== null`, 15*time.Second)
		w.pay(o, 1, "30")
		w.mine(checkout.ERC20, 1)
		poll(t, tab, "CONFIRMING", `document.querySelector("#status").dataset.status === "CONFIRMING"`, 15*time.Second)
		w.mine(checkout.ERC20, required-1)
		poll(t, tab, "PAID", `document.querySelector("#status") && document.querySelector("#status").dataset.status === "PAID"`, 15*time.Second)
		want := site + "/return?cart=7&order_id=" + url.QueryEscape(o.ID)
		poll(t, tab, "redirect to return_url", `location.href === `+jsString(want), 15*time.Second)
	})

	t.Run("embed.js on an allowed origin; nothing for another origin", func(t *testing.T) {
		o := newOrder(checkout.ERC20, "5", site+"/return")
		allowed := newTab(t, browser)
		denied := newTab(t, browser)
		if err := chromedp.Do(allowed, chromedp.Navigate(site+"/shop?redirect=host&order="+o.ID)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(denied, chromedp.Navigate(other+"/shop?redirect=host&order="+o.ID)); err != nil {
			t.Fatal(err)
		}
		poll(t, allowed, "iframe mounted", `document.querySelector("#checkout iframe") !== null`, 10*time.Second)
		poll(t, allowed, "loaded message", `msgs.some(m => m.type === "loaded" && m.order_id === `+jsString(o.ID)+`)`, 60*time.Second)
		poll(t, allowed, "resized", `msgs.some(m => m.type === "resize" && m.height > 0) && document.querySelector("#checkout iframe").style.height !== "640px"`, 10*time.Second)
		w.pay(o, 2, "5")
		w.mine(checkout.ERC20, required)
		poll(t, allowed, "PAID message", `msgs.some(m => m.type === "status" && m.status === "PAID" && m.return_url.endsWith("order_id=`+o.ID+`"))`, 20*time.Second)
		// The checkout answers a ping from its (allowed) parent with its status.
		n, err := chromedp.Run(allowed, chromedp.Evaluate[int](`msgs.filter(m => m.type === "status").length`))
		if err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(allowed, chromedp.Evaluate[chromedp.Void](`document.querySelector("#checkout iframe").contentWindow.postMessage({source: "mp-checkout", type: "ping"}, `+jsString(edge.url)+`)`)); err != nil {
			t.Fatal(err)
		}
		poll(t, allowed, "status after ping", `msgs.filter(m => m.type === "status").length > `+strconv.Itoa(n), 10*time.Second)
		// The other origin mounted an iframe that the browser refused to render
		// (frame-ancestors), so it got nothing, not even "loaded".
		poll(t, denied, "iframe mounted", `document.querySelector("#checkout iframe") !== null`, 10*time.Second)
		// Its iframe did load (the browser's error page for a refused frame), and by now the
		// allowed tab's checkout, loaded at the same time, has started and reported PAID.
		poll(t, denied, "iframe load event", `window.frameLoaded === true`, 10*time.Second)
		if n, err := chromedp.Run(denied, chromedp.Evaluate[int](`msgs.length`)); err != nil || n != 0 {
			t.Fatalf("disallowed origin received %d messages (err %v)", n, err)
		}
	})

	t.Run("embed.js sends the top page to return_url", func(t *testing.T) {
		o := newOrder(checkout.ERC20, "6", site+"/return?from=embed")
		tab := newTab(t, browser)
		if err := chromedp.Do(tab, chromedp.Navigate(site+"/shop?order="+o.ID)); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "loaded message", `msgs.some(m => m.type === "loaded")`, 60*time.Second)
		w.pay(o, 4, "6")
		w.mine(checkout.ERC20, required)
		want := site + "/return?from=embed&order_id=" + url.QueryEscape(o.ID)
		poll(t, tab, "top page at return_url", `location.href === `+jsString(want), 20*time.Second)
	})

	t.Run("stream refused: the order is read instead", func(t *testing.T) {
		o := newOrder(checkout.ERC20, "7", "")
		tab := newTab(t, browser)
		block := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{
				URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/v1/checkout/*/events", Block: true}}})
			return err
		})
		if err := chromedp.Do(tab, block, chromedp.Navigate(o.PaymentURL)); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "wasm started", `document.querySelector("main[data-client=wasm]") !== null`, 60*time.Second)
		w.pay(o, 3, "7")
		w.mine(checkout.ERC20, required)
		poll(t, tab, "PAID without a stream", `document.querySelector("#status").dataset.status === "PAID"`, 20*time.Second)
		if live, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("main[data-live=true]") !== null`)); live {
			t.Error("stream reported open although it was blocked")
		}
	})

	t.Run("MPCheckout.open shows a modal", func(t *testing.T) {
		o := newOrder(checkout.TRC20, "3", "")
		tab := newTab(t, browser)
		if err := chromedp.Do(tab, chromedp.Navigate(site+"/shop?mode=modal&order="+o.ID)); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "modal iframe", `document.querySelector("[data-mp-checkout=modal] iframe[src*='embed=modal']") !== null`, 10*time.Second)
		poll(t, tab, "loaded message", `msgs.some(m => m.type === "loaded")`, 60*time.Second)
		// The checkout's own close button (top right of the frame) closes it: the checkout posts
		// "closed" and embed.js removes the modal.
		rect, err := chromedp.Run(tab, chromedp.Evaluate[[]float64](`(r => [r.right, r.top])(document.querySelector("[data-mp-checkout=modal] iframe").getBoundingClientRect())`))
		if err != nil || len(rect) != 2 {
			t.Fatalf("iframe rect %v: %v", rect, err)
		}
		if err := chromedp.Do(tab, chromedp.MouseClickXY(rect[0]-16-18, rect[1]+16+14)); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "modal closed", `document.querySelector("[data-mp-checkout=modal]") === null && msgs.some(m => m.type === "closed")`, 10*time.Second)
	})

	t.Run("MPChat user agent gets the deep link", func(t *testing.T) {
		o := newOrder(checkout.TRC20, "8", "")
		tab := newTab(t, browser)
		ua := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
				UserAgent: "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 MPChat/3.2"})
			return err
		})
		if err := chromedp.Do(tab, ua, chromedp.Navigate(o.PaymentURL+"?wasm=false"), chromedp.WaitVisible("#mpchat-link")); err != nil {
			t.Fatal(err)
		}
		href, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#mpchat-link").getAttribute("href")`))
		if err != nil || href != "mpchat://pay?order="+o.ID {
			t.Fatalf("deep link %q (err %v)", href, err)
		}
		if got, _ := chromedp.Run(tab, chromedp.Text("#network")); got != "TRC20 · TRON" {
			t.Errorf("network %q", got)
		}
		// A plain browser does not get it.
		tab2 := newTab(t, browser)
		if err := chromedp.Do(tab2, chromedp.Navigate(o.PaymentURL+"?wasm=false"), chromedp.WaitVisible("#address")); err != nil {
			t.Fatal(err)
		}
		if has, _ := chromedp.Run(tab2, chromedp.Evaluate[bool](`document.querySelector("#mpchat-link") !== null`)); has {
			t.Error("deep link offered outside MPChat")
		}
	})

	t.Run("360 px screenshot", func(t *testing.T) {
		o := newOrder(checkout.TRC20, "99.99", "")
		tab := newTab(t, browser)
		if err := chromedp.Do(tab, chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2)),
			chromedp.Navigate(o.PaymentURL), chromedp.WaitVisible("#address")); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "wasm started", `document.querySelector("main[data-client=wasm]") !== null`, 60*time.Second)
		// Nothing is wider than the phone.
		if wide, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); wide > 360 {
			t.Errorf("page is %d px wide on a 360 px screen", wide)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		saveArtifact(t, "checkout-360.png", png)

		// Dark, in Chinese, after a confirmation: the same phone.
		dark := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
			return err
		})
		w.pay(o, 5, "99.99")
		w.mine(checkout.TRC20, 1)
		if err := chromedp.Do(tab, dark, chromedp.Navigate(o.PaymentURL+"?lang=zh"), chromedp.WaitVisible("#status")); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "CONFIRMING", `document.querySelector("#status").dataset.status === "CONFIRMING"`, 15*time.Second)
		png, err = chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		saveArtifact(t, "checkout-360-dark-zh.png", png)
	})
}
