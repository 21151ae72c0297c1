package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

// The store's Lua scripts against a real Redis, one test per script and outcome. Every test
// has its own prefix on the package's own redis-server.

func newStoreClient(t *testing.T) (*store.Store, *redis.Client, string) {
	t.Helper()
	rdb := redistest.Shared(t).Client(t)
	p := redistest.Prefix()
	return store.New(rdb, p), rdb, p
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func testOrder(id string) *checkout.Order {
	return &checkout.Order{ID: id, Status: checkout.StatusPending, Network: checkout.ERC20,
		Address: "0x" + fmt.Sprintf("%040x", len(id)) + id[len(id)-2:], Amount: 12_500_000, PayAmount: 12_500_000,
		Currency: "USDT", CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute), Metadata: map[string]string{}}
}

func event(id string, typ checkout.EventType, o *checkout.Order, at time.Time) checkout.Event {
	return checkout.Event{ID: id, Type: typ, CreatedAt: at, Order: *o}
}

// createOrder writes a fresh order with its order.created event.
func createOrder(t *testing.T, st *store.Store, id string) *checkout.Order {
	t.Helper()
	o := testOrder(id)
	ev := event("evt_created_"+id, checkout.EventOrderCreated, o, t0)
	if _, created, err := st.CreateOrder(context.Background(), o, "mer_1", &ev); err != nil || !created {
		t.Fatalf("create %s: created %v, %v", id, created, err)
	}
	return o
}

