package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/expiry"
	"github.com/mpchat/checkout/edge/store"
)

var both = []checkout.Network{checkout.ERC20, checkout.TRC20}

func TestCreateAndGetOrder(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant(both, nil)
	ctx := context.Background()
	for i, n := range both {
		t.Run(string(n), func(t *testing.T) {
			o, err := mc.client.CreateOrder(ctx, &client.OrderParams{
				Amount: "99.99", Network: n, Description: "Order #1001",
				ReturnURL: "https://shop.example/return?cart=7", Metadata: map[string]string{"cart": "7"},
			})
			if err != nil {
				t.Fatal(err)
			}
			key, _ := deposit.ParseAccountXPub(mc.m.XPubs[n])
			wantAddr, wantPath, _ := key.Address(n, 0)
			checks := []struct {
				name      string
				got, want any
			}{
				{"status", o.Status, checkout.StatusPending},
				{"amount", o.Amount.String(), "99.99"},
				{"pay_amount", o.PayAmount.String(), "99.99"},
				{"amount_paid", o.AmountPaid.String(), "0"},
				{"currency", o.Currency, "USDT"},
				{"network", o.Network, n},
				{"address", o.Address, wantAddr},
				{"derivation_path", o.DerivationPath, wantPath},
				{"tolerance", o.TolerancePercent, checkout.DefaultTolerance},
				{"payment_url", o.PaymentURL, "https://pay.example.test/pay/" + o.ID},
				{"deep_link", o.DeepLink, "mpchat://pay?order=" + o.ID},
				{"expires_at", o.ExpiresAt.Sub(o.CreatedAt), 30 * time.Minute},
				{"metadata", o.Metadata["cart"], "7"},
				{"paid_at", o.PaidAt == nil, true},
			}
			for _, c := range checks {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			if !strings.HasPrefix(o.ID, "ord_") || len(o.ID) != 30 {
				t.Errorf("id %q is not ord_ + ULID", o.ID)
			}
			prefix := map[checkout.Network]string{checkout.TRC20: "T", checkout.ERC20: "0x"}[n]
			if !strings.HasPrefix(o.Address, prefix) {
				t.Errorf("address %q lacks %q", o.Address, prefix)
			}
			got, err := mc.client.GetOrder(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, o) {
				t.Errorf("GET differs from create:\n%+v\n%+v", got, o)
			}
			_ = i
		})
	}
	// The wire format: amounts are strings, tolerance a number, times RFC 3339 UTC.
	status, _, body := mc.raw(t, "POST", "/v1/orders", `{"amount":"10","currency":"USDT","network":"TRC20","tolerance_percent":0.05}`)
	if status != 201 {
		t.Fatalf("status %d: %v", status, body)
	}
	if body["amount"] != "10" || body["tolerance_percent"] != 0.05 || !strings.HasSuffix(body["created_at"].(string), "Z") {
		t.Errorf("wire format: %v", body)
	}
	for _, f := range []string{"id", "status", "amount", "currency", "network", "address", "pay_amount", "amount_paid",
		"tolerance_percent", "description", "metadata", "return_url", "webhook_url", "payment_url", "deep_link",
		"payments", "created_at", "expires_at", "paid_at"} {
		if _, ok := body[f]; !ok {
			t.Errorf("order object lacks %q", f)
		}
	}
}

func TestCreateOrderRejectsBadInput(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, func(m *checkout.Merchant) {
		m.ReturnHosts = []string{"shop.example"}
	})
	big := `{"amount":"1","currency":"USDT","network":"ERC20","description":"` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name, body  string
		status      int
		code, param string
	}{
		{"amount number", `{"amount":99.99,"currency":"USDT","network":"ERC20"}`, 400, "invalid_amount", "amount"},
		{"amount negative", `{"amount":"-1","currency":"USDT","network":"ERC20"}`, 400, "invalid_amount", "amount"},
		{"amount zero", `{"amount":"0","currency":"USDT","network":"ERC20"}`, 400, "invalid_amount", "amount"},
		{"amount 7 decimals", `{"amount":"1.0000001","currency":"USDT","network":"ERC20"}`, 400, "invalid_amount", "amount"},
		{"amount absurd", `{"amount":"100000000000","currency":"USDT","network":"ERC20"}`, 400, "invalid_amount", "amount"},
		{"amount missing", `{"currency":"USDT","network":"ERC20"}`, 400, "parameter_missing", "amount"},
		{"currency wrong", `{"amount":"1","currency":"USDC","network":"ERC20"}`, 400, "invalid_currency", "currency"},
		{"currency missing", `{"amount":"1","network":"ERC20"}`, 400, "parameter_missing", "currency"},
		{"network wrong", `{"amount":"1","currency":"USDT","network":"BEP20"}`, 400, "invalid_network", "network"},
		{"network not enabled", `{"amount":"1","currency":"USDT","network":"TRC20"}`, 400, "network_not_enabled", "network"},
		{"tolerance 1", `{"amount":"1","currency":"USDT","network":"ERC20","tolerance_percent":1}`, 400, "invalid_tolerance", "tolerance_percent"},
		{"tolerance negative", `{"amount":"1","currency":"USDT","network":"ERC20","tolerance_percent":-0.1}`, 400, "invalid_tolerance", "tolerance_percent"},
		{"return_url http", `{"amount":"1","currency":"USDT","network":"ERC20","return_url":"http://shop.example/r"}`, 400, "invalid_url", "return_url"},
		{"return_url host", `{"amount":"1","currency":"USDT","network":"ERC20","return_url":"https://evil.example/r"}`, 400, "return_url_host_not_allowed", "return_url"},
		{"return_url relative", `{"amount":"1","currency":"USDT","network":"ERC20","return_url":"/r"}`, 400, "invalid_url", "return_url"},
		{"webhook_url loopback http", `{"amount":"1","currency":"USDT","network":"ERC20","webhook_url":"http://127.0.0.1/h"}`, 400, "invalid_url", "webhook_url"},
		{"webhook_url private", `{"amount":"1","currency":"USDT","network":"ERC20","webhook_url":"https://10.1.2.3/h"}`, 400, "invalid_url", "webhook_url"},
		{"webhook_url metadata", `{"amount":"1","currency":"USDT","network":"ERC20","webhook_url":"https://169.254.169.254/latest"}`, 400, "invalid_url", "webhook_url"},
		{"webhook_url loopback v6", `{"amount":"1","currency":"USDT","network":"ERC20","webhook_url":"https://[::1]:8443/h"}`, 400, "invalid_url", "webhook_url"},
		{"webhook_url localhost", `{"amount":"1","currency":"USDT","network":"ERC20","webhook_url":"https://localhost/h"}`, 400, "invalid_url", "webhook_url"},
		{"metadata number", `{"amount":"1","currency":"USDT","network":"ERC20","metadata":{"a":1}}`, 400, "invalid_metadata", "metadata[a]"},
		{"metadata array", `{"amount":"1","currency":"USDT","network":"ERC20","metadata":["a"]}`, 400, "invalid_metadata", "metadata"},
		{"unknown field", `{"amount":"1","currency":"USDT","network":"ERC20","webhookUrl":"https://x"}`, 400, "unknown_parameter", "webhookUrl"},
		{"not json", `amount=1`, 400, "invalid_json", ""},
		{"two objects", `{"amount":"1","currency":"USDT","network":"ERC20"}{}`, 400, "invalid_json", ""},
		{"description type", `{"amount":"1","currency":"USDT","network":"ERC20","description":5}`, 400, "invalid_type", "description"},
		{"too large", big, 413, "body_too_large", ""},
	}
	before := e.keys()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := mc.raw(t, "POST", "/v1/orders", c.body)
			if status != c.status {
				t.Fatalf("status %d, want %d: %v", status, c.status, body)
			}
			er := errorOf(t, body)
			if er["code"] != c.code || (er["param"] != nil && er["param"] != c.param) || (er["param"] == nil && c.param != "") {
				t.Errorf("error %v, want code %s param %q", er, c.code, c.param)
			}
			if er["type"] != "invalid_request_error" || er["message"] == "" {
				t.Errorf("error type/message: %v", er)
			}
		})
	}
	if after := e.keys(); !reflect.DeepEqual(before, after) {
		t.Errorf("bad input stored something:\nbefore %v\nafter  %v", before, after)
	}
}

