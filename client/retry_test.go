package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
)

// flaky answers POST /v1/orders with the given statuses in turn (then 201), recording the
// idempotency key of each attempt. A status of 0 hangs until the client gives up (a timeout).
type flaky struct {
	mu       sync.Mutex
	statuses []int
	keys     []string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p client.OrderParams
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &p)
	f.mu.Lock()
	f.keys = append(f.keys, p.IdempotencyKey)
	status := http.StatusCreated
	if n := len(f.keys); n <= len(f.statuses) {
		status = f.statuses[n-1]
	}
	f.mu.Unlock()
	if status == 0 {
		<-r.Context().Done() // the client's timeout ends the request
		return
	}
	w.Header().Set("Request-Id", "req_test")
	w.WriteHeader(status)
	if status >= 400 {
		_, _ = w.Write([]byte(`{"error":{"type":"api_error","code":"code_` + http.StatusText(status)[:3] + `","message":"x"}}`))
		return
	}
	_, _ = w.Write([]byte(`{"id":"ord_1","status":"PENDING","amount":"1"}`))
}

// TestRetryPolicy checks the SDK's retry policy: exponential backoff on 5xx and timeouts with the
// same idempotency key every attempt, never a retry on a 4xx, at most MaxRetries retries.
func TestRetryPolicy(t *testing.T) {
	cases := []struct {
		name       string
		statuses   []int
		maxRetries int
		attempts   int
		wantStatus int // 0: success
	}{
		{"5xx then success", []int{503, 502, 500}, 0, 4, 0},
		{"timeout then success", []int{0}, 0, 2, 0},
		{"gives up after 3 retries", []int{500, 500, 500, 500, 500}, 0, 4, 500},
		{"400 never retried", []int{400}, 0, 1, 400},
		{"401 never retried", []int{401}, 0, 1, 401},
		{"404 never retried", []int{404}, 0, 1, 404},
		{"409 never retried", []int{409}, 0, 1, 409},
		{"422 never retried", []int{422}, 0, 1, 422},
		{"429 never retried", []int{429}, 0, 1, 429},
		{"retries disabled", []int{503}, -1, 1, 503},
		{"one retry", []int{503, 503}, 1, 2, 503},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &flaky{statuses: c.statuses}
			srv := httptest.NewServer(f)
			defer srv.Close()
			cl := client.New(srv.URL, "key_1", "sk_1")
			cl.HTTP = &http.Client{Timeout: 200 * time.Millisecond}
			cl.MaxRetries = c.maxRetries
			var waits []int
			cl.Backoff = func(retry int) time.Duration { waits = append(waits, retry); return 0 }
			o, err := cl.CreateOrder(context.Background(), &client.OrderParams{Amount: "1", Network: checkout.ERC20})
			var apiErr *client.Error
			switch {
			case c.wantStatus == 0 && (err != nil || o.ID != "ord_1"):
				t.Fatalf("CreateOrder = %+v, %v", o, err)
			case c.wantStatus != 0 && (!errors.As(err, &apiErr) || apiErr.HTTPStatus != c.wantStatus || apiErr.RequestID != "req_test"):
				t.Fatalf("error %v, want a %d *client.Error", err, c.wantStatus)
			}
			if len(f.keys) != c.attempts {
				t.Errorf("%d attempts, want %d", len(f.keys), c.attempts)
			}
			for i, k := range f.keys {
				if k == "" || k != f.keys[0] {
					t.Errorf("attempt %d key %q, first %q: every retry must reuse the key", i, k, f.keys[0])
				}
			}
			for i, r := range waits { // the backoff is asked for retry 0, 1, 2… in turn
				if r != i {
					t.Errorf("backoff calls %v", waits)
					break
				}
			}
			if len(waits) != c.attempts-1 {
				t.Errorf("%d waits for %d attempts", len(waits), c.attempts)
			}
		})
	}
}

// TestNoRetryAfterTheCallerGivesUp: a cancelled context ends the wait at once, no new attempt.
func TestNoRetryAfterTheCallerGivesUp(t *testing.T) {
	f := &flaky{statuses: []int{503, 503}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cl := client.New(srv.URL, "key_1", "sk_1")
	cl.Backoff = func(int) time.Duration { cancel(); return time.Hour }
	start := time.Now()
	_, err := cl.CreateOrder(ctx, &client.OrderParams{Amount: "1", Network: checkout.ERC20, IdempotencyKey: "k"})
	if !errors.Is(err, context.Canceled) || len(f.keys) != 1 || time.Since(start) > 10*time.Second {
		t.Errorf("err %v after %d attempts", err, len(f.keys))
	}
}
