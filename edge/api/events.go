package api

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/sse"
	"github.com/mpchat/checkout/edge/store"
)

// Default limits on open event streams, per edge process.
const (
	DefaultStreamsPerKey = 1000
	DefaultStreamsPerIP  = 50
)

// orderEvents: GET /v1/orders/{id}/events, the merchant's stream (signed like any request).
func (s *Server) orderEvents(ctx *fasthttp.RequestCtx) error {
	id, _ := ctx.UserValue("id").(string)
	rec, err := s.Orders.Lookup(ctx, id)
	if err != nil {
		return err
	}
	if rec.MerchantID != merchantOf(ctx).ID {
		return checkout.NotFound("order")
	}
	key, _ := ctx.UserValue(keyIDValue).(string)
	return s.stream(ctx, rec, "key:"+key, false)
}

// checkoutEvents: GET /v1/checkout/{id}/events, the customer-safe stream the widget follows
// with a plain EventSource (no headers), public by order id.
func (s *Server) checkoutEvents(ctx *fasthttp.RequestCtx) error {
	id, _ := ctx.UserValue("id").(string)
	rec, err := s.Orders.Lookup(ctx, id)
	if err != nil {
		return err
	}
	if origin := string(ctx.Request.Header.Peek("Origin")); origin != "" {
		m, err := s.merchant(ctx, rec.MerchantID)
		if err != nil {
			return err
		}
		for _, o := range m.EmbedOrigins {
			if norm, ok := checkout.ParseOrigin(o); ok && strings.EqualFold(norm, origin) {
				ctx.Response.Header.Set("Access-Control-Allow-Origin", origin)
				ctx.Response.Header.Set("Vary", "Origin")
				break
			}
		}
	}
	return s.stream(ctx, rec, "ip:"+s.clientBucket(ctx), true)
}

func (s *Server) stream(ctx *fasthttp.RequestCtx, rec *store.Record, limitKey string, customer bool) error {
	if s.Hub == nil {
		return &checkout.Error{HTTPStatus: 503, Type: checkout.APIError, Code: "streams_unavailable", Message: "event streams are not enabled on this edge"}
	}
	last := string(ctx.Request.Header.Peek("Last-Event-ID"))
	if last != "" && !sse.ValidEventID(last) {
		return checkout.Invalid("invalid_last_event_id", "Last-Event-ID", "Last-Event-ID must be an id this stream sent")
	}
	if last != "" && rec.Order.Status.Terminal() {
		// A client resuming a finished stream: if it has everything, 204 tells EventSource to stop.
		if cur, err := s.Store.LastOrderEvent(ctx, rec.Order.ID); err == nil && cur.ID == last {
			ctx.SetStatusCode(fasthttp.StatusNoContent)
			return nil
		}
	}
	max := orDefault(s.StreamsPerIP, DefaultStreamsPerIP)
	if strings.HasPrefix(limitKey, "key:") {
		max = orDefault(s.StreamsPerKey, DefaultStreamsPerKey)
	}
	if !s.streams.acquire(limitKey, max) {
		ctx.Response.Header.Set("Retry-After", "5")
		return &checkout.Error{HTTPStatus: 429, Type: checkout.RateLimit, Code: "too_many_streams",
			Message: "too many open event streams; close some or retry later"}
	}
	// The connection is taken over once the handler returns: one goroutine and one 1 KiB
	// buffer per stream, instead of fasthttp's stream writer (a pipe, a second goroutine and
	// two 4 KiB buffers). The response is HTTP/1.1 with the body delimited by closing the
	// connection, which EventSource and proxies handle.
	head := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n" +
		"Cache-Control: no-cache, no-transform\r\nX-Accel-Buffering: no\r\nConnection: close\r\n")
	for _, h := range []string{"Request-Id", "Access-Control-Allow-Origin", "Vary"} {
		if v := ctx.Response.Header.Peek(h); len(v) > 0 {
			head = append(append(append(append(head, h...), ": "...), v...), "\r\n"...)
		}
	}
	head = append(head, "\r\n"...)
	req := sse.Request{OrderID: rec.Order.ID, LastEventID: last, Customer: customer, Heartbeat: s.Heartbeat}
	hub, st, log := s.Hub, s.Store, s.log()
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		// With Server.KeepHijackedConns the stream runs on after this returns, so fasthttp
		// frees the request context and its buffers instead of holding them for hours.
		s.active.Add(1)
		go func() {
			defer s.active.Done()
			defer c.Close()
			defer s.streams.release(limitKey)
			w := bufio.NewWriterSize(c, 1024) // messages larger than this are written through
			if _, err := w.Write(head); err != nil {
				return
			}
			err := hub.Stream(w, st, req)
			_ = w.Flush()                                        // what the stream wrote last (a terminal status) before the connection closes
			if err != nil && !errors.Is(err, context.Canceled) { // canceled: the edge is shutting down
				log.Warn("event stream ended with an error", "order_id", req.OrderID, "err", err)
			}
		}()
	})
	ctx.SetStatusCode(fasthttp.StatusOK) // for the request log; nothing is written by fasthttp
	return nil
}

// WaitStreams waits until every event stream has ended (they end when the Hub stops), or ctx
// is done: graceful shutdown lets streams send what they have and close cleanly.
func (s *Server) WaitStreams(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.active.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// streamCounts limits open streams per key or client IP on this process.
type streamCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *streamCounts) acquire(k string, max int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	if max >= 0 && c.n[k] >= max {
		return false
	}
	c.n[k]++
	return true
}

func (c *streamCounts) release(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[k]--; c.n[k] <= 0 {
		delete(c.n, k)
	}
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
