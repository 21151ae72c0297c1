package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/clientip"
	"github.com/mpchat/checkout/edge/expiry"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/page"
	"github.com/mpchat/checkout/edge/store"
)

// noFollow is an HTTP client that shows redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestNoRedirectFromHostHeader: the router's trailing-slash and fixed-path redirects were
// absolute URLs built from the request's Host, so anyone could make the edge answer with a
// Location on their own host (cache poisoning, open redirect). Such paths are 404 now.
func TestNoRedirectFromHostHeader(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	for _, path := range []string{
		"/v1/checkout/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ/", // trailing slash
		"/V1/CHECKOUT/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ",  // fixed (case-insensitive) path
		"/v1//checkout/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ", // fixed (cleaned) path
		"/healthz/",
	} {
		req, _ := http.NewRequest("GET", e.url+path, nil)
		req.Host = "evil.example"
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "" || resp.StatusCode != 404 {
			t.Errorf("GET %s with Host evil.example: %d Location %q, want 404 without Location", path, resp.StatusCode, loc)
		}
	}
}

// lookup GETs a public path as the client named in X-Forwarded-For (the test edge trusts
// loopback proxies) and returns status, Retry-After and the body.
func lookup(t *testing.T, url, client string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Forwarded-For", client)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

func withPage(t *testing.T) func(*api.Server) {
	return func(s *api.Server) {
		var err error
		if s.ClientIP, err = clientip.Parse("127.0.0.0/8"); err != nil {
			t.Fatal(err)
		}
		s.Page, err = page.New(page.Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, s.CheckoutLookup())
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestPublicLookupsOfUnknownIDsAreThrottled: the order id is the only credential of the
// public checkout view, page and stream, so guessing ids must be slow: after 20 misses a
// client is refused (429, Retry-After, the error shape) on every public lookup, hits
// included (so a hit cannot be told from a miss); other clients are not affected.
func TestPublicLookupsOfUnknownIDsAreThrottled(t *testing.T) {
	e := newEdge(t, edgeOpts{server: withPage(t)})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	o, err := mc.client.CreateOrder(context.Background(), &client.OrderParams{Amount: "1", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	guesser := "203.0.113.9"
	paths := []string{"/v1/checkout/%s", "/pay/%s", "/v1/checkout/%s/events"}
	for i := range api.DefaultUnknownLimit.Burst {
		guess := ids.Order()
		status, _, body := lookup(t, e.url+fmt.Sprintf(paths[i%len(paths)], guess), guesser)
		if status != 404 {
			t.Fatalf("guess %d: %d %s, want 404", i+1, status, body)
		}
	}
	for _, p := range paths {
		for _, id := range []string{ids.Order(), o.ID} {
			status, retry, body := lookup(t, e.url+fmt.Sprintf(p, id), guesser)
			if status != 429 || retry == "" {
				t.Fatalf("%s after %d misses: %d Retry-After %q, want 429", fmt.Sprintf(p, id), api.DefaultUnknownLimit.Burst, status, retry)
			}
			if strings.HasPrefix(p, "/pay/") {
				if !strings.Contains(body, "Too many requests") {
					t.Errorf("/pay 429 page: %s", body)
				}
				continue
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatalf("429 body %q: %v", body, err)
			}
			if er := errorOf(t, v); er["code"] != "rate_limited" || er["type"] != "rate_limit_error" {
				t.Errorf("429 error %v", er)
			}
		}
	}
	if status, _, body := lookup(t, e.url+"/v1/checkout/"+o.ID, "203.0.113.10"); status != 200 {
		t.Errorf("another client: %d %s", status, body)
	}
	// An IPv6 client is one client across its /64.
	for i := range api.DefaultUnknownLimit.Burst {
		if status, _, _ := lookup(t, e.url+"/v1/checkout/"+ids.Order(), fmt.Sprintf("2001:db8:1:2::%x", i+1)); status != 404 {
			t.Fatalf("v6 guess %d: %d", i+1, status)
		}
	}
	if status, _, _ := lookup(t, e.url+"/v1/checkout/"+o.ID, "2001:db8:1:2:ffff::1"); status != 429 {
		t.Errorf("another address of the same /64 after its misses: %d, want 429", status)
	}
}

// TestPublicLookupsAreRateLimited: every public lookup spends from the client's budget.
func TestPublicLookupsAreRateLimited(t *testing.T) {
	e := newEdge(t, edgeOpts{server: func(s *api.Server) {
		withPage(t)(s)
		s.PublicLimit = store.Limit{Burst: 6, Every: time.Hour}
	}})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	o, err := mc.client.CreateOrder(context.Background(), &client.OrderParams{Amount: "1", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		p := "/v1/checkout/"
		if i%2 == 1 {
			p = "/pay/"
		}
		if status, _, body := lookup(t, e.url+p+o.ID, "198.51.100.1"); status != 200 {
			t.Fatalf("lookup %d: %d %s", i+1, status, body)
		}
	}
	status, retry, _ := lookup(t, e.url+"/v1/checkout/"+o.ID, "198.51.100.1")
	if n, _ := strconv.Atoi(retry); status != 429 || n < 3500 || n > 3600 {
		t.Errorf("7th lookup at 6 an hour: %d Retry-After %q, want 429 and about an hour", status, retry)
	}
	if status, _, _ := lookup(t, e.url+"/pay/"+o.ID, "198.51.100.1"); status != 429 {
		t.Errorf("page after the budget: %d", status)
	}
}

// signedPost sends POST /v1/orders with the given Authorization as client.
func signedPost(t *testing.T, e *testEdge, authz, body, client string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.url+"/v1/orders", strings.NewReader(body))
	req.Header.Set("Authorization", authz)
	req.Header.Set("X-Forwarded-For", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// TestFailedAuthenticationIsThrottled: 600 wrong signatures at once were all checked. Now a
// client gets 20 failures, then 429 with Retry-After before any key lookup (a
// correct signature from it too); a key id gets 60 failures from any number of clients.
func TestFailedAuthenticationIsThrottled(t *testing.T) {
	e := newEdge(t, edgeOpts{server: withPage(t)})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	body := `{"amount":"1","currency":"USDT","network":"ERC20"}`
	ts := e.clock.Now().Unix()
	wrong := client.Authorization(mc.key.ID, "sk_wrong", ts, "POST", "/v1/orders", []byte(body))
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 75 {
				status, retry := signedPost(t, e, wrong, body, "203.0.113.50")
				if status == 429 && retry == "" {
					t.Error("429 without Retry-After")
				}
				mu.Lock()
				counts[status]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if counts[401] > api.DefaultAuthFailIPLimit.Burst+8+5 || counts[429] < 500 || counts[401]+counts[429] != 600 {
		t.Errorf("600 wrong signatures from one client: %v, want at most ~%d refused as 401 and the rest 429", counts, api.DefaultAuthFailIPLimit.Burst)
	}
	good := client.Authorization(mc.key.ID, mc.key.Secret, ts, "POST", "/v1/orders", []byte(body))
	if status, _ := signedPost(t, e, good, body, "203.0.113.50"); status != 429 {
		t.Errorf("a correct signature from the throttled client: %d, want 429 (checked before the HMAC)", status)
	}
	if status, _ := signedPost(t, e, good, body, "203.0.113.51"); status != 201 {
		t.Errorf("the same key from another client: %d, want 201", status)
	}

	// Per key id: failures spread over many clients.
	other := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	wrong = client.Authorization(other.key.ID, "sk_wrong", ts, "POST", "/v1/orders", []byte(body))
	for i := range api.DefaultAuthFailKeyLimit.Burst {
		if status, _ := signedPost(t, e, wrong, body, fmt.Sprintf("198.51.100.%d", i+1)); status != 401 {
			t.Fatalf("failure %d for the key: %d", i+1, status)
		}
	}
	good = client.Authorization(other.key.ID, other.key.Secret, ts, "POST", "/v1/orders", []byte(body))
	status, retry := signedPost(t, e, good, body, "192.0.2.200")
	if status != 429 || retry == "" {
		t.Errorf("key after %d failures: %d Retry-After %q, want 429", api.DefaultAuthFailKeyLimit.Burst, status, retry)
	}
	if n := e.orderCount(); n != 1 {
		t.Errorf("%d orders, want 1", n)
	}
}

// send sends one request with the given headers and returns status and decoded body.
func send(t *testing.T, method, url, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// TestReplayedSignedPostIsRefused: a captured signed POST sent again within the signature
// window made a second order. Now the replay is refused (409 duplicate_request), also with
// an Idempotency-Key header the replayer added (headers are not signed); a request whose
// signed body carries an idempotency_key replays to the original order, as before.
func TestReplayedSignedPostIsRefused(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	body := `{"amount":"5","currency":"USDT","network":"ERC20"}`
	ts := e.clock.Now().Unix()
	h := map[string]string{"Authorization": client.Authorization(mc.key.ID, mc.key.Secret, ts, "POST", "/v1/orders", []byte(body))}
	if status, v := send(t, "POST", e.url+"/v1/orders", body, h); status != 201 {
		t.Fatalf("original: %d %v", status, v)
	}
	e.clock.Add(200 * time.Second) // still inside the window
	for _, extra := range []string{"", "fresh-key-1"} {
		if extra != "" {
			h["Idempotency-Key"] = extra
		}
		status, v := send(t, "POST", e.url+"/v1/orders", body, h)
		if status != 409 || errorOf(t, v)["code"] != "duplicate_request" || errorOf(t, v)["type"] != "invalid_request_error" {
			t.Errorf("replay (Idempotency-Key %q): %d %v, want 409 duplicate_request", extra, status, v)
		}
	}
	if n := e.orderCount(); n != 1 {
		t.Errorf("%d orders after replays, want 1", n)
	}
	// The mark lasts until the timestamp leaves the window, under the store's prefix.
	sig := strings.TrimPrefix(h["Authorization"], "Bearer "+mc.key.ID+":"+strconv.FormatInt(ts, 10)+":")
	ttl := e.rdb.TTL(context.Background(), e.prefix+"replay:{"+mc.key.ID+"}:"+sig).Val()
	if ttl <= 0 || ttl > 301*time.Second {
		t.Errorf("replay mark TTL %s", ttl)
	}

	// With an idempotency_key in the signed body, the replay is the idempotent replay.
	body = `{"amount":"6","currency":"USDT","network":"ERC20","idempotency_key":"cart-7"}`
	h = map[string]string{"Authorization": client.Authorization(mc.key.ID, mc.key.Secret, e.clock.Now().Unix(), "POST", "/v1/orders", []byte(body))}
	_, first := send(t, "POST", e.url+"/v1/orders", body, h)
	status, again := send(t, "POST", e.url+"/v1/orders", body, h)
	if status != 200 || again["id"] != first["id"] {
		t.Errorf("replay with a signed idempotency key: %d %v, want 200 and %v", status, again, first["id"])
	}
	if n := e.orderCount(); n != 2 {
		t.Errorf("%d orders, want 2", n)
	}
	// GETs are not state-changing: the same signed GET may be sent again.
	path := "/v1/orders/" + first["id"].(string)
	h = map[string]string{"Authorization": client.Authorization(mc.key.ID, mc.key.Secret, e.clock.Now().Unix(), "GET", path, nil)}
	for i := range 2 {
		if status, v := send(t, "GET", e.url+path, "", h); status != 200 {
			t.Errorf("GET %d: %d %v", i+1, status, v)
		}
	}
}

// TestSDKRetriesAreNotReplays: the SDK retries a POST without an idempotency key (webhook
// redelivery) after a 5xx at once and with a frozen clock: each attempt is signed with a later
// timestamp, so the edge does not refuse it as a replay.
func TestSDKRetriesAreNotReplays(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, func(m *checkout.Merchant) { m.WebhookURL = "https://shop.example/hooks" })
	ctx := context.Background()
	o, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "3", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(31 * time.Minute)
	if _, err := (&expiry.Worker{Store: e.store, Now: e.clock.Now}).Tick(ctx); err != nil {
		t.Fatal(err)
	}
	list, err := mc.client.ListWebhooks(ctx, o.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("after expiry: %v %v", list, err)
	}
	target, _ := url.Parse(e.url)
	var mu sync.Mutex
	var seen []string
	var statuses []int
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Scheme, r.URL.Host, r.RequestURI = target.Scheme, target.Host, ""
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		statuses = append(statuses, resp.StatusCode)
		n := len(seen)
		mu.Unlock()
		if r.Method == "POST" && n <= 2 { // the edge did the work; the answer is lost
			http.Error(w, "bad gateway", 502)
			return
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(b)
	}))
	defer proxy.Close()
	c := *mc.client
	c.BaseURL = proxy.URL
	d, err := c.RedeliverWebhook(ctx, o.ID, list[0].EventID)
	if err != nil || d.EventID != list[0].EventID {
		t.Fatalf("redeliver through retries: %+v %v (edge answered %v)", d, err, statuses)
	}
	if len(seen) != 3 || seen[0] == seen[1] || seen[1] == seen[2] || seen[0] == seen[2] {
		t.Errorf("attempts signed %q: want 3 different signatures", seen)
	}
	for i, s := range statuses {
		if s != 202 {
			t.Errorf("attempt %d: the edge answered %d", i+1, s)
		}
	}
}

// TestKeyRateLimitIsUnderThePrefix: the per-key rate limit's counter lives under the store's
// key prefix like every other key (it was "rate:" + prefix + "key:…", outside it, where
// per-deployment cleanup and ACLs by prefix miss it).
func TestKeyRateLimitIsUnderThePrefix(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, func(m *checkout.Merchant) { m.RateLimit = 2 })
	for range 3 {
		mc.raw(t, "GET", "/v1/orders/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ", "")
	}
	ctx := context.Background()
	if n := e.rdb.Exists(ctx, "rate:"+e.prefix+"key:"+mc.key.ID).Val(); n != 0 {
		t.Error("the key's rate counter is outside the prefix")
	}
	if n := e.rdb.Exists(ctx, e.prefix+"rate:key:"+mc.key.ID).Val(); n != 1 {
		t.Error("no rate counter under the prefix")
	}
}
