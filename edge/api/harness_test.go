package api_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration)     { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock                   { return &clock{t: time.Now().UTC().Truncate(time.Second)} }
func (c *clock) Set(t time.Time)         { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Since(t time.Time) int64 { return int64(c.Now().Sub(t) / time.Second) }

// testEdge is a real edge HTTP server on loopback over the test's own Redis key prefix.
type testEdge struct {
	t      *testing.T
	rdb    *redis.Client
	prefix string
	store  *store.Store
	clock  *clock
	url    string
}

type edgeOpts struct {
	dev    bool
	prefix string // share a prefix (a second replica on the same data)
	clock  *clock
	server func(*api.Server) // adjusts the server before it starts
}

func newEdge(t *testing.T, o edgeOpts) *testEdge {
	t.Helper()
	srv := redistest.Shared(t)
	rdb := srv.Client(t)
	if o.prefix == "" {
		o.prefix = redistest.Prefix()
	}
	if o.clock == nil {
		o.clock = newClock()
	}
	st := store.New(rdb, o.prefix)
	s := &api.Server{
		Store:  st,
		Orders: &orders.Service{Store: st, PublicURL: "https://pay.example.test", Now: o.clock.Now},
		Auth:   &auth.Verifier{Keys: st, Now: o.clock.Now},
		Dev:    o.dev,
	}
	if o.server != nil {
		o.server(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &fasthttp.Server{Handler: s.Handler(), MaxRequestBodySize: 1 << 20}
	done := make(chan struct{})
	go func() { defer close(done); _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown(); <-done })
	return &testEdge{t: t, rdb: rdb, prefix: o.prefix, store: st, clock: o.clock, url: "http://" + ln.Addr().String()}
}

// merchant is a merchant created in the edge's store, with a client for its key.
type merchant struct {
	m      *checkout.Merchant
	key    *checkout.APIKey
	client *client.Client
}

var devAccount struct {
	mu sync.Mutex
	n  uint32
}

// newMerchant creates a merchant with development xpubs of a fresh account (unique per test
// binary, so fingerprints never collide) for the given networks.
func (e *testEdge) newMerchant(networks []checkout.Network, mod func(*checkout.Merchant)) *merchant {
	e.t.Helper()
	devAccount.mu.Lock()
	devAccount.n++
	account := devAccount.n + 100
	devAccount.mu.Unlock()
	m := &checkout.Merchant{ID: ids.Merchant(), Name: "test", XPubs: map[checkout.Network]string{},
		WebhookSecret: "whsec_test", CreatedAt: time.Now().UTC()}
	var fps []string
	for _, n := range networks {
		x, err := deposit.DevAccountXPub(n, account)
		if err != nil {
			e.t.Fatal(err)
		}
		k, err := deposit.ParseAccountXPub(x)
		if err != nil {
			e.t.Fatal(err)
		}
		m.XPubs[n] = x
		fps = append(fps, k.Fingerprint())
	}
	if mod != nil {
		mod(m)
	}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_" + ids.Key(), CreatedAt: time.Now().UTC()}
	if err := e.store.CreateMerchant(context.Background(), m, key, fps); err != nil {
		e.t.Fatal(err)
	}
	c := client.New(e.url, key.ID, key.Secret)
	c.Now = e.clock.Now
	c.Backoff = func(int) time.Duration { return 0 }
	return &merchant{m: m, key: key, client: c}
}

// raw sends a signed request and returns status, headers and the decoded JSON body.
func (mc *merchant) raw(t *testing.T, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	resp, data, err := mc.client.Do(context.Background(), method, path, b)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %q", method, path, data)
	}
	return resp.StatusCode, resp.Header, v
}

// errorOf returns the error object of an error body.
func errorOf(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %v", body)
	}
	return e
}

// keys lists this edge's keys on its private test server (never the shared Redis),
// leaving out rate-limiter counters and replay marks (bounded bookkeeping of every request),
// so tests can assert that bad input stored nothing.
func (e *testEdge) keys() []string {
	e.t.Helper()
	var out []string
	iter := e.rdb.Scan(context.Background(), 0, e.prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		if k := strings.TrimPrefix(iter.Val(), e.prefix); !strings.Contains(iter.Val(), ":key:") && !strings.HasPrefix(k, "rate:") &&
			!strings.HasPrefix(k, "replay:") {
			out = append(out, iter.Val())
		}
	}
	if err := iter.Err(); err != nil {
		e.t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// orderCount counts stored orders of this edge's prefix.
func (e *testEdge) orderCount() int {
	n := 0
	for _, k := range e.keys() {
		if strings.HasPrefix(k, e.prefix+"order:{") && strings.HasSuffix(k, "}") {
			n++
		}
	}
	return n
}