func TestDevModeAllowsLoopbackHTTP(t *testing.T) {
	e := newEdge(t, edgeOpts{dev: true})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	status, _, body := mc.raw(t, "POST", "/v1/orders",
		`{"amount":"1","currency":"USDT","network":"ERC20","return_url":"http://127.0.0.1:9000/r","webhook_url":"http://localhost:9000/h"}`)
	if status != 201 {
		t.Fatalf("status %d: %v", status, body)
	}
	status, _, body = mc.raw(t, "POST", "/v1/orders",
		`{"amount":"1","currency":"USDT","network":"ERC20","return_url":"http://shop.example/r"}`)
	if status != 400 || errorOf(t, body)["code"] != "invalid_url" {
		t.Fatalf("dev mode accepted http to a public host: %d %v", status, body)
	}
}

// TestDevModeRefusesWebhookCredentials: dev mode loosens the scheme for loopback hosts only;
// credentials in a webhook_url are refused in every mode (the operator command agrees:
// TestDevMerchantWebhookURLFollowsTheOrderRule).
func TestDevModeRefusesWebhookCredentials(t *testing.T) {
	e := newEdge(t, edgeOpts{dev: true})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	before := e.keys()
	for _, u := range []string{"http://user:pw@example.com/hook", "http://user:pw@127.0.0.1:9000/hook"} {
		status, _, body := mc.raw(t, "POST", "/v1/orders",
			`{"amount":"1","currency":"USDT","network":"ERC20","webhook_url":"`+u+`"}`)
		if er := errorOf(t, body); status != 400 || er["code"] != "invalid_url" || er["param"] != "webhook_url" {
			t.Errorf("%s: %d %v, want 400 invalid_url on webhook_url", u, status, body)
		}
	}
	if after := e.keys(); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused order stored something:\nbefore %v\nafter  %v", before, after)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	revoked := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	now := time.Now()
	revoked.key.RevokedAt = &now
	if err := e.store.PutKey(context.Background(), revoked.key); err != nil {
		t.Fatal(err)
	}
	body := `{"amount":"1","currency":"USDT","network":"ERC20"}`
	sign := func(keyID, secret string, ts int64, path, b string) string {
		return client.Authorization(keyID, secret, ts, "POST", path, []byte(b))
	}
	ts := e.clock.Now().Unix()
	cases := []struct{ name, header, code string }{
		{"missing", "", "missing_authorization"},
		{"not bearer", "Basic abc", "malformed_authorization"},
		{"two parts", "Bearer key:123", "malformed_authorization"},
		{"short sig", "Bearer " + mc.key.ID + ":" + fmt.Sprint(ts) + ":abcd", "malformed_authorization"},
		{"unknown key", sign("key_nope", mc.key.Secret, ts, "/v1/orders", body), "unknown_api_key"},
		{"revoked key", sign(revoked.key.ID, revoked.key.Secret, ts, "/v1/orders", body), "revoked_api_key"},
		{"wrong secret", sign(mc.key.ID, "sk_wrong", ts, "/v1/orders", body), "invalid_signature"},
		{"signed other body", sign(mc.key.ID, mc.key.Secret, ts, "/v1/orders", body+" "), "invalid_signature"},
		{"signed other path", sign(mc.key.ID, mc.key.Secret, ts, "/v1/orders?x=1", body), "invalid_signature"},
		{"ts 301 s old", sign(mc.key.ID, mc.key.Secret, ts-301, "/v1/orders", body), "timestamp_out_of_range"},
		{"ts 301 s ahead", sign(mc.key.ID, mc.key.Secret, ts+301, "/v1/orders", body), "timestamp_out_of_range"},
	}
	before := e.keys()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.url+"/v1/orders", strings.NewReader(body))
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var v map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&v)
			if resp.StatusCode != 401 {
				t.Fatalf("status %d: %v", resp.StatusCode, v)
			}
			if er := errorOf(t, v); er["code"] != c.code || er["type"] != "authentication_error" {
				t.Errorf("error %v, want %s", er, c.code)
			}
		})
	}
	if after := e.keys(); !reflect.DeepEqual(before, after) {
		t.Errorf("unauthenticated requests stored something")
	}
	// 299 s of skew is accepted.
	req, _ := http.NewRequest("POST", e.url+"/v1/orders", strings.NewReader(body))
	req.Header.Set("Authorization", sign(mc.key.ID, mc.key.Secret, ts-299, "/v1/orders", body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("299 s skew: status %d", resp.StatusCode)
	}
}

