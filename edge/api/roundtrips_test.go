package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/api"
)

// roundTrips counts what the edge sends Redis: a command or a pipeline is one round trip.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// counted is an edge whose Redis round trips are counted, with merchant settings cached long
// enough that a reload never lands inside a count.
func counted(t *testing.T) (*testEdge, *roundTrips) {
	e := newEdge(t, edgeOpts{server: func(s *api.Server) { s.MerchantCacheTTL = time.Hour }})
	rt := &roundTrips{}
	e.rdb.AddHook(rt)
	return e, rt
}

// trips runs f and returns the round trips it cost.
func (r *roundTrips) trips(f func()) int64 {
	before := r.n.Load()
	f()
	return r.n.Load() - before
}

// TestRoundTripsPerRequest: a create cost 7 round trips (the failed-authentication checks
// per client and per key, the API key, the rate limit, the replay mark, the claim, the
// create pipeline) and a GET 5. Now a create is 2 (one admission round trip with the key's
// record, throttles, rate, replay mark and claim; the create pipeline), with or without an
// idempotency key, and a GET is 1.
func TestRoundTripsPerRequest(t *testing.T) {
	e, rt := counted(t)
	mc := e.newMerchant([]checkout.Network{checkout.TRC20}, nil)
	ctx := context.Background()
	// The first request of a key loads it and its merchant: later ones are what counts.
	if _, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "1", Network: checkout.TRC20}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		body := fmt.Sprintf(`{"amount":"2","currency":"USDT","network":"TRC20","metadata":{"n":"%d"}}`, i)
		var status int
		var o map[string]any
		if n := rt.trips(func() { status, _, o = mc.raw(t, "POST", "/v1/orders", body) }); status != 201 || n != 2 {
			t.Errorf("create without an idempotency key: %d in %d round trips, want 201 in 2 (%v)", status, n, o)
		}
		var got map[string]any
		if n := rt.trips(func() { status, _, got = mc.raw(t, "GET", "/v1/orders/"+o["id"].(string), "") }); status != 200 || n != 1 || got["id"] != o["id"] {
			t.Errorf("GET: %d in %d round trips, want 200 in 1 (%v)", status, n, got)
		}
	}
	var o *checkout.Order
	var err error
	if n := rt.trips(func() {
		o, err = mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "3", Network: checkout.TRC20, IdempotencyKey: "rt-1"})
	}); err != nil || n != 2 {
		t.Errorf("create with an idempotency key: %v in %d round trips, want 2", err, n)
	}
	var again *checkout.Order
	if n := rt.trips(func() {
		again, err = mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "3", Network: checkout.TRC20, IdempotencyKey: "rt-1"})
	}); err != nil || again.ID != o.ID || n != 2 {
		t.Errorf("idempotent replay: %v %v in %d round trips, want %s in 2 (the claim, the order)", again, err, n, o.ID)
	}
	if n := rt.trips(func() { _, err = mc.client.GetOrder(ctx, "ord_01HZZZZZZZZZZZZZZZZZZZZZZZ") }); err == nil || n != 1 {
		t.Errorf("GET of an unknown order: %v in %d round trips, want a 404 in 1", err, n)
	}
}

