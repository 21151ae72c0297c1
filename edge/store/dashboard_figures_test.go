package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
)

// figOrder creates an order of merchant mer at created for amount USDT.
func figOrder(t *testing.T, st *store.Store, mer string, created time.Time, amount int64) *checkout.Order {
	t.Helper()
	o := testOrder(ids.Order())
	o.Address = "fig-" + o.ID
	o.CreatedAt, o.ExpiresAt = created, created.Add(30*time.Minute)
	o.Amount, o.PayAmount = checkout.Amount(amount)*checkout.Unit, checkout.Amount(amount)*checkout.Unit
	ev := event(ids.Event(), checkout.EventOrderCreated, o, created)
	if _, _, err := st.CreateOrder(context.Background(), o, mer, &ev); err != nil {
		t.Fatal(err)
	}
	return o
}

// move commits the order to status (PAID: paid at paidAt, in full) and returns the record,
// not indexed yet.
func move(t *testing.T, st *store.Store, id string, status checkout.Status, paidAt time.Time) store.Record {
	t.Helper()
	rec, err := st.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	rec.Order.Status = status
	if status == checkout.StatusPaid {
		rec.Order.PaidAt, rec.Order.AmountPaid = &paidAt, rec.Order.Amount
	}
	if _, err := st.CommitOrder(context.Background(), rec, nil); err != nil {
		t.Fatal(err)
	}
	return *rec
}

