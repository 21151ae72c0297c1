package orders

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

const releaseAddr = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"

// releaseRig is a merchant in addresses mode on TRC20 (late window 2 h) with its own prefix.
type releaseRig struct {
	t     *testing.T
	ctx   context.Context
	s     *Service
	m     *checkout.Merchant
	clock *testClock
}

const releaseWindow = 2 * time.Hour

func newReleaseRig(t *testing.T) *releaseRig {
	t.Helper()
	st := store.New(redistest.Shared(t).Client(t), redistest.Prefix())
	clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	r := &releaseRig{t: t, ctx: context.Background(), clock: clock, s: &Service{Store: st, Now: clock.Now}}
	r.m = &checkout.Merchant{ID: ids.Merchant(), Name: "release", CreatedAt: clock.Now()}
	if err := st.PutMerchant(r.ctx, r.m); err != nil {
		t.Fatal(err)
	}
	cfg := checkout.ReceiveConfig{Mode: checkout.ReceiveAddresses, Addresses: []string{releaseAddr}, LateWindow: releaseWindow}
	if err := st.SetReceive(r.ctx, r.m, checkout.TRC20, cfg); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *releaseRig) create() *checkout.Order {
	r.t.Helper()
	o, _, err := r.s.Create(r.ctx, r.m, &CreateParams{Amount: 10 * checkout.Unit, Network: checkout.TRC20})
	if err != nil {
		r.t.Fatal(err)
	}
	return o
}

// release runs the worker's step at the clock and reports whether the pair is still held.
func (r *releaseRig) release(*checkout.Order) bool {
	r.t.Helper()
	if _, err := r.s.ReleaseDue(r.ctx, 100); err != nil {
		r.t.Fatal(err)
	}
	n, err := r.s.Store.Reservations(r.ctx, checkout.TRC20, releaseAddr)
	if err != nil {
		r.t.Fatal(err)
	}
	return n == 1 // every test here holds at most one reservation on the address
}

func (r *releaseRig) expire(o *checkout.Order) {
	r.t.Helper()
	if _, err := r.s.Expire(r.ctx, o.ID); err != nil {
		r.t.Fatal(err)
	}
	if got, _ := r.s.Store.Order(r.ctx, o.ID); got.Order.Status != checkout.StatusExpired {
		r.t.Fatalf("expire: %s", got.Order.Status)
	}
}

// TestReleaseNeverWhileOpen: an order still open when its release comes due keeps its pair
// (however late: a CONFIRMING order outlives its expiry), and is looked at again a window later.
func TestReleaseNeverWhileOpen(t *testing.T) {
	r := newReleaseRig(t)
	o := r.create()
	if !r.release(o) {
		t.Fatal("released at once")
	}
	r.clock.Set(o.ExpiresAt.Add(releaseWindow + time.Minute)) // due, the order not final
	if !r.release(o) {
		t.Fatal("an open order's pair was released")
	}
	due, err := r.s.Store.DueReceive(r.ctx, r.clock.Now(), 10)
	if err != nil || len(due) != 0 {
		t.Fatalf("still due after the look: %+v %v", due, err)
	}
	r.clock.Add(releaseWindow) // looked at again: still open
	if due, _ := r.s.Store.DueReceive(r.ctx, r.clock.Now(), 10); len(due) != 1 {
		t.Fatalf("not rescheduled a window later: %+v", due)
	}
	if !r.release(o) {
		t.Fatal("released while open")
	}
}

// TestReleaseExactlyAfterWindow: a final order's pair is kept up to its late window after the
// order ended and released at that moment, not a second before.
func TestReleaseExactlyAfterWindow(t *testing.T) {
	r := newReleaseRig(t)
	o := r.create()
	r.clock.Set(o.ExpiresAt)
	r.expire(o)
	r.clock.Set(o.ExpiresAt.Add(releaseWindow - time.Second))
	if !r.release(o) {
		t.Fatal("released a second before the window ended")
	}
	r.clock.Set(o.ExpiresAt.Add(releaseWindow))
	if r.release(o) {
		t.Fatal("not released when the window ended")
	}
	if due, _ := r.s.Store.DueReceive(r.ctx, r.clock.Now().Add(1000*time.Hour), 10); len(due) != 0 {
		t.Fatalf("released entry left on the schedule: %+v", due)
	}
	// The pair is free: the next order at the amount gets it.
	if again := r.create(); again.PayAmount != o.PayAmount {
		t.Fatalf("freed pair not reused: %s, want %s", again.PayAmount, o.PayAmount)
	}
}

