package api

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/sse"
	"github.com/mpchat/checkout/edge/store"
)

// Default limits on open event streams, per edge process.
const (
	DefaultStreamsPerKey = 1000
	DefaultStreamsPerIP  = 50
	// DefaultMaxStreams caps every stream of one edge together, whoever opened them: a stream
	// costs about 30 KiB of the edge's memory (two goroutines and small buffers; measured with
	// bench/sse) plus a file descriptor and its kernel socket buffers (bounded by
	// streamSendBuffer), so the cap bounds the edge's share at about 300 MiB.
	DefaultMaxStreams = 10_000
	// DefaultStreamWriteTimeout: a write to a stream's client that cannot complete for this
	// long (the client stopped reading and the socket is full) ends the stream; a client
	// that comes back resumes with Last-Event-ID.
	DefaultStreamWriteTimeout = 30 * time.Second
)

// streamSendBuffer is the kernel send buffer asked for a stream's connection (Linux doubles
// it). Event messages are small; left to autotuning, a client that stops reading would park
// megabytes in the kernel before a write blocks and the write timeout can see it.
const streamSendBuffer = 32 << 10

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
			if norm, err := checkout.ParseOrigin(o); err == nil && strings.EqualFold(norm, origin) {
				ctx.Response.Header.Set("Access-Control-Allow-Origin", origin)
				ctx.Response.Header.Set("Vary", "Origin")
				break
			}
		}
	}
	return s.stream(ctx, rec, "ip:"+s.clientBucket(ctx), true)
}

func (s *Server) stream(ctx *fasthttp.RequestCtx, rec *store.Record, limitKey string, customer bool) error {
	if s.Changes == nil {
		return checkout.NewError(checkout.CodeStreamsUnavailable, "", "event streams are not enabled on this edge")
	}
	last := string(ctx.Request.Header.Peek("Last-Event-ID"))
	if last != "" {
		badID := checkout.Invalid(checkout.CodeInvalidLastEventID, "Last-Event-ID", "Last-Event-ID must be an id this stream sent")
		var ok bool
		if last, ok = sse.ParseEventID(last); !ok {
			return badID
		}
		cur, err := s.Store.LastOrderEvent(ctx, rec.Order.ID)
		if err != nil {
			return err
		}
		if sse.After(last, cur.ID) {
			// Newer than the order's newest event: no stream sent it, and a stream resumed
			// there would stay silent (no current state) until events caught up with it.
			return badID
		}
		if cur.ID == last && rec.Order.Status.Terminal() {
			// A client resuming a finished stream has everything: 204 tells EventSource to stop.
			ctx.SetStatusCode(fasthttp.StatusNoContent)
			return nil
		}
	}
	max := orDefault(s.StreamsPerIP, DefaultStreamsPerIP)
	if strings.HasPrefix(limitKey, "key:") {
		max = orDefault(s.StreamsPerKey, DefaultStreamsPerKey)
	}
	switch s.streams.acquire(limitKey, max, orDefault(s.MaxStreams, DefaultMaxStreams)) {
	case overClient:
		ctx.Response.Header.Set("Retry-After", "5")
		return checkout.NewError(checkout.CodeTooManyStreams, "", "too many open event streams; close some or retry later")
	case overEdge:
		ctx.Response.Header.Set("Retry-After", "5")
		return checkout.NewError(checkout.CodeStreamsAtCapacity, "", "this edge has as many open event streams as it serves; retry later")
	}
	// The connection is taken over once the handler returns: two goroutines (the stream, and
	// a reader that notices the client leave) and one 1 KiB buffer per stream, instead of
	// fasthttp's stream writer (a pipe, a second goroutine and two 4 KiB buffers), which
	// sees a client leave only when a write fails. The response is HTTP/1.1 with the body
	// delimited by closing the connection, which EventSource and proxies handle.
	head := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n" +
		"Cache-Control: no-cache, no-transform\r\nX-Accel-Buffering: no\r\nConnection: close\r\n")
	for _, h := range []string{"Request-Id", "Access-Control-Allow-Origin", "Vary"} {
		if v := ctx.Response.Header.Peek(h); len(v) > 0 {
			head = append(append(append(append(head, h...), ": "...), v...), "\r\n"...)
		}
	}
	head = append(head, "\r\n"...)
	req := sse.Request{OrderID: rec.Order.ID, LastEventID: last, Customer: customer, Heartbeat: s.Heartbeat}
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		// With Server.KeepHijackedConns the stream runs on after this returns, so fasthttp
		// frees the request context and its buffers instead of holding them for hours.
		s.active.Add(1)
		go s.runStream(c, head, req, limitKey)
	})
	ctx.SetStatusCode(fasthttp.StatusOK) // for the request log; nothing is written by fasthttp
	return nil
}

