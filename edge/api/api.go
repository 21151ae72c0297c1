// Package api is the edge's HTTP surface on fasthttp: the merchant API (HMAC-signed), the
// public checkout API, and health endpoints. Every route is registered in Routes; handlers
// return an error and one adapter writes it as the single JSON error shape.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/changes"
	"github.com/mpchat/checkout/edge/clientip"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/metrics"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/page"
	"github.com/mpchat/checkout/edge/store"
)

// DefaultRateLimit is the per-key request rate (per second) unless the merchant sets one.
const DefaultRateLimit = 100

// Server holds what the handlers need.
type Server struct {
	Store  *store.Store
	Orders *orders.Service
	Auth   *auth.Verifier
	// RateLimit is the default per-key requests per second (a merchant's own setting wins);
	// 0 = DefaultRateLimit, negative = no limit for keys without their own.
	RateLimit int
	Dev       bool
	Log       *slog.Logger
	// MaxTolerance caps tolerance_percent on new orders; 0 = orders.DefaultMaxTolerance (0.1).
	MaxTolerance checkout.Tolerance
	// Webhooks, if set, is woken when a redelivery is queued.
	Webhooks interface{ Wake() }
	// Changes is the process's change feed, which event streams follow; nil disables them
	// (503).
	Changes *changes.Feed
	// Page serves the hosted checkout and its assets; nil leaves them out.
	Page *page.Handler
	// ClientIP tells the client's address behind trusted reverse proxies; nil trusts none
	// (the TCP peer is the client).
	ClientIP *clientip.Resolver
	// StreamsPerKey and StreamsPerIP cap open streams per API key / client IP on this process;
	// 0 means the defaults, negative means no limit.
	StreamsPerKey, StreamsPerIP int
	// MaxStreams caps all open event streams on this process (DefaultMaxStreams when 0,
	// negative means no limit); StreamWriteTimeout bounds each write to a stream's client
	// (DefaultStreamWriteTimeout when 0).
	MaxStreams         int
	StreamWriteTimeout time.Duration
	// Heartbeat is the comment interval of event streams; 0 = sse.DefaultHeartbeat.
	Heartbeat time.Duration
	// MerchantCacheTTL: how long merchant settings are cached; 0 = DefaultMerchantCacheTTL,
	// negative disables the cache.
	MerchantCacheTTL time.Duration
	// Metrics counts and times requests and serves GET /metrics; nil disables both.
	Metrics *metrics.Edge
	// MetricsSeparate leaves /metrics out of Routes: it is served on its own listener
	// (OpsHandler, the edge's --metrics-listen). Default false: /metrics is a route of Routes.
	MetricsSeparate bool
	// ExtraRoutes, if set, registers more routes on the table (the merchant dashboard under
	// /dashboard, which reads its own cookie and never the API's Authorization header).
	ExtraRoutes func(r *router.Router)

	// PublicLimit limits public order lookups (checkout view, page, public stream) per client;
	// UnknownLimit those of ids that are no order, and once it is spent every public lookup of
	// the client is refused until it refills. Zero = DefaultPublicLimit / DefaultUnknownLimit;
	// a negative Burst = no limit.
	PublicLimit, UnknownLimit store.Limit
	// AuthFailIPLimit and AuthFailKeyLimit limit failed merchant authentications per client
	// and per key id; once either is spent, requests from that client / for that key are
	// refused before any signature is checked. Zero = the Default…; a negative Burst = none.
	AuthFailIPLimit, AuthFailKeyLimit store.Limit

	merchants merchantCache
	streams   streamCounts
	active    sync.WaitGroup // event streams running on hijacked connections
}

type handler func(ctx *fasthttp.RequestCtx) error