// TestClaimOrderReplay: the first request with an idempotency key reserves the identity;
// every later one (another order id, another time) gets that reservation back, Replayed, and
// takes no address index; the record expires after IdempotencyTTL.
func TestClaimOrderReplay(t *testing.T) {
	st, rdb, prefix := newStoreClient(t)
	ctx := context.Background()
	first, err := st.ClaimOrder(ctx, "mer_1", "fp1", "idem-a", "ord_first", "hash-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if first.Replayed || first.OrderID != "ord_first" || first.Index != 0 || !first.CreatedAt.Equal(t0) {
		t.Fatalf("first claim %+v", first)
	}
	again, err := st.ClaimOrder(ctx, "mer_1", "fp1", "idem-a", "ord_second", "hash-2", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := first
	want.Replayed = true
	if again != want {
		t.Fatalf("replay %+v, want %+v", again, want)
	}
	other, err := st.ClaimOrder(ctx, "mer_1", "fp1", "idem-b", "ord_other", "hash-3", t0)
	if err != nil || other.Replayed || other.Index != 1 {
		t.Fatalf("another key: %+v %v (want index 1: the replay took none)", other, err)
	}
	noKey, err := st.ClaimOrder(ctx, "mer_1", "fp1", "", "ord_nokey", "hash-4", t0)
	if err != nil || noKey.Replayed || noKey.Index != 2 || noKey.OrderID != "ord_nokey" {
		t.Fatalf("no key: %+v %v", noKey, err)
	}
	ttl := rdb.TTL(ctx, prefix+"merchant:{m:mer_1}:idem:idem-a").Val()
	if ttl <= store.IdempotencyTTL-time.Minute || ttl > store.IdempotencyTTL {
		t.Fatalf("idempotency record TTL %s, want about %s", ttl, store.IdempotencyTTL)
	}
}

// TestCreateOrderExisting: creating an order that exists returns the stored one, created
// false, and writes nothing (one event, the first document).
func TestCreateOrderExisting(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	o := createOrder(t, st, "ord_create01")
	dup := *o
	dup.Description = "a second request's order"
	ev := event("evt_dup", checkout.EventOrderCreated, &dup, t0.Add(time.Second))
	got, created, err := st.CreateOrder(ctx, &dup, "mer_1", &ev)
	if err != nil || created {
		t.Fatalf("second create: created %v, %v", created, err)
	}
	if got.Description != "" {
		t.Fatalf("second create returned its own order, not the stored one: %+v", got)
	}
	r, err := st.Order(ctx, o.ID)
	if err != nil || r.Version != 1 || r.Order.Description != "" || r.MerchantID != "mer_1" {
		t.Fatalf("stored %+v %v", r, err)
	}
	if n := countEvents(t, st, o.ID); n != 1 {
		t.Fatalf("%d events after a duplicate create, want 1", n)
	}
	if _, _, err := st.CreateOrder(ctx, testOrderAt("ord_create02", o.Address), "mer_1", &ev); !errors.Is(err, store.ErrAddressInUse) {
		t.Fatalf("another order on the same address: %v", err)
	}
}

func testOrderAt(id, addr string) *checkout.Order {
	o := testOrder(id)
	o.Address = addr
	return o
}

// TestCommitStaleVersion: a commit of a record loaded before another commit gets ErrConflict
// and writes nothing: not the document, not an event, not a webhook record, not a schedule.
func TestCommitStaleVersion(t *testing.T) {
	st, rdb, prefix := newStoreClient(t)
	ctx := context.Background()
	o := createOrder(t, st, "ord_commit01")
	a, err := st.Order(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := st.Order(ctx, o.ID)
	a.Order.Status = checkout.StatusConfirming
	if _, err := st.CommitOrder(ctx, a, []checkout.Event{event("evt_a", checkout.EventPaymentDetected, &a.Order, t0)}); err != nil {
		t.Fatal(err)
	}
	b.Order.Status = checkout.StatusExpired
	b.SetFeedPosition("0xtx:1", "5-0")
	_, err = st.CommitOrder(ctx, b, []checkout.Event{event("evt_b", checkout.EventOrderExpired, &b.Order, t0)})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale commit: %v, want ErrConflict", err)
	}
	r, _ := st.Order(ctx, o.ID)
	if r.Version != 2 || r.Order.Status != checkout.StatusConfirming || r.FeedPosition("0xtx:1") != "" {
		t.Fatalf("after the refused commit: version %d status %s feedpos %q", r.Version, r.Order.Status, r.FeedPosition("0xtx:1"))
	}
	k := prefix + "order:{" + o.ID + "}"
	if n := countEvents(t, st, o.ID); n != 2 {
		t.Fatalf("%d events, want 2 (created, detected)", n)
	}
	if rdb.HExists(ctx, k, "w:evt_b").Val() || rdb.LLen(ctx, k+":whq").Val() != 1 {
		t.Fatalf("the refused commit wrote to the webhook outbox: %v", rdb.LRange(ctx, k+":whq", 0, -1).Val())
	}
}

// countEvents is how many events the order has.
func countEvents(t *testing.T, st *store.Store, id string) int {
	t.Helper()
	evs, err := st.OrderEvents(context.Background(), id, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// scheduleOrder commits a webhook event for a fresh order, scheduling its round at t0.
func scheduleOrder(t *testing.T, st *store.Store, id string) {
	t.Helper()
	createOrder(t, st, id)
	r, err := st.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	r.Order.Status = checkout.StatusConfirming
	if _, err := st.CommitOrder(context.Background(), r, []checkout.Event{event("evt_det_"+id, checkout.EventPaymentDetected, &r.Order, t0)}); err != nil {
		t.Fatal(err)
	}
}

// TestClaimDueWebhooksExclusive: of dispatchers claiming the same due order at once, one
// gets it; the others get it only after the lease ends.
func TestClaimDueWebhooksExclusive(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	scheduleOrder(t, st, "ord_wh_excl1")
	const claimers = 8
	var wg sync.WaitGroup
	got := make([][]store.WebhookClaim, claimers)
	errs := make([]error, claimers)
	for i := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = st.ClaimDueWebhooks(ctx, t0.Add(time.Second), time.Minute, 10)
		}()
	}
	wg.Wait()
	won := 0
	for i := range claimers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		won += len(got[i])
	}
	if won != 1 {
		t.Fatalf("%d claims of one order by %d dispatchers, want 1", won, claimers)
	}
	if c, _ := st.ClaimDueWebhooks(ctx, t0.Add(59*time.Second), time.Minute, 10); len(c) != 0 {
		t.Fatalf("claimed again within the lease: %+v", c)
	}
	if c, _ := st.ClaimDueWebhooks(ctx, t0.Add(62*time.Second), time.Minute, 10); len(c) != 1 {
		t.Fatalf("after the lease ended: %+v, want the order due again", c)
	}
}

