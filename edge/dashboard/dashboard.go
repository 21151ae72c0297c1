// Package dashboard serves the merchant dashboard under /dashboard: sign-in, set-password
// links, TOTP enrollment and a signed-in landing page. Pages are go-app element trees
// rendered to HTML on the server by app/ssr (as the checkout's first paint is), with no
// script at all: every form is a plain POST answered by a redirect, so nothing here touches
// the checkout's wasm.
//
// Security properties, each enforced in this package or edge/users:
//   - the session cookie (mp_session) is HttpOnly, Secure (unless Dev), SameSite=Strict and
//     scoped to /dashboard; only its hash is stored;
//   - every state-changing request must come from this origin (Sec-Fetch-Site, else Origin),
//     and, once signed in, carry the session's synchronizer token (compared in constant time);
//   - the merchant API (/v1/…) never reads the cookie, and API keys (Authorization headers)
//     never open a dashboard session;
//   - a strict CSP: no script, styles only by hash, forms only to this origin, no framing.
package dashboard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/clientip"
	"github.com/mpchat/checkout/edge/users"
)

// CookieName is the session cookie.
const CookieName = "mp_session"

// Path is where the dashboard lives; the cookie is scoped to it.
const Path = "/dashboard"

// The stylesheet is every css/*.css in name order (one file per area of the dashboard),
// inlined and allowed by its hash.
//
//go:embed css/*.css
var cssFiles embed.FS

var styleCSS = mustConcat(cssFiles, "css")

func mustConcat(fsys embed.FS, dir string) string {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		panic(err) // embedded at build time: cannot fail at run time
	}
	var b strings.Builder
	for _, e := range entries { // ReadDir sorts by name
		data, err := fsys.ReadFile(dir + "/" + e.Name())
		if err != nil {
			panic(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

// Merchants reads merchant records (edge/store.Store).
type Merchants interface {
	Merchant(ctx context.Context, id string) (*checkout.Merchant, error)
	Merchants(ctx context.Context) ([]*checkout.Merchant, error)
}

// Store is what the dashboard's pages read and write, edge/store.Store in the edge. Each area
// of the dashboard states what it needs in its own interface, in its own file.
type Store interface {
	Merchants
	OrderList   // orders.go: the order list, lookups, live updates, CSV
	OrderDetail // detail.go: one order, its events and webhook deliveries
	Settings    // settings.go: keys, webhook, receive settings
	Figures     // numbers.go, operator.go: charts and the operator view
}

// Config is what the dashboard needs.
type Config struct {
	Users *users.Service
	// Merchants reads merchant records; when Store is set it is Store.
	Merchants Merchants
	// Store serves the pages past sign-in; nil serves sign-in only (tests of it).
	Store Store
	// Actions changes orders as the merchant API does (edge/orders.Service in the edge).
	Actions Actions
	// Explorers are the block explorers' transaction pages per network, {tx} standing for the
	// hash (the edge's --explorer-* flags, as the checkout uses them); a network without one
	// shows hashes and addresses without links.
	Explorers map[checkout.Network]string
	// Webhooks is the webhook dispatcher: woken by a redelivery, sender of test events; nil
	// leaves redeliveries to its polling and turns test events off.
	Webhooks Webhooks
	// Origin is this edge's public origin (scheme://host[:port], from --public-url): a
	// state-changing request must come from it.
	Origin string
	// Dev lets the session cookie go without Secure (http on loopback in development).
	Dev bool
	// ClientIP tells the client's address behind trusted proxies (rate limits, audit log).
	ClientIP *clientip.Resolver
	Log      *slog.Logger
}

// Handler serves the dashboard.
type Handler struct {
	cfg Config
	csp string
}

// New checks cfg and returns the dashboard's handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Merchants == nil && cfg.Store != nil {
		cfg.Merchants = cfg.Store
	}
	if cfg.Users == nil || cfg.Merchants == nil {
		return nil, errors.New("dashboard: Users and Merchants are required")
	}
	o, err := checkout.ParseOrigin(cfg.Origin)
	if err != nil {
		return nil, fmt.Errorf("dashboard: origin %q: %w", cfg.Origin, err)
	}
	cfg.Origin = o
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	sum := sha256.Sum256([]byte(styleCSS))
	csp := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src 'self' data:; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	return &Handler{cfg: cfg, csp: csp}, nil
}

// Routes registers the dashboard on r.
func (h *Handler) Routes(r *router.Router) {
	r.GET(Path, h.wrap(h.home, signedIn))
	r.GET(Path+"/login", h.wrap(h.loginPage, public))
	r.POST(Path+"/login", h.wrap(h.login, postPublic))
	r.GET(Path+"/set-password", h.wrap(h.setPasswordPage, public))
	r.POST(Path+"/set-password", h.wrap(h.setPassword, postPublic))
	r.POST(Path+"/logout", h.wrap(h.logout, postSignedIn))
	r.POST(Path+"/logout-all", h.wrap(h.logoutAll, postSignedIn))
	h.detailRoutes(r) // detail.go, attention.go: the order page and the attention queue
	r.GET(Path+"/totp", h.wrap(h.totpPage, signedIn))
	r.POST(Path+"/totp", h.wrap(h.totpConfirm, postSignedIn))
	h.ordersRoutes(r)
	h.settingsRoutes(r)
	h.numbersRoutes(r)
	h.operatorRoutes(r)
}

// access is what a route requires before its handler runs.
type access int

const (
	public       access = iota // anyone; a session is loaded if there is one
	signedIn                   // a session, else a redirect to the sign-in page
	postPublic                 // same-origin POST
	postSignedIn               // same-origin POST with a session and its CSRF token
)

// request is one dashboard request as the handlers see it.
type request struct {
	ctx  *fasthttp.RequestCtx
	lang string
	ip   netip.Addr
	cur  *users.Current // nil when not signed in
}

type handlerFunc func(r *request) error

// wrap applies a route's access rule, sets the security headers, and turns an unexpected
// error into a plain error page (logged, never shown).
func (h *Handler) wrap(fn handlerFunc, a access) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		h.headers(ctx)
		r := &request{ctx: ctx, ip: h.cfg.ClientIP.Client(ctx.RemoteIP(), string(ctx.Request.Header.Peek("X-Forwarded-For")))}
		r.lang = pickLang(string(ctx.QueryArgs().Peek("lang")), string(ctx.Request.Header.Peek("Accept-Language")))
		err := h.serve(r, fn, a)
		if err != nil {
			h.cfg.Log.Error("dashboard request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
			h.render(r, fasthttp.StatusInternalServerError, t(r.lang, "title.error"), errorPage(r, t(r.lang, "err.internal")))
		}
		h.cfg.Log.Debug("dashboard request", "method", string(ctx.Method()), "path", string(ctx.Path()),
			"status", ctx.Response.StatusCode(), "duration_ms", float64(time.Since(start).Microseconds())/1000)
	}
}

