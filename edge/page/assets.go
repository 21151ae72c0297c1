package page

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
	"github.com/valyala/fasthttp"

	"github.com/mpchat/checkout/internal/webbuild"
	"github.com/mpchat/checkout/public"
)

// asset is one static file held in memory with its precompressed copies.
type asset struct {
	ctype     string
	raw       []byte
	gz, br    []byte
	etag      string
	immutable bool // content-hashed name: cached for a year
}

// wasmLengthHeader carries the uncompressed size of the wasm for go-app's progress label
// (Content-Length is the compressed size).
const wasmLengthHeader = "X-Uncompressed-Length"

// assets is the set of files the page uses, by request path.
type assets struct {
	files    map[string]*asset
	wasm     string // path of app.{hash}.wasm; "" when no wasm was built
	execJS   string // path of wasm_exec.{hash}.js
	live     string // live.js, the live updates before the wasm runs: inlined at the end of the body
	liveHash string // its CSP hash source
	appJS    string // path of go-app's app.{hash}.js
	icon     string
	css      string // the stylesheet, inlined into pages
	cssHash  string // its CSP hash source, 'sha256-…'
	version  string // the build id
}

func hash8(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])[:16]
}

// loadAssets reads the committed assets (public.FS) and the built ones (webDir), content-hashes
// their names, and keeps compressed copies: the build's .gz/.br files when present and
// current, else made here (brotli at a moderate level, so a start without `make wasm`'s
// copies stays quick).
func loadAssets(webDir, buildID string) (*assets, error) {
	a := &assets{files: map[string]*asset{}}
	css, err := fs.ReadFile(public.FS, "web/checkout.css")
	if err != nil {
		return nil, fmt.Errorf("page: stylesheet: %w", err)
	}
	a.css = string(css)
	sum := sha256.Sum256(css)
	a.cssHash = "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	icon, err := fs.ReadFile(public.FS, "web/icon.svg")
	if err != nil {
		return nil, fmt.Errorf("page: icon: %w", err)
	}
	if a.icon, err = a.add("icon", ".svg", icon, nil, nil); err != nil {
		return nil, err
	}
	liveJS, err := fs.ReadFile(public.FS, "web/live.js")
	if err != nil {
		return nil, fmt.Errorf("page: live.js: %w", err)
	}
	// Inlined rather than fetched: on a slow link a script of its own is one more round trip
	// (~0.56 s on Fast 3G) before the page follows the order.
	a.live = string(liveJS)
	lsum := sha256.Sum256(liveJS)
	a.liveHash = "'sha256-" + base64.StdEncoding.EncodeToString(lsum[:]) + "'"
	embedJS, err := fs.ReadFile(public.FS, "embed.js")
	if err != nil {
		return nil, fmt.Errorf("page: embed.js: %w", err)
	}
	// embed.js is referenced by merchants at a fixed URL: revalidated every 5 minutes.
	if err := a.addAt("/embed.js", "text/javascript; charset=utf-8", embedJS, nil, nil, false); err != nil {
		return nil, err
	}

	wasm, wgz, wbr, err := readBuilt(webDir, "app.wasm")
	if err != nil {
		return nil, err
	}
	exec, egz, ebr, err := readBuilt(webDir, "wasm_exec.js")
	if err != nil {
		return nil, err
	}
	if wasm == nil || exec == nil {
		// No wasm built: the page still works from its first paint, without live updates.
		a.version = buildID
		if a.version == "" {
			a.version = "nowasm-" + hash8(css)
		}
		return a, nil
	}
	if a.wasm, err = a.add("app", ".wasm", wasm, wgz, wbr); err != nil {
		return nil, err
	}
	if a.execJS, err = a.add("wasm_exec", ".js", exec, egz, ebr); err != nil {
		return nil, err
	}
	a.version = buildID
	if a.version == "" {
		a.version = hash8(append(append(append([]byte{}, wasm...), exec...), css...))
	}
	appJS, worker, err := goappScripts(a.wasm, a.version)
	if err != nil {
		return nil, err
	}
	if a.appJS, err = a.add("app", ".js", appJS, nil, nil); err != nil {
		return nil, err
	}
	// The service worker go-app's app.js registers. Ours caches nothing and serves nothing:
	// it only clears what an older worker cached, so no deploy can leave a stale checkout.
	return a, a.addAt("/app-worker.js", "text/javascript; charset=utf-8", worker, nil, nil, false)
}

// readBuilt reads name and, when they are at least as new, its .gz and .br copies from dir.
// A missing name returns nils and no error.
func readBuilt(dir, name string) (raw, gz, br []byte, err error) {
	if dir == "" {
		return nil, nil, nil, nil
	}
	p := filepath.Join(dir, name)
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("page: %w", err)
	}
	if raw, err = os.ReadFile(p); err != nil {
		return nil, nil, nil, fmt.Errorf("page: %w", err)
	}
	fresh := func(ext string) []byte {
		cst, err := os.Stat(p + ext)
		if err != nil || cst.ModTime().Before(st.ModTime()) {
			return nil
		}
		b, _ := os.ReadFile(p + ext)
		return b
	}
	return raw, fresh(".gz"), fresh(".br"), nil
}