// TestFinishStaleClaim: a dispatcher whose lease ended (its claim was taken over) finishing
// late does not release the newer claim.
func TestFinishStaleClaim(t *testing.T) {
	st, rdb, prefix := newStoreClient(t)
	ctx := context.Background()
	scheduleOrder(t, st, "ord_wh_stale")
	old, err := st.ClaimDueWebhooks(ctx, t0, time.Minute, 10)
	if err != nil || len(old) != 1 {
		t.Fatalf("first claim %+v %v", old, err)
	}
	newer, err := st.ClaimDueWebhooks(ctx, t0.Add(2*time.Minute), time.Minute, 10)
	if err != nil || len(newer) != 1 || newer[0].Until == old[0].Until {
		t.Fatalf("takeover %+v %v", newer, err)
	}
	if err := st.FinishClaim(ctx, old[0], nil); err != nil {
		t.Fatal(err)
	}
	score, err := rdb.ZScore(ctx, prefix+"webhooks:{sched}:claims", "ord_wh_stale").Result()
	if err != nil || int64(score) != newer[0].Until {
		t.Fatalf("newer claim after the stale finish: %v %v, want %d", score, err, newer[0].Until)
	}
	if c, _ := st.ClaimDueWebhooks(ctx, t0.Add(2*time.Minute+time.Second), time.Minute, 10); len(c) != 0 {
		t.Fatalf("a third dispatcher claimed the order during the newer lease: %+v", c)
	}
	next := t0.Add(5 * time.Minute)
	if err := st.FinishClaim(ctx, newer[0], &next); err != nil {
		t.Fatal(err)
	}
	if rdb.ZScore(ctx, prefix+"webhooks:{sched}:claims", "ord_wh_stale").Err() != redis.Nil {
		t.Fatal("the current claim's finish did not release it")
	}
	if s := rdb.ZScore(ctx, prefix+"webhooks:{sched}:due", "ord_wh_stale").Val(); int64(s) != next.UnixMilli() {
		t.Fatalf("next round at %v, want %d", s, next.UnixMilli())
	}
}

// TestSaveDeliveryConflict: saving a delivery read before another write gets ErrConflict and
// leaves the record as the other write left it (the attempt is still logged: it happened);
// an unknown event gets ErrNotFound.
func TestSaveDeliveryConflict(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	scheduleOrder(t, st, "ord_wh_save1")
	_, ds, err := st.PendingWebhooks(ctx, "ord_wh_save1")
	if err != nil || len(ds) != 1 {
		t.Fatalf("pending %+v %v", ds, err)
	}
	a, b := ds[0], ds[0]
	a.Status, a.Attempts = checkout.DeliveryDelivered, 1
	if err := st.SaveDelivery(ctx, "ord_wh_save1", &a, &checkout.WebhookAttempt{StatusCode: 200}); err != nil {
		t.Fatal(err)
	}
	b.Attempts, b.LastError = 1, "stale writer"
	if err := st.SaveDelivery(ctx, "ord_wh_save1", &b, &checkout.WebhookAttempt{StatusCode: 500}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale save: %v, want ErrConflict", err)
	}
	whs, err := st.Webhooks(ctx, "ord_wh_save1")
	if err != nil || len(whs) != 1 {
		t.Fatalf("webhooks %+v %v", whs, err)
	}
	if whs[0].Status != a.Status || whs[0].LastError != "" || len(whs[0].AttemptLog) != 2 {
		t.Fatalf("after the refused save: %+v", whs[0])
	}
	if r, rest, _ := st.PendingWebhooks(ctx, "ord_wh_save1"); r != nil || len(rest) != 0 {
		t.Fatalf("a delivered record stayed queued: %+v", rest)
	}
	ghost := ds[0]
	ghost.EventID = "evt_nope"
	if err := st.SaveDelivery(ctx, "ord_wh_save1", &ghost, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown delivery: %v", err)
	}
}

