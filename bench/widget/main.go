// Command widget measures the checkout page as a customer on a slow phone network gets it:
// real headless Chromium with the network emulated at DevTools' Fast-3G profile (562.5 ms
// latency, 180,000 B/s down, 84,375 B/s up), a real edge serving the page and its
// precompressed assets, a private redis-server, an order created through the real service.
//
// For each load (cache disabled) it reports: bytes transferred before the first paint, the
// first paint (first-contentful-paint), and "live" (the wasm running with its event stream
// open); the same loads unthrottled on loopback are the same-run baseline. It also reports
// the wasm's size raw / gzip / brotli beside a go-app hello world built by the same toolchain
// with the same flags in the same run. Then, on Fast 3G, a payment is applied to the order
// (through the real order service, so the event reaches the page by the edge's event stream)
// as soon as the page has painted, and it reports the time from the first paint to the page
// showing the payment, with the page's live script and with the wasm alone (the live script stopped),
// and their ratio.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/changes"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/page"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/internal/webbuild"
)

func main() {
	runs := flag.Int("runs", 3, "page loads per network profile")
	flag.Parse()
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	if err := run(*runs); err != nil {
		fmt.Fprintln(os.Stderr, "widget:", err)
		os.Exit(1)
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func run(runs int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tmp, err := os.MkdirTemp("", "bench-widget-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// Sizes: the checkout and a go-app hello world, as `make wasm` builds them (brotli 11).
	web, hello := filepath.Join(tmp, "web"), filepath.Join(tmp, "hello")
	if err := webbuild.Build(ctx, ".", web, webbuild.Options{Stderr: os.Stderr}); err != nil {
		return err
	}
	if err := webbuild.Build(ctx, ".", hello, webbuild.Options{Package: "./bench/widget/hello", Stderr: os.Stderr}); err != nil {
		return err
	}
	fmt.Println("\nwasm size (bytes)        raw        gzip      brotli")
	ours, base := sizes(web), sizes(hello)
	fmt.Printf("checkout           %10d  %10d  %10d\n", ours[0], ours[1], ours[2])
	fmt.Printf("go-app hello world %10d  %10d  %10d\n", base[0], base[1], base[2])
	fmt.Printf("ratio              %10.3f  %10.3f  %10.3f\n",
		float64(ours[0])/float64(base[0]), float64(ours[1])/float64(base[1]), float64(ours[2])/float64(base[2]))

	// An edge with the page, on a private Redis.
	srv, err := redistest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	prefix := "bench:"
	st := store.New(rdb, prefix)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base0 := "http://" + ln.Addr().String()
	feedRedis := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 1})
	defer feedRedis.Close()
	changeFeed := changes.New(store.NewChangeReader(feedRedis, prefix), quiet)
	go func() { _ = changeFeed.Run(ctx) }()
	svc := &orders.Service{Store: st, PublicURL: base0}
	s := &api.Server{Store: st, Orders: svc, Changes: changeFeed, Log: quiet, StreamsPerIP: -1}
	if s.Page, err = page.New(page.Config{WebDir: web, Log: quiet}, s.CheckoutLookup()); err != nil {
		return err
	}
	hs := &fasthttp.Server{Handler: s.Handler(), KeepHijackedConns: true, ReduceMemoryUsage: true}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Shutdown()

	xpub, _ := deposit.DevAccountXPub(checkout.TRC20, 1)
	k, _ := deposit.ParseAccountXPub(xpub)
	m := &checkout.Merchant{ID: ids.Merchant(), XPubs: map[checkout.Network]string{checkout.TRC20: xpub}}
	if err := st.CreateMerchant(ctx, m, &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID}, []string{k.Fingerprint()}); err != nil {
		return err
	}
	amount, _ := checkout.ParseAmount("99.99")
	p := &orders.CreateParams{Amount: amount, Network: checkout.TRC20, Description: "Order #1001", Tolerance: 10_000}
	o, _, err := svc.Create(ctx, m, p)
	if err != nil {
		return fmt.Errorf("create order: %w", err)
	}

	bin, err := chromium()
	if err != nil {
		return err
	}
	fmt.Printf("\npage loads of %s (cache disabled, %d each; median [min–max])\n", "/pay/{id}", runs)
	fmt.Println("profile      bytes before first paint   first paint            live (SSE open)        bytes until live")
	for _, prof := range []struct {
		name string
		cond *network.Conditions
	}{
		{"loopback", nil},
		{"Fast 3G", fast3G},
	} {
		var fpBytes, fp, live, liveBytes []float64
		for i := 0; i < runs; i++ {
			r, err := load(ctx, bin, o.PaymentURL, prof.cond)
			if err != nil {
				return fmt.Errorf("%s: %w", prof.name, err)
			}
			fpBytes, fp, live, liveBytes = append(fpBytes, r.BytesBeforePaint), append(fp, r.FirstPaint), append(live, r.Live), append(liveBytes, r.BytesUntilLive)
		}
		fmt.Printf("%-12s %-26s %-22s %-22s %s\n", prof.name, stat(fpBytes, "%.0f B"), stat(fp, "%.0f ms"), stat(live, "%.0f ms"), stat(liveBytes, "%.0f B"))
	}

	// A payment seen right after the first paint: how long until the page shows it, with the
	// page's live script (public/web/live.js) and, as the same-run baseline, with the wasm
	// alone (the live script stopped).
	fmt.Printf("\npayment seen right after first paint, Fast 3G (%d each; median [min–max])\n", runs)
	fmt.Println("page                     first paint → payment shown")
	var medians [2]float64
	for i, v := range []struct {
		name string
		pre  string
	}{
		{"live.js + wasm", ""},
		{"wasm only (no live.js)", noLiveScript},
	} {
		var shown []float64
		for j := 0; j < runs; j++ {
			o, _, err := svc.Create(ctx, m, p)
			if err != nil {
				return fmt.Errorf("create order: %w", err)
			}
			ms, err := paymentShown(ctx, bin, o, fast3G, v.pre, func() error {
				pos := fmt.Sprintf("%d-%d", time.Now().UnixMilli(), j)
				_, err := svc.ApplyTransfer(ctx, o.ID, pos, &checkout.Transfer{Kind: checkout.TransferSeen, Network: o.Network,
					TxHash: fmt.Sprintf("0x%064x", time.Now().UnixNano()), BlockNumber: 1, BlockHash: fmt.Sprintf("0x%064x", 1),
					From: payer, To: o.Address, Amount: o.PayAmount, Confirmations: 1, Required: 19, ObservedAt: time.Now()})
				return err
			})
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			shown = append(shown, ms)
		}
		medians[i] = median(shown)
		fmt.Printf("%-24s %s\n", v.name, stat(shown, "%.0f ms"))
	}
	fmt.Printf("ratio live.js / wasm only: %.3f\n", medians[0]/medians[1])
	return nil
}

