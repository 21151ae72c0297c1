package checkout_test

import (
	"encoding/json"
	"fmt"
	"strconv"
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
	rules   checkout.Rules // zero: the defaults
	events  []checkout.EventType
	status  checkout.Status
	changed bool // the order changed without events (dust counted)
	refused bool // the transfer is refused (an orphan)
}

func atLog(t *checkout.Transfer, i uint) *checkout.Transfer { t.LogIndex = i; return t }

// dustSteps sends n final zero-value transfers d0, d1, …
func dustSteps(n int) []step {
	var out []step
	for i := 0; i < n; i++ {
		out = append(out, step{t: tr(checkout.TransferConfirmed, "d"+strconv.Itoa(i), 0, 3), status: checkout.StatusPending, changed: true})
	}
	return out
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
		// A removal never finalises: the on-time transfer gets the grace window to come back.
		{"reorg after expiry waits for the grace window, then expires", 100 * U, []step{
			{t: tr(S, "a", 100*U, 1), at: 29 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(R, "a", 100*U, 1), at: 31 * time.Minute, events: []checkout.EventType{checkout.EventPaymentReverted}, status: checkout.StatusConfirming},
			{at: 31*time.Minute + checkout.DefaultReorgGrace - time.Second, status: checkout.StatusConfirming},
			{at: 31*time.Minute + checkout.DefaultReorgGrace, events: []checkout.EventType{checkout.EventOrderExpired}, status: checkout.StatusExpired},
		}, 0, func(t *testing.T, o *checkout.Order) {
			if p := o.Payments[0]; p.RevertedAt == nil || !p.RevertedAt.Equal(t0.Add(31*time.Minute)) || p.Late {
				t.Errorf("reverted payment %+v", p)
			}
		}},
		{"reorg after expiry, re-mined: paid on time", 100 * U, []step{
			{t: tr(S, "a", 100*U, 1), at: 29 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{at: 30 * time.Minute, status: checkout.StatusConfirming}, // waits
			{t: tr(R, "a", 100*U, 1), at: 31 * time.Minute, events: []checkout.EventType{checkout.EventPaymentReverted}, status: checkout.StatusConfirming},
			{at: 32 * time.Minute, status: checkout.StatusConfirming}, // within the grace window
			{t: tr(S, "a", 100*U, 1), at: 33 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(C, "a", 100*U, 3), at: 50 * time.Minute, events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
		}, 100 * U, func(t *testing.T, o *checkout.Order) {
			if p := o.Payments[0]; p.Late || o.AmountLate != 0 || p.RevertedAt != nil || !p.FirstSeenAt.Equal(t0.Add(29*time.Minute)) {
				t.Errorf("re-mined payment %+v late %d", p, o.AmountLate)
			}
		}},
		{"reorg after expiry, re-included under another log index: on time", 100 * U, []step{
			{t: tr(S, "a", 100*U, 1), at: 29 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(R, "a", 100*U, 1), at: 31 * time.Minute, events: []checkout.EventType{checkout.EventPaymentReverted}, status: checkout.StatusConfirming},
			{t: atLog(tr(S, "a", 100*U, 1), 4), at: 33 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: atLog(tr(C, "a", 100*U, 3), 4), at: 35 * time.Minute, events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
		}, 100 * U, func(t *testing.T, o *checkout.Order) {
			if len(o.Payments) != 2 || o.Payments[1].Late || !o.Payments[1].FirstSeenAt.Equal(t0.Add(29*time.Minute)) || o.AmountLate != 0 {
				t.Errorf("re-included payment %+v", o.Payments)
			}
		}},
		{"reorg just before expiry: the grace window holds expiry", 100 * U, []step{
			{t: tr(S, "a", 100*U, 1), at: 20 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(R, "a", 100*U, 1), at: 25 * time.Minute, events: []checkout.EventType{checkout.EventPaymentReverted}, status: checkout.StatusPending},
			{at: 30 * time.Minute, status: checkout.StatusPending}, // held until 25 + grace
			{t: tr(S, "a", 100*U, 1), at: 32 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(C, "a", 100*U, 3), at: 40 * time.Minute, events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
		}, 100 * U, nil},
		{"reorg after expiry with a partial confirmed: underpaid after the grace window", 100 * U, []step{
			{t: tr(C, "p", 50*U, 3), at: 10 * time.Minute, events: []checkout.EventType{checkout.EventPaymentPartial}, status: checkout.StatusPending},
			{t: tr(S, "a", 50*U, 1), at: 29 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(R, "a", 50*U, 1), at: 31 * time.Minute, events: []checkout.EventType{checkout.EventPaymentReverted}, status: checkout.StatusConfirming},
			{at: 31*time.Minute + checkout.DefaultReorgGrace, events: []checkout.EventType{checkout.EventOrderUnderpaid}, status: checkout.StatusUnderpaid},
		}, 50 * U, nil},
		// Timeliness by first sighting: seen after expiry is late, even before the worker ran.
		{"first seen after expiry is late, and late funds do not pay", 100 * U, []step{
			{t: tr(S, "a", 50*U, 1), at: 29 * time.Minute, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(S, "b", 60*U, 1), at: 31 * time.Minute, events: []checkout.EventType{checkout.EventPaymentUpdated}, status: checkout.StatusConfirming},
			{t: tr(C, "b", 60*U, 3), at: 32 * time.Minute, events: []checkout.EventType{checkout.EventPaymentLate}, status: checkout.StatusConfirming},
			{t: tr(C, "a", 50*U, 3), at: 33 * time.Minute, events: []checkout.EventType{checkout.EventPaymentPartial, checkout.EventOrderUnderpaid}, status: checkout.StatusUnderpaid},
		}, 110 * U, func(t *testing.T, o *checkout.Order) {
			if o.AmountLate != 60*U || !o.Payments[1].Late || o.Payments[0].Late {
				t.Errorf("late accounting: late %d payments %+v", o.AmountLate, o.Payments)
			}
		}},
		{"first seen after expiry, nothing on time: expired with late funds", 100 * U, []step{
			{t: tr(S, "b", 100*U, 1), at: 30 * time.Minute, events: []checkout.EventType{checkout.EventPaymentUpdated}, status: checkout.StatusPending},
			{at: 30 * time.Minute, events: []checkout.EventType{checkout.EventOrderExpired}, status: checkout.StatusExpired},
			{t: tr(C, "b", 100*U, 3), at: 31 * time.Minute, events: []checkout.EventType{checkout.EventPaymentLate}, status: checkout.StatusExpired},
		}, 100 * U, nil},
		// Dust and zero-value transfers: anyone can send them, "from" anyone.
		{"zero-value from a blocklisted sender changes nothing", 100 * U, []step{
			{t: tr(S, "z", 0, 1), blocked: true, status: checkout.StatusPending},
			{t: tr(C, "z", 0, 3), blocked: true, status: checkout.StatusPending, changed: true},
			{t: tr(C, "z", 0, 3), blocked: true, status: checkout.StatusPending}, // redelivery: not counted again
			{t: tr(R, "z", 0, 3), blocked: true, status: checkout.StatusPending},
			{t: tr(S, "a", 100*U, 1), events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(C, "a", 100*U, 3), events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
		}, 100 * U, func(t *testing.T, o *checkout.Order) {
			if o.DustCount != 1 || o.DustAmount != 0 || len(o.DustRecent) != 1 || len(o.Payments) != 1 || o.FrozenReason != "" {
				t.Errorf("dust record: %+v", o)
			}
		}},
		{"dust below the threshold, blocklisted or not, changes nothing", 100 * U, []step{
			{t: tr(S, "d1", checkout.DefaultDustThreshold-1, 1), blocked: true, status: checkout.StatusPending},
			{t: tr(C, "d1", checkout.DefaultDustThreshold-1, 3), blocked: true, status: checkout.StatusPending, changed: true},
			{t: tr(C, "d2", 1, 3), status: checkout.StatusPending, changed: true},
		}, 0, func(t *testing.T, o *checkout.Order) {
			if o.DustCount != 2 || o.DustAmount != checkout.DefaultDustThreshold || len(o.Payments) != 0 || o.AmountPending != 0 {
				t.Errorf("dust record: %+v", o)
			}
		}},
		{"blocklisted funds at the threshold freeze", 100 * U, []step{
			{t: tr(C, "f", checkout.DefaultDustThreshold, 3), blocked: true, events: []checkout.EventType{checkout.EventOrderFrozen}, status: checkout.StatusFrozen},
		}, checkout.DefaultDustThreshold, nil},
		{"dust keeps only the last few", 100 * U, dustSteps(checkout.MaxDustRecent + 3), 0, func(t *testing.T, o *checkout.Order) {
			if o.DustCount != checkout.MaxDustRecent+3 || len(o.DustRecent) != checkout.MaxDustRecent || o.DustRecent[checkout.MaxDustRecent-1].TxHash != "d7" || o.DustRecent[0].TxHash != "d3" {
				t.Errorf("dust record: count %d recent %+v", o.DustCount, o.DustRecent)
			}
		}},
		{"dust confirming at expiry does not hold the order", 100 * U, []step{
			{t: tr(S, "d", 0, 1), at: 29 * time.Minute, status: checkout.StatusPending},
			{at: 30 * time.Minute, events: []checkout.EventType{checkout.EventOrderExpired}, status: checkout.StatusExpired},
		}, 0, nil},
		{"an order below the dust threshold is payable", checkout.DefaultDustThreshold / 2, []step{
			{t: tr(S, "d", checkout.DefaultDustThreshold/2-100, 1), status: checkout.StatusPending}, // below what it needs (0.00495)
			{t: tr(S, "a", checkout.DefaultDustThreshold/2, 1), events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(C, "a", checkout.DefaultDustThreshold/2, 3), events: []checkout.EventType{checkout.EventPaymentConfirmed}, status: checkout.StatusPaid},
		}, checkout.DefaultDustThreshold / 2, nil},
		{"late dust after a terminal status is only counted", 100 * U, []step{
			{t: tr(C, "p", 99*U-1, 3), events: []checkout.EventType{checkout.EventPaymentPartial}, status: checkout.StatusPending},
			{at: 30 * time.Minute, events: []checkout.EventType{checkout.EventOrderUnderpaid}, status: checkout.StatusUnderpaid},
			{t: tr(C, "d", 1, 3), at: 31 * time.Minute, status: checkout.StatusUnderpaid, changed: true},
		}, 99*U - 1, nil},
		// The payment cap: beyond it a final transfer is refused (the caller keeps it as an orphan).
		{"payment cap", 100 * U, []step{
			{t: tr(C, "a", 10*U, 3), rules: checkout.Rules{MaxPayments: 2}, events: []checkout.EventType{checkout.EventPaymentPartial}, status: checkout.StatusPending},
			{t: tr(C, "b", 10*U, 3), rules: checkout.Rules{MaxPayments: 2}, events: []checkout.EventType{checkout.EventPaymentPartial}, status: checkout.StatusPending},
			{t: tr(S, "c", 80*U, 1), rules: checkout.Rules{MaxPayments: 2}, status: checkout.StatusPending},
			{t: tr(C, "c", 80*U, 3), rules: checkout.Rules{MaxPayments: 2}, status: checkout.StatusPending, refused: true},
			{t: tr(C, "b", 10*U, 3), rules: checkout.Rules{MaxPayments: 2}, status: checkout.StatusPending},             // known ones still apply
			{t: tr(C, "z", 0, 3), rules: checkout.Rules{MaxPayments: 2}, status: checkout.StatusPending, changed: true}, // dust is no payment
		}, 20 * U, func(t *testing.T, o *checkout.Order) {
			if len(o.Payments) != 2 {
				t.Errorf("payments %d", len(o.Payments))
			}
		}},
		{"a lower dust threshold setting", 100 * U, []step{
			{t: tr(S, "a", 1000, 1), rules: checkout.Rules{DustThreshold: 1000}, events: []checkout.EventType{checkout.EventPaymentDetected}, status: checkout.StatusConfirming},
			{t: tr(S, "b", 999, 1), rules: checkout.Rules{DustThreshold: 1000}, status: checkout.StatusConfirming},
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
				var changes []checkout.Change
				prev := o.Status
				if s.t == nil {
					changes, _, _ = s.rules.Expire(o, now)
				} else {
					res := s.rules.Apply(o, s.t, s.blocked, now)
					changes = res.Changes
					if res.Changed != (len(changes) > 0 || s.changed) || (res.Refused != "") != s.refused {
						t.Fatalf("step %d: changed %v refused %q; want %v %v", i, res.Changed, res.Refused, s.changed, s.refused)
					}
				}
				var got []checkout.EventType
				for _, ch := range changes {
					got = append(got, ch.Type)
				}
				if !equal(got, s.events) || o.Status != s.status {
					t.Fatalf("step %d: events %v status %s; want %v %s", i, got, o.Status, s.events, s.status)
				}
				if o.Status != prev && !prev.CanBecome(o.Status) {
					t.Fatalf("step %d: %s → %s is not an allowed transition", i, prev, o.Status)
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
	var r checkout.Rules // the defaults
	o := order(10 * U)
	r.Apply(o, tr(checkout.TransferSeen, "a", 10*U, 1), false, t0)
	if ch, wait, _ := r.Expire(o, t0.Add(time.Hour)); len(ch) != 0 || !wait {
		t.Errorf("confirming order at expiry: %v %v", ch, wait)
	}
	o = order(10 * U)
	r.Expire(o, t0.Add(time.Hour))
	if ch, wait, _ := r.Expire(o, t0.Add(2*time.Hour)); len(ch) != 0 || wait || o.Status != checkout.StatusExpired {
		t.Errorf("terminal order changed: %v %v %s", ch, wait, o.Status)
	}
}

func TestEvents(t *testing.T) {
	o := order(10 * U)
	ch := checkout.Rules{}.Apply(o, tr(checkout.TransferConfirmed, "a", 10*U, 3), false, t0).Changes
	n := 0
	evs := checkout.NewEvents(o, ch, t0, func() string { n++; return "evt_" + string(rune('0'+n)) })
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

// TestExpireGraceWindow: the worker is told when the grace window of a removed on-time
// transfer ends, and an order still confirming is rechecked with no known end.
func TestExpireGraceWindow(t *testing.T) {
	r := checkout.Rules{ReorgGrace: 5 * time.Minute}
	o := order(10 * U)
	r.Apply(o, tr(checkout.TransferSeen, "a", 10*U, 1), false, t0.Add(29*time.Minute))
	if ch, wait, until := r.Expire(o, t0.Add(31*time.Minute)); len(ch) != 0 || !wait || !until.IsZero() {
		t.Errorf("confirming at expiry: %v %v %v", ch, wait, until)
	}
	r.Apply(o, tr(checkout.TransferRemoved, "a", 10*U, 1), false, t0.Add(32*time.Minute))
	if ch, wait, until := r.Expire(o, t0.Add(33*time.Minute)); len(ch) != 0 || !wait || !until.Equal(t0.Add(37*time.Minute)) {
		t.Errorf("in the grace window: %v %v %v", ch, wait, until)
	}
	if ch, wait, _ := r.Expire(o, t0.Add(37*time.Minute)); len(ch) != 1 || wait || o.Status != checkout.StatusExpired {
		t.Errorf("after the grace window: %v %v %s", ch, wait, o.Status)
	}
}

// TestDustSpamBounded: however many dust transfers arrive, the order's size stays put.
func TestDustSpamBounded(t *testing.T) {
	o := order(10 * U)
	var size int
	for i := 0; i < 1000; i++ {
		checkout.Rules{}.Apply(o, tr(checkout.TransferConfirmed, fmt.Sprintf("0x%064x", i), 0, 3), true, t0)
		if i == checkout.MaxDustRecent {
			b, _ := json.Marshal(o)
			size = len(b)
		}
	}
	if b, _ := json.Marshal(o); len(b) > size+16 || o.DustCount != 1000 || len(o.Payments) != 0 || o.Status != checkout.StatusPending {
		t.Errorf("after 1000 dust transfers: %d bytes (was %d), count %d, payments %d, %s", len(b), size, o.DustCount, len(o.Payments), o.Status)
	}
}
