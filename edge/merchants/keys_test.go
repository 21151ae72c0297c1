package merchants_test

import (
	"context"
	"errors"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/merchants"
)

// TestRevokeMerchantKey: a merchant revokes only its own keys; another's is refused and
// stays usable.
func TestRevokeMerchantKey(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	a, err := merchants.Create(ctx, st, merchants.CreateParams{Name: "A"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := merchants.Create(ctx, st, merchants.CreateParams{Name: "B"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := merchants.RevokeMerchantKey(ctx, st, a.MerchantID, b.KeyID); !errors.Is(err, merchants.ErrKeyOfAnotherMerchant) {
		t.Fatalf("a revoked b's key: %v", err)
	}
	if k, _ := st.APIKey(ctx, b.KeyID); k.RevokedAt != nil {
		t.Fatal("b's key is revoked")
	}
	if _, err := merchants.RevokeMerchantKey(ctx, st, a.MerchantID, "key_nope"); !errors.Is(err, checkout.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	var inv *merchants.InvalidError
	if _, err := merchants.RevokeMerchantKey(ctx, st, a.MerchantID, ""); !errors.As(err, &inv) || inv.Param != "key_id" {
		t.Fatalf("no key id: %v", err)
	}
	if _, err := merchants.RevokeMerchantKey(ctx, st, a.MerchantID, a.KeyID); err != nil {
		t.Fatal(err)
	}
	if k, _ := st.APIKey(ctx, a.KeyID); k.RevokedAt == nil {
		t.Fatal("a's key is not revoked")
	}
	// A rotation naming an unknown key stores no new key.
	if _, err := merchants.RotateKey(ctx, st, a.MerchantID, "key_nope"); !errors.Is(err, checkout.ErrNotFound) {
		t.Fatalf("rotate with an unknown key: %v", err)
	}
	if ks, _ := st.Keys(ctx, a.MerchantID); len(ks) != 1 {
		t.Fatalf("%d keys after a refused rotation", len(ks))
	}
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{{"30m", 30 * time.Minute, true}, {" 1h30m ", 90 * time.Minute, true}, {"24", 0, false}, {"soon", 0, false}, {"0s", 0, false}} {
		got, err := merchants.ParseDuration("order_ttl", c.in)
		var inv *merchants.InvalidError
		if c.ok && (err != nil || got != c.want) || !c.ok && (!errors.As(err, &inv) || inv.Param != "order_ttl") {
			t.Errorf("%q: %v %v", c.in, got, err)
		}
	}
}