// TestReleaseWindowFromLateFunds: late funds seen after the end restart the window, so a
// second late payment of the same pay_amount still finds its order.
func TestReleaseWindowFromLateFunds(t *testing.T) {
	r := newReleaseRig(t)
	o := r.create()
	r.clock.Set(o.ExpiresAt)
	r.expire(o)
	r.clock.Set(o.ExpiresAt.Add(time.Hour))
	tr := &checkout.Transfer{Kind: checkout.TransferConfirmed, Network: checkout.TRC20, TxHash: "0x" + ids.New("t")[2:],
		From: "TXYZ", To: releaseAddr, Amount: o.PayAmount, Confirmations: 19, Required: 19, BlockNumber: 5}
	if _, err := r.s.ApplyTransfer(r.ctx, o.ID, "1-1", tr); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.s.Store.Order(r.ctx, o.ID); got.Order.AmountLate != o.PayAmount {
		t.Fatalf("late funds not recorded: %+v", got.Order)
	}
	late := r.clock.Now()
	r.clock.Set(o.ExpiresAt.Add(releaseWindow)) // the first due time: the order's end + window
	if !r.release(o) {
		t.Fatal("released a window after expiry though late funds came an hour later")
	}
	r.clock.Set(late.Add(releaseWindow - time.Second))
	if !r.release(o) {
		t.Fatal("released before the window after the late funds ended")
	}
	r.clock.Set(late.Add(releaseWindow))
	if r.release(o) {
		t.Fatal("not released a window after the late funds")
	}
}

// TestReleaseOrphanReservation: a reservation whose order was never written (its create died
// after reserving) is released when due.
func TestReleaseOrphanReservation(t *testing.T) {
	r := newReleaseRig(t)
	at := r.clock.Now().Add(time.Hour)
	if _, err := r.s.Store.Reserve(r.ctx, checkout.TRC20, releaseAddr, ids.Order(), checkout.Unit, 100, checkout.Unit, at); err != nil {
		t.Fatal(err)
	}
	r.clock.Set(at.Add(-time.Second))
	if !r.release(nil) {
		t.Fatal("released before due")
	}
	r.clock.Set(at)
	if r.release(nil) {
		t.Fatal("orphan reservation kept")
	}
}

// TestReleaseForgetsTransferRecords: a transfer record, and its unmatched listing, go when
// its retention ends, not before.
func TestReleaseForgetsTransferRecords(t *testing.T) {
	r := newReleaseRig(t)
	tr := &checkout.Transfer{Kind: checkout.TransferSeen, Network: checkout.TRC20, TxHash: "0x" + ids.New("t")[2:],
		From: "TXYZ", To: releaseAddr, Amount: 3 * checkout.Unit, Confirmations: 1, Required: 19}
	m, err := r.s.Store.MatchTransfer(r.ctx, "1-1", tr, false, r.clock.Now())
	if err != nil || m.State != "unmatched" {
		t.Fatalf("match: %+v %v", m, err)
	}
	if err := r.s.Store.IndexUnmatched(r.ctx, r.m.ID, tr, m.FirstSeen); err != nil {
		t.Fatal(err)
	}
	field := tr.TxHash + ":0"
	listed := func() int {
		l, _, err := r.s.Store.UnmatchedTransfers(r.ctx, r.m.ID, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	r.clock.Add(store.TransferRetention - time.Second)
	r.release(nil)
	if _, err := r.s.Store.ReceivedTransfer(r.ctx, checkout.TRC20, releaseAddr, field); err != nil || listed() != 1 {
		t.Fatalf("forgotten early: %v, listed %d", err, listed())
	}
	r.clock.Add(time.Second)
	r.release(nil)
	if _, err := r.s.Store.ReceivedTransfer(r.ctx, checkout.TRC20, releaseAddr, field); !errors.Is(err, store.ErrNotFound) || listed() != 0 {
		t.Fatalf("kept after retention: %v, listed %d", err, listed())
	}
}

// TestReleaseWorkerStops: the worker runs a first pass at once and returns when its context ends.
func TestReleaseWorkerStops(t *testing.T) {
	r := newReleaseRig(t)
	at := r.clock.Now()
	if _, err := r.s.Store.Reserve(r.ctx, checkout.TRC20, releaseAddr, ids.Order(), checkout.Unit, 100, checkout.Unit, at); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan error, 1)
	go func() { done <- (&ReleaseWorker{Orders: r.s, Interval: time.Hour}).Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := r.s.Store.Reservations(r.ctx, checkout.TRC20, releaseAddr)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker's first pass released nothing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not stop")
	}
}
