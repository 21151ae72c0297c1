package settlement_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/expiry"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

const net = checkout.ERC20

type rig struct {
	t      *testing.T
	ctx    context.Context
	rdb    *redis.Client
	prefix string
	st     *store.Store
	now    time.Time
	n      byte
}

func newRig(t *testing.T) *rig {
	t.Helper()
	srv := redistest.Shared(t)
	r := &rig{t: t, ctx: context.Background(), rdb: srv.Client(t), prefix: redistest.Prefix(), now: time.Now().UTC().Truncate(time.Second)}
	r.st = store.New(r.rdb, r.prefix)
	if err := r.st.EnsureFeedGroup(r.ctx, net, settlement.DefaultGroup); err != nil {
		t.Fatal(err)
	}
	return r
}

// order creates a PENDING order of amount, expiring in an hour, and returns it.
func (r *rig) order(amount checkout.Amount) *checkout.Order {
	r.t.Helper()
	r.n++
	o := &checkout.Order{
		ID: fmt.Sprintf("ord_settlementtest%02d%d", r.n, r.now.UnixNano()), Status: checkout.StatusPending,
		Amount: amount, PayAmount: amount, Currency: checkout.Currency, Network: net,
		Address:          deposit.Format(net, common.BytesToAddress([]byte{0x5e, 0x77, r.n})),
		TolerancePercent: checkout.DefaultTolerance, Metadata: map[string]string{}, Payments: []checkout.Payment{},
		CreatedAt: r.now, ExpiresAt: r.now.Add(time.Hour),
	}
	ev := &checkout.Event{ID: fmt.Sprintf("evt_%s", o.ID), Type: checkout.EventOrderCreated, CreatedAt: r.now, Order: *o}
	if _, _, err := r.st.CreateOrder(r.ctx, o, "mer_test", ev); err != nil {
		r.t.Fatal(err)
	}
	return o
}

// transfer is an observation of the transfer tx (log 0) of amount to the order.
func (r *rig) transfer(o *checkout.Order, kind checkout.TransferKind, tx byte, amount checkout.Amount, confs uint64) checkout.Transfer {
	return checkout.Transfer{
		Kind: kind, Network: net, TxHash: common.BytesToHash([]byte{0x7a, tx}).Hex(), BlockNumber: 100,
		BlockHash: common.BytesToHash([]byte{0xb1, tx}).Hex(), From: deposit.Format(net, common.BytesToAddress([]byte{0xf0})),
		To: o.Address, Amount: amount, Confirmations: confs, Required: 3, ObservedAt: r.now,
	}
}

// append puts an observation on the feed as the watcher does and returns its entry id.
func (r *rig) append(t checkout.Transfer) string {
	r.t.Helper()
	b, err := json.Marshal(&t)
	if err != nil {
		r.t.Fatal(err)
	}
	id, err := r.rdb.XAdd(r.ctx, &redis.XAddArgs{Stream: r.prefix + checkout.FeedStream(net), Values: []any{checkout.FeedField, b}}).Result()
	if err != nil {
		r.t.Fatal(err)
	}
	return id
}

// die reads what is on the feed as a consumer that then crashes: never acknowledged.
func (r *rig) die(name string) []store.FeedEntry {
	r.t.Helper()
	got, err := r.st.ReadFeed(r.ctx, net, settlement.DefaultGroup, name, 100, -1)
	if err != nil || len(got) == 0 {
		r.t.Fatalf("dead consumer read %d entries: %v", len(got), err)
	}
	return got
}

func (r *rig) get(id string) *checkout.Order {
	r.t.Helper()
	rec, err := r.st.Order(r.ctx, id)
	if err != nil {
		r.t.Fatal(err)
	}
	return &rec.Order
}

