package webhook

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"payment.confirmed","data":{"order":{"id":"ord_1"}}}`)
	now := time.Unix(1_800_000_000, 0)
	h := Sign(body, now, "whsec_a")
	if !strings.HasPrefix(h, "t=1800000000,v1=") {
		t.Fatalf("header %q", h)
	}
	cases := []struct {
		name   string
		body   []byte
		header string
		secret string
		at     time.Time
		want   error
	}{
		{"ok", body, h, "whsec_a", now, nil},
		{"ok 299 s later", body, h, "whsec_a", now.Add(299 * time.Second), nil},
		{"wrong secret", body, h, "whsec_b", now, ErrSignature},
		{"body changed", append([]byte(nil), append(body, ' ')...), h, "whsec_a", now, ErrSignature},
		{"too old", body, h, "whsec_a", now.Add(301 * time.Second), ErrTimestamp},
		{"from the future", body, h, "whsec_a", now.Add(-301 * time.Second), ErrTimestamp},
		{"missing", body, "", "whsec_a", now, ErrMissingHeader},
		{"no v1", body, "t=1800000000", "whsec_a", now, ErrMissingHeader},
		{"rotation: second entry matches", body, Sign(body, now, "whsec_old", "whsec_a"), "whsec_a", now, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Verify(c.body, c.header, c.secret, 0, c.at); !errors.Is(err, c.want) {
				t.Errorf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func TestConstructEvent(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"payment.confirmed","created_at":"2026-11-24T10:00:00Z","data":{"order":{"id":"ord_1","status":"PAID"}}}`)
	e, err := ConstructEvent(body, Sign(body, time.Now(), "s"), "s")
	if err != nil || e.ID != "evt_1" || e.Data.Order.Status != "PAID" {
		t.Fatalf("%+v %v", e, err)
	}
	if _, err := ConstructEvent(body, Sign(body, time.Now(), "s"), "other"); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong secret: %v", err)
	}
}