// Routes is the route table of the edge.
func (s *Server) Routes() *router.Router {
	r := newRouter()
	r.POST("/v1/orders", s.wrap(s.admitted(s.prepareCreate, s.createOrder)))
	r.GET("/v1/orders", s.wrap(s.authenticated(s.listOrders)))
	r.GET("/v1/orders/{id}", s.wrap(s.admitted(s.prepareGet, s.getOrder)))
	r.POST("/v1/orders/{id}/cancel", s.wrap(s.authenticated(s.cancelOrder)))
	r.GET("/v1/orders/{id}/events", s.wrap(s.authenticated(s.orderEvents)))
	r.GET("/v1/orders/{id}/webhooks", s.wrap(s.authenticated(s.listWebhooks)))
	r.POST("/v1/orders/{id}/webhooks/{event_id}/redeliver", s.wrap(s.authenticated(s.redeliverWebhook)))
	r.POST("/v1/orders/{id}/claim", s.wrap(s.authenticated(s.claimOrder)))
	r.GET("/v1/transfers", s.wrap(s.authenticated(s.listTransfers)))
	r.GET("/v1/checkout/{id}", s.wrap(s.publicLookup(s.checkoutOrder)))
	r.POST("/v1/checkout/{id}/claim", s.wrap(s.publicLookup(s.checkoutClaim)))
	r.POST("/v1/checkout/{id}/network", s.wrap(s.publicLookup(s.checkoutSwitch)))
	r.GET("/v1/checkout/{id}/events", s.wrap(s.publicLookup(s.checkoutEvents)))
	r.GET("/healthz", s.wrap(s.healthz))
	r.GET("/readyz", s.wrap(s.readyz))
	s.pageRoutes(r)
	if s.ExtraRoutes != nil {
		s.ExtraRoutes(r)
	}
	if s.Metrics != nil && !s.MetricsSeparate {
		r.GET("/metrics", s.Metrics.Handler())
	}
	r.NotFound = s.wrap(func(*fasthttp.RequestCtx) error {
		return checkout.NewError(checkout.CodeRouteNotFound, "", "no such endpoint")
	})
	r.MethodNotAllowed = s.wrap(func(*fasthttp.RequestCtx) error {
		return checkout.NewError(checkout.CodeMethodNotAllowed, "", "method not allowed on this endpoint")
	})
	r.HandleMethodNotAllowed = true
	return r
}

// newRouter is a router without the trailing-slash and fixed-path redirects: fasthttp's
// Redirect makes them absolute URLs on the request's Host header, so anyone could make the
// edge answer "Location: http://evil.example/pay/…" (an open redirect, and a poisoned entry
// in any cache in front). Such paths get a 404 like any other unknown path.
func newRouter() *router.Router {
	r := router.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.SaveMatchedRoutePath = true // the metrics' route label (set before any route is added)
	return r
}

// Handler is Routes as a fasthttp handler, instrumented when Metrics is set.
func (s *Server) Handler() fasthttp.RequestHandler {
	return s.Metrics.Instrument(s.Routes().Handler, matchedRoute)
}

// wrap is the one adapter from handler errors to responses, and the request log.
func (s *Server) wrap(h handler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		reqID := ids.New("req")
		ctx.Response.Header.Set("Request-Id", reqID)
		err := h(ctx)
		if err != nil {
			var apiErr *checkout.Error
			if !errors.As(err, &apiErr) {
				s.log().Error("request failed", "request_id", reqID, "method", string(ctx.Method()),
					"path", string(ctx.Path()), "err", err)
				apiErr = checkout.NewError(checkout.CodeInternalError, "", "internal error; it is safe to retry (request "+reqID+")")
			}
			writeError(ctx, apiErr)
		}
		lvl := slog.LevelInfo
		if ctx.Response.StatusCode() >= 500 {
			lvl = slog.LevelError
		}
		attrs := []any{"request_id", reqID, "method", string(ctx.Method()), "path", string(ctx.Path()),
			"status", ctx.Response.StatusCode(), "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
		if k, ok := ctx.UserValue(keyIDValue).(string); ok {
			attrs = append(attrs, "key_id", k)
		}
		s.log().Log(context.Background(), lvl, "request", attrs...)
	}
}

func writeError(ctx *fasthttp.RequestCtx, e *checkout.Error) {
	writeJSON(ctx, e.HTTPStatus, struct {
		Error *checkout.Error `json:"error"`
	}{e})
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"error":{"type":"api_error","code":"internal_error","message":"encoding failed"}}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(b)
}

const (
	merchantValue = "merchant"
	keyIDValue    = "key_id"
	admittedValue = "admitted" // the request's *store.Admitted
)

// authenticated authenticates the request (throttling failures), applies the key's rate
// limit, refuses a replayed state-changing request and puts the merchant in the request's
// user values.
func (s *Server) authenticated(next handler) handler { return s.admitted(nil, next) }

// prepareFunc adds a route's own Redis work to the admission's round trip (a create's claim,
// a GET's order).
type prepareFunc func(ctx *fasthttp.RequestCtx, m *checkout.Merchant, a *store.Admission)

