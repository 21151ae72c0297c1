package retention_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/retention"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

func newStore(t *testing.T) (*store.Store, *redis.Client, string) {
	t.Helper()
	rdb := redistest.Shared(t).Client(t)
	p := redistest.Prefix()
	return store.New(rdb, p), rdb, p
}

// paidOrder writes an xpub-mode order through its life: created, detected (webhook), a
// confirmation update (no webhook), confirmed and PAID (webhook). The detected delivery is
// then delivered (with an attempt logged); the confirmed one stays pending.
func paidOrder(t *testing.T, st *store.Store, id string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	o := &checkout.Order{ID: id, Status: checkout.StatusPending, Network: checkout.ERC20,
		Address: fmt.Sprintf("0x%040x", len(id)) + id[len(id)-4:], Amount: 12_500_000, PayAmount: 12_500_000,
		Currency: "USDT", CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute), Metadata: map[string]string{"k": "v"},
		WebhookURL: "https://merchant.example/hook"}
	created := checkout.Event{ID: "evt_c_" + id, Type: checkout.EventOrderCreated, CreatedAt: now, Order: *o}
	if _, ok, err := st.CreateOrder(ctx, o, "mer_1", &created); err != nil || !ok {
		t.Fatalf("create: %v %v", ok, err)
	}
	pay := checkout.Payment{TxHash: "0x" + fmt.Sprintf("%064x", 7), From: "0xfrom", Amount: 12_500_000,
		BlockNumber: 10, Confirmations: 1, ConfirmationsRequired: 3, FirstSeenAt: now}
	step := func(status checkout.Status, typ checkout.EventType, conf uint64) {
		t.Helper()
		rec, err := st.Order(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p := pay
		p.Confirmations = conf
		rec.Order.Status, rec.Order.Payments = status, []checkout.Payment{p}
		rec.Order.AmountPending = 12_500_000
		if status == checkout.StatusPaid {
			rec.Order.AmountPending, rec.Order.AmountPaid = 0, 12_500_000
			paid := now.Add(time.Minute)
			rec.Order.PaidAt = &paid
		}
		// Settlement's feed positions: the payment's, and a removal of a transfer the order
		// never tracked.
		rec.SetFeedPosition(store.TransferKey(&checkout.Transfer{TxHash: p.TxHash, LogIndex: p.LogIndex}), fmt.Sprintf("%d-0", 100+conf))
		rec.SetFeedPosition("0xgone:1", "99-0")
		ev := checkout.Event{ID: "evt_" + string(typ) + "_" + id, Type: typ, CreatedAt: now, Order: rec.Order, Payment: &p}
		if _, err := st.CommitOrder(ctx, rec, []checkout.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	step(checkout.StatusConfirming, checkout.EventPaymentDetected, 1)
	step(checkout.StatusConfirming, checkout.EventPaymentUpdated, 2)
	step(checkout.StatusPaid, checkout.EventPaymentConfirmed, 3)
	_, ds, err := st.PendingWebhooks(ctx, id)
	if err != nil || len(ds) != 2 {
		t.Fatalf("pending webhooks %d, %v", len(ds), err)
	}
	d := ds[0]
	at := time.Now().UTC()
	d.Status, d.Attempts, d.DeliveredAt = checkout.DeliveryDelivered, 1, &at
	if err := st.SaveDelivery(ctx, id, &d, &checkout.WebhookAttempt{At: at, StatusCode: 200}); err != nil {
		t.Fatal(err)
	}
}

// snapshot is what the API can answer about an order.
type snapshot struct {
	order    []byte
	events   []store.StreamEvent
	last     *store.StreamEvent
	webhooks []checkout.WebhookDelivery
}

func take(t *testing.T, st *store.Store, id string) snapshot {
	t.Helper()
	ctx := context.Background()
	rec, err := st.Order(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot
	if s.order, err = json.Marshal(&rec.Order); err != nil {
		t.Fatal(err)
	}
	if s.events, err = st.OrderEvents(ctx, id, "0-0", 1000); err != nil {
		t.Fatal(err)
	}
	if s.last, err = st.LastOrderEvent(ctx, id); err != nil {
		t.Fatal(err)
	}
	if s.webhooks, err = st.Webhooks(ctx, id); err != nil {
		t.Fatal(err)
	}
	return s
}

func worker(st *store.Store, at time.Time) *retention.Worker {
	return &retention.Worker{Store: st, Events: retention.DefaultEvents, Changes: retention.DefaultChanges,
		Records: retention.DefaultRecords, Now: func() time.Time { return at }}
}

// TestOrderRetention: an order inside its windows keeps everything; past the late-funds
// window its deposit address is unwatched and unbound; past the events window it keeps its
// document (GET answers the same order), its last event and its pending delivery, and loses
// its other events and its delivered record with that record's attempt log. Nothing is left
// to do after, so the schedule is empty.
func TestOrderRetention(t *testing.T) {
	st, rdb, prefix := newStore(t)
	ctx := context.Background()
	const id = "ord_01RETAINPAID0000000000001"
	paidOrder(t, st, id)
	before := take(t, st, id)
	if len(before.events) != 4 || len(before.webhooks) != 2 {
		t.Fatalf("before: %d events, %d webhooks", len(before.events), len(before.webhooks))
	}
	rec, _ := st.Order(ctx, id)
	addr, watch := prefix+"addr:{ERC20:"+rec.Order.Address+"}", prefix+checkout.WatchSet(checkout.ERC20)
	start := time.Now()

	// Inside every window: nothing changes.
	if _, err := worker(st, start.Add(time.Hour)).Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := take(t, st, id); !reflect.DeepEqual(got, before) {
		t.Fatalf("inside the window the order changed:\n%+v\n%+v", got, before)
	}
	if ok, _ := rdb.SIsMember(ctx, watch, rec.Order.Address).Result(); !ok {
		t.Fatal("address unwatched inside its late-funds window")
	}
	if due, _ := st.DueRetention(ctx, start.Add(time.Hour), 10); len(due) != 0 {
		t.Fatalf("still due after its first look: %v", due)
	}

	// Past the late-funds window (default 24h): the address goes, the history stays.
	s, err := worker(st, start.Add(25*time.Hour)).Pass(ctx)
	if err != nil || s.Released != 1 || s.Trimmed != 0 {
		t.Fatalf("at 25h: %+v %v", s, err)
	}
	if ok, _ := rdb.SIsMember(ctx, watch, rec.Order.Address).Result(); ok {
		t.Fatal("address still watched past its late-funds window")
	}
	if n, _ := rdb.Exists(ctx, addr).Result(); n != 0 {
		t.Fatal("address still bound past its late-funds window")
	}
	if got := take(t, st, id); !reflect.DeepEqual(got, before) {
		t.Fatal("the address release changed the order")
	}

	// Past the events window.
	s, err = worker(st, start.Add(retention.DefaultEvents+time.Hour)).Pass(ctx)
	if err != nil || s.Trimmed != 1 {
		t.Fatalf("at 90d: %+v %v", s, err)
	}
	after := take(t, st, id)
	if string(after.order) != string(before.order) {
		t.Fatalf("order changed:\n%s\n%s", after.order, before.order)
	}
	if !reflect.DeepEqual(after.last, before.last) {
		t.Fatalf("last event changed: %+v", after.last)
	}
	if len(after.events) != 1 || after.events[0].ID != before.last.ID {
		t.Fatalf("events after trim: %+v", after.events)
	}
	if len(after.webhooks) != 1 || after.webhooks[0].Status != checkout.DeliveryPending ||
		after.webhooks[0].Type != checkout.EventPaymentConfirmed {
		t.Fatalf("webhooks after trim: %+v", after.webhooks)
	}
	// The last event is kept without the state it shares with the document.
	if raw, _ := rdb.HGet(ctx, prefix+"order:{"+id+"}", "e:4").Result(); !strings.Contains(raw, `"sd":true`) || strings.Contains(raw, `"s":`) {
		t.Fatalf("last event kept with its state: %s", raw)
	}
	// The document in its finished form, the payment's feed position as a reference to it:
	// both read back as they were.
	stored, _ := rdb.HMGet(ctx, prefix+"order:{"+id+"}", "doc", "feedpos").Result()
	if doc, _ := stored[0].(string); !strings.HasPrefix(doc, `{"v":"3",`) {
		t.Errorf("document not in its finished form: %s", doc)
	}
	if fp, _ := stored[1].(string); fp != `{"#0":"103-0","0xgone:1":"99-0"}` {
		t.Errorf("feed positions stored as %s", fp)
	}
	trimmed, err := st.Order(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	payKey := store.TransferKey(&checkout.Transfer{TxHash: rec.Order.Payments[0].TxHash, LogIndex: rec.Order.Payments[0].LogIndex})
	if trimmed.FeedPosition(payKey) != "103-0" || trimmed.FeedPosition("0xgone:1") != "99-0" || trimmed.Version != rec.Version {
		t.Errorf("after the trim: feed positions %q %q, version %d (was %d)", trimmed.FeedPosition(payKey),
			trimmed.FeedPosition("0xgone:1"), trimmed.Version, rec.Version)
	}
	fields, _ := rdb.HKeys(ctx, prefix+"order:{"+id+"}").Result()
	for _, f := range fields {
		if f == "w:evt_payment.detected_"+id || f == "a:evt_payment.detected_"+id {
			t.Fatalf("delivered record kept: %v", fields)
		}
	}
	if _, at, err := st.WebhookList(ctx, id); err != nil || at == nil {
		t.Fatalf("the webhook list does not say it was trimmed: %v %v", at, err)
	}
	// The pending delivery keeps the order on the schedule: once it is delivered, the next
	// trim takes it too.
	if due, _ := st.DueRetention(ctx, start.Add(retention.DefaultEvents+26*time.Hour), 10); len(due) != 1 {
		t.Fatalf("an order with a pending delivery left the schedule: %v", due)
	}
	_, ds, _ := st.PendingWebhooks(ctx, id)
	if len(ds) != 1 {
		t.Fatalf("pending %d", len(ds))
	}
	now := time.Now().UTC()
	ds[0].Status, ds[0].DeliveredAt = checkout.DeliveryDelivered, &now
	if err := st.SaveDelivery(ctx, id, &ds[0], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := worker(st, start.Add(retention.DefaultEvents+26*time.Hour)).Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if w, _ := st.Webhooks(ctx, id); len(w) != 0 {
		t.Fatalf("delivered record kept after the second trim: %+v", w)
	}
	if n, _ := st.RetentionBacklog(ctx); n != 0 {
		t.Fatalf("schedule holds %d entries when nothing is left to do", n)
	}
	rs, err := st.RetentionState(ctx, id)
	if err != nil || rs.TrimmedAt.IsZero() {
		t.Fatalf("trim time not recorded: %+v %v", rs, err)
	}
}

// TestLateFundsRestartTheClock: a commit after the order finished (late funds) between two
// looks restarts its windows: at the old due time nothing is trimmed.
func TestLateFundsRestartTheClock(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	const id = "ord_01RETAINLATE000000000001"
	paidOrder(t, st, id)
	w := &retention.Worker{Store: st, Events: time.Hour, Addresses: -1, Changes: -1, Records: -1}
	start := time.Now()
	w.Now = func() time.Time { return start }
	if _, err := w.Pass(ctx); err != nil { // the first look schedules it for fin + 1h
		t.Fatal(err)
	}
	first, _ := st.RetentionState(ctx, id)
	time.Sleep(20 * time.Millisecond) // fin is Redis's clock in ms: let it move past the first
	rec, _ := st.Order(ctx, id)
	late := checkout.Event{ID: "evt_late_" + id, Type: checkout.EventPaymentLate, CreatedAt: time.Now(), Order: rec.Order}
	rec.Order.AmountLate = 1_000_000
	if _, err := st.CommitOrder(ctx, rec, []checkout.Event{late}); err != nil {
		t.Fatal(err)
	}
	rs, _ := st.RetentionState(ctx, id)
	if !rs.FinishedAt.After(first.FinishedAt) {
		t.Fatalf("late funds did not restart the clock: %v then %v", first.FinishedAt, rs.FinishedAt)
	}
	w.Now = func() time.Time { return first.FinishedAt.Add(time.Hour) } // the first window's end
	if s, err := w.Pass(ctx); err != nil || s.Trimmed != 0 {
		t.Fatalf("trimmed before the restarted window ended: %+v %v", s, err)
	}
	w.Now = func() time.Time { return rs.FinishedAt.Add(time.Hour) }
	if s, err := w.Pass(ctx); err != nil || s.Trimmed != 1 {
		t.Fatalf("not trimmed at the restarted window's end: %+v %v", s, err)
	}
}

// TestOpenOrderNeverTrimmed: an open order (put on the schedule by a backfill) is dropped
// from it untouched, whatever the time.
func TestOpenOrderNeverTrimmed(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	const id = "ord_01RETAINOPEN000000000001"
	o := &checkout.Order{ID: id, Status: checkout.StatusPending, Network: checkout.ERC20, Address: "0xopen",
		Amount: 1, PayAmount: 1, Currency: "USDT", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	ev := checkout.Event{ID: "evt_o", Type: checkout.EventOrderCreated, CreatedAt: time.Now(), Order: *o}
	if _, _, err := st.CreateOrder(ctx, o, "mer_1", &ev); err != nil {
		t.Fatal(err)
	}
	if err := st.ScheduleRetention(ctx, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	before := take(t, st, id)
	s, err := worker(st, time.Now().Add(10*retention.DefaultEvents)).Pass(ctx)
	if err != nil || s.Trimmed != 0 || s.Released != 0 || s.Orders != 1 {
		t.Fatalf("%+v %v", s, err)
	}
	if got := take(t, st, id); !reflect.DeepEqual(got, before) {
		t.Fatal("an open order changed")
	}
	if id2, err := st.OrderIDByAddress(ctx, checkout.ERC20, "0xopen"); err != nil || id2 != id {
		t.Fatalf("open order's address released: %q %v", id2, err)
	}
}

// TestStreamsTrimmedByAge: the change feed and the operator records lose their entries older
// than their windows and keep the newer ones.
func TestStreamsTrimmedByAge(t *testing.T) {
	st, rdb, prefix := newStore(t)
	ctx := context.Background()
	old := time.Now().Add(-3 * time.Hour).UnixMilli()
	for _, key := range []string{prefix + "changes", prefix + "orphans", prefix + "watcher:{TRC20}:anomalies"} {
		// 300 old entries (several stream nodes, so the approximate trim has whole nodes to
		// drop), then 5 new.
		for i := 0; i < 300; i++ {
			rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: fmt.Sprintf("%d-%d", old, i+1), Values: []any{"k", "v"}})
		}
		for i := 0; i < 5; i++ {
			rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"k", "new"}})
		}
	}
	w := &retention.Worker{Store: st, Events: -1, Addresses: -1, Changes: time.Hour, Records: 2 * time.Hour}
	s, err := w.Pass(ctx)
	if err != nil || s.Changes == 0 || s.Records == 0 {
		t.Fatalf("%+v %v", s, err)
	}
	for _, key := range []string{prefix + "changes", prefix + "orphans", prefix + "watcher:{TRC20}:anomalies"} {
		msgs, _ := rdb.XRange(ctx, key, "-", "+").Result()
		news := 0
		for _, m := range msgs {
			if m.Values["k"] == "new" {
				news++
			}
		}
		if news != 5 || len(msgs) >= 300 {
			t.Fatalf("%s: %d entries, %d new", key, len(msgs), news)
		}
	}
}

// TestLegacyOrdersBackfilledAndTrimmed: orders of the earlier per-order layout (full JSON
// document, an events stream, a delivery-record hash and an attempt stream per order) are
// found by BackfillRetention and, past their window, lose those keys and keep their document;
// one with a delivery still pending keeps its record hash.
func TestLegacyOrdersBackfilledAndTrimmed(t *testing.T) {
	st, rdb, prefix := newStore(t)
	ctx := context.Background()
	finished := time.Now().Add(-100 * 24 * time.Hour).UTC().Truncate(time.Second)
	legacy := func(id, delivery string) {
		t.Helper()
		paidAt := finished
		o := checkout.Order{ID: id, Status: checkout.StatusPaid, Network: checkout.TRC20, Address: "T" + id,
			Amount: 5_000_000, PayAmount: 5_000_000, AmountPaid: 5_000_000, Currency: "USDT", PaidAt: &paidAt,
			Payments:  []checkout.Payment{{TxHash: "0xabc" + id, From: "Tfrom", Amount: 5_000_000, Confirmations: 19}},
			CreatedAt: finished.Add(-time.Minute), ExpiresAt: finished.Add(time.Hour)}
		doc, _ := json.Marshal(&o)
		key := prefix + "order:{" + id + "}"
		last := fmt.Sprintf("%d-0", finished.UnixMilli())
		if err := rdb.HSet(ctx, key, "doc", doc, "ver", 3, "merchant", "mer_1", "last", last).Err(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			rdb.XAdd(ctx, &redis.XAddArgs{Stream: key + ":events", Values: []any{"type", "payment.detected", "event", string(doc)}})
		}
		rdb.HSet(ctx, key+":wh", "evt_1", `{"event_id":"evt_1","status":"`+delivery+`","rev":2}`)
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: key + ":wha", Values: []any{"event_id", "evt_1", "attempt", "{}"}})
	}
	legacy("ord_01LEGACYDONE0000000000001", "delivered")
	legacy("ord_01LEGACYPEND0000000000001", "pending")
	before, err := st.Order(ctx, "ord_01LEGACYDONE0000000000001")
	if err != nil {
		t.Fatal(err)
	}

	n, err := st.BackfillRetention(ctx, time.Now())
	if err != nil || n != 2 {
		t.Fatalf("backfill saw %d orders: %v", n, err)
	}
	if again, err := st.BackfillRetention(ctx, time.Now()); err != nil || again != 2 {
		t.Fatalf("second backfill: %d %v", again, err)
	}
	s, err := worker(st, time.Now()).Pass(ctx)
	if err != nil || s.Trimmed != 2 {
		t.Fatalf("%+v %v", s, err)
	}
	done := prefix + "order:{ord_01LEGACYDONE0000000000001}"
	if n, _ := rdb.Exists(ctx, done+":events", done+":wh", done+":wha").Result(); n != 0 {
		t.Fatalf("%d legacy keys left of the delivered order", n)
	}
	after, err := st.Order(ctx, "ord_01LEGACYDONE0000000000001")
	if err != nil || !reflect.DeepEqual(after.Order, before.Order) {
		t.Fatalf("legacy order changed: %+v %v", after, err)
	}
	pend := prefix + "order:{ord_01LEGACYPEND0000000000001}"
	if n, _ := rdb.Exists(ctx, pend+":events").Result(); n != 0 {
		t.Fatal("legacy events stream kept")
	}
	if n, _ := rdb.Exists(ctx, pend+":wh").Result(); n != 1 {
		t.Fatal("a pending legacy delivery record was dropped")
	}
}

