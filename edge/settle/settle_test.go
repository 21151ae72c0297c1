package settle

import (
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func order(amount checkout.Amount) *checkout.Order {
	return &checkout.Order{ID: "ord_T", Status: checkout.StatusPending, Amount: amount, PayAmount: amount,
		TolerancePercent: checkout.DefaultTolerance, CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
}

func tr(kind checkout.TransferKind, tx string, amount checkout.Amount, confs uint64) *checkout.Transfer {
	return &checkout.Transfer{Kind: kind, Network: checkout.ERC20, TxHash: tx, LogIndex: 0, From: "0xpayer",
		Amount: amount, Confirmations: confs, Required: 3, BlockNumber: 10}
}

const U = checkout.Unit

type step struct {
	t       *checkout.Transfer // nil: expiry check
	at      time.Duration      // after creation
	blocked bool
	events  []checkout.EventType
	status  checkout.Status
}

func TestRules(t *testing.T) {
	S, C, R := checkout.TransferSeen, checkout.TransferConfirmed, checkout.TransferRemoved
	cases := []struct {
		name   string
		amount checkout.Amount
		steps  []step
		paid   checkout.Amount
		check  func(*testing.T, *checkout.Order)
	}{
		{"exact payment", 100 * U, []step{
			{t: tr(S, "a", 100*U, 1), events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(S, "a", 100*U, 2), events: []checkout.EventType{checkout.EventPaymentUpdated}, status: checkout.StatusConfirming},
			{t: tr(S, "a", 100*U, 2), status: checkout.StatusConfirming}, // no growth: nothing
			{t: tr(C, "a", 100*U, 3), events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
			{t: tr(C, "a", 100*U, 3), status: checkout.StatusPaid}, // redelivery: nothing
		}, 100 * U, func(t *testing.T, o *checkout.Order) {
			if o.PaidAt == nil || o.AmountPending != 0 {
				t.Errorf("paid_at %v pending %d", o.PaidAt, o.AmountPending)
			}
		}},
		{"within tolerance", 100 * U, []step{
			{t: tr(C, "a", 99*U, 3), events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
		}, 99 * U, nil},
		{"just below tolerance then top-up", 100 * U, []step{
			{t: tr(C, "a", 99*U-1, 3), events: []checkout.EventType{checkout.EventPaymentPartial}, status: checkout.StatusPending},
			{t: tr(S, "b", 1, 1), events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(C, "b", 1, 3), events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
		}, 99 * U, nil},
		{"overpaid", 100 * U, []step{
			{t: tr(C, "a", 120*U, 3), events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
		}, 120 * U, func(t *testing.T, o *checkout.Order) {
			if o.AmountOverpaid != 20*U {
				t.Errorf("overpaid %d", o.AmountOverpaid)
			}
		}},
		{"blocklisted sender", 100 * U, []step{
			{t: tr(S, "a", 100*U, 1), blocked: true, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(C, "a", 100*U, 3), blocked: true, events: []checkout.EventType{checkout.EventOrderFrozen}, status: checkout.StatusFrozen},
		}, 100 * U, nil},
		{"expired with nothing", 100 * U, []step{
			{at: 29 * time.Minute, status: checkout.StatusPending},
			{at: 30 * time.Minute, events: []checkout.EventType{checkout.EventOrderExpired}, status: checkout.StatusExpired},
		}, 0, nil},
		{"underpaid at expiry, late funds after", 100 * U, []step{
			{t: tr(C, "a", 50*U, 3), events: []checkout.EventType{checkout.EventPaymentPartial}, status: checkout.StatusPending},
			{at: 31 * time.Minute, events: []checkout.EventType{checkout.EventOrderUnderpaid}, status: checkout.StatusUnderpaid},
			{t: tr(S, "b", 50*U, 1), at: 32 * time.Minute, events: []checkout.EventType{checkout.EventPaymentUpdated}, status: checkout.StatusUnderpaid},
			{t: tr(C, "b", 50*U, 3), at: 33 * time.Minute, events: []checkout.EventType{checkout.EventPaymentLate}, status: checkout.StatusUnderpaid},
		}, 100 * U, func(t *testing.T, o *checkout.Order) {
			if o.AmountLate != 50*U || !o.Payments[1].Late || o.Payments[0].Late {
				t.Errorf("late accounting: %+v", o)
			}
		}},
		{"confirming at expiry waits, then pays", 100 * U, []step{
			{t: tr(S, "a", 100*U, 1), at: 29 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{at: 31 * time.Minute, status: checkout.StatusConfirming}, // waits
			{t: tr(C, "a", 100*U, 3), at: 32 * time.Minute, events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
		}, 100 * U, nil},
		{"confirming at expiry, short", 100 * U, []step{
			{t: tr(S, "a", 10*U, 1), at: 29 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(C, "a", 10*U, 3), at: 32 * time.Minute, events: []checkout.EventType{checkout.EventPaymentPartial, checkout.EventOrderUnderpaid}, status: checkout.StatusUnderpaid},
		}, 10 * U, nil},
		{"reorg before final", 100 * U, []step{
			{t: tr(S, "a", 100*U, 1), events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(R, "a", 100*U, 1), events: []checkout.EventType{checkout.EventPaymentReverted}, status: checkout.StatusPending},
			{t: tr(R, "a", 100*U, 1), status: checkout.StatusPending}, // again: nothing
		}, 0, func(t *testing.T, o *checkout.Order) {
			if o.AmountPending != 0 || o.Payments[0].Status != checkout.PaymentReverted {
				t.Errorf("after reorg: %+v", o)
			}
		}},
		{"reorg after expiry expires it", 100 * U, []step{
			{t: tr(S, "a", 100*U, 1), at: 29 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(R, "a", 100*U, 1), at: 31 * time.Minute, events: []checkout.EventType{checkout.EventPaymentReverted, checkout.EventOrderExpired}, status: checkout.StatusExpired},
		}, 0, nil},
		{"re-mined after reorg", 100 * U, []step{
			{t: tr(S, "a", 100*U, 1), events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(R, "a", 100*U, 1), events: []checkout.EventType{checkout.EventPaymentReverted}, status: checkout.StatusPending},
			{t: tr(S, "a", 100*U, 1), events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(C, "a", 100*U, 3), events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
		}, 100 * U, nil},
		{"removed after confirmed is ignored", 100 * U, []step{
			{t: tr(C, "a", 100*U, 3), events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
			{t: tr(R, "a", 100*U, 3), status: checkout.StatusPaid},
		}, 100 * U, nil},
		{"confirmed without seen (catch-up)", 100 * U, []step{
			{t: tr(C, "a", 100*U, 40), events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
		}, 100 * U, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := order(c.amount)
			for i, s := range c.steps {
				now := t0.Add(s.at)
				var changes []Change
				if s.t == nil {
					changes, _ = Expire(o, now)
				} else {
					changes = Apply(o, s.t, s.blocked, now)
				}
				var got []checkout.EventType
				for _, ch := range changes {
					got = append(got, ch.Type)
				}
				if !equal(got, s.events) || o.Status != s.status {
					t.Fatalf("step %d: events %v status %s; want %v %s", i, got, o.Status, s.events, s.status)
				}
				if o.AmountPending < 0 || o.AmountPaid < 0 {
					t.Fatalf("step %d: negative amounts %+v", i, o)
				}
			}
			if o.AmountPaid != c.paid {
				t.Errorf("amount_paid %d, want %d", o.AmountPaid, c.paid)
			}
			if c.check != nil {
				c.check(t, o)
			}
		})
	}
}

func TestExpireWaitsAndTerminalIsFinal(t *testing.T) {
	o := order(10 * U)
	Apply(o, tr(checkout.TransferSeen, "a", 10*U, 1), false, t0)
	if ch, wait := Expire(o, t0.Add(time.Hour)); len(ch) != 0 || !wait {
		t.Errorf("confirming order at expiry: %v %v", ch, wait)
	}
	o = order(10 * U)
	Expire(o, t0.Add(time.Hour))
	if ch, wait := Expire(o, t0.Add(2*time.Hour)); len(ch) != 0 || wait || o.Status != checkout.StatusExpired {
		t.Errorf("terminal order changed: %v %v %s", ch, wait, o.Status)
	}
}

func TestEvents(t *testing.T) {
	o := order(10 * U)
	ch := Apply(o, tr(checkout.TransferConfirmed, "a", 10*U, 3), false, t0)
	n := 0
	evs := Events(o, ch, t0, func() string { n++; return "evt_" + string(rune('0'+n)) })
	if len(evs) != 1 || evs[0].ID != "evt_1" || evs[0].Order.Status != checkout.StatusPaid || evs[0].Payment == nil || !evs[0].CreatedAt.Equal(t0) {
		t.Errorf("events %+v", evs)
	}
}

func equal(a, b []checkout.EventType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
