package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/changes"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/page"
	"github.com/mpchat/checkout/edge/store"
)

var (
	wasmOnce sync.Once
	wasmDir  string
	wasmErr  error
)

// builtWasm builds the checkout wasm once per test binary (go's build cache makes a rebuild
// cheap) into a directory of its own, so parallel test binaries never share output files. The
// build runs as `make wasm` does, through cmd/webbuild (at a lower brotli quality): compressing
// megabytes inside this race-instrumented binary took ten times as long.
func builtWasm(t *testing.T) string {
	t.Helper()
	wasmOnce.Do(func() {
		wasmDir, wasmErr = os.MkdirTemp("", "checkout-wasm-")
		if wasmErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "run", "./internal/webbuild/cmd/webbuild", "-o", wasmDir, "-brotli", "4")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			wasmErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if wasmErr != nil {
		t.Fatalf("build wasm: %v", wasmErr)
	}
	return wasmDir
}

// chromium returns the browser to drive: $CHROMIUM, else chromium or chromium-browser on PATH.
// CI (.ci/run) installs it; a missing browser fails the test rather than skipping it.
func chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found (apt-get install chromium, or set CHROMIUM)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns a context for its
// first tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0], chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts, chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// newTab opens another tab of the browser of ctx.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	return tab
}

// checkoutEdge is an edge replica that also serves the hosted checkout (dev mode, so http
// return URLs to loopback are accepted), with a merchant whose embed origins are given.
type checkoutEdge struct {
	url    string
	client *client.Client
	merch  *checkout.Merchant
}

func (w *world) startCheckoutEdge(t *testing.T, host string, cfg page.Config, embedOrigins, returnHosts []string) *checkoutEdge {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	feedRedis := redis.NewClient(&redis.Options{Addr: w.rdb.Options().Addr, PoolSize: 1})
	t.Cleanup(func() { feedRedis.Close() })
	changeFeed := changes.New(store.NewChangeReader(feedRedis, w.prefix), nil)
	s := &api.Server{Store: w.store, Orders: &orders.Service{Store: w.store, PublicURL: base},
		Auth: &auth.Verifier{Keys: w.store}, Changes: changeFeed, Dev: true,
		Heartbeat: time.Second, StreamsPerIP: -1, MerchantCacheTTL: -1}
	cfg.Dev = true
	if s.Page, err = page.New(cfg, s.CheckoutLookup()); err != nil {
		t.Fatal(err)
	}
	hs := &fasthttp.Server{Handler: s.Handler(), KeepHijackedConns: true, ReduceMemoryUsage: true}
	w.mu.Lock()
	w.servers, w.feeds = append(w.servers, hs), append(w.feeds, feedRedis)
	w.mu.Unlock()
	w.wg.Add(2)
	go func() { defer w.wg.Done(); _ = hs.Serve(ln) }()
	go func() { defer w.wg.Done(); _ = changeFeed.Run(w.ctx) }()

	m := &checkout.Merchant{ID: ids.Merchant(), Name: "shop", XPubs: map[checkout.Network]string{}, CreatedAt: time.Now(),
		RateLimit: 100_000, EmbedOrigins: embedOrigins, ReturnHosts: returnHosts}
	var fps []string
	for _, n := range checkout.Networks {
		x, _ := deposit.DevAccountXPub(n, 11)
		k, _ := deposit.ParseAccountXPub(x)
		m.XPubs[n] = x
		fps = append(fps, k.Fingerprint())
	}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_shop"}
	if err := w.store.CreateMerchant(w.ctx, m, key, fps); err != nil {
		t.Fatal(err)
	}
	c := client.New(base, key.ID, key.Secret)
	c.Backoff = func(int) time.Duration { return 0 }
	return &checkoutEdge{url: base, client: c, merch: m}
}

// merchantSite serves a merchant's pages on host (127.0.0.2, another origin than the edge's
// 127.0.0.1): /shop embeds the checkout with embed.js and records the messages it receives;
// /return is the return_url.
func merchantSite(t *testing.T, host, edgeURL string) string {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/shop", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("order")
		attrs := `data-order-id="` + id + `"`
		if r.URL.Query().Get("mode") == "modal" {
			attrs += ` data-mode="modal"`
		}
		if r.URL.Query().Get("redirect") == "host" {
			attrs += ` data-redirect="host"`
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>shop</title>
<script>window.msgs=[];window.addEventListener("message",function(e){if(e.origin===%q)window.msgs.push(e.data);});
document.addEventListener("load",function(e){if(e.target.tagName==="IFRAME")window.frameLoaded=true;},true);</script>
</head><body><h1>Shop</h1><div id="checkout"><script src="%s/embed.js" %s></script></div></body></html>`, edgeURL, edgeURL, attrs)
	})
	mux.HandleFunc("/return", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><head><title>back at the shop</title></head><body><p id="back">back</p></body></html>`)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// poll evaluates expr in the tab until it returns true (deadline d).
func poll(t *testing.T, ctx context.Context, what, expr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ""`))
	// The markup too: a page whose text is nearly empty says little by its text alone.
	html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.outerHTML.slice(0, 2000) : ""`))
	t.Fatalf("waiting for %s (%s): timed out at %s; last error %v; page text: %s\npage markup: %s", what, expr, loc, last, text, html)
}

// saveArtifact writes b under the repository's artifacts/ (gitignored).
func saveArtifact(t *testing.T, name string, b []byte) {
	t.Helper()
	dir := filepath.Join("..", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", filepath.Join(dir, name))
}

func jsString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
