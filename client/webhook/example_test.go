package webhook_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/mpchat/checkout/client/webhook"
)

// Verify a delivery against the exact bytes received. The signature is Stripe-style:
// t={unix seconds},v1={hex HMAC-SHA256(webhook_secret, t + "." + body)}; timestamps more than
// 5 minutes off (past or future) are refused, so a captured delivery cannot be replayed later.
func ExampleVerify() {
	const secret = "whsec_example"
	body := []byte(`{"id":"evt_01","type":"payment.confirmed","created_at":"2027-01-15T08:00:00Z","data":{"order":{"id":"ord_01","status":"PAID"}}}`)
	sentAt := time.Unix(1_800_000_000, 0)
	header := webhook.Sign(body, sentAt, secret) // what the edge sends as MP-Signature
	fmt.Println(header)

	fmt.Println(webhook.Verify(body, header, secret, 0, sentAt.Add(10*time.Second)))
	tampered := []byte(strings.Replace(string(body), "PAID", "PAID ", 1))
	fmt.Println(errors.Is(webhook.Verify(tampered, header, secret, 0, sentAt), webhook.ErrSignature))
	fmt.Println(errors.Is(webhook.Verify(body, header, secret, 0, sentAt.Add(time.Hour)), webhook.ErrTimestamp))
	// Output:
	// t=1800000000,v1=db4e836b12f62631c0db8cf9bd27e3a2ab663a565b85a701668474af7280c26d
	// <nil>
	// true
	// true
}

// A merchant's webhook endpoint: read the raw body, verify and decode it with ConstructEvent,
// answer 2xx quickly (anything else is retried with backoff for about three days), and
// handle each event id once: deliveries are at least once.
func ExampleConstructEvent() {
	const secret = "whsec_example" // from `edge merchant create` or rotate-webhook-secret
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		e, err := webhook.ConstructEvent(body, r.Header.Get(webhook.Header), secret)
		if err != nil {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		if e.Type == "payment.confirmed" {
			fmt.Println("fulfil", e.Data.Order.ID, e.Data.Order.Status) // once per e.ID
		}
		w.WriteHeader(http.StatusNoContent)
	})

	// What a delivery from the edge looks like:
	body := `{"id":"evt_01","type":"payment.confirmed","created_at":"2027-01-15T08:00:00Z","data":{"order":{"id":"ord_01","status":"PAID"}}}`
	req := httptest.NewRequest(http.MethodPost, "/hooks/mp", strings.NewReader(body))
	req.Header.Set(webhook.Header, webhook.Sign([]byte(body), time.Now(), secret))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	forged := httptest.NewRequest(http.MethodPost, "/hooks/mp", strings.NewReader(body))
	forged.Header.Set(webhook.Header, webhook.Sign([]byte(body), time.Now(), "not the secret"))
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, forged)
	fmt.Println(rec.Code)
	// Output:
	// fulfil ord_01 PAID
	// 204
	// 400
}