// fast3G is Chrome DevTools' "Fast 3G" preset (front_end/core/sdk/NetworkManager.ts: 1.6 Mbit/s
// down and 750 kbit/s up, each × 0.9, and 150 ms × 3.75 latency).
var fast3G = &network.Conditions{Latency: 562.5, DownloadThroughput: 180_000, UploadThroughput: 84_375}

// payer is the sender of the benchmark's payments (any TRON address: the order is credited by
// its deposit address).
var payer = deposit.Format(checkout.TRC20, [20]byte{0x42})

// shownScript runs in the page before its own scripts and notes when the checkout first shows
// the order as CONFIRMING (a MutationObserver runs before the change can be painted).
const shownScript = `window.__shown = 0;
document.addEventListener("DOMContentLoaded", function () {
  function check() {
    const m = document.getElementById("checkout");
    if (!window.__shown && m && m.dataset.status === "CONFIRMING") window.__shown = performance.now();
  }
  new MutationObserver(check).observe(document.documentElement, {subtree: true, childList: true, attributes: true, attributeFilter: ["data-status"]});
});`

// noLiveScript stops the page's inline live script before it starts (it is part of the
// document, so no request can be refused): its first statement that touches window.mpLive
// throws, and the wasm, finding no mpLive, opens its own stream.
const noLiveScript = `Object.defineProperty(window, "mpLive", {get: function () {}, set: function () { throw new Error("live script off") }});`

