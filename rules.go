package checkout

// The status rules: what a transfer observation, or the passing of an order's expiry time,
// does to an order. They are pure functions (no I/O, no clock of their own): the one writer of
// order state (edge/orders) loads an order, decides here, and commits the result atomically,
// deciding again when a concurrent change wins. Keeping them pure makes them table-testable
// and identical on every edge replica.

import (
	"strconv"
	"time"
)

// Change is one thing that happened to an order, to be recorded as an event.
type Change struct {
	Type    EventType
	Payment *Payment // the payment concerned, if any (a copy)
	Note    string   // why, when the event needs saying (a refused claim)
	// Previous is the deposit left behind, for order.network_changed.
	Previous *PreviousAddress
}

// Defaults of Rules.
const (
	// DefaultDustThreshold: transfers below 0.01 USDT are dust.
	DefaultDustThreshold = Unit / 100
	// DefaultMaxPayments is how many payments one order keeps; more are orphans.
	DefaultMaxPayments = 20
	// DefaultReorgGrace is how long an on-time transfer a reorg removed after the order's
	// expiry holds the order open, waiting to be re-included.
	DefaultReorgGrace = 10 * time.Minute
	// MaxDustRecent is how many dust transfers an order keeps in Order.DustRecent (DustCount
	// counts all).
	MaxDustRecent = 5
)

// Rules holds the operator's settings the status rules depend on. The zero value means the
// defaults; every edge replica must use the same Rules.
type Rules struct {
	// DustThreshold: a transfer below it is dust, which changes no status, amount, payment or
	// webhook and is only counted on the order (Order.DustCount, DustAmount, DustRecent). Zero
	// is always dust. For an order still open and not yet expired, the threshold is lowered to
	// what the order still needs to be PAID when that is less, so an order for less than the
	// threshold, or a top-up of the last cents, stays payable in one transfer. Default
	// DefaultDustThreshold.
	DustThreshold Amount
	// MaxPayments caps the payments one order keeps (reverted ones included). A transfer
	// beyond it is not credited to the order: its final observation is refused with a reason,
	// for the caller to record as an orphan, so the money is never lost. Default
	// DefaultMaxPayments.
	MaxPayments int
	// ReorgGrace is how long after a reorg removed an on-time transfer, past the order's
	// expiry, the order waits for it to be re-included before it is finalised. Default
	// DefaultReorgGrace.
	ReorgGrace time.Duration
}

func (r Rules) withDefaults() Rules {
	if r.DustThreshold <= 0 {
		r.DustThreshold = DefaultDustThreshold
	}
	if r.MaxPayments <= 0 {
		r.MaxPayments = DefaultMaxPayments
	}
	if r.ReorgGrace <= 0 {
		r.ReorgGrace = DefaultReorgGrace
	}
	return r
}

// TransferResult is what one transfer observation does to an order (see Rules.Apply).
type TransferResult struct {
	// Changes are the events to record (none for dust, a redelivery or a stale observation).
	Changes []Change
	// Changed reports that the order was modified and must be committed, with Changes' events
	// (possibly none: a dust transfer is only counted).
	Changed bool
	// Dust reports that the transfer is dust: counted on the order when final (Changed), else
	// ignored. No event is recorded for it, so there is nothing to announce.
	Dust bool
	// Refused, when not empty, says why the transfer is not credited to the order (the order
	// is unchanged): the caller keeps it as an orphan with this reason.
	Refused string
}

// Expire applies the passing of time. It returns the changes (none when the order is not
// due or is terminal) and whether the order must be checked again later (wait): it waits while
// an on-time transfer is still confirming (that transfer's outcome settles it), and while an
// on-time transfer a reorg removed is within its grace window, until `until` (the window's
// end). Dust never holds an order: it is no payment.
func (r Rules) Expire(o *Order, now time.Time) (changes []Change, wait bool, until time.Time) {
	r = r.withDefaults()
	if o.Status.Terminal() || now.Before(o.ExpiresAt) {
		return nil, false, time.Time{}
	}
	if confirming(o) {
		return nil, true, time.Time{}
	}
	if end := r.graceEnd(o); now.Before(end) {
		return nil, true, end
	}
	return finishExpired(o, now), false, time.Time{}
}

