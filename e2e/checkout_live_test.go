package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/page"
)

// frameRecorder runs in the page before its own scripts. From the parsed document on, it
// looks at the status after every batch of DOM changes (a MutationObserver runs before the
// browser can paint them) and in every animation frame: it counts the looks that found no
// status title, records each change of the title shown, and counts status elements.
const frameRecorder = `window.__mp = {looks: 0, frames: 0, blank: 0, titles: [], nodes: 0};
(function () {
  let last = null, node = null;
  function look() {
    __mp.looks++;
    const el = document.getElementById("status-title");
    const t = el ? el.textContent.trim() : "";
    if (!t) __mp.blank++;
    if (t !== last) { __mp.titles.push(t); last = t; }
    const s = document.getElementById("status");
    if (s !== node) { __mp.nodes++; node = s; }
  }
  function frame() { __mp.frames++; look(); requestAnimationFrame(frame); }
  document.addEventListener("DOMContentLoaded", function () {
    look();
    new MutationObserver(look).observe(document.documentElement, {subtree: true, childList: true, characterData: true});
    requestAnimationFrame(frame);
  });
})();`

// frames is what frameRecorder saw.
type frames struct {
	Looks  int      `json:"looks"`
	Frames int      `json:"frames"`
	Blank  int      `json:"blank"`
	Titles []string `json:"titles"`
	Nodes  int      `json:"nodes"`
}

// streamCounter counts the tab's EventSource requests to the order's public stream, from the
// browser's own network events.
type streamCounter struct {
	mu   sync.Mutex
	urls []string
}

