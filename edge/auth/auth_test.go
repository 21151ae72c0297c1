package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
)

// keys is an in-memory key lookup (the interface is ours; this is a plain map).
type keys map[string]*checkout.APIKey

func (k keys) APIKey(_ context.Context, id string) (*checkout.APIKey, error) {
	if v, ok := k[id]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("key %s: %w", id, checkout.ErrNotFound)
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	revokedAt := now.Add(-time.Hour)
	v := &Verifier{Now: func() time.Time { return now }, Keys: keys{
		"key_a": {ID: "key_a", MerchantID: "mer_a", Secret: "sk_a"},
		"key_r": {ID: "key_r", MerchantID: "mer_a", Secret: "sk_r", RevokedAt: &revokedAt},
	}}
	body := []byte(`{"amount":"1"}`)
	sign := func(key, secret string, ts int64, method, path string, b []byte) string {
		return client.Authorization(key, secret, ts, method, path, b)
	}
	ts := now.Unix()
	cases := []struct {
		name, header, method, path string
		body                       []byte
		code                       checkout.Code
	}{
		{"ok", sign("key_a", "sk_a", ts, "POST", "/v1/orders", body), "POST", "/v1/orders", body, ""},
		{"ok 299 s late", sign("key_a", "sk_a", ts-299, "POST", "/v1/orders", body), "POST", "/v1/orders", body, ""},
		{"ok 299 s early", sign("key_a", "sk_a", ts+299, "POST", "/v1/orders", body), "POST", "/v1/orders", body, ""},
		{"missing", "", "POST", "/v1/orders", body, CodeMissing},
		{"malformed", "Bearer nope", "POST", "/v1/orders", body, CodeMalformed},
		{"301 s old", sign("key_a", "sk_a", ts-301, "POST", "/v1/orders", body), "POST", "/v1/orders", body, CodeTimestamp},
		{"301 s ahead", sign("key_a", "sk_a", ts+301, "POST", "/v1/orders", body), "POST", "/v1/orders", body, CodeTimestamp},
		{"unknown", sign("key_x", "sk_a", ts, "POST", "/v1/orders", body), "POST", "/v1/orders", body, CodeUnknown},
		{"revoked", sign("key_r", "sk_r", ts, "POST", "/v1/orders", body), "POST", "/v1/orders", body, CodeRevoked},
		{"wrong secret", sign("key_a", "sk_b", ts, "POST", "/v1/orders", body), "POST", "/v1/orders", body, CodeSignature},
		{"other body", sign("key_a", "sk_a", ts, "POST", "/v1/orders", body), "POST", "/v1/orders", []byte(`{"amount":"2"}`), CodeSignature},
		{"other method", sign("key_a", "sk_a", ts, "POST", "/v1/orders/x", nil), "GET", "/v1/orders/x", nil, CodeSignature},
		{"other query", sign("key_a", "sk_a", ts, "GET", "/v1/orders/x?a=1", nil), "GET", "/v1/orders/x?a=2", nil, CodeSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := v.Verify(context.Background(), c.header, c.method, c.path, c.body)
			if c.code == "" {
				if err != nil || k.ID != "key_a" {
					t.Fatalf("got %v, %v", k, err)
				}
				return
			}
			var e *checkout.Error
			if !errors.As(err, &e) || e.HTTPStatus != 401 || e.Code != c.code || e.Type != checkout.Authentication {
				t.Fatalf("got %v, want 401 %s", err, c.code)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	cases := []struct {
		name, h string
		ok      bool
	}{
		{"good", "Bearer key_1:1700000000:" + sig, true},
		{"no bearer", "key_1:1700000000:" + sig, false},
		{"lowercase bearer", "bearer key_1:1700000000:" + sig, false},
		{"two parts", "Bearer key_1:" + sig, false},
		{"four parts", "Bearer key_1:1:2:" + sig, false},
		{"empty key", "Bearer :1700000000:" + sig, false},
		{"ts not a number", "Bearer key_1:soon:" + sig, false},
		{"ts negative", "Bearer key_1:-5:" + sig, false},
		{"ts too long", "Bearer key_1:1700000000000000:" + sig, false},
		{"sig short", "Bearer key_1:1700000000:abcd", false},
		{"sig not hex", "Bearer key_1:1700000000:" + strings.Repeat("zz", 32), false},
		{"sig uppercase", "Bearer key_1:1700000000:" + strings.Repeat("AB", 32), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := ParseHeader(c.h)
			if (err == nil) != c.ok {
				t.Errorf("ParseHeader(%q) err = %v, want ok=%v", c.h, err, c.ok)
			}
		})
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add("Bearer key_1:1700000000:" + strings.Repeat("ab", 32))
	f.Add("Bearer ::")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		key, ts, sig, err := ParseHeader(h)
		if err == nil && (key == "" || ts <= 0 || len(sig) != 32 || strings.Contains(key, ":")) {
			t.Fatalf("%q accepted with key %q ts %d sig %x", h, key, ts, sig)
		}
	})
}
