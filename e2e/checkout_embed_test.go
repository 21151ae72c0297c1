package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/page"
)

// modalShop serves, on host, a merchant page whose "Pay" button opens the checkout of the
// order in ?order= as a modal (MPCheckout.open). It records the checkout's messages (msgs)
// and what onEvent got (events).
func modalShop(t *testing.T, host, edgeURL string) string {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/shop", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>shop</title><meta name="viewport" content="width=device-width">
<script src="%s/embed.js"></script></head><body><h1>Shop</h1><p>Cart: 1 item</p><button id="buy" type="button">Pay with USDT</button>
<script>window.msgs=[];window.events=[];
window.addEventListener("message",function(e){if(e.origin===%q)msgs.push(e.data);});

document.getElementById("buy").addEventListener("click",function(){
  MPCheckout.open(%q,{redirect:"host",onEvent:function(m){events.push(m);}});
});</script></body></html>`, edgeURL, edgeURL, r.URL.Query().Get("order"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// frameRect is the modal frame's [left, top, width, height] on the host page.
func frameRect(t *testing.T, tab context.Context) []float64 {
	t.Helper()
	rect, err := chromedp.Run(tab, chromedp.Evaluate[[]float64](`(r => [r.left, r.top, r.width, r.height])(document.querySelector("[data-mp-checkout=modal] iframe").getBoundingClientRect())`))
	if err != nil || len(rect) != 4 {
		t.Fatalf("iframe rect %v: %v", rect, err)
	}
	return rect
}

// inCheckoutFrame runs action in the checkout frame of order id: a target of its own (the
// checkout is another site). A frame target from an earlier, closed modal of the same order
// can still be listed for a moment, and a frame may be navigating: a target that turns out
// detached is skipped and the list read again.
func inCheckoutFrame(t *testing.T, browser context.Context, id string, action chromedp.Action[chromedp.Void]) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(browser)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(infos) - 1; i >= 0; i-- { // newest last: try it first
			in := infos[i]
			if in.Type != "iframe" || !strings.Contains(in.URL, "/pay/"+id) {
				continue
			}
			ctx, cancel := chromedp.NewContext(browser, chromedp.WithTargetID(in.TargetID))
			t.Cleanup(cancel) // not before: cancelling closes the target, the checkout's frame
			if last = chromedp.Do(ctx, action); last == nil {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no live frame target for %s (last error %v)", id, last)
}

// keyDown presses key, keydown only: the checkout acts on it, and when that closes the modal
// the frame is gone before a keyup could reach it (the keyup would fail as detached). The
// frame can even go before the keydown's own reply comes back: that is the key working, not a
// lost key, and the caller checks what the key did (the checkout's "closed" message).
func keyDown(key string) chromedp.Action[chromedp.Void] {
	down := kb.Encode([]rune(key)[0])[0] // rawKeyDown for a non-printing key
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, *down)
		if errors.Is(err, chromedp.ErrTargetDetached) {
			return nil
		}
		return err
	})
}

// TestCheckoutEmbedInBrowser checks embed.js on a merchant's page in headless Chromium: the
// inline iframe takes the height of the pending checkout and shrinks to the PAID receipt; a
// modal closes by its × button, by Escape (in the checkout or on the page) and by a click on
// the backdrop, and each time focus goes back to the button that opened it. At 360 and
// 1280 px, with screenshots under artifacts/.
func TestCheckoutEmbedInBrowser(t *testing.T) {
	w := newWorld(t)
	dir := builtWasm(t)
	edge := w.startCheckoutEdge(t, "127.0.0.1", page.Config{WebDir: dir}, nil, nil)
	site := merchantSite(t, "127.0.0.2", edge.url)
	shop := modalShop(t, "127.0.0.2", edge.url)
	edge.merch.EmbedOrigins = []string{site, shop}
	if err := w.store.PutMerchant(w.ctx, edge.merch); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	newOrder := func(amount string) *checkout.Order {
		t.Helper()
		o, err := edge.client.CreateOrder(w.ctx, &client.OrderParams{Amount: amount, Network: checkout.ERC20,
			Description: "Order #1001", ReturnURL: site + "/return"})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	shot := func(t *testing.T, tab context.Context, name string) {
		t.Helper()
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		saveArtifact(t, name, png)
	}
	sizes := map[int64]int64{360: 740, 1280: 800}

	for _, width := range []int64{360, 1280} {
		t.Run("iframe grows for the pending page and shrinks to the receipt/"+itoa(width), func(t *testing.T) {
			o := newOrder("4")
			tab := newTab(t, browser)
			if err := chromedp.Do(tab, chromedp.EmulateViewport(width, sizes[width]), chromedp.Navigate(site+"/shop?redirect=host&order="+o.ID)); err != nil {
				t.Fatal(err)
			}
			// The frame's height is the checkout's last reported content height.
			const fits = `(() => { const f = document.querySelector("#checkout iframe"), r = msgs.filter(m => m.type === "resize");
				return f && r.length > 0 && Math.round(f.getBoundingClientRect().height) === Math.ceil(r[r.length - 1].height) ?
				Math.round(f.getBoundingClientRect().height) : 0; })()`
			poll(t, tab, "sized to the pending page", fits+` > 640`, 30*time.Second)
			pending, err := chromedp.Run(tab, chromedp.Evaluate[int](fits))
			if err != nil {
				t.Fatal(err)
			}
			shot(t, tab, "embed-pending-"+itoa(width)+".png")
			w.pay(o, 1, "4")
			w.mine(checkout.ERC20, required)
			poll(t, tab, "PAID", `msgs.some(m => m.type === "status" && m.status === "PAID")`, 60*time.Second)
			poll(t, tab, "shrunk to the receipt", fmt.Sprintf(`(h => h > 0 && h < %d)(%s)`, pending, fits), 15*time.Second)
			paid, _ := chromedp.Run(tab, chromedp.Evaluate[int](fits))
			t.Logf("iframe height: %d px pending, %d px paid", pending, paid)
			shot(t, tab, "embed-paid-"+itoa(width)+".png")
		})
	}

	for _, width := range []int64{1280, 360} {
		o := newOrder("5")
		t.Run("modal closes, focus back to the opener/"+itoa(width), func(t *testing.T) {
			tab := newTab(t, browser)
			open := func(t *testing.T) {
				t.Helper()
				if err := chromedp.Do(tab, chromedp.EmulateViewport(width, sizes[width]), chromedp.Navigate(shop+"/shop?order="+o.ID),
					chromedp.WaitVisible("#buy"), chromedp.Click("#buy")); err != nil {
					t.Fatal(err)
				}
				poll(t, tab, "modal up, checkout live", `document.querySelector("[data-mp-checkout=modal] iframe") !== null &&
					msgs.some(m => m.type === "resize")`, 30*time.Second)
			}
			closed := func(t *testing.T, how, byCheckout string) {
				t.Helper()
				poll(t, tab, "closed by "+how, `document.querySelector("[data-mp-checkout=modal]") === null &&
					events.some(m => m.type === "closed") && `+byCheckout, 10*time.Second)
				if id, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.activeElement && document.activeElement.id`)); err != nil || id != "buy" {
					t.Errorf("after %s, focus is on %q (err %v), want the Pay button", how, id, err)
				}
			}
			fromCheckout := `msgs.some(m => m.type === "closed")`
			notFromCheckout := `!` + fromCheckout

			t.Run("close button", func(t *testing.T) {
				open(t)
				shot(t, tab, "modal-"+itoa(width)+".png")
				// Once the wasm has taken the page over: when it mounts, it replaces the
				// prerendered DOM, and a click whose mousedown and mouseup straddle that lands
				// on two different buttons, which is no click at all.
				poll(t, tab, "the wasm running the checkout", `msgs.some(m => m.type === "loaded")`, 30*time.Second)
				rect := frameRect(t, tab)
				// Where the × is inside the frame, read in the frame itself.
				var closeAt []float64
				inCheckoutFrame(t, browser, o.ID, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
					var err error
					closeAt, err = chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(b => b === null || b.getBoundingClientRect().height === 0 ? null :
						(r => [r.left + r.width / 2, r.top + r.height / 2])(b.getBoundingClientRect()))(document.querySelector("#close"))`))
					if err == nil && len(closeAt) != 2 {
						err = fmt.Errorf("no × on the modal page yet (%v)", closeAt)
					}
					return err
				}))
				if err := chromedp.Do(tab, chromedp.MouseClickXY(rect[0]+closeAt[0], rect[1]+closeAt[1])); err != nil {
					t.Fatal(err)
				}
				closed(t, "the × button", fromCheckout)
			})
			t.Run("Escape right after opening", func(t *testing.T) {
				open(t)
				if err := chromedp.Do(tab, chromedp.KeyEvent(kb.Escape)); err != nil {
					t.Fatal(err)
				}
				closed(t, "Escape right after opening", "true")
			})
			t.Run("Escape in the checkout", func(t *testing.T) {
				open(t)
				// The key goes to the checkout's own frame (a process of its own: another
				// site), as it does once the customer has clicked or tabbed into it.
				inCheckoutFrame(t, browser, o.ID, keyDown(kb.Escape))
				closed(t, "Escape in the checkout", fromCheckout)
			})
			t.Run("Escape on the page", func(t *testing.T) {
				open(t)
				if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`)); err != nil {
					t.Fatal(err)
				}
				if err := chromedp.Do(tab, chromedp.KeyEvent(kb.Escape)); err != nil {
					t.Fatal(err)
				}
				closed(t, "Escape on the page", notFromCheckout)
			})
			t.Run("backdrop click", func(t *testing.T) {
				open(t)
				// The backdrop's top padding, above the frame, on both widths.
				if err := chromedp.Do(tab, chromedp.MouseClickXY(float64(width)/2, 4)); err != nil {
					t.Fatal(err)
				}
				closed(t, "a click on the backdrop", notFromCheckout)
			})
		})
	}
}
