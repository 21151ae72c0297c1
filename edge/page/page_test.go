package page

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
)

const orderID = "ord_01JDQ8ZZZZZZZZZZZZZZZZZZZZ"

func testOrder() *checkout.Order {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	return &checkout.Order{ID: orderID, Status: checkout.StatusPending, Amount: 12_500_000, PayAmount: 12_500_000,
		Currency: "USDT", Network: checkout.ERC20, Address: "0x52908400098527886E0F7030069857D2E4169EE7",
		Description: "Order #1001", Metadata: map[string]string{"secret_note": "METADATA-PRIVATE"},
		ReturnURL: "https://shop.example/back?cart=7", WebhookURL: "https://hooks.example/WEBHOOK-PRIVATE",
		DerivationPath: "m/44'/60'/0'/0/17-PRIVATE", DeepLink: checkout.DeepLink(orderID),
		CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute)}
}

func testMerchant() *checkout.Merchant {
	return &checkout.Merchant{ID: "mer_1", Name: "shop", WebhookSecret: "whsec_MERCHANT-PRIVATE",
		XPubs:        map[checkout.Network]string{checkout.ERC20: "xpub-MERCHANT-PRIVATE"},
		EmbedOrigins: []string{"https://shop.example", "javascript:alert(1)", "https://bad.example;script-src *", "http://127.0.0.2:8080/"},
		ReturnHosts:  []string{"shop.example"}}
}