func (h *Handler) serve(r *request, fn handlerFunc, a access) error {
	if a == postPublic || a == postSignedIn {
		if !h.sameOrigin(r.ctx) {
			h.forbidden(r)
			return nil
		}
	}
	cur, err := h.session(r.ctx)
	if err != nil {
		return err
	}
	r.cur = cur
	if cur == nil && (a == signedIn || a == postSignedIn) {
		if len(r.ctx.Request.Header.Cookie(CookieName)) > 0 {
			h.clearCookie(r.ctx) // it named a session that is over
			h.redirect(r, Path+"/login", "expired")
			return nil
		}
		h.redirect(r, Path+"/login", "")
		return nil
	}
	if a == postSignedIn && !validCSRF(string(r.ctx.PostArgs().Peek("csrf")), cur.Session.CSRF) {
		h.forbidden(r)
		return nil
	}
	return fn(r)
}

// session returns the request's signed-in user, or nil. Only the cookie counts: an
// Authorization header (an API key) never makes a dashboard session.
func (h *Handler) session(ctx *fasthttp.RequestCtx) (*users.Current, error) {
	id := string(ctx.Request.Header.Cookie(CookieName))
	if id == "" {
		return nil, nil
	}
	cur, err := h.cfg.Users.Authenticate(ctx, id)
	if errors.Is(err, users.ErrNoSession) {
		return nil, nil
	}
	return cur, err
}

// sameOrigin reports whether a state-changing request comes from the dashboard's own pages:
// a browser that sends Sec-Fetch-Site must say same-origin; the Origin header, when sent (and
// it must be, without Sec-Fetch-Site), must be this edge's public origin.
func (h *Handler) sameOrigin(ctx *fasthttp.RequestCtx) bool {
	site := string(ctx.Request.Header.Peek("Sec-Fetch-Site"))
	origin := string(ctx.Request.Header.Peek("Origin"))
	if site != "" && site != "same-origin" {
		return false
	}
	if origin == "" {
		return site == "same-origin"
	}
	return strings.EqualFold(origin, h.cfg.Origin)
}

// validCSRF compares a submitted synchronizer token with the session's in constant time.
func validCSRF(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (h *Handler) headers(ctx *fasthttp.RequestCtx) {
	hd := &ctx.Response.Header
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	// same-origin: a set-password link's token never leaves in a Referer, and the browser still
	// sends Origin on our own forms (no-referrer would make it "null").
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	hd.Set("Vary", "Cookie, Accept-Language")
}

// setCookie gives the browser its session id.
func (h *Handler) setCookie(ctx *fasthttp.RequestCtx, id string) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(CookieName)
	c.SetValue(id)
	c.SetPath(Path)
	c.SetHTTPOnly(true)
	c.SetSecure(!h.cfg.Dev)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	ctx.Response.Header.SetCookie(c)
}

func (h *Handler) clearCookie(ctx *fasthttp.RequestCtx) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(CookieName)
	c.SetValue("")
	c.SetPath(Path)
	c.SetHTTPOnly(true)
	c.SetSecure(!h.cfg.Dev)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	c.SetMaxAge(-1)
	ctx.Response.Header.SetCookie(c)
}

// redirect answers 303 See Other to a dashboard path, with a message key and the language.
// The target is always one of ours (a relative path), never built from the request.
func (h *Handler) redirect(r *request, path, msg string) {
	q := fasthttp.AcquireArgs()
	defer fasthttp.ReleaseArgs(q)
	if msg != "" {
		q.Set("m", msg)
	}
	if l := string(r.ctx.QueryArgs().Peek("lang")); l != "" {
		q.Set("lang", r.lang)
	}
	loc := path
	if q.Len() > 0 {
		loc += "?" + q.String()
	}
	r.ctx.Response.Header.Set("Location", loc)
	r.ctx.SetStatusCode(fasthttp.StatusSeeOther)
}

func (h *Handler) forbidden(r *request) {
	h.render(r, fasthttp.StatusForbidden, t(r.lang, "title.error"), errorPage(r, t(r.lang, "err.forbidden")))
}

func retryAfter(ctx *fasthttp.RequestCtx, d time.Duration) int {
	s := max(1, int((d+time.Second-1)/time.Second))
	ctx.Response.Header.Set("Retry-After", strconv.Itoa(s))
	return s
}
