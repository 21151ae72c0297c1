// Package settle holds the order status rules as pure functions: what a transfer observation
// or the passing of the expiry time does to an order. It touches no I/O; the callers load the
// order, decide here, and commit the result atomically (store.CommitOrder), retrying on a
// concurrent change. Keeping the rules pure makes them table-testable and identical on every
// edge replica.
package settle

import (
	"time"

	checkout "github.com/mpchat/checkout"
)

// Change is one thing that happened to an order, to be recorded as an event.
type Change struct {
	Type    checkout.EventType
	Payment *checkout.Payment // the payment concerned, if any (a copy)
}

// Expire applies the passing of time. It returns the changes (none when the order is not
// due, is terminal, or waits for a transfer that is still confirming: that transfer's outcome
// settles it) and whether the order must be checked again later (wait).
func Expire(o *checkout.Order, now time.Time) (changes []Change, wait bool) {
	if o.Status.Terminal() || now.Before(o.ExpiresAt) {
		return nil, false
	}
	if confirming(o) {
		return nil, true
	}
	return finishExpired(o, now), false
}

// finishExpired settles an expired order that has nothing left confirming.
func finishExpired(o *checkout.Order, now time.Time) []Change {
	switch {
	case o.AmountPaid <= 0:
		o.Status = checkout.StatusExpired
		return []Change{{Type: checkout.EventOrderExpired}}
	case o.AmountPaid < o.MinPaid():
		o.Status = checkout.StatusUnderpaid
		return []Change{{Type: checkout.EventOrderUnderpaid}}
	default: // unreachable for a consistent order: enough paid is PAID at confirmation
		markPaid(o, now)
		return []Change{{Type: checkout.EventPaymentConfirmed}}
	}
}

// Apply applies one watcher observation to the order. blocked says whether the sender is on
// the operator's blocklist. Observations are idempotent: a repeated or stale one returns no
// changes, so redelivered feed entries are harmless.
func Apply(o *checkout.Order, t *checkout.Transfer, blocked bool, now time.Time) []Change {
	i := find(o, t)
	switch t.Kind {
	case checkout.TransferSeen:
		return seen(o, t, i)
	case checkout.TransferConfirmed:
		return confirmed(o, t, i, blocked, now)
	case checkout.TransferRemoved:
		return removed(o, i, now)
	}
	return nil
}

func find(o *checkout.Order, t *checkout.Transfer) int {
	for i := range o.Payments {
		if o.Payments[i].TxHash == t.TxHash && o.Payments[i].LogIndex == t.LogIndex {
			return i
		}
	}
	return -1
}

func seen(o *checkout.Order, t *checkout.Transfer, i int) []Change {
	if i >= 0 {
		p := &o.Payments[i]
		switch {
		case p.Status == checkout.PaymentReverted: // back in the canonical chain
			p.Status, p.Confirmations, p.BlockNumber = checkout.PaymentConfirming, t.Confirmations, t.BlockNumber
			o.AmountPending += p.Amount
			return detected(o, p)
		case p.Status == checkout.PaymentConfirming && t.Confirmations > p.Confirmations:
			p.Confirmations, p.BlockNumber = t.Confirmations, t.BlockNumber
			return []Change{{Type: checkout.EventPaymentUpdated, Payment: copyOf(p)}}
		}
		return nil
	}
	o.Payments = append(o.Payments, checkout.Payment{
		TxHash: t.TxHash, LogIndex: t.LogIndex, From: t.From, Amount: t.Amount,
		BlockNumber: t.BlockNumber, Confirmations: t.Confirmations,
		ConfirmationsRequired: t.Required, Status: checkout.PaymentConfirming,
		Late: o.Status.Terminal(),
	})
	p := &o.Payments[len(o.Payments)-1]
	o.AmountPending += p.Amount
	return detected(o, p)
}