// TestCachedKeyRevocation: keys are cached per edge, and each request still reads the key's
// record in its one admission round trip, so a key revoked on one edge (or by the operator
// command) is refused by every edge from the next request on; a rotated key (a new key, the
// old one revoked) works at once, and the refused request leaves nothing behind.
func TestCachedKeyRevocation(t *testing.T) {
	e, _ := counted(t)
	replica := newEdge(t, edgeOpts{prefix: e.prefix, clock: e.clock})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	ctx := context.Background()
	onReplica := *mc.client
	onReplica.BaseURL = replica.url
	for _, c := range []*client.Client{mc.client, &onReplica} { // both edges cache the key
		if _, err := c.CreateOrder(ctx, &client.OrderParams{Amount: "1", Network: checkout.ERC20}); err != nil {
			t.Fatal(err)
		}
	}
	// Rotation: a new key for the merchant, then the old one revoked.
	next := &checkout.APIKey{ID: "key_rotated" + mc.key.ID[4:], MerchantID: mc.m.ID, Secret: "sk_rotated", CreatedAt: time.Now().UTC()}
	if err := e.store.AddKey(ctx, next); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	revoked := *mc.key
	revoked.RevokedAt = &now
	if err := e.store.PutKey(ctx, &revoked); err != nil {
		t.Fatal(err)
	}
	before := e.keys()
	for name, c := range map[string]*client.Client{"edge": mc.client, "replica": &onReplica} {
		body := `{"amount":"4","currency":"USDT","network":"ERC20","idempotency_key":"after-revoke"}`
		resp, data, err := c.Do(ctx, "POST", "/v1/orders", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 401 || !containsCode(data, "revoked_api_key") {
			t.Errorf("%s: revoked key answered %d %s, want 401 revoked_api_key", name, resp.StatusCode, data)
		}
		resp, data, err = c.Do(ctx, "GET", "/v1/orders/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 401 || !containsCode(data, "revoked_api_key") {
			t.Errorf("%s: GET with the revoked key answered %d %s", name, resp.StatusCode, data)
		}
	}
	if after := e.keys(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("requests with the revoked key stored something:\n%v\n%v", before, after)
	}
	for _, url := range []string{e.url, replica.url} {
		c := client.New(url, next.ID, next.Secret)
		c.Now = e.clock.Now
		if _, err := c.CreateOrder(ctx, &client.OrderParams{Amount: "1", Network: checkout.ERC20, IdempotencyKey: "after-revoke"}); err != nil {
			t.Errorf("rotated key on %s: %v", url, err)
		}
	}
}

func containsCode(body []byte, code string) bool {
	return strings.Contains(string(body), `"code":"`+code+`"`)
}

// TestRefusedRequestLeavesNoClaim: the admission round trip claims the order's identity
// alongside the checks that may refuse the request. A refused request takes its claim back:
// a create with an idempotency key refused as throttled (429) does not bind the key, so the
// same key with other parameters from another client is a new order (201), not a reuse
// (422); a refused create's replay mark is taken back too, so the very same signed request
// is accepted once it passes. Its address index is handed to the next order, not skipped.
func TestRefusedRequestLeavesNoClaim(t *testing.T) {
	e := newEdge(t, edgeOpts{server: withPage(t)})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	ts := e.clock.Now().Unix()
	bad := `{"amount":"1","currency":"USDT","network":"ERC20"}`
	wrong := client.Authorization(mc.key.ID, "sk_wrong", ts, "POST", "/v1/orders", []byte(bad))
	for range api.DefaultAuthFailIPLimit.Burst + 1 {
		signedPost(t, e, wrong, bad, "203.0.113.77")
	}
	sign := func(body string) string {
		return client.Authorization(mc.key.ID, mc.key.Secret, ts, "POST", "/v1/orders", []byte(body))
	}
	first := `{"amount":"5","currency":"USDT","network":"ERC20","idempotency_key":"cart-9"}`
	if status, _ := signedPost(t, e, sign(first), first, "203.0.113.77"); status != 429 {
		t.Fatalf("create from the throttled client: %d, want 429", status)
	}
	if n := e.rdb.Exists(context.Background(), e.prefix+"merchant:{m:"+mc.m.ID+"}:idem:cart-9").Val(); n != 0 {
		t.Error("the refused create left its idempotency record")
	}
	other := `{"amount":"6","currency":"USDT","network":"ERC20","idempotency_key":"cart-9"}`
	if status, _ := signedPost(t, e, sign(other), other, "203.0.113.78"); status != 201 {
		t.Errorf("the same key with other parameters after the refusal: %d, want 201", status)
	}
	plain := `{"amount":"7","currency":"USDT","network":"ERC20"}`
	if status, _ := signedPost(t, e, sign(plain), plain, "203.0.113.77"); status != 429 {
		t.Fatalf("plain create from the throttled client: %d, want 429", status)
	}
	if status, _ := signedPost(t, e, sign(plain), plain, "203.0.113.78"); status != 201 {
		t.Errorf("the same signed request from a client that is not throttled: %d, want 201", status)
	}
	if status, _ := signedPost(t, e, sign(plain), plain, "203.0.113.78"); status != 409 {
		t.Errorf("and its replay: %d, want 409", status)
	}
	// Two orders, at indexes 0 and 1: the refused requests' indexes were reused.
	for _, p := range []string{"/0/0", "/0/1"} {
		if !hasPath(t, mc, p) {
			t.Errorf("no order at %s", p)
		}
	}
}

// hasPath: one of the merchant's orders has a derivation path ending in path.
func hasPath(t *testing.T, mc *merchant, path string) bool {
	t.Helper()
	list, err := mc.client.ListOrders(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Data {
		if strings.HasSuffix(o.DerivationPath, path) {
			return true
		}
	}
	return false
}