func (a *assets) add(name, ext string, raw, gz, br []byte) (string, error) {
	p := "/web/" + name + "." + hash8(raw) + ext
	return p, a.addAt(p, contentType(ext), raw, gz, br, true)
}

func (a *assets) addAt(p, ctype string, raw, gz, br []byte, immutable bool) error {
	var err error
	if gz == nil {
		if gz, err = webbuild.Gzip(raw); err != nil {
			return err
		}
	}
	if br == nil {
		q := 11
		if len(raw) > 1<<20 {
			q = 6 // a large wasm at 11 takes seconds; `make wasm` ships the level-11 copy
		}
		if br, err = webbuild.Brotli(raw, q); err != nil {
			return err
		}
	}
	a.files[p] = &asset{ctype: ctype, raw: raw, gz: gz, br: br, immutable: immutable, etag: `"` + hash8(raw) + `"`}
	return nil
}

func contentType(ext string) string {
	switch ext {
	case ".wasm":
		return "application/wasm"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return "application/octet-stream"
}

// serve writes the asset at the request's path: brotli or gzip when the client accepts it
// (never decided by sniffing), with long-lived caching for content-hashed names.
func (a *assets) serve(ctx *fasthttp.RequestCtx) bool {
	f, ok := a.files[string(ctx.Path())]
	if !ok {
		return false
	}
	h := &ctx.Response.Header
	h.Set("Content-Type", f.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Accept-Encoding")
	h.Set("ETag", f.etag)
	h.Set("Cross-Origin-Resource-Policy", "cross-origin") // embed.js loads on merchants' pages
	if f.immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	if f.ctype == "application/wasm" {
		h.Set(wasmLengthHeader, strconv.Itoa(len(f.raw)))
	}
	if bytes.Equal(ctx.Request.Header.Peek("If-None-Match"), []byte(f.etag)) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return true
	}
	body := f.raw
	switch enc := ctx.Request.Header.Peek("Accept-Encoding"); {
	case accepts(enc, "br"):
		h.Set("Content-Encoding", "br")
		body = f.br
	case accepts(enc, "gzip"):
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	if ctx.IsHead() {
		ctx.Response.SkipBody = true
		h.SetContentLength(len(body))
		return true
	}
	ctx.SetBody(body)
	return true
}

// accepts reports whether an Accept-Encoding header lists coding with a non-zero q.
func accepts(header []byte, coding string) bool {
	for _, part := range strings.Split(string(header), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		return !(strings.HasPrefix(params, "q=0") && strings.Trim(strings.TrimPrefix(params, "q="), "0.") == "")
	}
	return false
}

// resources tells go-app where the wasm is (a content-hashed name under /web/).
type resources struct{ wasm string }

func (r resources) Package() string { return "" }
func (r resources) Static() string  { return "" }
func (r resources) AppWASM() string { return r.wasm }

// noWorker replaces go-app's caching service worker: it takes over, deletes every cache an
// older worker made, and has no fetch handler, so every request goes to the network.
const noWorker = `// MP Checkout {{.Version}}: no offline cache; a checkout must never be served stale.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(
  caches.keys().then((ks) => Promise.all(ks.map((k) => caches.delete(k)))).then(() => self.clients.claim())));
`

// goappScripts renders go-app's app.js (its wasm loader: environment, progress, ?wasm=false)
// and our service worker through go-app's own Handler, so the loader matches the go-app the
// wasm was built with.
func goappScripts(wasmPath, version string) (appJS, worker []byte, err error) {
	h := &app.Handler{
		Name:                    "MP Checkout",
		Version:                 version,
		Resources:               resources{wasm: wasmPath},
		WasmContentLengthHeader: wasmLengthHeader,
		LoadingLabel:            "↻ {progress}%",
		ServiceWorkerTemplate:   noWorker,
		Icon:                    app.Icon{Default: "/web/icon.svg", SVG: "/web/icon.svg"},
	}
	get := func(p string) ([]byte, error) {
		w := &recorder{header: http.Header{}}
		h.ServeHTTP(w, &http.Request{Method: "GET", URL: &url.URL{Path: p}, Header: http.Header{}})
		if w.status != 0 && w.status != 200 {
			return nil, fmt.Errorf("page: go-app %s: status %d", p, w.status)
		}
		return w.body.Bytes(), nil
	}
	if appJS, err = get("/app.js"); err != nil {
		return nil, nil, err
	}
	if worker, err = get("/app-worker.js"); err != nil {
		return nil, nil, err
	}
	return appJS, worker, nil
}

// recorder is the http.ResponseWriter goappScripts reads go-app's generated files with.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(s int)           { r.status = s }
