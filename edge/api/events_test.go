package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/changes"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

// streamEdge is a real edge serving event streams as `edge serve` does (hijacked
// connections, a read timeout on requests), its change feed running until stopFeed.
type streamEdge struct {
	*testEdge
	srv        *api.Server
	changeFeed *changes.Feed
	stopFeed   func() // stops the change feed, as at shutdown, and waits for Run to return
	addr       string
}

// readTimeout is the edge's request read timeout, short so that a stream which kept its
// connection's read deadline would show it.
const readTimeout = 200 * time.Millisecond

func newStreamEdge(t *testing.T, mod func(*api.Server)) *streamEdge {
	t.Helper()
	rs := redistest.Shared(t)
	rdb := rs.Client(t)
	prefix := redistest.Prefix()
	clk := newClock()
	st := store.New(rdb, prefix)
	feedRedis := redis.NewClient(&redis.Options{Addr: rs.Addr, PoolSize: 1})
	t.Cleanup(func() { feedRedis.Close() })
	changeFeed := changes.New(store.NewChangeReader(feedRedis, prefix), nil)
	s := &api.Server{
		Store:     st,
		Orders:    &orders.Service{Store: st, PublicURL: "https://pay.example.test", Now: clk.Now},
		Auth:      &auth.Verifier{Keys: st, Now: clk.Now},
		Changes:   changeFeed,
		Heartbeat: time.Hour, // far longer than any deadline below: nothing waits for one
	}
	if mod != nil {
		mod(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	feedDone := make(chan struct{})
	go func() { defer close(feedDone); _ = changeFeed.Run(ctx) }()
	stop := func() { cancel(); <-feedDone }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &fasthttp.Server{Handler: s.Handler(), KeepHijackedConns: true, ReduceMemoryUsage: true,
		ReadTimeout: readTimeout}
	done := make(chan struct{})
	go func() { defer close(done); _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		stop()
		_ = hs.Shutdown()
		<-done
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer wcancel()
		if err := s.WaitStreams(wctx); err != nil {
			t.Errorf("streams still open at the end: %v", err)
		}
	})
	e := &testEdge{t: t, rdb: rdb, prefix: prefix, store: st, clock: clk, url: "http://" + ln.Addr().String()}
	return &streamEdge{testEdge: e, srv: s, changeFeed: changeFeed, stopFeed: stop, addr: ln.Addr().String()}
}

// order creates an order of a new merchant and returns it with the merchant.
func (e *streamEdge) order(description string) (*checkout.Order, *merchant) {
	e.t.Helper()
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	p := &client.OrderParams{Amount: "10", Network: checkout.ERC20}
	if description != "" {
		p.Description = description
	}
	o, err := mc.client.CreateOrder(context.Background(), p)
	if err != nil {
		e.t.Fatal(err)
	}
	return o, mc
}

// commit appends n events of type typ to the order in one step (as settlement would), with
// the order set to status.
func (e *streamEdge) commit(orderID string, n int, typ checkout.EventType, status checkout.Status) {
	e.t.Helper()
	ctx := context.Background()
	rec, err := e.store.Order(ctx, orderID)
	if err != nil {
		e.t.Fatal(err)
	}
	rec.Order.Status = status
	evs := make([]checkout.Event, n)
	for i := range evs {
		evs[i] = checkout.Event{ID: ids.Event(), Type: typ, CreatedAt: time.Now().UTC(), Order: rec.Order}
	}
	if _, err := e.store.CommitOrder(ctx, rec, evs); err != nil {
		e.t.Fatal(err)
	}
}

// rawStream is an event stream over a plain TCP connection, as a client that does exactly
// what it wants (stops reading, closes at once) sees it.
type rawStream struct {
	c      net.Conn
	r      *bufio.Reader
	status int
	header textproto.MIMEHeader
	body   map[string]any // the JSON of an error answer
}

// dialStream GETs path with extra headers; rcvbuf > 0 shrinks the socket's receive buffer
// first. With read false it sends the request and reads nothing.
func dialStream(t *testing.T, addr, path string, header map[string]string, rcvbuf int, read bool) *rawStream {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\n"
	for k, v := range header {
		req += k + ": " + v + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	rs := &rawStream{c: c, r: bufio.NewReader(c)}
	if !read {
		return rs
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewReader(rs.r)
	line, err := tp.ReadLine()
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if _, code, ok := strings.Cut(line, " "); ok {
		rs.status, _ = strconv.Atoi(strings.SplitN(code, " ", 2)[0])
	}
	if rs.header, err = tp.ReadMIMEHeader(); err != nil {
		t.Fatalf("GET %s: headers: %v", path, err)
	}
	if rs.status != 200 {
		n, _ := strconv.Atoi(rs.header.Get("Content-Length"))
		b := make([]byte, n)
		if _, err := io.ReadFull(rs.r, b); err != nil {
			t.Fatalf("GET %s: body: %v", path, err)
		}
		if err := json.Unmarshal(b, &rs.body); err != nil {
			t.Fatalf("GET %s: %d answer is not JSON: %q", path, rs.status, b)
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	return rs
}

// data reads the stream up to its next data message and returns its id and status.
func (rs *rawStream) data(t *testing.T) (id string, status checkout.Status) {
	t.Helper()
	_ = rs.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer rs.c.SetReadDeadline(time.Time{})
	for {
		line, err := rs.r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(line[3:])
		case strings.HasPrefix(line, "data:"):
			var d struct {
				Status checkout.Status `json:"status"`
			}
			if err := json.Unmarshal([]byte(strings.TrimSpace(line[5:])), &d); err != nil {
				t.Fatalf("data is not JSON: %q", line)
			}
			return id, d.Status
		}
	}
}

// streamGoroutines counts the goroutines running a stream: the connection's writer and
// anything it started (every one of them has the stream's frames on its stack).
func streamGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "checkout/edge/api.(*Server).stream") || strings.Contains(g, "checkout/edge/api.(*Server).runStream") ||
			strings.Contains(g, "checkout/edge/sse.Stream") {
			count++
		}
	}
	return count
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func openCount(s *api.Server) int { m, c := s.OpenStreams(); return m + c }

// TestClosedStreamFreesItsSlotAtOnce: with streams open up to a cap (per client, or the
// edge-wide one), the cap answers the next with the usual error shape and Retry-After; when
// one client closes its socket, a new stream is admitted without waiting for a heartbeat
// (an hour here) to notice.
func TestClosedStreamFreesItsSlotAtOnce(t *testing.T) {
	for _, c := range []struct {
		name         string
		perIP, total int
		status       int
		code, typ    string
	}{
		{"per client", 2, -1, 429, "too_many_streams", "rate_limit_error"},
		{"edge-wide", -1, 2, 503, "streams_at_capacity", "api_error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newStreamEdge(t, func(s *api.Server) { s.StreamsPerIP, s.MaxStreams = c.perIP, c.total })
			o, _ := e.order("")
			path := "/v1/checkout/" + o.ID + "/events"
			var open []*rawStream
			for i := 0; i < 2; i++ {
				rs := dialStream(t, e.addr, path, nil, 0, true)
				if rs.status != 200 {
					t.Fatalf("stream %d: %d %v", i, rs.status, rs.body)
				}
				rs.data(t)
				open = append(open, rs)
			}
			over := dialStream(t, e.addr, path, nil, 0, true)
			if over.status != c.status {
				t.Fatalf("stream past the cap: %d %v; want %d", over.status, over.body, c.status)
			}
			if eo := errorOf(t, over.body); eo["code"] != c.code || eo["type"] != c.typ || over.header.Get("Retry-After") == "" {
				t.Errorf("past the cap: %v, Retry-After %q", eo, over.header.Get("Retry-After"))
			}
			open[0].c.Close()
			opened := time.Now()
			eventually(t, 5*time.Second, "a stream admitted after one closed", func() bool {
				rs := dialStream(t, e.addr, path, nil, 0, true)
				if rs.status == 200 {
					rs.data(t)
					return true
				}
				rs.c.Close()
				return false
			})
			// The remaining stream outlives the request read timeout and still streams.
			time.Sleep(time.Until(opened.Add(3 * readTimeout)))
			e.commit(o.ID, 1, checkout.EventPaymentUpdated, checkout.StatusPending)
			open[1].data(t)
		})
	}
}

// TestLastEventIDMustBeAStreamID: a Last-Event-ID Redis would refuse, or that no stream of
// the order can have sent (after its newest event), answers 400 invalid_last_event_id
// before anything is streamed; real ids resume.
func TestLastEventIDMustBeAStreamID(t *testing.T) {
	e := newStreamEdge(t, nil)
	o, mc := e.order("")
	last, err := e.store.LastOrderEvent(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	ms, _, _ := strings.Cut(last.ID, "-")
	path := "/v1/checkout/" + o.ID + "/events"
	for _, id := range []string{"1-99999999999999999999", "18446744073709551616-0", "-1", "1-", "-",
		"abc", "1-2-3", "+5-0", "1- 2", strings.Repeat("9", 1000),
		"18446744073709551615-18446744073709551615", "18446744073709551615-0", ms + "1-0"} {
		rs := dialStream(t, e.addr, path, map[string]string{"Last-Event-ID": id}, 0, true)
		if rs.status != 400 {
			t.Errorf("Last-Event-ID %.40q: %d; want 400", id, rs.status)
			continue
		}
		if eo := errorOf(t, rs.body); eo["code"] != "invalid_last_event_id" || eo["param"] != "Last-Event-ID" {
			t.Errorf("Last-Event-ID %.40q: %v", id, eo)
		}
	}
	// The merchant's stream checks the same way.
	mpath := "/v1/orders/" + o.ID + "/events"
	ts := e.clock.Now().Unix()
	rs := dialStream(t, e.addr, mpath, map[string]string{"Last-Event-ID": "1-",
		"Authorization": fmt.Sprintf("Bearer %s:%d:%s", mc.key.ID, ts, client.Signature(mc.key.Secret, ts, "GET", mpath, nil))}, 0, true)
	if rs.status != 400 || errorOf(t, rs.body)["code"] != "invalid_last_event_id" {
		t.Errorf("merchant stream, Last-Event-ID 1-: %d %v", rs.status, rs.body)
	}
	e.commit(o.ID, 1, checkout.EventPaymentUpdated, checkout.StatusPending)
	for _, c := range []struct{ id, want string }{
		{"0-0", last.ID}, // from the start: the first event
		{"0", last.ID},
		{last.ID, ""}, // after the first: the second
	} {
		rs := dialStream(t, e.addr, path, map[string]string{"Last-Event-ID": c.id}, 0, true)
		if rs.status != 200 {
			t.Fatalf("Last-Event-ID %q: %d %v", c.id, rs.status, rs.body)
		}
		got, _ := rs.data(t)
		if c.want != "" && got != c.want {
			t.Errorf("Last-Event-ID %q resumed at %s; want %s", c.id, got, c.want)
		}
		if c.want == "" && got == last.ID {
			t.Errorf("Last-Event-ID %q sent it again", c.id)
		}
		rs.c.Close()
	}
}

// TestStalledReaderIsCutOff: a client that stops reading cannot hold a stream: once the
// socket is full, a write that does not complete within the write timeout ends the stream,
// freeing its slot, its subscription and its goroutines.
func TestStalledReaderIsCutOff(t *testing.T) {
	e := newStreamEdge(t, func(s *api.Server) {
		s.StreamWriteTimeout = 200 * time.Millisecond
		s.Heartbeat = 5 * time.Millisecond // keeps writing even once the events are out
	})
	o, _ := e.order(strings.Repeat("é", orders.MaxDescriptionLen)) // ~2 KiB per message
	e.commit(o.ID, 400, checkout.EventPaymentUpdated, checkout.StatusPending)
	// Resume from the start: about 1 MiB to send, to a client with a tiny window that reads
	// nothing at all.
	dialStream(t, e.addr, "/v1/checkout/"+o.ID+"/events", map[string]string{"Last-Event-ID": "0-0"}, 1024, false)
	eventually(t, 5*time.Second, "the stream opened", func() bool { return openCount(e.srv) == 1 })
	eventually(t, 10*time.Second, "the stalled stream ended", func() bool {
		return openCount(e.srv) == 0 && e.changeFeed.Open() == 0 && streamGoroutines() == 0
	})
}

// TestStreamGoroutinesEnd: however a stream ends (the client closes, a terminal status, the
// edge shuts down), every goroutine it started ends with it and its slot is free.
func TestStreamGoroutinesEnd(t *testing.T) {
	e := newStreamEdge(t, nil)
	o, _ := e.order("")
	path := "/v1/checkout/" + o.ID + "/events"
	settled := func(what string) {
		t.Helper()
		eventually(t, 5*time.Second, what, func() bool {
			return streamGoroutines() == 0 && openCount(e.srv) == 0 && e.changeFeed.Open() == 0
		})
	}
	if n := streamGoroutines(); n != 0 {
		t.Fatalf("%d stream goroutines before any stream", n)
	}

	rs := dialStream(t, e.addr, path, nil, 0, true)
	rs.data(t)
	if streamGoroutines() == 0 {
		t.Fatal("no stream goroutine seen while a stream is open")
	}
	rs.c.Close()
	settled("after the client closed")

	rs = dialStream(t, e.addr, path, nil, 0, true)
	rs.data(t)
	e.commit(o.ID, 1, checkout.EventOrderExpired, checkout.StatusExpired)
	if _, st := rs.data(t); st != checkout.StatusExpired {
		t.Fatalf("got %s; want EXPIRED", st)
	}
	settled("after a terminal status")
	_ = rs.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if rest, err := io.ReadAll(rs.r); err != nil || strings.TrimSpace(string(rest)) != "" {
		t.Errorf("after the terminal status: %q, %v; want the end of the stream", rest, err)
	}
}

// TestShutdownFlushesStreams: when the change feed stops (graceful shutdown), open streams
// send what they have and close cleanly, and WaitStreams returns only once every stream
// goroutine is gone.
func TestShutdownFlushesStreams(t *testing.T) {
	e := newStreamEdge(t, nil)
	var streams []*rawStream
	for i := 0; i < 3; i++ {
		o, _ := e.order("")
		rs := dialStream(t, e.addr, "/v1/checkout/"+o.ID+"/events", nil, 0, true)
		rs.data(t)
		streams = append(streams, rs)
	}
	e.stopFeed()
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.WaitStreams(wctx); err != nil {
		t.Fatal(err)
	}
	if n := streamGoroutines(); n != 0 || openCount(e.srv) != 0 {
		t.Errorf("after WaitStreams: %d stream goroutines, %d streams", n, openCount(e.srv))
	}
	for i, rs := range streams {
		_ = rs.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if rest, err := io.ReadAll(rs.r); err != nil {
			t.Errorf("stream %d did not end cleanly: %v (%q)", i, err, rest)
		}
	}
}