// graceEnd is when the last on-time transfer a reorg removed stops holding the order (zero
// when none does).
func (r Rules) graceEnd(o *Order) time.Time {
	var end time.Time
	for i := range o.Payments {
		p := &o.Payments[i]
		if p.Status == PaymentReverted && !p.Late && p.RevertedAt != nil {
			if e := p.RevertedAt.Add(r.ReorgGrace); e.After(end) {
				end = e
			}
		}
	}
	return end
}

// onTime is the confirmed total that counts for the status: late funds excluded.
func onTime(o *Order) Amount { return o.AmountPaid - o.AmountLate }

// finishExpired settles an expired order that has nothing left confirming.
func finishExpired(o *Order, now time.Time) []Change {
	switch paid := onTime(o); {
	case paid <= 0:
		o.Status = StatusExpired
		return []Change{{Type: EventOrderExpired}}
	case paid < o.MinPaid():
		o.Status = StatusUnderpaid
		return []Change{{Type: EventOrderUnderpaid}}
	default: // unreachable for a consistent order: enough paid is PAID at confirmation
		markPaid(o, now)
		return []Change{{Type: EventPaymentConfirmed}}
	}
}

// Apply applies one watcher observation to the order. blocked says whether the sender is on
// the operator's blocklist (it matters only for funds above the dust threshold).
// Observations are idempotent: a repeated or stale one changes nothing, so redelivered feed
// entries are harmless.
func (r Rules) Apply(o *Order, t *Transfer, blocked bool, now time.Time) TransferResult {
	r = r.withDefaults()
	i := find(o, t)
	if i < 0 && t.Kind != TransferRemoved {
		// A transfer the order does not track yet: dust is only counted, once final, and a
		// transfer beyond the payment cap is refused once final (an orphan, never lost).
		if r.dust(o, t.Amount, now) {
			if t.Kind == TransferConfirmed {
				return TransferResult{Changed: recordDust(o, t), Dust: true}
			}
			return TransferResult{Dust: true}
		}
		if len(o.Payments) >= r.MaxPayments {
			if t.Kind == TransferConfirmed {
				return TransferResult{Refused: "order " + o.ID + " has the most payments one order keeps (" +
					strconv.Itoa(r.MaxPayments) + "): not credited"}
			}
			return TransferResult{}
		}
	}
	var changes []Change
	switch t.Kind {
	case TransferSeen:
		changes = seen(o, t, i, now)
	case TransferConfirmed:
		changes = r.confirmed(o, t, i, blocked, now)
	case TransferRemoved:
		changes = r.removed(o, i, now)
	}
	return TransferResult{Changes: changes, Changed: len(changes) > 0}
}

// dust reports whether a transfer of amount not yet tracked by the order is dust.
func (r Rules) dust(o *Order, amount Amount, now time.Time) bool {
	if amount <= 0 {
		return true
	}
	threshold := r.DustThreshold
	if !o.Status.Terminal() && now.Before(o.ExpiresAt) {
		// What the order still needs: a transfer of that much settles it, so it is no noise.
		if need := o.MinPaid() - onTime(o); need < threshold {
			threshold = max(need, 1)
		}
	}
	return amount < threshold
}

// recordDust counts a final dust transfer once (a redelivery of one of the last MaxDustRecent is
// recognised) and reports whether the order changed.
func recordDust(o *Order, t *Transfer) bool {
	for _, d := range o.DustRecent {
		if d.TxHash == t.TxHash && d.LogIndex == t.LogIndex {
			return false
		}
	}
	o.DustCount++
	o.DustAmount += max(t.Amount, 0)
	o.DustRecent = append(o.DustRecent, DustTransfer{TxHash: t.TxHash, LogIndex: t.LogIndex,
		From: t.From, Amount: t.Amount, BlockNumber: t.BlockNumber})
	if n := len(o.DustRecent); n > MaxDustRecent {
		o.DustRecent = append([]DustTransfer(nil), o.DustRecent[n-MaxDustRecent:]...)
	}
	return true
}

