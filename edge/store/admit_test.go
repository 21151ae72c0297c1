package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

// TestUndoTakesBackOnlyWhatNobodyUses: a refused request's admission is taken back: its
// rate spend is given back, its replay mark removed, and its tentative idempotency claim
// deleted so a retry is a fresh request. A claim another request found in between (it may
// be building the order from it) is kept, so one key never makes two orders.
func TestUndoTakesBackOnlyWhatNobodyUses(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	prefix := redistest.Prefix()
	st := store.New(rdb, prefix)
	ctx := context.Background()
	m := ids.Merchant()
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m, Secret: "sk_x"}
	if err := st.AddKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	rate := &store.Bucket{Name: "key:" + key.ID, Limit: store.Limit{Burst: 2, Every: time.Minute}}
	admission := func(idem string) *store.Admission {
		return &store.Admission{KeyID: key.ID, Spend: rate, ReplaySig: "sig-" + idem, ReplayTTL: time.Minute,
			Claim: &store.ClaimRequest{MerchantID: m, Counter: "fp", IdemKey: idem, OrderID: ids.Order(), ParamsHash: "h", Now: time.Now()}}
	}
	idem := func(k string) string { return prefix + "merchant:{m:" + m + "}:idem:" + k }

	a := admission("k1")
	r, err := st.Admit(ctx, a)
	if err != nil || r.Key == nil || r.Key.Secret != "sk_x" || !r.Spend.OK || !r.FirstUse || r.Claim.Replayed {
		t.Fatalf("admit: %+v %v", r, err)
	}
	if err := st.Undo(ctx, a, r); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, idem("k1"), prefix+"replay:{"+key.ID+"}:sig-k1").Val(); n != 0 {
		t.Errorf("after undo %d of the claim and the replay mark remain", n)
	}
	// The spend was given back: the burst of 2 is whole again.
	for i := range 2 {
		if ok, _, err := st.Allow(ctx, rate.Name, rate.Limit); err != nil || !ok {
			t.Fatalf("request %d after the undo refused: %v", i+1, err)
		}
	}
	if ok, _, _ := st.Allow(ctx, rate.Name, rate.Limit); ok {
		t.Error("the burst grew beyond 2")
	}

	// Found by another request in between: kept.
	b := admission("k2")
	b.Spend = nil
	r, err = st.Admit(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.ClaimOrder(ctx, m, "fp", "k2", ids.Order(), "h", time.Now())
	if err != nil || !c.Replayed || c.OrderID != b.Claim.OrderID {
		t.Fatalf("second request's claim: %+v %v", c, err)
	}
	if err := st.Undo(ctx, b, r); err != nil {
		t.Fatal(err)
	}
	if got := rdb.HGet(ctx, idem("k2"), "order_id").Val(); got != b.Claim.OrderID {
		t.Errorf("a claim another request found was taken back (record names %q)", got)
	}
	// The index of the taken-back claim went to the next claim instead of a new one.
	if c.Index != 0 {
		t.Errorf("k2 claimed index %d, want 0 (k1's, given back)", c.Index)
	}
	n := admission("")
	n.Spend = nil
	n.ReplaySig = ""
	r, err = st.Admit(ctx, n)
	if err != nil || r.Claim.Index != 1 || r.Claim.OrderID != n.Claim.OrderID {
		t.Errorf("next claim: %+v %v, want index 1", r.Claim, err)
	}
	if v, err := rdb.Get(ctx, prefix+"merchant:{m:"+m+"}:next:fp").Int(); err != nil || v != 2 {
		t.Errorf("counter %d %v, want 2 (k1 took 0 and gave it to k2, the last claim 1)", v, err)
	}
}

// TestAdmitAfterScriptFlush: a Redis that lost its script cache runs the admission's scripts
// again on their own; every other command's answer stands (the replay mark is not seen as
// a duplicate of itself).
func TestAdmitAfterScriptFlush(t *testing.T) {
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	st := store.New(rdb, "t:")
	ctx := context.Background()
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	a := &store.Admission{KeyID: "key_x", Checks: []store.Bucket{{Name: "authfail-ip:x", Limit: store.Limit{Burst: 1, Every: time.Second}}},
		Spend: &store.Bucket{Name: "key:key_x", Limit: store.Limit{Burst: 5, Every: time.Second}}, ReplaySig: "s", ReplayTTL: time.Minute,
		Claim: &store.ClaimRequest{MerchantID: "mer_x", Counter: "fp", IdemKey: "k", OrderID: "ord_x", ParamsHash: "h", Now: time.Now()}}
	r, err := st.Admit(ctx, a)
	if err != nil || r.Key != nil || !r.Checks[0].OK || !r.Spend.OK || !r.FirstUse || r.Claim.Replayed || r.Claim.OrderID != "ord_x" {
		t.Fatalf("admit after SCRIPT FLUSH: %+v %v", r, err)
	}
}