// runStream serves one stream on its hijacked connection and owns what it starts: a reader
// that cancels the stream the moment the client closes its socket (otherwise only a failed
// write, at the next heartbeat, would tell), and the stream itself, whose every write has a
// deadline. It returns once both have ended, the connection is closed and the slot is free.
func (s *Server) runStream(c net.Conn, head []byte, req sse.Request, limitKey string) {
	defer s.active.Done()
	defer s.streams.release(limitKey)
	// The request was read under the server's ReadTimeout, whose deadline the connection
	// keeps after the hijack: the reader below would take it for a disconnect.
	_ = c.SetReadDeadline(time.Time{})
	limitSendBuffer(c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer cancel()
		awaitClose(c)
	}()
	timeout := s.StreamWriteTimeout
	if timeout <= 0 {
		timeout = DefaultStreamWriteTimeout
	}
	w := bufio.NewWriterSize(deadlineWriter{c: c, timeout: timeout}, 1024) // larger messages are written through
	var err error
	if _, werr := w.Write(head); werr == nil {
		err = sse.Stream(ctx, w, s.Changes, s.Store, req)
		_ = w.Flush() // what the stream wrote last (a terminal status) before the connection closes
	}
	_ = c.Close() // ends the reader too
	<-readerDone
	if err != nil && !errors.Is(err, context.Canceled) { // canceled: the client left or the edge is shutting down
		s.log().Warn("event stream ended with an error", "order_id", req.OrderID, "err", err)
	}
}

// awaitClose reads c until it fails: the client closed the connection (or the stream did).
// A client sends nothing after its request; whatever it does send is discarded.
func awaitClose(c net.Conn) {
	var buf [64]byte
	for {
		if _, err := c.Read(buf[:]); err != nil {
			return
		}
	}
}

// deadlineWriter gives every write to the connection its own deadline, so a client that
// stops reading holds a stream for at most the timeout once its socket is full.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	if err := w.c.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return 0, err
	}
	return w.c.Write(p)
}

// limitSendBuffer bounds the kernel send buffer of a stream's TCP connection (see
// streamSendBuffer); other connections (TLS, tests' pipes) are left alone.
func limitSendBuffer(c net.Conn) {
	if u, ok := c.(interface{ UnsafeConn() net.Conn }); ok { // fasthttp's hijacked conn
		c = u.UnsafeConn()
	}
	if t, ok := c.(*net.TCPConn); ok {
		_ = t.SetWriteBuffer(streamSendBuffer)
	}
}

// WaitStreams waits until every event stream has ended (they end when the change feed stops), or ctx
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

// streamCounts limits open streams per key or client, and in all, on this process.
type streamCounts struct {
	mu    sync.Mutex
	n     map[string]int
	total int
}

// admission is streamCounts.acquire's answer.
type admission int

const (
	admitted   admission = iota
	overClient           // the key or client has its maximum open
	overEdge             // the process has its maximum open
)

// acquire takes a slot for k unless k already has max open or the process total open
// (negative: no limit).
func (c *streamCounts) acquire(k string, max, total int) admission {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	if max >= 0 && c.n[k] >= max {
		return overClient
	}
	if total >= 0 && c.total >= total {
		return overEdge
	}
	c.n[k]++
	c.total++
	return admitted
}

func (c *streamCounts) release(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
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
