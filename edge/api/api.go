// Package api is the edge's HTTP surface on fasthttp: the merchant API (HMAC-signed), the
// public checkout API, and health endpoints. Every route is registered in Routes; handlers
// return an error and one adapter writes it as the single JSON error shape.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/router"
	"github.com/go-redis/redis_rate/v10"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/clientip"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/metrics"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/page"
	"github.com/mpchat/checkout/edge/sse"
	"github.com/mpchat/checkout/edge/store"
)

// DefaultRateLimit is the per-key request rate (per second) unless the merchant sets one.
const DefaultRateLimit = 100

// Server holds what the handlers need.
type Server struct {
	Store     *store.Store
	Orders    *orders.Service
	Auth      *auth.Verifier
	Limiter   *redis_rate.Limiter // nil disables rate limiting
	RateLimit int                 // default per-key requests per second; 0 = DefaultRateLimit
	Dev       bool
	Log       *slog.Logger
	// MaxTolerance caps tolerance_percent on new orders; 0 = orders.DefaultMaxTolerance (0.1).
	MaxTolerance checkout.Tolerance
	// Webhooks, if set, is woken when a redelivery is queued.
	Webhooks interface{ Wake() }
	// Hub serves event streams; nil disables them (503).
	Hub *sse.Hub
	// Page serves the hosted checkout and its assets; nil leaves them out.
	Page *page.Handler
	// ClientIP tells the client's address behind trusted reverse proxies; nil trusts none
	// (the TCP peer is the client).
	ClientIP *clientip.Resolver
	// StreamsPerKey and StreamsPerIP cap open streams per API key / client IP on this process;
	// 0 means the defaults, negative means no limit.
	StreamsPerKey, StreamsPerIP int
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

	merchants merchantCache
	streams   streamCounts
	active    sync.WaitGroup // event streams running on hijacked connections
}

type handler func(ctx *fasthttp.RequestCtx) error

// Routes is the route table of the edge.
func (s *Server) Routes() *router.Router {
	r := router.New()
	r.SaveMatchedRoutePath = true // the metrics' route label (set before any route is added)
	r.POST("/v1/orders", s.wrap(s.authenticated(s.createOrder)))
	r.GET("/v1/orders/{id}", s.wrap(s.authenticated(s.getOrder)))
	r.GET("/v1/orders/{id}/events", s.wrap(s.authenticated(s.orderEvents)))
	r.GET("/v1/orders/{id}/webhooks", s.wrap(s.authenticated(s.listWebhooks)))
	r.POST("/v1/orders/{id}/webhooks/{event_id}/redeliver", s.wrap(s.authenticated(s.redeliverWebhook)))
	r.GET("/v1/checkout/{id}", s.wrap(s.checkoutOrder))
	r.GET("/v1/checkout/{id}/events", s.wrap(s.checkoutEvents))
	r.GET("/healthz", s.wrap(s.healthz))
	r.GET("/readyz", s.wrap(s.readyz))
	s.pageRoutes(r)
	if s.Metrics != nil && !s.MetricsSeparate {
		r.GET("/metrics", s.Metrics.Handler())
	}
	r.NotFound = s.wrap(func(*fasthttp.RequestCtx) error {
		return &checkout.Error{HTTPStatus: 404, Type: checkout.InvalidRequest, Code: "route_not_found", Message: "no such endpoint"}
	})
	r.MethodNotAllowed = s.wrap(func(*fasthttp.RequestCtx) error {
		return &checkout.Error{HTTPStatus: 405, Type: checkout.InvalidRequest, Code: "method_not_allowed", Message: "method not allowed on this endpoint"}
	})
	r.HandleMethodNotAllowed = true
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
				apiErr = &checkout.Error{HTTPStatus: 500, Type: checkout.APIError, Code: "internal_error",
					Message: "internal error; it is safe to retry (request " + reqID + ")"}
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
)

// authenticated authenticates the request, applies the key's rate limit and puts the merchant
// in the request's user values.
func (s *Server) authenticated(next handler) handler {
	return func(ctx *fasthttp.RequestCtx) error {
		key, err := s.Auth.Verify(ctx, string(ctx.Request.Header.Peek("Authorization")),
			string(ctx.Method()), string(ctx.RequestURI()), ctx.PostBody())
		if err != nil {
			return err
		}
		ctx.SetUserValue(keyIDValue, key.ID)
		m, err := s.merchant(ctx, key.MerchantID)
		if err != nil {
			return err
		}
		if err := s.limit(ctx, key.ID, m.RateLimit); err != nil {
			return err
		}
		ctx.SetUserValue(merchantValue, m)
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

func (s *Server) limit(ctx *fasthttp.RequestCtx, keyID string, perSecond int) error {
	if s.Limiter == nil {
		return nil
	}
	if perSecond <= 0 {
		perSecond = s.RateLimit
	}
	if perSecond <= 0 {
		perSecond = DefaultRateLimit
	}
	res, err := s.Limiter.Allow(ctx, s.Store.Prefix()+"key:"+keyID,
		redis_rate.Limit{Rate: perSecond, Burst: perSecond, Period: time.Second})
	if err != nil {
		return err
	}
	if res.Allowed == 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(math.Ceil(res.RetryAfter.Seconds()))))
		return &checkout.Error{HTTPStatus: 429, Type: checkout.RateLimit, Code: "rate_limited",
			Message: "too many requests for this API key; retry after the Retry-After header's seconds"}
	}
	return nil
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