func TestMerchantsCannotReadEachOthersOrders(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	a := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	b := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	o, err := a.client.CreateOrder(context.Background(), &client.OrderParams{Amount: "5", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{o.ID, "ord_01HZZZZZZZZZZZZZZZZZZZZZZZ", "nonsense"} {
		status, _, body := b.raw(t, "GET", "/v1/orders/"+id, "")
		if status != 404 || errorOf(t, body)["code"] != "resource_missing" {
			t.Errorf("GET %s as another merchant: %d %v", id, status, body)
		}
	}
	// Two merchants with dev xpubs of different accounts never share an address.
	o2, err := b.client.CreateOrder(context.Background(), &client.OrderParams{Amount: "5", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	if o2.Address == o.Address {
		t.Errorf("two merchants got the same address %s", o.Address)
	}
}

func TestIdempotency(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant([]checkout.Network{checkout.TRC20}, nil)
	body := `{"amount":"99.99","currency":"USDT","network":"TRC20","idempotency_key":"checkout_session_a1b2c3"}`
	status, h, first := mc.raw(t, "POST", "/v1/orders", body)
	if status != 201 || h.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %v", status, first)
	}
	// Same parameters written differently ("99.990", other key order) are the same request.
	status, h, again := mc.raw(t, "POST", "/v1/orders",
		`{"network":"TRC20","idempotency_key":"checkout_session_a1b2c3","currency":"USDT","amount":"99.990"}`)
	if status != 200 || h.Get("Idempotent-Replayed") != "true" || !reflect.DeepEqual(again, first) {
		t.Fatalf("replay: %d %q\n%v\n%v", status, h.Get("Idempotent-Replayed"), again, first)
	}
	status, _, body2 := mc.raw(t, "POST", "/v1/orders",
		`{"amount":"100","currency":"USDT","network":"TRC20","idempotency_key":"checkout_session_a1b2c3"}`)
	if status != 422 || errorOf(t, body2)["code"] != "idempotency_key_reused" {
		t.Fatalf("reuse with other params: %d %v", status, body2)
	}
	// The key is scoped to the merchant: another merchant may use it.
	other := e.newMerchant([]checkout.Network{checkout.TRC20}, nil)
	status, _, theirs := other.raw(t, "POST", "/v1/orders", body)
	if status != 201 || theirs["id"] == first["id"] {
		t.Fatalf("other merchant, same key: %d %v", status, theirs)
	}
	// Kept 24 hours.
	ttl := e.rdb.TTL(context.Background(), e.prefix+"merchant:{m:"+mc.m.ID+"}:idem:checkout_session_a1b2c3").Val()
	if ttl < 23*time.Hour || ttl > 24*time.Hour {
		t.Errorf("idempotency record TTL %v, want 24h", ttl)
	}
	if n := e.orderCount(); n != 2 {
		t.Errorf("%d orders stored, want 2", n)
	}
}

func TestIdempotencyRace(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	replica := newEdge(t, edgeOpts{prefix: e.prefix, clock: e.clock}) // a second edge on the same data
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	mc2 := *mc
	c2 := *mc.client
	c2.BaseURL = replica.url
	mc2.client = &c2
	const n = 50
	var wg sync.WaitGroup
	results := make([]map[string]any, n)
	statuses := make([]int, n)
	body := `{"amount":"12.5","currency":"USDT","network":"ERC20","idempotency_key":"race-1"}`
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			who := mc
			if i%2 == 1 {
				who = &mc2
			}
			statuses[i], _, results[i] = who.raw(t, "POST", "/v1/orders", body)
		}(i)
	}
	close(start)
	wg.Wait()
	created := 0
	for i := 0; i < n; i++ {
		switch statuses[i] {
		case 201:
			created++
		case 200:
		default:
			t.Fatalf("request %d: %d %v", i, statuses[i], results[i])
		}
		if results[i]["id"] != results[0]["id"] || results[i]["address"] != results[0]["address"] {
			t.Errorf("request %d got %v / %v, want %v / %v", i, results[i]["id"], results[i]["address"], results[0]["id"], results[0]["address"])
		}
	}
	if created != 1 {
		t.Errorf("%d requests answered 201, want exactly 1", created)
	}
	if c := e.orderCount(); c != 1 {
		t.Errorf("%d orders stored, want 1", c)
	}
}

// TestRetryAfterLostAnswerNeverDuplicates: the order is created but the answer is lost (a proxy
// answers 502), and the client retries; there is still one order.
func TestRetryAfterLostAnswerNeverDuplicates(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	target, _ := url.Parse(e.url)
	var calls atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Scheme, r.URL.Host, r.RequestURI = target.Scheme, target.Host, ""
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		if calls.Add(1) <= 2 { // the edge did the work; the answer never reaches the client
			http.Error(w, "bad gateway", 502)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 64<<10)
		n, _ := resp.Body.Read(buf)
		_, _ = w.Write(buf[:n])
	}))
	defer proxy.Close()
	c := *mc.client
	c.BaseURL = proxy.URL
	o, err := c.CreateOrder(context.Background(), &client.OrderParams{Amount: "3", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Errorf("%d attempts, want 3", calls.Load())
	}
	if n := e.orderCount(); n != 1 {
		t.Errorf("%d orders after retries, want 1", n)
	}
	if got, err := mc.client.GetOrder(context.Background(), o.ID); err != nil || got.Address != o.Address {
		t.Errorf("GET after retries: %v %v", got, err)
	}
	// A 4xx is never retried.
	calls.Store(100)
	_, err = c.CreateOrder(context.Background(), &client.OrderParams{Amount: "-3", Network: checkout.ERC20})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 400 || calls.Load() != 101 {
		t.Errorf("4xx: err %v after %d calls", err, calls.Load()-100)
	}
}

