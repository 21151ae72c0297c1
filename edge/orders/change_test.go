package orders

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// stored writes an order in status to a store of its own key prefix.
func stored(t *testing.T, status checkout.Status) (*Service, string) {
	t.Helper()
	st := store.New(redistest.Shared(t).Client(t), redistest.Prefix())
	now := time.Now().UTC().Truncate(time.Second)
	o := &checkout.Order{ID: fmt.Sprintf("ord_changetest%d", now.UnixNano()), Status: status, Amount: checkout.Unit,
		PayAmount: checkout.Unit, Currency: checkout.Currency, Network: checkout.ERC20, Address: "0x00000000000000000000000000000000000c4a9e",
		TolerancePercent: checkout.DefaultTolerance, Metadata: map[string]string{}, Payments: []checkout.Payment{},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	ev := &checkout.Event{ID: "evt_" + o.ID, Type: checkout.EventOrderCreated, CreatedAt: now, Order: *o}
	if _, _, err := st.CreateOrder(context.Background(), o, "mer_test", ev); err != nil {
		t.Fatal(err)
	}
	return &Service{Store: st}, o.ID
}

// TestChangeRefusesLeavingTerminal: a decision that moves an order out of a terminal status
// is an error, and nothing is committed.
func TestChangeRefusesLeavingTerminal(t *testing.T) {
	s, id := stored(t, checkout.StatusPaid)
	ctx := context.Background()
	before, err := s.Store.Order(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.change(ctx, id, func(rec *store.Record, _ time.Time) (step, error) {
		rec.Order.Status = checkout.StatusPending
		return step{changes: []checkout.Change{{Type: checkout.EventPaymentReverted}}, write: true}, nil
	})
	if !errors.Is(err, ErrTransition) {
		t.Fatalf("PAID → PENDING: err %v, want ErrTransition", err)
	}
	after, err := s.Store.Order(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || after.Order.Status != checkout.StatusPaid {
		t.Fatalf("order committed anyway: version %d → %d, status %s", before.Version, after.Version, after.Order.Status)
	}
}

// TestChangeDecidesAgainOnConflict: when another writer commits between the load and the
// commit, the step loads the order again and decides from what it finds; when that keeps
// happening it gives up after CommitAttempts with store.ErrConflict.
func TestChangeDecidesAgainOnConflict(t *testing.T) {
	s, id := stored(t, checkout.StatusPending)
	ctx := context.Background()
	// bump commits a change to the order behind the step's back.
	bump := func() {
		rec, err := s.Store.Order(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		rec.Order.DustCount++
		if _, err := s.Store.CommitOrder(ctx, rec, nil); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	rec, events, err := s.change(ctx, id, func(rec *store.Record, _ time.Time) (step, error) {
		calls++
		if calls == 1 {
			bump()
		}
		rec.Order.Status = checkout.StatusExpired
		return step{changes: []checkout.Change{{Type: checkout.EventOrderExpired}}, write: true}, nil
	})
	if err != nil || calls != 2 || len(events) != 1 || rec.Order.DustCount != 1 {
		t.Fatalf("after one lost race: err %v, %d decisions, %d events, dust count %d; want 2 decisions on the newer order", err, calls, len(events), rec.Order.DustCount)
	}
	if got, _ := s.Store.Order(ctx, id); got.Order.Status != checkout.StatusExpired || got.Order.DustCount != 1 {
		t.Fatalf("stored %s dust %d", got.Order.Status, got.Order.DustCount)
	}

	s, id = stored(t, checkout.StatusPending)
	calls = 0
	_, _, err = s.change(ctx, id, func(rec *store.Record, _ time.Time) (step, error) {
		calls++
		bump()
		return step{write: true}, nil
	})
	if !errors.Is(err, store.ErrConflict) || calls != CommitAttempts {
		t.Fatalf("always losing: err %v after %d decisions; want ErrConflict after %d", err, calls, CommitAttempts)
	}
}
