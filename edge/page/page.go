// Package page serves the hosted checkout (GET /pay/{id}) and its static assets on fasthttp.
//
// The page's first paint is the widget's go-app components rendered to HTML here, with the
// stylesheet inlined and nothing render-blocking, so a customer on a slow phone can pay
// before any WebAssembly arrives; the state the components rendered from is embedded as JSON
// for the wasm to start from. The document shell is ours rather than go-app's Handler page:
// that page links go-app's stylesheet (a render-blocking round trip), cannot carry per-order
// data or per-merchant security headers, and covers the page with a loader until the wasm
// runs. go-app's Handler still generates the wasm loader script (app.js), so the wasm starts
// exactly as go-app expects.
package page

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/app/ssr"
	"github.com/mpchat/checkout/app/widget"
)

// Defaults of Config.
const (
	DefaultFrameAncestors = "'none'"
	DefaultERC20Token     = "0xdAC17F958D2ee523a2206206994597C13D831ec7" // USDT on Ethereum mainnet
	DefaultERC20ChainID   = 1
	DefaultReturnDelay    = 5 * time.Second
)

// DefaultExplorers are the public explorers of TRON and Ethereum mainnet.
var DefaultExplorers = map[checkout.Network]string{
	checkout.TRC20: "https://tronscan.org/#/transaction/{tx}",
	checkout.ERC20: "https://etherscan.io/tx/{tx}",
}