// detected records a transfer now waiting for confirmations.
func detected(o *checkout.Order, p *checkout.Payment) []Change {
	if o.Status.Terminal() {
		p.Late = true
		return []Change{{Type: checkout.EventPaymentUpdated, Payment: copyOf(p)}}
	}
	o.Status = checkout.StatusConfirming
	return []Change{{Type: checkout.EventPaymentDetected, Payment: copyOf(p)}}
}

func confirmed(o *checkout.Order, t *checkout.Transfer, i int, blocked bool, now time.Time) []Change {
	if i >= 0 && o.Payments[i].Status == checkout.PaymentConfirmed {
		return nil
	}
	if i < 0 { // confirmed without an earlier sighting (catch-up after downtime)
		o.Payments = append(o.Payments, checkout.Payment{
			TxHash: t.TxHash, LogIndex: t.LogIndex, From: t.From, Amount: t.Amount,
			ConfirmationsRequired: t.Required, Late: o.Status.Terminal(),
		})
		i = len(o.Payments) - 1
	} else if o.Payments[i].Status == checkout.PaymentConfirming {
		o.AmountPending -= o.Payments[i].Amount
	}
	p := &o.Payments[i]
	p.Status, p.Confirmations, p.BlockNumber = checkout.PaymentConfirmed, t.Confirmations, t.BlockNumber
	o.AmountPaid += p.Amount
	o.AmountOverpaid = max(0, o.AmountPaid-o.Amount)
	if o.Status.Terminal() || p.Late {
		p.Late = true
		o.AmountLate += p.Amount
		return []Change{{Type: checkout.EventPaymentLate, Payment: copyOf(p)}}
	}
	switch {
	case blocked:
		o.Status = checkout.StatusFrozen
		o.FrozenReason = "sender_blocklisted"
		return []Change{{Type: checkout.EventOrderFrozen, Payment: copyOf(p)}}
	case o.AmountPaid >= o.MinPaid():
		markPaid(o, now)
		return []Change{{Type: checkout.EventPaymentConfirmed, Payment: copyOf(p)}}
	}
	changes := []Change{{Type: checkout.EventPaymentPartial, Payment: copyOf(p)}}
	return append(changes, settleOpen(o, now)...)
}

func removed(o *checkout.Order, i int, now time.Time) []Change {
	if i < 0 || o.Payments[i].Status != checkout.PaymentConfirming {
		return nil // unknown, already reverted, or confirmed (final: never un-credited)
	}
	p := &o.Payments[i]
	p.Status = checkout.PaymentReverted
	o.AmountPending -= p.Amount
	changes := []Change{{Type: checkout.EventPaymentReverted, Payment: copyOf(p)}}
	if o.Status.Terminal() {
		return changes
	}
	return append(changes, settleOpen(o, now)...)
}

// settleOpen sets the status of a non-terminal order after a payment stopped confirming:
// still CONFIRMING if another transfer is, else PENDING before expiry, else final.
func settleOpen(o *checkout.Order, now time.Time) []Change {
	switch {
	case confirming(o):
		o.Status = checkout.StatusConfirming
	case now.Before(o.ExpiresAt):
		o.Status = checkout.StatusPending
	default:
		return finishExpired(o, now)
	}
	return nil
}

func confirming(o *checkout.Order) bool {
	for i := range o.Payments {
		if o.Payments[i].Status == checkout.PaymentConfirming && !o.Payments[i].Late {
			return true
		}
	}
	return false
}

func markPaid(o *checkout.Order, now time.Time) {
	o.Status = checkout.StatusPaid
	t := now.UTC().Truncate(time.Second)
	o.PaidAt = &t
}

func copyOf(p *checkout.Payment) *checkout.Payment { c := *p; return &c }

// Events turns changes into the events to commit with the order: each carries a new id (from
// newID), the time, and the order as it stands after all the changes.
func Events(o *checkout.Order, changes []Change, now time.Time, newID func() string) []checkout.Event {
	evs := make([]checkout.Event, len(changes))
	for i, c := range changes {
		evs[i] = checkout.Event{ID: newID(), Type: c.Type, CreatedAt: now.UTC(), Order: *o, Payment: c.Payment}
	}
	return evs
}
