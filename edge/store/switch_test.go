package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// switchableOrder writes a fresh ERC20 order that lets its customer switch to TRC20.
func switchableOrder(t *testing.T, st *store.Store, id string) *store.Record {
	t.Helper()
	o := testOrder(id)
	o.AllowNetworkSwitch, o.SwitchNetworks = true, []checkout.Network{checkout.TRC20, checkout.ERC20}
	ev := event("evt_created_"+id, checkout.EventOrderCreated, o, t0)
	if _, created, err := st.CreateOrder(context.Background(), o, "mer_1", &ev); err != nil || !created {
		t.Fatalf("create %s: created %v, %v", id, created, err)
	}
	r, err := st.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// switchTo moves r's order to a TRC20 deposit and returns the deposit it left and the event.
func switchTo(r *store.Record, addr string) (checkout.Deposit, checkout.Event) {
	from := r.Order.Deposit()
	c := r.Order.SwitchTo(checkout.Deposit{Network: checkout.TRC20, Address: addr, PayAmount: r.Order.Amount,
		DerivationPath: "m/44'/195'/0'/0/3"}, t0.Add(time.Minute))
	evs := checkout.NewEvents(&r.Order, []checkout.Change{c}, t0.Add(time.Minute), func() string { return "evt_switch_" + r.Order.ID })
	return from, evs[0]
}

// TestSwitchNetworkScript: a switch writes the order on its new deposit with one
// order.network_changed event naming the deposit left, queued for the webhook; earlier
// events still rebuild with the deposit they had.
func TestSwitchNetworkScript(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	r := switchableOrder(t, st, "ord_switch01")
	oldAddr := r.Order.Address
	from, ev := switchTo(r, "TNewAddressSwitch01")
	if _, err := st.SwitchNetwork(ctx, r, from, &ev); err != nil {
		t.Fatal(err)
	}
	got, err := st.Order(ctx, r.Order.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Order.Network != checkout.TRC20 || got.Order.Address != "TNewAddressSwitch01" ||
		got.Order.DerivationPath != "m/44'/195'/0'/0/3" {
		t.Fatalf("stored after switch: v%d %s %s %s", got.Version, got.Order.Network, got.Order.Address, got.Order.DerivationPath)
	}
	if len(got.Order.PreviousAddresses) != 1 || got.Order.PreviousAddresses[0].Address != oldAddr ||
		got.Order.PreviousAddresses[0].Network != checkout.ERC20 {
		t.Fatalf("previous addresses %+v", got.Order.PreviousAddresses)
	}
	evs, err := st.OrderEvents(ctx, r.Order.ID, "", 100)
	if err != nil || len(evs) != 2 {
		t.Fatalf("events %d, %v", len(evs), err)
	}
	var created, changed checkout.Event
	if err := errors.Join(json.Unmarshal(evs[0].Data, &created), json.Unmarshal(evs[1].Data, &changed)); err != nil {
		t.Fatal(err)
	}
	if created.Order.Network != checkout.ERC20 || created.Order.Address != oldAddr || len(created.Order.PreviousAddresses) != 0 {
		t.Errorf("order.created rebuilt after the switch shows %s %s %v; want the deposit it had", created.Order.Network,
			created.Order.Address, created.Order.PreviousAddresses)
	}
	if changed.Type != checkout.EventOrderNetworkChanged || changed.Previous == nil || changed.Previous.Address != oldAddr ||
		changed.Order.Address != "TNewAddressSwitch01" {
		t.Errorf("network_changed event %+v previous %+v", changed.Type, changed.Previous)
	}
	_, pending, err := st.PendingWebhooks(ctx, r.Order.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Type != checkout.EventOrderNetworkChanged {
		t.Fatalf("webhook outbox %+v, want the network_changed delivery", pending)
	}
	body := pending[0].Body
	var wh checkout.WebhookEvent
	if err := json.Unmarshal([]byte(body), &wh); err != nil || wh.Data.Previous == nil || wh.Data.Previous.Network != checkout.ERC20 ||
		wh.Data.Order.Network != checkout.TRC20 {
		t.Fatalf("webhook body %s (%v)", body, err)
	}
}

// TestSwitchNetworkRefusedWhenReceived: the script reads the stored order, not the caller's
// copy: once a payment is recorded, a switch is refused and writes nothing, even from a
// caller whose record claims nothing was received at the current version.
func TestSwitchNetworkRefusedWhenReceived(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	r := switchableOrder(t, st, "ord_switch02")
	clean := *r
	clean.Order.Payments = []checkout.Payment{}
	// A transfer is seen: CONFIRMING with a payment.
	r.Order.Status, r.Order.AmountPending = checkout.StatusConfirming, 12_500_000
	r.Order.Payments = []checkout.Payment{{TxHash: "0xabc", Amount: 12_500_000, Status: checkout.PaymentConfirming}}
	if _, err := st.CommitOrder(ctx, r, []checkout.Event{event("evt_seen", checkout.EventPaymentDetected, &r.Order, t0)}); err != nil {
		t.Fatal(err)
	}
	clean.Version = r.Version // a forged record: current version, no payment
	from, ev := switchTo(&clean, "TNewAddressSwitch02")
	_, err := st.SwitchNetwork(ctx, &clean, from, &ev)
	var refused *store.SwitchRefusedError
	if !errors.As(err, &refused) || refused.Reason != "received" || !errors.Is(err, store.ErrSwitchRefused) {
		t.Fatalf("switch after a payment: %v, want refused (received)", err)
	}
	got, _ := st.Order(ctx, r.Order.ID)
	if got.Version != r.Version || got.Order.Network != checkout.ERC20 || countEvents(t, st, r.Order.ID) != 2 {
		t.Fatalf("a refused switch wrote: v%d %s, %d events", got.Version, got.Order.Network, countEvents(t, st, r.Order.ID))
	}
	// A stale version is a conflict (reload and decide again), not a refusal.
	stale := *got
	stale.Version--
	from, ev = switchTo(&stale, "TNewAddressSwitch02")
	if _, err := st.SwitchNetwork(ctx, &stale, from, &ev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale switch: %v, want ErrConflict", err)
	}
}

// TestSwitchNetworkRefusedWhenClosedOrMoved: a terminal order, and one already on another
// deposit than the switch started from, are refused.
func TestSwitchNetworkRefusedWhenClosedOrMoved(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	r := switchableOrder(t, st, "ord_switch03")
	wrong := r.Order.Deposit()
	wrong.Address = "0xsomewhereelse"
	_, ev := switchTo(r, "TNewAddressSwitch03")
	var refused *store.SwitchRefusedError
	if _, err := st.SwitchNetwork(ctx, r, wrong, &ev); !errors.As(err, &refused) || refused.Reason != "moved" {
		t.Fatalf("switch from a deposit the order is not on: %v", err)
	}
	r = switchableOrder(t, st, "ord_switch04")
	r.Order.Status = checkout.StatusCanceled
	if _, err := st.CommitOrder(ctx, r, []checkout.Event{event("evt_cancel", checkout.EventOrderCanceled, &r.Order, t0)}); err != nil {
		t.Fatal(err)
	}
	r.Order.Status = checkout.StatusPending // the caller's stale idea
	from, ev := switchTo(r, "TNewAddressSwitch04")
	if _, err := st.SwitchNetwork(ctx, r, from, &ev); !errors.As(err, &refused) || refused.Reason != "closed" {
		t.Fatalf("switch of a canceled order: %v", err)
	}
}

// TestSwitchIndexOnce: concurrent claims of one (order, network) all get one index and take
// one from the counter; another order or network takes the next.
func TestSwitchIndexOnce(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]uint32, 16)
	errs := make([]error, 16)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = st.SwitchIndex(ctx, "mer_1", "fp", "ord_a", checkout.TRC20, t0)
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != got[0] {
			t.Fatalf("claim %d: %d %v, claim 0: %d", i, got[i], errs[i], got[0])
		}
	}
	other, err := st.SwitchIndex(ctx, "mer_1", "fp", "ord_b", checkout.TRC20, t0)
	if err != nil || other != got[0]+1 {
		t.Fatalf("another order: %d %v, want %d (one index per (order, network))", other, err, got[0]+1)
	}
	skipped, err := st.SkipSwitchIndex(ctx, "mer_1", "fp", "ord_a", checkout.TRC20, got[0])
	if err != nil || skipped != got[0]+2 {
		t.Fatalf("skip: %d %v", skipped, err)
	}
	again, err := st.SwitchIndex(ctx, "mer_1", "fp", "ord_a", checkout.TRC20, t0)
	if err != nil || again != skipped {
		t.Fatalf("claim after skip: %d %v, want %d", again, err, skipped)
	}
}

// TestBindDepositAddress: binding is exactly once: the same order again succeeds, another
// order is refused, and the address is watched.
func TestBindDepositAddress(t *testing.T) {
	st, rdb, prefix := newStoreClient(t)
	ctx := context.Background()
	for range 2 {
		if err := st.BindDepositAddress(ctx, checkout.TRC20, "TBindMe", "ord_bind1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.BindDepositAddress(ctx, checkout.TRC20, "TBindMe", "ord_bind2"); !errors.Is(err, store.ErrAddressInUse) {
		t.Fatalf("another order: %v", err)
	}
	if id, err := st.OrderIDByAddress(ctx, checkout.TRC20, "TBindMe"); err != nil || id != "ord_bind1" {
		t.Fatalf("bound to %q %v", id, err)
	}
	if !rdb.SIsMember(ctx, prefix+checkout.WatchSet(checkout.TRC20), "TBindMe").Val() {
		t.Fatal("bound address not in the watch set")
	}
}
