package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/client"
	"github.com/mpchat/checkout/edge/clientip"
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
// client gets 20 failures, then 429 with Retry-After before any key lookup or HMAC (a
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