// admitted is authenticated with the route's own work (prepare, may be nil) in the same
// round trip. The signature is checked first, in memory, with the key as cached by the
// verifier; everything Redis must say (the failed-authentication throttles, the key's
// current record, the rate limit, the replay mark, the route's work) is then one round trip,
// answered in the order the checks always had: throttled (429), key revoked or gone (401),
// rate (429), replay (409). A refused request takes back what that round trip did for it.
// A signature that does not verify is answered as before: 429 when the client or key is
// throttled, else 401 (and counted). A key not in the verifier's memory is looked up only
// after the throttles are checked, as before, so a throttled client costs no key lookup.
func (s *Server) admitted(prepare prepareFunc, next handler) handler {
	return func(ctx *fasthttp.RequestCtx) error {
		header := string(ctx.Request.Header.Peek("Authorization"))
		keyID, _, _, _ := auth.ParseHeader(header) // "" when malformed; Verify says why
		client := s.clientBucket(ctx)
		method, uri, body := string(ctx.Method()), string(ctx.RequestURI()), ctx.PostBody()
		cached := keyID != "" && s.Auth.Cached(keyID)
		if !cached { // a throttled client gets no key lookup
			if err := s.authThrottled(ctx, client, keyID); err != nil {
				return err
			}
		}
		key, err := s.Auth.VerifyCached(ctx, header, method, uri, body)
		if err != nil {
			var ce *checkout.Error
			if !errors.As(err, &ce) {
				return err
			}
			if cached {
				if err := s.authThrottled(ctx, client, keyID); err != nil {
					return err
				}
			}
			s.authFailed(ctx, client, keyID, err)
			return err
		}
		ctx.SetUserValue(keyIDValue, key.ID)
		m, err := s.merchant(ctx, key.MerchantID)
		if err != nil {
			return err
		}
		a, msgs, err := s.admission(ctx, key, m, header)
		if err != nil {
			return err
		}
		if prepare != nil {
			prepare(ctx, m, a)
		}
		r, err := s.Store.Admit(ctx, a)
		if err != nil {
			return err
		}
		refuse := func(e error, keepSpend bool) error {
			if keepSpend {
				a.Spend = nil // a duplicate spends from the rate like any request
			}
			if err := s.Store.Undo(ctx, a, r); err != nil {
				s.log().Warn("take back a refused request's admission", "err", err)
			}
			return e
		}
		for i, v := range r.Checks {
			if !v.OK {
				return refuse(s.tooMany(ctx, v, msgs[i]), false)
			}
		}
		if err := s.Auth.Confirm(key, r.Key, header, method, uri, body); err != nil {
			s.authFailed(ctx, client, keyID, err)
			return refuse(err, false)
		}
		if !r.Spend.OK {
			return refuse(s.tooMany(ctx, r.Spend, "too many requests for this API key; retry after the Retry-After header's seconds"), false)
		}
		if !r.FirstUse {
			return refuse(checkout.NewError(checkout.CodeDuplicateRequest, "", "this exact signed request (same key, timestamp, method, path and body) was already received; a replay is refused. Sign each request anew, or put an idempotency_key in the body to retry safely"), true)
		}
		ctx.SetUserValue(merchantValue, m)
		ctx.SetUserValue(admittedValue, r)
		return next(ctx)
	}
}

func (s *Server) merchant(ctx context.Context, id string) (*checkout.Merchant, error) {
	switch {
	case s.MerchantCacheTTL < 0:
		return s.Store.Merchant(ctx, id)
	case s.MerchantCacheTTL == 0:
		return s.merchants.get(ctx, s.Store, id, DefaultMerchantCacheTTL)
	}
	return s.merchants.get(ctx, s.Store, id, s.MerchantCacheTTL)
}

// rateBucket is the key's rate: perSecond requests a second with a burst of as many (nil: no
// limit).
func (s *Server) rateBucket(keyID string, perSecond int) *store.Bucket {
	if perSecond <= 0 {
		perSecond = s.RateLimit
	}
	switch {
	case perSecond < 0:
		return nil
	case perSecond == 0:
		perSecond = DefaultRateLimit
	}
	return &store.Bucket{Name: "key:" + keyID, Limit: store.PerSecond(perSecond)}
}

func merchantOf(ctx *fasthttp.RequestCtx) *checkout.Merchant {
	return ctx.UserValue(merchantValue).(*checkout.Merchant)
}

func (s *Server) healthz(ctx *fasthttp.RequestCtx) error {
	writeJSON(ctx, 200, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(ctx *fasthttp.RequestCtx) error {
	c, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(c); err != nil {
		s.log().Warn("not ready", "err", err)
		writeJSON(ctx, 503, map[string]string{"status": "unavailable", "redis": "unreachable"})
		return nil
	}
	writeJSON(ctx, 200, map[string]string{"status": "ok", "redis": "ok"})
	return nil
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