// TestReplicasShareTheWork: several workers (edge replicas) passing at once over the same
// schedule trim every order exactly to the policy, release every address, and leave the
// schedule empty; none fails.
func TestReplicasShareTheWork(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 12; i++ {
		id := fmt.Sprintf("ord_01RETAINREPLICA0000000%04d", i)
		paidOrder(t, st, id)
		ids = append(ids, id)
	}
	want := map[string]snapshot{}
	for _, id := range ids {
		want[id] = take(t, st, id)
	}
	at := time.Now().Add(retention.DefaultEvents + time.Hour)
	errs := make(chan error, 4)
	for r := 0; r < 4; r++ {
		go func() {
			_, err := worker(st, at).Pass(ctx)
			errs <- err
		}()
	}
	for r := 0; r < 4; r++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		got := take(t, st, id)
		if string(got.order) != string(want[id].order) || !reflect.DeepEqual(got.last, want[id].last) ||
			len(got.events) != 1 || len(got.webhooks) != 1 || got.webhooks[0].Status != checkout.DeliveryPending {
			t.Fatalf("%s after concurrent passes: %d events, %+v", id, len(got.events), got.webhooks)
		}
		rec, _ := st.Order(ctx, id)
		if _, err := st.OrderIDByAddress(ctx, rec.Order.Network, rec.Order.Address); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: address still bound: %v", id, err)
		}
	}
	// Left on the schedule: only the re-trim of each order's pending delivery, a day on.
	if due, _ := st.DueRetention(ctx, at.Add(time.Hour), 100); len(due) != 0 {
		t.Fatalf("%d entries due again at once", len(due))
	}
	if n, _ := st.RetentionBacklog(ctx); n != int64(len(ids)) {
		t.Fatalf("schedule holds %d entries, want %d (one re-trim each)", n, len(ids))
	}
}