func newHandler(t *testing.T, cfg Config, o *checkout.Order, m *checkout.Merchant) *Handler {
	t.Helper()
	cfg.Now = func() time.Time { return o.CreatedAt.Add(time.Minute) }
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := New(cfg, func(_ context.Context, id string) (checkout.CheckoutView, *checkout.Merchant, error) {
		if id != o.ID {
			return checkout.CheckoutView{}, nil, checkout.NotFound("order")
		}
		return o.CheckoutView(), m, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(h *Handler, uri string, header ...string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(uri)
	for i := 0; i+1 < len(header); i += 2 {
		ctx.Request.Header.Set(header[i], header[i+1])
	}
	path := string(ctx.Path())
	if id, ok := strings.CutPrefix(path, "/pay/"); ok {
		if err := h.Pay(&ctx, id); err != nil {
			ctx.SetStatusCode(500)
		}
	} else if !h.Asset(&ctx) {
		ctx.SetStatusCode(404)
	}
	return &ctx
}

func TestPayPage(t *testing.T) {
	o, m := testOrder(), testMerchant()
	h := newHandler(t, Config{ERC20Token: "0xToken", ERC20ChainID: 1337}, o, m)
	ctx := get(h, "/pay/"+orderID, "Accept-Language", "sw-KE, zh-CN;q=0.8", "User-Agent", "Mozilla/5.0 MPChat/3")
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("status %d", ctx.Response.StatusCode())
	}
	body := string(ctx.Response.Body())
	csp := string(ctx.Response.Header.Peek("Content-Security-Policy"))
	if !strings.HasSuffix(csp, "frame-ancestors https://shop.example http://127.0.0.2:8080") {
		t.Errorf("CSP %q: frame-ancestors must list exactly the merchant's valid embed origins", csp)
	}
	for _, want := range []string{"default-src 'none'", "connect-src 'self'", "style-src 'sha256-"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if xfo := ctx.Response.Header.Peek("X-Frame-Options"); len(xfo) != 0 {
		t.Errorf("X-Frame-Options %q with embed origins set", xfo)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer", "Content-Type": "text/html; charset=utf-8"} {
		if got := string(ctx.Response.Header.Peek(h)); got != want {
			t.Errorf("%s %q, want %q", h, got, want)
		}
	}
	for _, private := range []string{"PRIVATE", "secret_note", "webhook", "derivation"} {
		if strings.Contains(body, private) {
			t.Errorf("page contains merchant-private %q", private)
		}
	}
	for _, want := range []string{`lang="zh"`, o.Address, ">12.5<", "mpchat://pay?order=" + orderID,
		"ethereum:0xToken@1337/transfer?address=" + o.Address + "&amp;uint256=12500000",
		`"return_to":"https://shop.example/back?cart=7\u0026order_id=` + orderID + `"`, "29:00"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The embed origins handed to the browser are the valid ones only.
	if !strings.Contains(body, `"origins":["https://shop.example","http://127.0.0.2:8080"]`) {
		t.Errorf("state origins wrong: %s", regexp.MustCompile(`"origins":[^\]]*\]`).FindString(body))
	}
	// The state JSON cannot close its script element early: the state's and the live
	// script's are the only ones.
	if strings.Count(body, "</script>") != 2 {
		t.Errorf("%d </script> in a page without wasm", strings.Count(body, "</script>"))
	}
	if !strings.Contains(body, "<script>/*! MP Checkout live updates") {
		t.Error("page lacks the live script")
	}
	csp = string(ctx.Response.Header.Peek("Content-Security-Policy"))
	if !regexp.MustCompile(`script-src 'self' 'sha256-[A-Za-z0-9+/]{43}=' 'wasm-unsafe-eval';`).MatchString(csp) {
		t.Errorf("CSP does not allow exactly the inline live script: %s", csp)
	}
}

func TestPayPageDefaults(t *testing.T) {
	o, m := testOrder(), testMerchant()
	m.EmbedOrigins, m.ReturnHosts = nil, []string{"elsewhere.example"}
	h := newHandler(t, Config{}, o, m)
	ctx := get(h, "/pay/"+orderID+"?lang=en")
	body := string(ctx.Response.Body())
	csp := string(ctx.Response.Header.Peek("Content-Security-Policy"))
	if !strings.HasSuffix(csp, "frame-ancestors 'none'") || string(ctx.Response.Header.Peek("X-Frame-Options")) != "DENY" {
		t.Errorf("no embed origins: CSP %q", csp)
	}
	if strings.Contains(body, "return_to") || strings.Contains(body, "return-link") {
		t.Error("return_url whose host is no longer allowed still offered")
	}
	if !strings.Contains(body, "ethereum:"+DefaultERC20Token+"@1/transfer") || strings.Contains(body, "mpchat-link") {
		t.Error("defaults: mainnet USDT on chain 1, no MPChat link outside MPChat")
	}
	if !strings.Contains(body, `lang="en"`) {
		t.Error("?lang=en not honoured")
	}

	// An operator default list applies when the merchant has none.
	h = newHandler(t, Config{FrameAncestors: "'self' https://*.partner.example"}, o, m)
	ctx = get(h, "/pay/"+orderID)
	if csp := string(ctx.Response.Header.Peek("Content-Security-Policy")); !strings.HasSuffix(csp, "frame-ancestors 'self' https://*.partner.example") {
		t.Errorf("operator default: CSP %q", csp)
	}
}

func TestReturnURLRules(t *testing.T) {
	m := &checkout.Merchant{}
	for _, tc := range []struct {
		name string
		dev  bool
		url  string
		ok   bool
	}{
		{"https", false, "https://shop.example/r", true},
		{"http refused outside dev", false, "http://127.0.0.1/r", false},
		{"http loopback in dev", true, "http://127.0.0.1:9/r", true},
		{"http public host in dev", true, "http://shop.example/r", false},
		{"javascript", true, "javascript:alert(1)", false},
		{"credentials", false, "https://u:p@shop.example/", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{cfg: Config{Dev: tc.dev}}
			if got := h.returnAllowed(tc.url, m); got != tc.ok {
				t.Errorf("returnAllowed(%q) = %v", tc.url, got)
			}
		})
	}
}

func TestPageCompressed(t *testing.T) {
	h := newHandler(t, Config{}, testOrder(), testMerchant())
	plain := get(h, "/pay/"+orderID)
	br := get(h, "/pay/"+orderID, "Accept-Encoding", "gzip, br")
	if string(br.Response.Header.Peek("Content-Encoding")) != "br" || string(br.Response.Header.Peek("Vary")) != "Accept-Encoding" {
		t.Fatalf("page not brotli-compressed: %q", br.Response.Header.Peek("Content-Encoding"))
	}
	got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br.Response.Body())))
	// go-app writes attributes in map order, so two renders differ in order, not length.
	if err != nil || len(got) != len(plain.Response.Body()) || !bytes.Contains(got, []byte(testOrder().Address)) ||
		len(br.Response.Body()) >= len(got)/2 {
		t.Errorf("brotli page: %d → %d bytes, err %v", len(got), len(br.Response.Body()), err)
	}
}