func TestDepositAddressesAreUnique(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	replica := newEdge(t, edgeOpts{prefix: e.prefix, clock: e.clock})
	mc := e.newMerchant(both, nil)
	c2 := *mc.client
	c2.BaseURL = replica.url
	const n = 100
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := mc.client
			if i%2 == 0 {
				c = &c2
			}
			o, err := c.CreateOrder(context.Background(), &client.OrderParams{Amount: "1", Network: both[i%4/2]})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if prev, dup := seen[o.Address]; dup {
				t.Errorf("address %s given to %s and %s", o.Address, prev, o.ID)
			}
			seen[o.Address] = o.ID
		}(i)
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d distinct addresses for %d orders", len(seen), n)
	}
	// Every address is watched before its order is visible.
	for addr := range seen {
		n := checkout.ERC20
		if strings.HasPrefix(addr, "T") {
			n = checkout.TRC20
		}
		if !e.rdb.SIsMember(context.Background(), e.prefix+checkout.WatchSet(n), addr).Val() {
			t.Errorf("address %s is not in the %s watch set", addr, n)
		}
	}
}

func TestRateLimit(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, func(m *checkout.Merchant) { m.RateLimit = 3 })
	limited := 0
	for i := 0; i < 10; i++ {
		status, h, body := mc.raw(t, "GET", "/v1/orders/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ", "")
		if status == 429 {
			limited++
			if h.Get("Retry-After") == "" || errorOf(t, body)["code"] != "rate_limited" || errorOf(t, body)["type"] != "rate_limit_error" {
				t.Errorf("429 without Retry-After or code: %v %v", h, body)
			}
		}
	}
	if limited == 0 {
		t.Error("10 immediate requests at 3/s were never limited")
	}
	other := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	if status, _, _ := other.raw(t, "GET", "/v1/orders/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ", ""); status != 404 {
		t.Errorf("another key was limited too: %d", status)
	}
}