// Config is the operator's settings for the checkout page.
type Config struct {
	// WebDir holds the built wasm assets (app.wasm, wasm_exec.js and their .gz/.br copies,
	// from `make wasm`). Empty or without them, pages work without live updates.
	WebDir string
	// BuildID names this release (go-app's Handler.Version); empty = a hash of the assets,
	// the same on every replica running the same build.
	BuildID string
	// FrameAncestors is the CSP frame-ancestors source list for merchants that set no embed
	// origins; default 'none' (no framing).
	FrameAncestors string
	// ERC20Token and ERC20ChainID go into EIP-681 QR codes of ERC20 orders; defaults: mainnet
	// USDT and chain 1. The dev chain's token and 1337 in development.
	ERC20Token   string
	ERC20ChainID uint64
	// ReturnDelay is the visible pause before a terminal status sends the customer to
	// return_url; default 5 s.
	ReturnDelay time.Duration
	// Dev allows http return URLs to loopback hosts, as the API does in dev mode.
	Dev bool
	// DevPayURL (only with Dev) is the dev-chain payer the checkout's DEV ONLY control posts
	// the order to (make demo's shop serves one). Ignored outside dev mode.
	DevPayURL string
	Log       *slog.Logger
	// PageCacheBytes bounds the memory of rendered pages (and their compressed copies) kept
	// for repeated loads; 0 = DefaultPageCacheBytes (16 MiB). See pageCache.
	PageCacheBytes int
	// Explorers are the block explorers' transaction pages per network, {tx} standing for the
	// hash; nil = DefaultExplorers, except in dev mode (the dev chain has no explorer: hashes
	// are shown without a link). A network mapped to "" gets no link.
	Explorers map[checkout.Network]string
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

// Lookup returns the customer-safe view of an order and its merchant's settings, or an error
// (a *checkout.Error with HTTPStatus 404 for an unknown order).
type Lookup func(ctx context.Context, id string) (checkout.CheckoutView, *checkout.Merchant, error)

// Handler serves the checkout page and assets.
type Handler struct {
	cfg    Config
	lookup Lookup
	assets *assets
	cache  *pageCache
}

// New loads the assets and checks the configuration.
func New(cfg Config, lookup Lookup) (*Handler, error) {
	if cfg.FrameAncestors == "" {
		cfg.FrameAncestors = DefaultFrameAncestors
	}
	if err := checkSources(cfg.FrameAncestors); err != nil {
		return nil, fmt.Errorf("frame ancestors: %w", err)
	}
	if cfg.ERC20Token == "" {
		cfg.ERC20Token = DefaultERC20Token
	}
	if cfg.ERC20ChainID == 0 {
		cfg.ERC20ChainID = DefaultERC20ChainID
	}
	if cfg.ReturnDelay <= 0 {
		cfg.ReturnDelay = DefaultReturnDelay
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Explorers == nil && !cfg.Dev {
		cfg.Explorers = DefaultExplorers
	}
	for n, u := range cfg.Explorers {
		if u == "" {
			continue
		}
		if _, err := checkout.ParseReturnURL(strings.ReplaceAll(u, "{tx}", "0"), false); err != nil || !strings.Contains(u, "{tx}") {
			return nil, fmt.Errorf("explorer of %s: %q must be an https URL with {tx}", n, u)
		}
	}
	a, err := loadAssets(cfg.WebDir, cfg.BuildID)
	if err != nil {
		return nil, err
	}
	if a.wasm == "" {
		cfg.Log.Warn("checkout wasm not found: pages work without live updates (run make wasm)", "web_dir", cfg.WebDir)
	}
	return &Handler{cfg: cfg, lookup: lookup, assets: a, cache: newPageCache(cfg.PageCacheBytes)}, nil
}

// Version is the build id the page and go-app's loader carry.
func (h *Handler) Version() string { return h.assets.version }

// Asset serves GET /web/{file}, /embed.js and /app-worker.js; it returns false for other paths.
func (h *Handler) Asset(ctx *fasthttp.RequestCtx) bool { return h.assets.serve(ctx) }

// Pay serves GET /pay/{id}: the checkout of one order.
func (h *Handler) Pay(ctx *fasthttp.RequestCtx, id string) error {
	q := ctx.QueryArgs()
	lang := widget.PickLang(string(q.Peek("lang")), string(ctx.Request.Header.Peek("Accept-Language")))
	view, m, err := h.lookup(ctx, id)
	if err != nil {
		var ce *checkout.Error
		if errors.As(err, &ce) && ce.HTTPStatus == 404 {
			h.notFound(ctx, lang)
			return nil
		}
		return fmt.Errorf("checkout page %s: %w", id, err)
	}
	st := h.state(ctx, view, m, lang)
	stateJSON, err := json.Marshal(st) // escapes <, > and & so it cannot end its script element
	if err != nil {
		return fmt.Errorf("checkout page %s: state: %w", id, err)
	}
	p := h.cache.page(cacheKey([]byte("pay"), stateJSON), func() (int, []byte, error) {
		page, err := h.render(st, stateJSON)
		return fasthttp.StatusOK, []byte(page), err
	})
	if p.err != nil {
		return fmt.Errorf("checkout page %s: %w", id, p.err)
	}
	h.headers(ctx, m)
	h.writePage(ctx, p)
	return nil
}

// writePage sends a cached page, compressed when the client accepts it (each encoding is made
// once per page): the first paint waits for these bytes.
func (h *Handler) writePage(ctx *fasthttp.RequestCtx, p *cachedPage) {
	ctx.SetStatusCode(p.status)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Vary", "Accept-Encoding")
	enc := ctx.Request.Header.Peek("Accept-Encoding")
	switch {
	case accepts(enc, "br"):
		if b, ok := h.cache.body(p, "br"); ok {
			ctx.Response.Header.Set("Content-Encoding", "br")
			ctx.SetBody(b)
			return
		}
	case accepts(enc, "gzip"):
		if b, ok := h.cache.body(p, "gzip"); ok {
			ctx.Response.Header.Set("Content-Encoding", "gzip")
			ctx.SetBody(b)
			return
		}
	}
	b, _ := h.cache.body(p, "")
	ctx.SetBody(b)
}

// render writes the page of one state. Every value in it, the shell's included, goes through
// ssr's HTML escaping: nothing from an order is ever written as markup.
func (h *Handler) render(st widget.State, stateJSON []byte) (string, error) {
	title := widget.Title(st.Lang)
	if st.Order.Description != "" {
		title += " · " + st.Order.Description
	}
	var b strings.Builder
	b.Grow(len(stateJSON) + len(h.assets.css) + 16<<10)
	head := []app.UI{app.Script().Type("application/json").ID(widget.StateElementID).Text(string(stateJSON))}
	if h.assets.wasm != "" {
		head = append(head, app.Script().Defer(true).Src("%s", h.assets.execJS), app.Script().Defer(true).Src("%s", h.assets.appJS))
	}
	if err := h.head(&b, st.Lang, title, head...); err != nil {
		return "", err
	}
	b.WriteString("<body>\n")
	if err := ssr.Write(&b, &widget.Checkout{State: st}); err != nil {
		return "", fmt.Errorf("render: %w", err)
	}
	// Live before (and without) the wasm: after the checkout, whose elements it updates.
	if err := ssr.Write(&b, app.Script().Text(h.assets.live)); err != nil {
		return "", fmt.Errorf("render: %w", err)
	}
	if h.assets.wasm != "" {
		// go-app's loader reports progress into these elements and removes them once the
		// wasm runs; they must not be body's first element (the page content is).
		b.WriteString(`<aside id="app-wasm-loader" class="loader" aria-hidden="true"><span id="app-wasm-loader-icon"></span><p id="app-wasm-loader-label"></p></aside>`)
	}
	b.WriteString("\n</body>\n</html>\n")
	return b.String(), nil
}

// head writes the document up to </head>: the shell, then extra elements (the state, the
// scripts), all rendered by ssr.
func (h *Handler) head(b *strings.Builder, lang, title string, extra ...app.UI) error {
	b.WriteString("<!DOCTYPE html>\n<html")
	ssr.Attr(b, "lang", lang)
	ssr.Attr(b, "dir", widget.Dir(lang))
	b.WriteString(">\n<head>\n")
	els := []app.UI{
		app.Meta().Charset("utf-8"),
		app.Meta().Name("viewport").Content("width=device-width, initial-scale=1, viewport-fit=cover"),
		app.Meta().Name("color-scheme").Content("light dark"),
		app.Meta().Name("robots").Content("noindex"),
		app.Title().Text(title),
		app.Link().Rel("icon").Type("image/svg+xml").Href("%s", h.assets.icon),
		app.Style().Text(h.assets.css),
	}
	for _, el := range append(els, extra...) {
		if err := ssr.Write(b, el); err != nil {
			return fmt.Errorf("page head: %w", err)
		}
		b.WriteByte('\n')
	}
	b.WriteString("</head>\n")
	return nil
}

// state builds what the page renders from: the customer-safe view and the page's options.
func (h *Handler) state(ctx *fasthttp.RequestCtx, v checkout.CheckoutView, m *checkout.Merchant, lang string) widget.State {
	q := ctx.QueryArgs()
	st := widget.State{
		Order: v, Lang: lang, ReturnDelay: h.cfg.ReturnDelay,
		MPChat:       strings.Contains(string(ctx.UserAgent()), "MPChat"),
		OpenApp:      string(q.Peek("open_app")) == "1",
		HostRedirect: string(q.Peek("redirect")) == "host",
		Origins:      embedOrigins(m),
		Now:          ceilSecond(h.cfg.Now().UTC()),
		Explorers:    h.cfg.Explorers,
		Titles:       widget.StatusTitles(lang),
	}
	switch e := string(q.Peek("embed")); e {
	case widget.EmbedInline, widget.EmbedModal:
		st.Embed = e
	}
	if v.Network == checkout.ERC20 || slices.Contains(v.NetworkChoices, checkout.ERC20) {
		// Also when the customer may switch to ERC20: the QR code after the switch needs it.
		st.Token, st.ChainID = h.cfg.ERC20Token, h.cfg.ERC20ChainID
	}
	if v.ReturnURL != "" && h.returnAllowed(v.ReturnURL, m) {
		st.ReturnTo = widget.ReturnTo(v.ReturnURL, v.ID)
	}
	if h.cfg.Dev {
		st.DevPayURL = h.cfg.DevPayURL
	}
	return st
}

// ceilSecond rounds t up to a whole second. The page embeds the edge's clock (the countdown,
// and the wasm's estimate of the clock offset); to the second, one rendered page serves every
// load of that second (pageCache), and rounding up means the countdown never shows more time
// than is left.
func ceilSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}

// returnAllowed re-checks return_url when the page is served: the merchant may have narrowed
// its allowed hosts since the order was made, and a URL the API would refuse today
// (checkout.ParseReturnURL) is never offered.
func (h *Handler) returnAllowed(raw string, m *checkout.Merchant) bool {
	u, err := checkout.ParseReturnURL(raw, h.cfg.Dev)
	if err != nil {
		return false
	}
	if len(m.ReturnHosts) == 0 {
		return true
	}
	for _, host := range m.ReturnHosts {
		if strings.EqualFold(host, u.Hostname()) {
			return true
		}
	}
	return false
}

// embedOrigins returns the merchant's embed origins normalised to scheme://host[:port]
// (checkout.ParseOrigin); anything that is not such an origin is dropped, so nothing else
// reaches a CSP header or a postMessage target.
func embedOrigins(m *checkout.Merchant) []string {
	out := []string{}
	for _, o := range m.EmbedOrigins {
		if norm, err := checkout.ParseOrigin(o); err == nil {
			out = append(out, norm)
		}
	}
	return out
}

// checkSources accepts a CSP source list of 'none', 'self', *, scheme sources (https:) and
// origins with an optional *. host wildcard; nothing that could end the directive.
func checkSources(list string) error {
	fields := strings.Fields(list)
	if len(fields) == 0 {
		return errors.New("empty source list")
	}
	for _, f := range fields {
		switch {
		case f == "'none'", f == "'self'", f == "*", f == "https:", f == "http:":
			if f == "'none'" && len(fields) > 1 {
				return errors.New("'none' must stand alone")
			}
		default:
			if checkout.ParseCSPSource(f) != nil {
				return fmt.Errorf("%q is not a source ('none', 'self', *, https: or an origin such as https://shop.example)", f)
			}
		}
	}
	return nil
}

// formAction is the CSP form-action source: the page posts no form, except the dev-mode pay
// control to the dev payer (an origin checked like any other source, so the flag cannot add
// a directive).
func (h *Handler) formAction() string {
	if !h.cfg.Dev || h.cfg.DevPayURL == "" {
		return "'none'"
	}
	u, err := checkout.ParseBaseURL(h.cfg.DevPayURL)
	if err != nil {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}

// headers sets the page's security headers. frame-ancestors lists the merchant's embed
// origins, or the operator's default when it has none.
func (h *Handler) headers(ctx *fasthttp.RequestCtx, m *checkout.Merchant) {
	ancestors := h.cfg.FrameAncestors
	img := "'self' data:"
	if m != nil {
		if o := embedOrigins(m); len(o) > 0 {
			ancestors = strings.Join(o, " ")
		}
		// An https logo: exactly its origin (checked by ParseOrigin, so it cannot add a
		// directive); a data: logo needs nothing more.
		if m.LogoURL != "" {
			if origin, err := checkout.ParseLogoURL(m.LogoURL, h.cfg.Dev); err == nil && origin != "" {
				img += " " + origin
			}
		}
	}
	hd := &ctx.Response.Header
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self' "+h.assets.liveHash+" 'wasm-unsafe-eval'; style-src "+
		h.assets.cssHash+"; img-src "+img+"; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "+
		"base-uri 'none'; form-action "+h.formAction()+"; frame-ancestors "+ancestors)
	if ancestors == "'none'" {
		hd.Set("X-Frame-Options", "DENY") // for browsers without CSP level 2
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

// notFound answers an unknown order with a small page in the customer's language.
func (h *Handler) notFound(ctx *fasthttp.RequestCtx, lang string) {
	p := h.cache.page(cacheKey([]byte("404"), []byte(lang)), func() (int, []byte, error) {
		var b strings.Builder
		if err := h.head(&b, lang, widget.NotFoundTitle(lang)); err != nil {
			return 0, nil, err
		}
		b.WriteString("<body>\n")
		err := ssr.Write(&b, app.Main().Class("checkout").Body(
			app.H1().Text(widget.NotFoundTitle(lang)),
			app.P().Text(widget.NotFoundBody(lang)),
		))
		b.WriteString("\n</body>\n</html>\n")
		return fasthttp.StatusNotFound, []byte(b.String()), err
	})
	h.headers(ctx, nil)
	if p.err != nil { // constant content: cannot happen short of a go-app change ssr refuses
		h.cfg.Log.Error("not-found page", "err", p.err)
		ctx.Error("order not found", fasthttp.StatusNotFound)
		return
	}
	h.writePage(ctx, p)
}