func TestNotFound(t *testing.T) {
	h := newHandler(t, Config{}, testOrder(), testMerchant())
	ctx := get(h, "/pay/ord_unknown", "Accept-Language", "zh")
	if ctx.Response.StatusCode() != 404 || !strings.Contains(string(ctx.Response.Body()), "找不到付款") {
		t.Errorf("unknown order: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

func TestCheckSources(t *testing.T) {
	for _, ok := range []string{"'none'", "'self'", "*", "https://a.example https://b.example:8443", "'self' https://*.shop.example"} {
		if err := checkSources(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "'none' 'self'", "https://a.example; script-src *", "a.example", "https://a.example/path", "'unsafe-inline'"} {
		if err := checkSources(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAssets(t *testing.T) {
	dir := t.TempDir()
	wasm := bytes.Repeat([]byte("\x00asm fake module "), 4096)
	if err := os.WriteFile(filepath.Join(dir, "app.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wasm_exec.js"), []byte("// wasm_exec"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := testOrder()
	h := newHandler(t, Config{WebDir: dir, BuildID: "build-42"}, o, testMerchant())
	body := string(get(h, "/pay/"+orderID).Response.Body())
	wasmPath := regexp.MustCompile(`/web/app\.[0-9a-f]{16}\.wasm`).FindString(string(get(h, h.assets.appJS).Response.Body()))
	if wasmPath == "" || wasmPath != h.assets.wasm {
		t.Fatalf("app.js does not load the hashed wasm (%q vs %q)", wasmPath, h.assets.wasm)
	}
	for _, p := range []string{h.assets.execJS, h.assets.appJS} {
		if !strings.Contains(body, `<script defer src="`+p+`"></script>`) {
			t.Errorf("page does not load %s", p)
		}
	}
	if !strings.Contains(body, `id="app-wasm-loader-label"`) || strings.Index(body, "<main") > strings.Index(body, "app-wasm-loader") {
		t.Error("go-app's loader elements missing, or before the content")
	}

	for _, tc := range []struct{ accept, enc string }{{"gzip, deflate, br", "br"}, {"gzip", "gzip"}, {"", ""}, {"br;q=0, gzip", "gzip"}} {
		ctx := get(h, wasmPath, "Accept-Encoding", tc.accept)
		r := &ctx.Response
		if r.StatusCode() != 200 || string(r.Header.ContentType()) != "application/wasm" ||
			string(r.Header.Peek("Content-Encoding")) != tc.enc || string(r.Header.Peek("Vary")) != "Accept-Encoding" ||
			string(r.Header.Peek("Cache-Control")) != "public, max-age=31536000, immutable" ||
			string(r.Header.Peek(wasmLengthHeader)) != "69632" {
			t.Errorf("Accept-Encoding %q: %d %q %q %q", tc.accept, r.StatusCode(), r.Header.ContentType(),
				r.Header.Peek("Content-Encoding"), r.Header.Peek("Cache-Control"))
			continue
		}
		var rd io.Reader = bytes.NewReader(r.Body())
		switch tc.enc {
		case "br":
			rd = brotli.NewReader(rd)
		case "gzip":
			gz, err := gzip.NewReader(rd)
			if err != nil {
				t.Fatal(err)
			}
			rd = gz
		}
		got, err := io.ReadAll(rd)
		if err != nil || !bytes.Equal(got, wasm) {
			t.Errorf("%s body does not decode to the wasm (err %v)", tc.enc, err)
		}
	}
	etag := string(get(h, wasmPath).Response.Header.Peek("ETag"))
	if c := get(h, wasmPath, "If-None-Match", etag); c.Response.StatusCode() != 304 {
		t.Errorf("If-None-Match: %d", c.Response.StatusCode())
	}
	if c := get(h, "/web/app.0000000000000000.wasm"); c.Response.StatusCode() != 404 {
		t.Errorf("unknown asset: %d", c.Response.StatusCode())
	}

	// The service worker caches and serves nothing, and carries the build id.
	worker := string(get(h, "/app-worker.js").Response.Body())
	if strings.Contains(worker, `"fetch"`) || !strings.Contains(worker, "build-42") || !strings.Contains(worker, "caches.delete") {
		t.Errorf("service worker:\n%s", worker)
	}
	if app := string(get(h, h.assets.appJS).Response.Body()); !strings.Contains(app, `"GOAPP_VERSION":"build-42"`) {
		t.Error("go-app's loader does not carry the build id")
	}
	// embed.js: a stable URL, revalidated.
	ej := get(h, "/embed.js")
	if ej.Response.StatusCode() != 200 || string(ej.Response.Header.Peek("Cache-Control")) != "public, max-age=300" ||
		!strings.Contains(string(ej.Response.Body()), "MPCheckout") {
		t.Errorf("embed.js: %d %q", ej.Response.StatusCode(), ej.Response.Header.Peek("Cache-Control"))
	}
}