func (r *rig) pending() int64 {
	r.t.Helper()
	n, err := r.st.FeedPending(r.ctx, net, settlement.DefaultGroup)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// run runs the consumer until the test ends.
func (r *rig) run(c *settlement.Consumer) {
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	r.t.Cleanup(func() { cancel(); <-done })
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// noPhantom fails if the order has a payment still confirming (the transfer is not on chain).
func noPhantom(t *testing.T, o *checkout.Order) {
	t.Helper()
	for _, p := range o.Payments {
		if p.Status == checkout.PaymentConfirming {
			t.Fatalf("order %s (%s) keeps a confirming payment of a removed transfer: %+v", o.ID, o.Status, p)
		}
	}
	if o.AmountPending != 0 || o.Status != checkout.StatusPending {
		t.Fatalf("order %s: status %s, pending %s; want PENDING with nothing pending", o.ID, o.Status, o.AmountPending)
	}
}

// TestStaleSightingReclaimedAfterRemoval: an edge read a sighting and died without
// acknowledging it; the restarted edge (another consumer name) applies the reorg's removal
// first, then reclaims the stale sighting. The order keeps no phantom payment and expires.
func TestStaleSightingReclaimedAfterRemoval(t *testing.T) {
	r := newRig(t)
	o := r.order(10 * checkout.Unit)
	r.append(r.transfer(o, checkout.TransferSeen, 1, 10*checkout.Unit, 1))
	r.die("edge-that-died")
	r.append(r.transfer(o, checkout.TransferRemoved, 1, 10*checkout.Unit, 1))
	c := &settlement.Consumer{Store: r.st, Network: net, Name: "edge-restarted", Block: 50 * time.Millisecond, Log: quiet()}
	if n, err := c.Poll(r.ctx); n != 1 || err != nil {
		t.Fatalf("poll: %d entries, %v", n, err)
	}
	// Now the dead edge's entry is reclaimed (after MinIdle, here 1 ms).
	c.MinIdle = time.Millisecond
	r.run(c)
	eventually(t, "the stale sighting to be reclaimed", 10*time.Second, func() bool { return r.pending() == 0 })
	noPhantom(t, r.get(o.ID))
	w := &expiry.Worker{Store: r.st, Now: func() time.Time { return r.now.Add(2 * time.Hour) }, Log: quiet()}
	if _, err := w.Tick(r.ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.get(o.ID); got.Status != checkout.StatusExpired {
		t.Fatalf("order %s after expiry, want EXPIRED", got.Status)
	}
	// The positions never show in the order object.
	b, _ := json.Marshal(r.get(o.ID))
	if strings.Contains(string(b), "feed") {
		t.Errorf("order object carries feed positions: %s", b)
	}
}

// TestRestartTakesOverDeadEdgeFirst: a restarted edge applies what a dead edge left pending
// before reading newer entries, so the sighting and its removal are applied in the watcher's
// order (the payment shows as reverted), without waiting for the reclaim interval.
func TestRestartTakesOverDeadEdgeFirst(t *testing.T) {
	r := newRig(t)
	o := r.order(10 * checkout.Unit)
	r.append(r.transfer(o, checkout.TransferSeen, 2, 10*checkout.Unit, 1))
	r.die("edge-that-died")
	r.append(r.transfer(o, checkout.TransferRemoved, 2, 10*checkout.Unit, 1))
	block := 100 * time.Millisecond // StartIdle defaults to 5 × Block: 500 ms
	eventually(t, "the dead edge's entry to be idle", 5*time.Second, func() bool { return r.idle(6*block) == 1 })
	r.run(&settlement.Consumer{Store: r.st, Network: net, Name: "edge-restarted", Block: block, Log: quiet()})
	// Wait for the outcome itself: the feed counters alone (XPENDING, XINFO lag) are read
	// apart from the order and can show an empty backlog a moment before the order does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.get(o.ID)
		drained := r.pending() == 0 && r.undelivered() == 0
		if drained && len(got.Payments) == 1 && got.Payments[0].Status == checkout.PaymentReverted {
			noPhantom(t, got)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s, payments %+v, feed drained %v: want the sighting applied, then its removal",
				got.Status, got.Payments, drained)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// idle is how many of the group's pending entries are idle for at least d.
func (r *rig) idle(d time.Duration) int {
	p, err := r.rdb.XPendingExt(r.ctx, &redis.XPendingExtArgs{Stream: r.prefix + checkout.FeedStream(net),
		Group: settlement.DefaultGroup, Idle: d, Start: "-", End: "+", Count: 100}).Result()
	if err != nil {
		r.t.Fatal(err)
	}
	return len(p)
}

func (r *rig) undelivered() int64 {
	b, err := r.st.FeedBacklog(r.ctx, net, settlement.DefaultGroup)
	if err != nil {
		r.t.Fatal(err)
	}
	return b.Undelivered
}

// TestOlderObservationIgnored: whatever order two replicas apply a transfer's observations
// in, the newest wins: a confirmation applied before a stale sighting stays, and a removal
// applied before the sighting it removes leaves nothing.
func TestOlderObservationIgnored(t *testing.T) {
	r := newRig(t)
	o := r.order(10 * checkout.Unit)
	seen := r.append(r.transfer(o, checkout.TransferSeen, 3, 10*checkout.Unit, 1))
	conf := r.append(r.transfer(o, checkout.TransferConfirmed, 3, 10*checkout.Unit, 3))
	a := r.die("replica-a") // holds both; replica b reads nothing new
	if len(a) != 2 || a[0].ID != seen || a[1].ID != conf {
		t.Fatalf("read %+v", a)
	}
	// Replica a is still busy with the sighting (it just touched it); replica b takes over
	// the confirmation alone, and applies it first.
	eventually(t, "both entries idle past 200 ms", 5*time.Second, func() bool { return r.idle(200*time.Millisecond) == 2 })
	if _, err := r.st.ClaimFeed(r.ctx, net, settlement.DefaultGroup, "replica-a", 0, []store.StaleFeedEntry{{ID: seen}}); err != nil {
		t.Fatal(err)
	}
	b := &settlement.Consumer{Store: r.st, Network: net, Name: "replica-b", Log: quiet()}
	if err := b.Reclaim(r.ctx, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := r.get(o.ID); got.Status != checkout.StatusPaid {
		t.Fatalf("order %s after the confirmation, want PAID", got.Status)
	}
	// Then the sighting (replica a died after all).
	if err := b.Reclaim(r.ctx, 0); err != nil {
		t.Fatal(err)
	}
	if r.pending() != 0 {
		t.Fatalf("%d entries pending", r.pending())
	}
	got := r.get(o.ID)
	if got.Status != checkout.StatusPaid || len(got.Payments) != 1 || got.Payments[0].Status != checkout.PaymentConfirmed || got.AmountPending != 0 {
		t.Fatalf("order %s payments %+v pending %s: want PAID, confirmed, nothing pending", got.Status, got.Payments, got.AmountPending)
	}
}

// TestPoisonEntryParked: an entry that fails on every delivery (its order's record is corrupt)
// is parked in the orphans record after MaxDeliveries deliveries and acknowledged, and the
// entries behind it are applied meanwhile.
func TestPoisonEntryParked(t *testing.T) {
	r := newRig(t)
	bad := r.order(10 * checkout.Unit)
	good := r.order(5 * checkout.Unit)
	if err := r.rdb.HSet(r.ctx, r.prefix+"order:{"+bad.ID+"}", "doc", `{"id":`).Err(); err != nil {
		t.Fatal(err)
	}
	poison := r.append(r.transfer(bad, checkout.TransferSeen, 4, 10*checkout.Unit, 1))
	r.append(r.transfer(good, checkout.TransferSeen, 5, 5*checkout.Unit, 1))
	r.append(r.transfer(good, checkout.TransferSeen, 5, 5*checkout.Unit, 2))
	var parked atomic.Int32
	c := &settlement.Consumer{Store: r.st, Network: net, Block: 50 * time.Millisecond, MinIdle: time.Millisecond,
		MaxDeliveries: 3, Log: quiet(), OnPark: func(id, _ string) {
			if id == poison {
				parked.Add(1)
			}
		}}
	r.run(c)
	eventually(t, "the good order's entries applied", 10*time.Second, func() bool {
		o := r.get(good.ID)
		return len(o.Payments) == 1 && o.Payments[0].Confirmations == 2
	})
	eventually(t, "the poison entry parked and acknowledged", 10*time.Second, func() bool { return r.pending() == 0 })
	orphans, err := r.st.Orphans(r.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(orphans) != 1 || orphans[0]["feed_id"] != poison || !strings.HasPrefix(fmt.Sprint(orphans[0]["reason"]), "failed 3 deliveries: ") ||
		!strings.Contains(fmt.Sprint(orphans[0]["transfer"]), bad.Address) {
		t.Fatalf("orphans %v: want the poison entry with its reason and transfer", orphans)
	}
	if parked.Load() != 1 {
		t.Errorf("parked %d times, want 1", parked.Load())
	}
}

// TestHugeTransfersKeepOrderReadable: transfers of 10^10 USDT and more (within MaxTransfer,
// and their sum above it) are applied and the order stays readable.
func TestHugeTransfersKeepOrderReadable(t *testing.T) {
	r := newRig(t)
	o := r.order(10 * checkout.Unit)
	huge := 10_000_000_000 * checkout.Unit
	r.append(r.transfer(o, checkout.TransferConfirmed, 6, huge, 3))
	r.append(r.transfer(o, checkout.TransferConfirmed, 7, checkout.MaxTransfer, 3))
	r.append(r.transfer(o, checkout.TransferConfirmed, 8, checkout.MaxTransfer, 3))
	c := &settlement.Consumer{Store: r.st, Network: net, Block: 50 * time.Millisecond, Log: quiet()}
	for r.pending() > 0 || r.undelivered() > 0 {
		if _, err := c.Poll(r.ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := r.get(o.ID)
	if want := huge + 2*checkout.MaxTransfer; got.Status != checkout.StatusPaid || got.AmountPaid != want {
		t.Fatalf("order %s paid %s, want PAID %s", got.Status, got.AmountPaid, want)
	}
}