// TestExpiryAcrossRestart: the schedule lives in Redis, so a worker that starts after the
// edge that created the orders (a restart, or another replica) expires them on time.
func TestExpiryAcrossRestart(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	ctx := context.Background()
	o, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "7", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	w := &expiry.Worker{Store: store.New(e.rdb, e.prefix), Now: e.clock.Now}
	e.clock.Add(29 * time.Minute)
	if _, err := w.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := mc.client.GetOrder(ctx, o.ID); got.Status != checkout.StatusPending {
		t.Fatalf("expired early: %s", got.Status)
	}
	e.clock.Add(time.Minute)
	restarted := &expiry.Worker{Store: store.New(e.rdb, e.prefix), Now: e.clock.Now}
	n, err := restarted.Tick(ctx)
	if err != nil || n != 1 {
		t.Fatalf("tick: %d %v", n, err)
	}
	got, err := mc.client.GetOrder(ctx, o.ID)
	if err != nil || got.Status != checkout.StatusExpired {
		t.Fatalf("after expiry: %v %v", got, err)
	}
	// A second replica processing the same entry changes nothing more.
	if n, err := w.Tick(ctx); err != nil || n != 0 {
		t.Errorf("second tick: %d %v", n, err)
	}
	evs, _ := e.store.OrderEvents(ctx, o.ID, "", 100)
	if len(evs) != 2 || evs[0].Type != "order.created" || evs[1].Type != "order.expired" {
		t.Errorf("event stream: %v", evs)
	}
}

func TestHealth(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(e.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}
