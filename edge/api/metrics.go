package api

import (
	"strings"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
)

// matchedRoute is the route pattern the router matched ("/v1/orders/{id}"), "" when none.
func matchedRoute(ctx *fasthttp.RequestCtx) string {
	r, _ := ctx.UserValue(router.MatchedRoutePathParam).(string)
	return r
}

// OpenStreams counts the event streams open on this process: merchant streams
// (/v1/orders/{id}/events) and checkout streams (/v1/checkout/{id}/events).
func (s *Server) OpenStreams() (merchant, checkout int) {
	s.streams.mu.Lock()
	defer s.streams.mu.Unlock()
	for k, n := range s.streams.n {
		if strings.HasPrefix(k, "key:") {
			merchant += n
		} else {
			checkout += n
		}
	}
	return merchant, checkout
}

// OpsHandler serves the operator endpoints alone (GET /metrics, /healthz, /readyz), for a
// listener of their own (the edge's --metrics-listen) kept off the public one. /metrics
// answers 404 when Metrics is nil.
func (s *Server) OpsHandler() fasthttp.RequestHandler {
	r := newRouter()
	r.GET("/healthz", s.wrap(s.healthz))
	r.GET("/readyz", s.wrap(s.readyz))
	if s.Metrics != nil {
		r.GET("/metrics", s.Metrics.Handler())
	}
	return s.Metrics.Instrument(r.Handler, matchedRoute)
}