func find(o *Order, t *Transfer) int {
	for i := range o.Payments {
		if o.Payments[i].TxHash == t.TxHash && o.Payments[i].LogIndex == t.LogIndex {
			return i
		}
	}
	return -1
}

// newPayment makes the payment of a transfer first seen now. It is late when first seen at or
// after the order's expiry (or terminal status), unless a reorg removed the same transaction
// earlier and it is back under another log index: then its first sighting is that one's.
func newPayment(o *Order, t *Transfer, now time.Time) Payment {
	p := Payment{
		TxHash: t.TxHash, LogIndex: t.LogIndex, From: t.From, Amount: t.Amount,
		BlockNumber: t.BlockNumber, Confirmations: t.Confirmations, ConfirmationsRequired: t.Required,
		FirstSeenAt: now.UTC(), Late: o.Status.Terminal() || !now.Before(o.ExpiresAt),
	}
	if o.HeldBefore(t.Network, t.To) {
		// Sent to an address the customer switched away from: credited, never lost, but late
		// (it holds nothing open and counts toward no status), as after expiry.
		p.Network, p.Address, p.Late = t.Network, t.To, true
	}
	for i := range o.Payments {
		if q := &o.Payments[i]; q.TxHash == t.TxHash && q.Status == PaymentReverted {
			if !q.FirstSeenAt.IsZero() {
				p.FirstSeenAt = q.FirstSeenAt
			}
			p.Late = o.Status.Terminal() || q.Late
			break
		}
	}
	return p
}

func seen(o *Order, t *Transfer, i int, now time.Time) []Change {
	if i >= 0 {
		p := &o.Payments[i]
		switch {
		case p.Status == PaymentReverted: // back in the canonical chain
			p.Status, p.Confirmations, p.BlockNumber = PaymentConfirming, t.Confirmations, t.BlockNumber
			p.RevertedAt = nil
			o.AmountPending += p.Amount
			return detected(o, p)
		case p.Status == PaymentConfirming && t.Confirmations > p.Confirmations:
			p.Confirmations, p.BlockNumber = t.Confirmations, t.BlockNumber
			return []Change{{Type: EventPaymentUpdated, Payment: copyOf(p)}}
		}
		return nil
	}
	o.Payments = append(o.Payments, newPayment(o, t, now))
	p := &o.Payments[len(o.Payments)-1]
	p.Status = PaymentConfirming
	o.AmountPending += p.Amount
	return detected(o, p)
}

// detected records a transfer now waiting for confirmations. A late one (first seen after
// expiry) is reported but holds nothing open and changes no status.
func detected(o *Order, p *Payment) []Change {
	if o.Status.Terminal() {
		p.Late = true
	}
	if p.Late {
		return []Change{{Type: EventPaymentUpdated, Payment: copyOf(p)}}
	}
	o.Status = StatusConfirming
	return []Change{{Type: EventPaymentDetected, Payment: copyOf(p)}}
}

