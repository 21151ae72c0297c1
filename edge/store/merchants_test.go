package store

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/internal/redistest"
)

// TestMain stops the shared test Redis after the tests of both the internal and the external
// test package (one test binary).
func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// twoDeployments returns two stores under two prefixes on one Redis, sharing one namespace.
func twoDeployments(t *testing.T) (a, b *Store) {
	srv := redistest.Shared(t)
	rdb := srv.Client(t)
	shared := redistest.Prefix()
	return New(rdb, redistest.Prefix()).WithSharedPrefix(shared), New(rdb, redistest.Prefix()).WithSharedPrefix(shared)
}

func newMerchant(t *testing.T, st *Store, id string, fps ...string) error {
	t.Helper()
	return st.CreateMerchant(context.Background(), &checkout.Merchant{ID: id, XPubs: map[checkout.Network]string{}},
		&checkout.APIKey{ID: "key_" + id, MerchantID: id}, fps)
}

// TestXPubRegistryAcrossPrefixes: an xpub claimed in one deployment is refused in the other;
// a refused create stores nothing and keeps no claim; replacing an xpub releases it.
func TestXPubRegistryAcrossPrefixes(t *testing.T) {
	ctx := context.Background()
	a, b := twoDeployments(t)
	if err := newMerchant(t, a, "mer_A", "fpX"); err != nil {
		t.Fatal(err)
	}
	if err := newMerchant(t, b, "mer_B", "fpY", "fpX"); !errors.Is(err, ErrXPubInUse) {
		t.Fatalf("second deployment, same xpub: %v", err)
	}
	if _, err := b.Merchant(ctx, "mer_B"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused merchant stored: %v", err)
	}
	if err := newMerchant(t, a, "mer_A2", "fpY"); err != nil {
		t.Fatalf("fpY stayed claimed by the refused create: %v", err)
	}
	if err := a.ClaimXPub(ctx, "fpX", "mer_A"); err != nil {
		t.Fatalf("the owner claiming again: %v", err)
	}
	// The same merchant id in another deployment is another merchant.
	if err := b.ClaimXPub(ctx, "fpX", "mer_A"); !errors.Is(err, ErrXPubInUse) {
		t.Fatalf("same id, other prefix: %v", err)
	}

	mA, err := a.Merchant(ctx, "mer_A")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetXPub(ctx, mA, checkout.ERC20, "xpub-new", "fpZ"); err != nil {
		t.Fatal(err)
	}
	if err := b.ReleaseXPub(ctx, "fpZ", "mer_B"); err != nil { // not the owner: no effect
		t.Fatal(err)
	}
	// Addresses were handed out from the replaced xpub: it stays claimed, so no other
	// merchant derives them again and is credited with this one's late funds.
	if err := newMerchant(t, b, "mer_B", "fpX"); !errors.Is(err, ErrXPubInUse) {
		t.Fatalf("a replaced xpub was released: %v", err)
	}
	if err := b.ClaimXPub(ctx, "fpZ", "mer_B"); !errors.Is(err, ErrXPubInUse) {
		t.Fatalf("another's release freed fpZ: %v", err)
	}
}

// TestXPubClaimAtomic: merchants of two deployments claiming one xpub at once: exactly one
// wins.
func TestXPubClaimAtomic(t *testing.T) {
	a, b := twoDeployments(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 16 {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := st.ClaimXPub(context.Background(), "fpRace", "mer_"+string(rune('a'+i)))
			if err != nil && !errors.Is(err, ErrXPubInUse) {
				t.Error(err)
			}
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d claims won, want 1", won)
	}
}

// TestDevAccountsShared: dev account numbers are unique across deployments, and the shared
// counter starts above a deployment's older per-prefix counter.
func TestDevAccountsShared(t *testing.T) {
	ctx := context.Background()
	a, b := twoDeployments(t)
	if err := a.rdb.Set(ctx, a.k.devAccounts(), 5, 0).Err(); err != nil { // accounts 1–5 given out before
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for i := range 10 {
		st := a
		if i%2 == 1 {
			st = b
		}
		n, err := st.NextDevAccount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n <= 5 || seen[n] {
			t.Fatalf("dev account %d handed out again", n)
		}
		seen[n] = true
	}
}

// TestRegisterXPubs: claims made before the shared registry existed (this prefix's own
// record) are registered at start-up, so the other deployment is refused them afterwards; a
// clash that already exists is reported.
func TestRegisterXPubs(t *testing.T) {
	ctx := context.Background()
	a, b := twoDeployments(t)
	m := &checkout.Merchant{ID: "mer_old", XPubs: map[checkout.Network]string{checkout.ERC20: "xpub-old", checkout.TRC20: "xpub-clash"}}
	if err := a.PutMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	for _, fp := range []string{"fp-old", "fp-clash"} {
		if err := a.rdb.Set(ctx, a.k.xpubOwner(fp), m.ID, 0).Err(); err != nil { // an earlier version's claim
			t.Fatal(err)
		}
	}
	if err := b.ClaimXPub(ctx, "fp-clash", "mer_other"); err != nil {
		t.Fatal(err)
	}
	conflicts, err := a.RegisterXPubs(ctx, func(x string) (string, error) { return "fp-" + x[len("xpub-"):], nil })
	if err != nil || len(conflicts) != 1 || conflicts[0] != "mer_old" {
		t.Fatalf("conflicts %v, %v", conflicts, err)
	}
	if err := b.ClaimXPub(ctx, "fp-old", "mer_other"); !errors.Is(err, ErrXPubInUse) {
		t.Fatalf("a registered legacy claim: %v", err)
	}
	if again, err := a.RegisterXPubs(ctx, func(x string) (string, error) { return "fp-" + x[len("xpub-"):], nil }); err != nil || len(again) != 1 {
		t.Fatalf("second run %v %v", again, err)
	}
}