// paymentShown loads o's page under cond (with pre run before the page's scripts), calls pay as soon
// as the page has painted, and returns the milliseconds from first-contentful-paint to the
// page showing the payment.
func paymentShown(ctx context.Context, bin string, o *checkout.Order, cond *network.Conditions, pre string, pay func() error) (float64, error) {
	tab, done, err := browserTab(ctx, bin)
	if err != nil {
		return 0, err
	}
	defer done()
	setup := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if err := throttle(ctx, t, cond); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: pre + shownScript})
		return err
	})
	// Navigate returns at the load event; the first paint comes before it.
	if err := chromedp.Do(tab, setup); err != nil {
		return 0, err
	}
	nav := make(chan error, 1)
	go func() { nav <- chromedp.Do(tab, chromedp.Navigate(o.PaymentURL)) }()
	const fcp = `(e => e ? e.startTime : 0)(performance.getEntriesByName("first-contentful-paint")[0])`
	var painted float64
	for painted == 0 {
		select {
		case err := <-nav:
			if err != nil {
				return 0, err
			}
			nav = nil
		default:
		}
		v, err := chromedp.Run(tab, chromedp.Evaluate[float64](fcp))
		if err == nil { // else the document is being replaced
			painted = v
		}
		if painted == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := pay(); err != nil {
		return 0, err
	}
	shown, err := chromedp.Run(tab, chromedp.Evaluate[float64](`new Promise((resolve) => {
  const tick = () => window.__shown ? resolve(window.__shown) : requestAnimationFrame(tick);
  tick();
})`, chromedp.EvalAwaitPromise))
	if err != nil {
		return 0, err
	}
	if nav != nil {
		<-nav
	}
	return shown - painted, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// result is what one page load measured, from the page's own Performance API.
type result struct {
	BytesBeforePaint float64 `json:"bytesBeforePaint"`
	FirstPaint       float64 `json:"firstPaint"`
	Live             float64 `json:"live"`
	BytesUntilLive   float64 `json:"bytesUntilLive"`
}

// measure runs in the page: it waits (frame by frame, no sleeps) until the checkout reports
// its stream open, then sums transfer sizes of the document and of the resources finished
// before first-contentful-paint, and until live.
const measure = `new Promise((resolve) => {
  const done = () => {
    const live = performance.now();
    const nav = performance.getEntriesByType("navigation")[0];
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    const res = performance.getEntriesByType("resource");
    const sum = (t) => nav.transferSize + res.filter((r) => r.responseEnd <= t).reduce((a, r) => a + r.transferSize, 0);
    resolve({bytesBeforePaint: sum(fcp.startTime), firstPaint: fcp.startTime, live: live, bytesUntilLive: sum(live)});
  };
  const tick = () => document.querySelector("main[data-live=true]") && performance.getEntriesByName("first-contentful-paint").length ? done() : requestAnimationFrame(tick);
  tick();
})`

func load(ctx context.Context, bin, url string, cond *network.Conditions) (*result, error) {
	tab, done, err := browserTab(ctx, bin)
	if err != nil {
		return nil, err
	}
	defer done()
	setup := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error { return throttle(ctx, t, cond) })
	if err := chromedp.Do(tab, setup, chromedp.Navigate(url)); err != nil {
		return nil, err
	}
	return chromedp.Run(tab, chromedp.Evaluate[*result](measure, chromedp.EvalAwaitPromise))
}

// browserTab starts a headless Chromium with a fresh profile (a phone-sized window) and
// returns its first tab, with a 2-minute deadline, and the func that ends it all.
func browserTab(ctx context.Context, bin string) (context.Context, func(), error) {
	dir, err := os.MkdirTemp("", "bench-chromium-")
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0], chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts, chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(dir),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.WindowSize(412, 915))
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelB := chromedp.NewContext(actx)
	tctx, cancelT := context.WithTimeout(tab, 2*time.Minute)
	return tctx, func() { cancelT(); cancelB(); cancelA(); os.RemoveAll(dir) }, nil
}

// throttle disables the cache and, unless cond is nil, emulates cond on every request.
func throttle(ctx context.Context, t *chromedp.Target, cond *network.Conditions) error {
	if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
		return err
	}
	if _, err := cdp.Call(ctx, t, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		return err
	}
	if cond == nil {
		return nil
	}
	_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{cond}})
	return err
}

func sizes(dir string) [3]int64 {
	var out [3]int64
	for i, ext := range []string{"", ".gz", ".br"} {
		if st, err := os.Stat(filepath.Join(dir, "app.wasm"+ext)); err == nil {
			out[i] = st.Size()
		}
	}
	return out
}

func stat(v []float64, format string) string {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf(format+" [%.0f–%.0f]", s[len(s)/2], s[0], s[len(s)-1])
}

func chromium() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium not found (apt-get install chromium, or set CHROMIUM)")
}