func (c *streamCounter) listen(t *testing.T, tab context.Context) {
	t.Helper()
	if err := chromedp.Listen(tab, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Type == network.ResourceTypeEventSource {
			c.mu.Lock()
			c.urls = append(c.urls, e.Request.URL)
			c.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
}

func (c *streamCounter) count() (int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.urls), append([]string(nil), c.urls...)
}

// TestCheckoutLiveBeforeWasm proves the first paint is live by itself: with the wasm blocked,
// public/web/live.js follows a real dev-chain payment (status, amounts, confirmations) to
// PAID; with the wasm held back until live.js has shown a payment, then let through, the wasm
// adopts live.js's stream (one EventSource for the whole visit) and the status never blanks
// or steps back.
func TestCheckoutLiveBeforeWasm(t *testing.T) {
	w := newWorld(t)
	dir := builtWasm(t)
	edge := w.startCheckoutEdge(t, "127.0.0.1", page.Config{WebDir: dir}, nil, nil)
	browser := newBrowser(t)
	newOrder := func(amount string) *checkout.Order {
		t.Helper()
		o, err := edge.client.CreateOrder(w.ctx, &client.OrderParams{Amount: amount, Network: checkout.ERC20, Description: "Order #7"})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	text := func(tab context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Evaluate[string](`(e => e ? e.textContent.trim() : "")(document.querySelector(`+jsString(sel)+`))`))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}

	t.Run("wasm blocked: live.js follows the payment", func(t *testing.T) {
		o := newOrder("20")
		tab := newTab(t, browser)
		var streams streamCounter
		streams.listen(t, tab)
		block := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, network.SetBlockedURLs, network.SetBlockedURLsParams{
				URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/web/*.wasm", Block: true}}})
			return err
		})
		if err := chromedp.Do(tab, block, chromedp.EmulateViewport(360, 740), chromedp.Navigate(o.PaymentURL), chromedp.WaitVisible("#status")); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "live.js stream open", `window.mpLive && mpLive.es && mpLive.es.readyState === 1`, 10*time.Second)

		// A part, confirming: status and confirmations change.
		w.pay(o, 1, "5")
		w.mine(checkout.ERC20, 1)
		poll(t, tab, "CONFIRMING 1 of 3", `document.querySelector("#status").dataset.status === "CONFIRMING" &&
			document.querySelector("#confirmations").textContent === "1 of 3 confirmations"`, 15*time.Second)
		if got := text(tab, "#status-body"); !strings.Contains(got, "5 of 20 USDT is on chain") {
			t.Errorf("confirming body %q", got)
		}
		w.mine(checkout.ERC20, 1)
		poll(t, tab, "2 of 3", `document.querySelector("#confirmations").textContent === "2 of 3 confirmations"`, 15*time.Second)
		// Confirmed: the order is open with the rest to send, the amount on the page follows.
		w.mine(checkout.ERC20, 1)
		poll(t, tab, "rest to send", `document.querySelector("#status").dataset.status === "PENDING" &&
			document.querySelector("#pay-amount").textContent === "15"`, 15*time.Second)
		if got := text(tab, "#status-body"); !strings.Contains(got, "Received 5 of 20 USDT") {
			t.Errorf("partial body %q", got)
		}
		// go-app's loader failed to fetch the wasm and says so in its label; the customer
		// needs none of that (the page works), and on a phone it would cover the QR code.
		poll(t, tab, "the wasm loader gave up", `document.querySelector("#app-wasm-loader-icon.goapp-logo") !== null`, 10*time.Second)
		if shown, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector("#app-wasm-loader")).display !== "none"`)); shown {
			t.Errorf("the wasm loader's error is on the page: %q", text(tab, "#app-wasm-loader"))
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		saveArtifact(t, "live-nowasm-topup-360.png", png)
		w.pay(o, 1, "15")
		w.mine(checkout.ERC20, required)
		poll(t, tab, "PAID", `document.querySelector("#status").dataset.status === "PAID" &&
			document.querySelector("#receipt-amount").textContent === "20 USDT"`, 15*time.Second)
		if client, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("[data-client]") !== null`)); client {
			t.Error("the wasm ran although it was blocked")
		}
		if n, urls := streams.count(); n != 1 {
			t.Errorf("%d event streams, want 1: %v", n, urls)
		}
		for _, width := range []int64{360, 1280} {
			if err := chromedp.Do(tab, chromedp.EmulateViewport(width, 800)); err != nil {
				t.Fatal(err)
			}
			png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			saveArtifact(t, "live-nowasm-paid-"+itoa(width)+".png", png)
		}
	})

	t.Run("wasm adopts the stream: one EventSource, no flicker", func(t *testing.T) {
		o := newOrder("30")
		tab := newTab(t, browser)
		var streams streamCounter
		streams.listen(t, tab)
		paused := make(chan fetch.RequestID, 4)
		if err := chromedp.Listen(tab, func(ev any) {
			if e, ok := ev.(*fetch.EventRequestPaused); ok {
				select {
				case paused <- e.RequestID:
				default:
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		// The wasm's request waits until the test lets it go: the hand-over from live.js to the
		// wasm then happens mid-payment, which is where a second stream or a flicker would be.
		setup := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			if _, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: frameRecorder}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/web/app.*.wasm"}}})
			return err
		})
		if err := chromedp.Do(tab, setup, chromedp.Navigate(o.PaymentURL), chromedp.WaitVisible("#status")); err != nil {
			t.Fatal(err)
		}
		var wasmReq fetch.RequestID
		select {
		case wasmReq = <-paused:
		case <-time.After(15 * time.Second):
			t.Fatal("the wasm was never requested")
		}
		poll(t, tab, "live.js stream open", `window.mpLive && mpLive.es && mpLive.es.readyState === 1`, 10*time.Second)
		w.pay(o, 2, "30")
		w.mine(checkout.ERC20, 1)
		poll(t, tab, "CONFIRMING before the wasm", `document.querySelector("#confirmations") &&
			document.querySelector("#confirmations").textContent === "1 of 3 confirmations"`, 15*time.Second)
		release := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: wasmReq})
			return err
		})
		if err := chromedp.Do(tab, release); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "wasm started and live", `document.querySelector("main[data-client=wasm][data-live=true]") !== null`, 60*time.Second)
		if got := text(tab, "#confirmations"); got != "1 of 3 confirmations" {
			t.Errorf("after the hand-over: %q", got)
		}
		w.mine(checkout.ERC20, required-1)
		poll(t, tab, "PAID through the wasm", `document.querySelector("main[data-client=wasm] #status").dataset.status === "PAID"`, 15*time.Second)

		if n, urls := streams.count(); n != 1 {
			t.Errorf("%d event streams in the visit, want 1 (live.js's, adopted by the wasm): %v", n, urls)
		}
		rec, err := chromedp.Run(tab, chromedp.Evaluate[frames](`window.__mp`))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"Waiting for your payment", "Payment seen, confirming", "Payment received"}
		if rec.Blank != 0 || strings.Join(rec.Titles, "|") != strings.Join(want, "|") {
			t.Errorf("status over %d looks: %d without a title, titles shown %q, want %q", rec.Looks, rec.Blank, rec.Titles, want)
		}
		t.Logf("%d looks (%d frames): status element replaced %d times (live.js swaps, the wasm's mount), never without a title",
			rec.Looks, rec.Frames, rec.Nodes-1)
	})
}