// TestWebhookBacklog counts scheduled and claimed orders, an order both scheduled and claimed
// (a new event during its round) once.
func TestWebhookBacklog(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	count := func(want int64) {
		t.Helper()
		if n, err := st.WebhookBacklog(ctx); err != nil || n != want {
			t.Fatalf("backlog %d (%v), want %d", n, err, want)
		}
	}
	count(0)
	scheduleOrder(t, st, "ord_wh_blog1")
	scheduleOrder(t, st, "ord_wh_blog2")
	count(2)
	claims, err := st.ClaimDueWebhooks(ctx, t0, time.Minute, 1)
	if err != nil || len(claims) != 1 {
		t.Fatalf("claim %+v %v", claims, err)
	}
	count(2) // one scheduled, one claimed
	if err := st.ScheduleWebhooks(ctx, claims[0].OrderID, t0); err != nil {
		t.Fatal(err)
	}
	count(2) // the claimed one is scheduled again too: still two orders
	if err := st.FinishClaim(ctx, claims[0], nil); err != nil {
		t.Fatal(err)
	}
	count(2) // finished, but its new round is due
	rest, _ := st.ClaimDueWebhooks(ctx, t0, time.Minute, 10)
	for _, c := range rest {
		if err := st.FinishClaim(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	count(0)
}

// TestSkipIndex: a skipped index is replaced by a fresh one; with an idempotency key the
// record is moved to it (a replay builds the order at the new index), and callers that skip
// the same old index, at once or later, all get the same replacement.
func TestSkipIndex(t *testing.T) {
	ctx := context.Background()
	t.Run("without idempotency key", func(t *testing.T) {
		st, _, _ := newStoreClient(t)
		c, err := st.ClaimOrder(ctx, "mer_1", "fp1", "", "ord_1", "h", t0)
		if err != nil {
			t.Fatal(err)
		}
		n, err := st.SkipIndex(ctx, "mer_1", "fp1", "", c.Index)
		if err != nil || n == c.Index {
			t.Fatalf("skip %d: %d %v", c.Index, n, err)
		}
		next, _ := st.ClaimOrder(ctx, "mer_1", "fp1", "", "ord_2", "h", t0)
		if next.Index == n || next.Index == c.Index {
			t.Fatalf("the next order got index %d, already handed out", next.Index)
		}
	})
	t.Run("with idempotency key", func(t *testing.T) {
		st, _, _ := newStoreClient(t)
		c, err := st.ClaimOrder(ctx, "mer_1", "fp1", "idem", "ord_1", "h", t0)
		if err != nil {
			t.Fatal(err)
		}
		n, err := st.SkipIndex(ctx, "mer_1", "fp1", "idem", c.Index)
		if err != nil || n == c.Index {
			t.Fatalf("skip %d: %d %v", c.Index, n, err)
		}
		replay, _ := st.ClaimOrder(ctx, "mer_1", "fp1", "idem", "ord_other", "h", t0)
		if !replay.Replayed || replay.Index != n || replay.OrderID != "ord_1" {
			t.Fatalf("replay after the skip: %+v, want index %d", replay, n)
		}
		late, err := st.SkipIndex(ctx, "mer_1", "fp1", "idem", c.Index)
		if err != nil || late != n {
			t.Fatalf("a late caller skipping %d again got %d %v, want %d", c.Index, late, err, n)
		}
		fresh, _ := st.ClaimOrder(ctx, "mer_1", "fp1", "", "ord_3", "h", t0)
		if fresh.Index != n+1 {
			t.Fatalf("the late skip took an index: the next is %d, want %d", fresh.Index, n+1)
		}
	})
	t.Run("concurrent callers agree", func(t *testing.T) {
		st, _, _ := newStoreClient(t)
		c, err := st.ClaimOrder(ctx, "mer_1", "fp1", "idem", "ord_1", "h", t0)
		if err != nil {
			t.Fatal(err)
		}
		const callers = 10
		got := make([]uint32, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = st.SkipIndex(ctx, "mer_1", "fp1", "idem", c.Index)
			}()
		}
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || got[i] != got[0] || got[i] == c.Index {
				t.Fatalf("caller %d got %d (%v); caller 0 got %d; old %d", i, got[i], errs[i], got[0], c.Index)
			}
		}
		fresh, _ := st.ClaimOrder(ctx, "mer_1", "fp1", "", "ord_2", "h", t0)
		if fresh.Index != got[0]+1 {
			t.Fatalf("%d concurrent skips took more than one index: next is %d, want %d", callers, fresh.Index, got[0]+1)
		}
	})
}
