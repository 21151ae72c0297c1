package shop

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mpchat/checkout/client/webhook"
)

// TestWebhookEndpoint: the shop accepts a webhook signed with its secret and records it as
// verified; a forged or stale one is refused (400) and shown as rejected.
func TestWebhookEndpoint(t *testing.T) {
	s := &Shop{EdgeURL: "http://127.0.0.1:8080", WebhookSecret: "whsec_shop"}
	h := s.Handler()
	body := `{"id":"evt_1","type":"payment.confirmed","created_at":"2026-11-25T04:00:00Z","data":{"order":{"id":"ord_1","status":"PAID"}}}`
	post := func(sig string) int {
		req := httptest.NewRequest("POST", "/webhooks", strings.NewReader(body))
		req.Header.Set(webhook.Header, sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post(webhook.Sign([]byte(body), time.Now(), "whsec_shop")); code != http.StatusNoContent {
		t.Fatalf("signed webhook: %d", code)
	}
	if code := post(webhook.Sign([]byte(body), time.Now(), "whsec_attacker")); code != http.StatusBadRequest {
		t.Fatalf("forged webhook: %d", code)
	}
	if code := post(webhook.Sign([]byte(body), time.Now().Add(-10*time.Minute), "whsec_shop")); code != http.StatusBadRequest {
		t.Fatalf("replayed webhook: %d", code)
	}
	got := s.Webhooks("ord_1")
	if len(got) != 1 || !got[0].Verified || got[0].Type != "payment.confirmed" || got[0].Status != "PAID" {
		t.Fatalf("recorded for the order: %+v", got)
	}
	if all := s.Webhooks(""); len(all) != 3 || all[1].Verified || all[2].Verified || all[1].Error == "" {
		t.Fatalf("all recorded: %+v", all)
	}
}

// TestBuyValidates: a purchase without a valid network or cart is refused before any API call.
func TestBuyValidates(t *testing.T) {
	h := (&Shop{EdgeURL: "http://127.0.0.1:8080"}).Handler()
	for _, form := range []string{"network=BTC&cart=0123456789abcdef", "network=TRC20&cart=short", ""} {
		req := httptest.NewRequest("POST", "/buy", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%q: %d", form, rec.Code)
		}
	}
}