// TestCommitAfterTrimKeepsHistory: the last event of a trimmed order is stored without the
// state it shares with the document; a commit after the trim (late funds) changes the
// document, and that event still reads as it did, as does its pending webhook's body.
func TestCommitAfterTrimKeepsHistory(t *testing.T) {
	st, _, _ := newStore(t)
	ctx := context.Background()
	const id = "ord_01RETAINAFTER00000000001"
	paidOrder(t, st, id)
	before := take(t, st, id)
	_, pend, err := st.PendingWebhooks(ctx, id)
	if err != nil || len(pend) != 1 {
		t.Fatalf("pending %d %v", len(pend), err)
	}
	if s, err := worker(st, time.Now().Add(retention.DefaultEvents+time.Hour)).Pass(ctx); err != nil || s.Trimmed != 1 {
		t.Fatalf("%+v %v", s, err)
	}
	rec, _ := st.Order(ctx, id)
	rec.Order.AmountLate = 3_000_000
	rec.SetFeedPosition("0xlate:0", "200-0") // the feed positions are written again, in full
	late := checkout.Event{ID: "evt_late_" + id, Type: checkout.EventPaymentLate, CreatedAt: time.Now(), Order: rec.Order}
	if _, err := st.CommitOrder(ctx, rec, []checkout.Event{late}); err != nil {
		t.Fatal(err)
	}
	after, err := st.Order(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	payKey := store.TransferKey(&checkout.Transfer{TxHash: rec.Order.Payments[0].TxHash, LogIndex: rec.Order.Payments[0].LogIndex})
	if after.FeedPosition(payKey) != "103-0" || after.FeedPosition("0xgone:1") != "99-0" || after.FeedPosition("0xlate:0") != "200-0" {
		t.Fatalf("feed positions after the late commit: %q %q %q", after.FeedPosition(payKey), after.FeedPosition("0xgone:1"),
			after.FeedPosition("0xlate:0"))
	}
	evs, err := st.OrderEvents(ctx, id, "0-0", 100)
	if err != nil || len(evs) != 2 {
		t.Fatalf("events after the late commit: %d %v", len(evs), err)
	}
	if !reflect.DeepEqual(evs[0], *before.last) {
		t.Fatalf("the trimmed order's last event changed with the document:\n%s\n%s", evs[0].Data, before.last.Data)
	}
	_, again, err := st.PendingWebhooks(ctx, id)
	if err != nil || len(again) < 1 || again[0].EventID != pend[0].EventID || again[0].Body != pend[0].Body {
		t.Fatalf("the pending webhook's body changed: %v\n%+v\n%+v", err, again, pend)
	}
}

// TestSwitchedAddressesReleased: an order that switched network keeps the addresses it left
// bound and watched (late funds to them are its own); once its window has passed, they are
// released with its current one. A previous address that is a merchant's own (addresses
// mode: bound to the merchant, not the order) stays.
func TestSwitchedAddressesReleased(t *testing.T) {
	st, rdb, prefix := newStore(t)
	ctx := context.Background()
	const id = "ord_01RETAINSWITCHED000000001"
	now := time.Now().UTC().Truncate(time.Millisecond)
	const left, merchants = "TRetainSwitchedLeftBehind0000001", "TRetainSwitchedMerchantOwn000001"
	o := &checkout.Order{ID: id, Status: checkout.StatusPending, Network: checkout.ERC20,
		Address: fmt.Sprintf("0x%040x", 99), Amount: 5_000_000, PayAmount: 5_000_000, Currency: "USDT",
		CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute), AllowNetworkSwitch: true,
		SwitchNetworks: []checkout.Network{checkout.TRC20, checkout.ERC20},
		PreviousAddresses: []checkout.PreviousAddress{
			{Network: checkout.TRC20, Address: left, PayAmount: 5_000_000, DerivationPath: "m/44'/195'/0'/0/1", ReplacedAt: now},
		}}
	created := checkout.Event{ID: "evt_c_" + id, Type: checkout.EventOrderCreated, CreatedAt: now, Order: *o}
	if _, ok, err := st.CreateOrder(ctx, o, "mer_1", &created); err != nil || !ok {
		t.Fatalf("create: %v %v", ok, err)
	}
	watchTRC := prefix + checkout.WatchSet(checkout.TRC20)
	for addr, owner := range map[string]string{left: id, merchants: "mer_1"} {
		if err := rdb.Set(ctx, prefix+"addr:{TRC20:"+addr+"}", owner, 0).Err(); err != nil {
			t.Fatal(err)
		}
		rdb.SAdd(ctx, watchTRC, addr)
	}
	// The merchant's own address appears as a deposit the order left too (it switched away
	// from addresses mode on TRC20 in another history): it must not be released.
	rec, err := st.Order(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec.Order.PreviousAddresses = append(rec.Order.PreviousAddresses,
		checkout.PreviousAddress{Network: checkout.TRC20, Address: merchants, PayAmount: 5_000_001, ReplacedAt: now})
	rec.Order.Status = checkout.StatusCanceled
	ev := checkout.Event{ID: "evt_x_" + id, Type: checkout.EventOrderCanceled, CreatedAt: now, Order: rec.Order}
	if _, err := st.CommitOrder(ctx, rec, []checkout.Event{ev}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := worker(st, start.Add(time.Hour)).Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := rdb.SIsMember(ctx, watchTRC, left).Result(); !ok {
		t.Fatal("the address left behind was unwatched inside the late-funds window")
	}
	s, err := worker(st, start.Add(25*time.Hour)).Pass(ctx)
	if err != nil || s.Released != 2 {
		t.Fatalf("at 25h: %+v %v (want the current and the left-behind address released)", s, err)
	}
	if ok, _ := rdb.SIsMember(ctx, watchTRC, left).Result(); ok {
		t.Fatal("the address left behind is still watched past its window")
	}
	if n, _ := rdb.Exists(ctx, prefix+"addr:{TRC20:"+left+"}").Result(); n != 0 {
		t.Fatal("the address left behind is still bound past its window")
	}
	if owner, _ := rdb.Get(ctx, prefix+"addr:{TRC20:"+merchants+"}").Result(); owner != "mer_1" {
		t.Fatalf("the merchant's own address lost its owner: %q", owner)
	}
	if ok, _ := rdb.SIsMember(ctx, watchTRC, merchants).Result(); !ok {
		t.Fatal("the merchant's own address was unwatched")
	}
}