func figuresOf(t *testing.T, st *store.Store, mer string, from, to time.Time) []store.DayFigures {
	t.Helper()
	f, err := st.Figures(context.Background(), mer, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func statusCounts(d store.DayFigures) string {
	s := ""
	for _, st := range checkout.Statuses {
		if n := d.Created[st]; n != 0 {
			s += fmt.Sprintf("%s=%d ", st, n)
		}
	}
	return s
}

// TestFiguresCountEachTransitionOnce: the index step counts an order's creation and each of
// its status changes once, however often it runs, out of order, and from many replicas at
// once; a PAID order adds its amount and time to PAID to its PAID day (here the next day);
// another merchant's figures stay apart.
func TestFiguresCountEachTransitionOnce(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	day := time.Date(2030, 3, 4, 0, 0, 0, 0, time.UTC)
	late := day.Add(24*time.Hour - 100*time.Second) // 23:58:20
	b := figOrder(t, st, "mer_f", day.Add(time.Hour), 20)
	c := figOrder(t, st, "mer_f", day.Add(2*time.Hour), 30)
	a := figOrder(t, st, "mer_f", late, 10)
	figOrder(t, st, "mer_g", day.Add(time.Hour), 99)
	// A retried create (the same order again) adds nothing.
	ev := event(ids.Event(), checkout.EventOrderCreated, c, c.CreatedAt)
	if _, created, err := st.CreateOrder(ctx, c, "mer_f", &ev); err != nil || created {
		t.Fatalf("replayed create: %v %v", created, err)
	}

	// a: PENDING → CONFIRMING (v2) → PAID (v3) 250 s after creation, the next day; every
	// replica indexes both versions, in both orders, at once, and again afterwards.
	confirming := move(t, st, a.ID, checkout.StatusConfirming, time.Time{})
	paidAt := late.Add(250 * time.Second)
	paid := move(t, st, a.ID, checkout.StatusPaid, paidAt)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			steps := []store.Record{confirming, paid}
			if i%2 == 1 {
				steps = []store.Record{paid, confirming}
			}
			for _, r := range steps {
				if err := st.IndexOrder(ctx, "mer_f", &r.Order, r.Version); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for _, r := range []store.Record{confirming, paid, paid} {
		if err := st.IndexOrder(ctx, "mer_f", &r.Order, r.Version); err != nil {
			t.Fatal(err)
		}
	}
	// Late funds after PAID: a later version, still PAID, counts nothing more.
	later := move(t, st, a.ID, checkout.StatusPaid, paidAt)
	if err := st.IndexOrder(ctx, "mer_f", &later.Order, later.Version); err != nil {
		t.Fatal(err)
	}
	// b expires; its index step runs twice.
	expired := move(t, st, b.ID, checkout.StatusExpired, time.Time{})
	for range 2 {
		if err := st.IndexOrder(ctx, "mer_f", &expired.Order, expired.Version); err != nil {
			t.Fatal(err)
		}
	}

	f := figuresOf(t, st, "mer_f", day, day.Add(24*time.Hour))
	if len(f) != 2 || !f[0].Day.Equal(day) || !f[1].Day.Equal(day.Add(24*time.Hour)) {
		t.Fatalf("days %+v", f)
	}
	if got := statusCounts(f[0]); got != "PENDING=1 PAID=1 EXPIRED=1 " {
		t.Fatalf("created on the day, by status now: %q", got)
	}
	if f[0].Paid != 0 || f[1].Paid != 1 || f[1].PaidAmount != 10*checkout.Unit {
		t.Fatalf("paid: day %d, next day %d for %d", f[0].Paid, f[1].Paid, f[1].PaidAmount)
	}
	bucket := store.TimeToPaidBucket(250 * time.Second)
	for i, n := range f[1].TimeToPaid {
		if want := int64(0); i == bucket && n != 1 || i != bucket && n != want {
			t.Fatalf("time to PAID histogram %v, want one in bucket %d", f[1].TimeToPaid, bucket)
		}
	}
	if statusCounts(f[1]) != "" {
		t.Fatalf("next day created %q", statusCounts(f[1]))
	}
	g := figuresOf(t, st, "mer_g", day, day)
	if statusCounts(g[0]) != "PENDING=1 " || g[0].Paid != 0 {
		t.Fatalf("the other merchant: %q", statusCounts(g[0]))
	}
	if since, err := st.FiguresSince(ctx, "mer_f"); err != nil || !since.Equal(b.CreatedAt) {
		t.Fatalf("since %v %v", since, err)
	}
}

// TestFiguresRetention: each day's key expires FiguresRetention after the day ends; an order
// created longer ago than that counts nowhere; an order created before the figures started
// moves no per-status count, but its PAID still counts on its PAID day.
func TestFiguresRetention(t *testing.T) {
	st, rdb, prefix := newStoreClient(t)
	ctx := context.Background()
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)

	old := figOrder(t, st, "mer_r", now.Add(-store.FiguresRetention-48*time.Hour), 5)
	if f := figuresOf(t, st, "mer_r", old.CreatedAt, old.CreatedAt); statusCounts(f[0]) != "" {
		t.Fatalf("a day past retention was counted: %q", statusCounts(f[0]))
	}
	if n, _ := rdb.Exists(ctx, prefix+"merchant:{m:mer_r}:fig:"+old.CreatedAt.Format("20060102")).Result(); n != 0 {
		t.Fatal("a key past retention exists")
	}

	o := figOrder(t, st, "mer_r", now, 7)
	key := prefix + "merchant:{m:mer_r}:fig:" + now.Format("20060102")
	ttl, err := rdb.TTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := time.Until(today.Add(24*time.Hour + store.FiguresRetention))
	if d := ttl - want; d < -5*time.Second || d > 5*time.Second {
		t.Fatalf("TTL %v, want about %v", ttl, want)
	}
	_ = o

	// An order created before the figures started (its index entry written without them,
	// as an edge before this version did): simulated by one created a minute before the
	// first counted order. Its expiry moves no count; its PAID day still counts it.
	before := figOrder(t, st, "mer_q", now.Add(-time.Minute), 3)
	if err := rdb.Del(ctx, prefix+"merchant:{m:mer_q}:fig:"+before.CreatedAt.Format("20060102"), prefix+"merchant:{m:mer_q}:fig:since").Err(); err != nil {
		t.Fatal(err)
	}
	figOrder(t, st, "mer_q", now, 4)
	rec := move(t, st, before.ID, checkout.StatusPaid, now)
	if err := st.IndexOrder(ctx, "mer_q", &rec.Order, rec.Version); err != nil {
		t.Fatal(err)
	}
	f := figuresOf(t, st, "mer_q", now, now)
	if statusCounts(f[0]) != "PENDING=1 " || f[0].Paid != 1 || f[0].PaidAmount != 3*checkout.Unit {
		t.Fatalf("figures %q paid %d %d", statusCounts(f[0]), f[0].Paid, f[0].PaidAmount)
	}
}

// TestFiguresBackfill: the backfill recomputes the days from the orders (those created
// before the figures started included), replacing what was there, and running it twice gives
// the same; webhook counters are kept.
func TestFiguresBackfill(t *testing.T) {
	st, rdb, prefix := newStoreClient(t)
	ctx := context.Background()
	now := time.Now().UTC()
	yesterday := now.Add(-24 * time.Hour)
	a := figOrder(t, st, "mer_b", yesterday, 10)
	figOrder(t, st, "mer_b", yesterday.Add(time.Second), 11)
	c := figOrder(t, st, "mer_b", now, 12)
	rec := move(t, st, a.ID, checkout.StatusPaid, yesterday.Add(40*time.Second))
	if err := st.IndexOrder(ctx, "mer_b", &rec.Order, rec.Version); err != nil {
		t.Fatal(err)
	}
	// An order that needs a human, from before the attention queue: not in it yet.
	rec = move(t, st, c.ID, checkout.StatusUnderpaid, now)
	if err := st.IndexOrder(ctx, "mer_b", &rec.Order, rec.Version); err != nil {
		t.Fatal(err)
	}
	// As if none of it had been counted, and yesterday had webhook figures.
	yk := prefix + "merchant:{m:mer_b}:fig:" + yesterday.Format("20060102")
	tk := prefix + "merchant:{m:mer_b}:fig:" + now.Format("20060102")
	if err := rdb.Del(ctx, yk, tk, prefix+"merchant:{m:mer_b}:fig:since").Err(); err != nil {
		t.Fatal(err)
	}
	rdb.HSet(ctx, yk, "wa", 3, "wo", 2, "c:PENDING", 40) // a stale count the backfill replaces
	for range 2 {
		res, err := st.BackfillFigures(ctx, "mer_b", 2, now)
		if err != nil {
			t.Fatal(err)
		}
		if res.Orders != 3 || res.Days != 2 || res.Attention != 1 {
			t.Fatalf("backfill %+v", res)
		}
		if q, err := st.Attention(ctx, "mer_b", 10); err != nil || len(q) != 1 || q[0].OrderID != c.ID {
			t.Fatalf("attention queue after backfill: %+v (err %v), want %s alone", q, err, c.ID)
		}
		f := figuresOf(t, st, "mer_b", yesterday, now)
		if statusCounts(f[0]) != "PENDING=1 PAID=1 " || statusCounts(f[1]) != "UNDERPAID=1 " ||
			f[0].Paid != 1 || f[0].PaidAmount != 10*checkout.Unit || f[0].TimeToPaid[store.TimeToPaidBucket(40*time.Second)] != 1 ||
			f[0].WebhookAttempts != 3 || f[0].WebhookOK != 2 {
			t.Fatalf("after backfill: %q %q %+v", statusCounts(f[0]), statusCounts(f[1]), f[0])
		}
	}
	if since, _ := st.FiguresSince(ctx, "mer_b"); !since.Equal(yesterday.Truncate(24 * time.Hour)) {
		t.Fatalf("since %v", since)
	}
	if ttl, _ := rdb.TTL(ctx, yk).Result(); ttl < store.FiguresRetention-24*time.Hour {
		t.Fatalf("backfilled key TTL %v", ttl)
	}
}