func (r Rules) confirmed(o *Order, t *Transfer, i int, blocked bool, now time.Time) []Change {
	if i >= 0 && o.Payments[i].Status == PaymentConfirmed {
		return nil
	}
	if i < 0 { // confirmed without an earlier sighting (catch-up after downtime)
		o.Payments = append(o.Payments, newPayment(o, t, now))
		i = len(o.Payments) - 1
	} else if o.Payments[i].Status == PaymentConfirming {
		o.AmountPending -= o.Payments[i].Amount
	}
	p := &o.Payments[i]
	p.Status, p.Confirmations, p.BlockNumber = PaymentConfirmed, t.Confirmations, t.BlockNumber
	p.RevertedAt = nil
	o.AmountPaid += p.Amount
	o.AmountOverpaid = max(0, o.AmountPaid-o.Amount)
	if o.Status.Terminal() || p.Late {
		p.Late = true
		o.AmountLate += p.Amount
		return []Change{{Type: EventPaymentLate, Payment: copyOf(p)}}
	}
	switch {
	case blocked:
		o.Status = StatusFrozen
		o.FrozenReason = "sender_blocklisted"
		return []Change{{Type: EventOrderFrozen, Payment: copyOf(p)}}
	case onTime(o) >= o.MinPaid():
		markPaid(o, now)
		return []Change{{Type: EventPaymentConfirmed, Payment: copyOf(p)}}
	}
	changes := []Change{{Type: EventPaymentPartial, Payment: copyOf(p)}}
	return append(changes, r.settleOpen(o, now, true)...)
}

// removed un-credits a transfer a reorg removed before it was final. It never finalises the
// order: past expiry, an on-time transfer gets the grace window to be re-included, and the
// expiry worker settles the order when nothing holds it any more.
func (r Rules) removed(o *Order, i int, now time.Time) []Change {
	if i < 0 || o.Payments[i].Status != PaymentConfirming {
		return nil // unknown, already reverted, or confirmed (final: never un-credited)
	}
	p := &o.Payments[i]
	p.Status = PaymentReverted
	at := now.UTC()
	p.RevertedAt = &at
	o.AmountPending -= p.Amount
	changes := []Change{{Type: EventPaymentReverted, Payment: copyOf(p)}}
	if o.Status.Terminal() {
		return changes
	}
	return append(changes, r.settleOpen(o, now, false)...)
}

// settleOpen sets the status of a non-terminal order after a payment stopped confirming:
// still CONFIRMING if an on-time transfer is, else PENDING before expiry. Past expiry it
// finalises the order (finalise: after a confirmation only) unless a removed on-time
// transfer is within its grace window; otherwise the status stays until the expiry worker
// decides.
func (r Rules) settleOpen(o *Order, now time.Time, finalise bool) []Change {
	switch {
	case confirming(o):
		o.Status = StatusConfirming
	case now.Before(o.ExpiresAt):
		o.Status = StatusPending
	case finalise && !now.Before(r.graceEnd(o)):
		return finishExpired(o, now)
	}
	return nil
}

func confirming(o *Order) bool {
	for i := range o.Payments {
		if o.Payments[i].Status == PaymentConfirming && !o.Payments[i].Late {
			return true
		}
	}
	return false
}

func markPaid(o *Order, now time.Time) {
	o.Status = StatusPaid
	t := now.UTC().Truncate(time.Second)
	o.PaidAt = &t
}

func copyOf(p *Payment) *Payment { c := *p; return &c }

// NewEvents turns changes into the events to commit with the order: each carries a new id (from
// newID), the time, and the order as it stands after all the changes.
func NewEvents(o *Order, changes []Change, now time.Time, newID func() string) []Event {
	evs := make([]Event, len(changes))
	for i, c := range changes {
		evs[i] = Event{ID: newID(), Type: c.Type, CreatedAt: now.UTC(), Order: *o, Payment: c.Payment, Note: c.Note,
			Previous: c.Previous}
	}
	return evs
}

// Cancel cancels the order for its merchant: allowed while it is PENDING and nothing at all has
// been received (no payment, whether confirming, confirmed or reverted; dust does not count, it
// is no payment). It returns the change to record, none when the order is CANCELED already (a
// repeated cancel), and ok false when the order cannot be canceled: something was received or it
// is terminal otherwise. Funds that arrive after the cancel are late, like on any terminal order.
func (r Rules) Cancel(o *Order) (changes []Change, ok bool) {
	switch {
	case o.Status == StatusCanceled:
		return nil, true
	case o.Status != StatusPending || len(o.Payments) > 0 || o.AmountPaid > 0 || o.AmountPending > 0:
		return nil, false
	}
	o.Status = StatusCanceled
	return []Change{{Type: EventOrderCanceled}}, true
}
