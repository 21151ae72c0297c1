package checkout

// Status is where an order stands. PENDING → CONFIRMING → one terminal status; CANCELED is
// reached from PENDING only, by the merchant, while nothing has been received (Rules.Cancel).
type Status string

// The order statuses of the wire contract.
const (
	StatusPending    Status = "PENDING"    // waiting for a transfer
	StatusConfirming Status = "CONFIRMING" // transfer seen, waiting for confirmations
	StatusPaid       Status = "PAID"       // confirmed total ≥ amount × (1 − tolerance)
	StatusUnderpaid  Status = "UNDERPAID"  // expired with 0 < confirmed total < that bound
	StatusExpired    Status = "EXPIRED"    // expired with nothing received
	StatusFrozen     Status = "FROZEN"     // funds arrived but are held for review
	StatusCanceled   Status = "CANCELED"   // canceled by the merchant while nothing had been received
)

// Statuses lists every status, open ones first.
var Statuses = []Status{StatusPending, StatusConfirming, StatusPaid, StatusUnderpaid, StatusExpired,
	StatusFrozen, StatusCanceled}

// Terminal reports whether the status is final: a terminal status is never left.
func (s Status) Terminal() bool {
	switch s {
	case StatusPaid, StatusUnderpaid, StatusExpired, StatusFrozen, StatusCanceled:
		return true
	}
	return false
}

// Valid reports whether s is one of the statuses above.
func (s Status) Valid() bool {
	return s == StatusPending || s == StatusConfirming || s.Terminal()
}

// CanBecome reports whether an order may move from s to next. Terminal statuses are never
// left. Between the two open statuses any move is allowed: CONFIRMING falls back to PENDING when
// a reorg removes the transfer it waited for, or when a confirmed partial payment leaves the
// order waiting for a top-up. The one writer of order state (edge/orders) refuses to commit a
// change that breaks it.
func (s Status) CanBecome(next Status) bool {
	return s.Valid() && !s.Terminal() && next.Valid() && s != next
}
