package orders

// How an order's status changes after it is created. Every change goes through change(): load
// the order, decide with the status rules (checkout.Rules), commit the order and its events in
// one compare-and-set, decide again from a fresh load when a concurrent change won, and make
// sure the change is announced. The settlement consumer (edge/settlement) calls ApplyTransfer
// for each feed entry; the expiry scanner (edge/expiry) calls Expire for each order due.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
)

// CommitAttempts is how many times a change is decided and committed before giving up when
// concurrent changes to the order keep winning the compare-and-set (store.ErrConflict). The
// caller's step then fails and runs again later (a feed entry stays pending, an expiry stays
// scheduled).
const CommitAttempts = 10

// ErrTransition: a decision would move an order between statuses Status.CanBecome forbids
// (a terminal status left). Nothing is committed.
var ErrTransition = errors.New("status transition not allowed")

// step is what a decision asks of change().
type step struct {
	changes []checkout.Change // the events to record with the order
	// write: commit the order (with changes' events; a change of feed positions or of the
	// dust count has none).
	write bool
	// announce: the decision found its work done already (a redelivery, an order already
	// final), perhaps by a step that died between its commit and its announcement: announce
	// the order again instead of (or, with write, after) committing.
	announce bool
}

// change loads the order id, lets decide change it, and commits the result. A concurrent
// change makes it load and decide again, up to CommitAttempts times. A decision that would
// move the order to a status CanBecome forbids is refused, not committed. After a commit that
// leaves the order terminal, the order leaves the expiry schedule (a failure there is only
// logged: the expiry scanner unschedules a terminal order it finds). It
// returns the record as decided and the events committed (nil when nothing was published).
//
// Errors: store.ErrNotFound (wrapped) when the order does not exist; ErrTransition; a
// store.ErrUnannounced commit or announcement (the order is written but the step is not
// finished: its caller must run it again, and the rerun finds the work done and announces);
// store.ErrConflict after CommitAttempts lost races; and decide's own errors.
func (s *Service) change(ctx context.Context, id string, decide func(rec *store.Record, now time.Time) (step, error)) (*store.Record, []checkout.Event, error) {
	for attempt := 0; attempt < CommitAttempts; attempt++ {
		rec, err := s.Store.Order(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		now := s.now()
		from, pays, late := rec.Order.Status, len(rec.Order.Payments), rec.Order.AmountLate
		st, err := decide(rec, now)
		if err != nil {
			return rec, nil, err
		}
		if !st.write {
			if st.announce {
				if err := s.index(ctx, rec); err != nil {
					return rec, nil, err
				}
				return rec, nil, s.Store.Announce(ctx, id)
			}
			return rec, nil, nil
		}
		if to := rec.Order.Status; to != from && !from.CanBecome(to) {
			return rec, nil, fmt.Errorf("order %s: %s → %s: %w", id, from, to, ErrTransition)
		}
		events := checkout.NewEvents(&rec.Order, st.changes, now, ids.Event)
		_, err = s.Store.CommitOrder(ctx, rec, events)
		if errors.Is(err, store.ErrConflict) {
			continue // changed under us: decide again
		}
		if err != nil {
			return rec, nil, err
		}
		if st.announce || rec.Order.Status != from || len(rec.Order.Payments) != pays || rec.Order.AmountLate != late {
			if err := s.index(ctx, rec); err != nil {
				return rec, nil, err
			}
		}
		if st.announce {
			return rec, nil, s.Store.Announce(ctx, id)
		}
		if rec.Order.Status.Terminal() {
			if err := s.Store.Unschedule(ctx, id); err != nil {
				s.log().Warn("orders: unschedule expiry", "order_id", id, "err", err)
			}
		}
		return rec, events, nil
	}
	return nil, nil, fmt.Errorf("order %s kept changing: %w", id, store.ErrConflict)
}

// index files the order in its merchant's order index (the list API's) and, when it needs a
// human, its attention queue after a commit, or
// again when a step finds its work done. It runs after the commit because the index is in the
// merchant's slot; a failure leaves the step unfinished (store.ErrUnannounced), so its rerun
// finds the change applied and indexes it then.
func (s *Service) index(ctx context.Context, rec *store.Record) error {
	if err := s.Store.IndexOrder(ctx, rec.MerchantID, &rec.Order, rec.Version); err != nil {
		return fmt.Errorf("order %s committed: %w: %v", rec.Order.ID, store.ErrUnannounced, err)
	}
	// The dashboard's "needs attention" queue (UNDERPAID, FROZEN, late funds), in the
	// merchant's slot too, so filed the same way.
	if err := s.Store.FileAttention(ctx, rec.MerchantID, &rec.Order, s.now()); err != nil {
		return fmt.Errorf("order %s committed: %w: %v", rec.Order.ID, store.ErrUnannounced, err)
	}
	return nil
}

// Applied is what ApplyTransfer did with one transfer observation.
type Applied struct {
	// Orphan, when not empty, says why the transfer is credited to no order (the order was
	// never written, or it refused the transfer: the payment cap): the caller keeps it in the
	// orphans record with this reason, so the money stays visible.
	Orphan string
	// Changed: the order was written with a change (events, or dust counted).
	Changed bool
	// Dust: the transfer is dust (no payment; counted on the order when final).
	Dust bool
	// Events are the events committed (none for dust, a redelivery or a stale observation).
	Events []checkout.Event
	// Status is the order's status after the observation.
	Status checkout.Status
}

// ApplyTransfer applies one watcher observation t, read at feed position (its stream entry
// id), to the order orderID, exactly once. Each order keeps, per transfer, the feed position
// of the last observation applied, committed with the order; an observation at or before it
// (a redelivery, or a stale entry reclaimed late, which would undo a newer one: a reorg's
// removal turned back into a sighting) changes nothing, and the order is announced again in
// case whoever applied it died before announcing. Dust keeps no position, so spam cannot push
// real payments' positions out. The sender's blocklisting matters for final observations only.
//
// Errors are those of change(); a missing order is no error but an orphan.
func (s *Service) ApplyTransfer(ctx context.Context, orderID, position string, t *checkout.Transfer) (*Applied, error) {
	blocked := false
	if t.Kind == checkout.TransferConfirmed {
		var err error
		if blocked, err = s.Store.IsBlocked(ctx, t.Network, t.From); err != nil {
			return nil, err
		}
	}
	key := store.TransferKey(t)
	var a Applied
	rec, events, err := s.change(ctx, orderID, func(rec *store.Record, now time.Time) (step, error) {
		a = Applied{}
		if last := rec.FeedPosition(key); last != "" && store.CompareStreamIDs(position, last) <= 0 {
			if position != last {
				s.log().Info("orders: older observation of a transfer ignored", "order_id", orderID, "kind", t.Kind,
					"tx", t.TxHash, "log_index", t.LogIndex, "id", position, "applied", last)
			}
			return step{announce: true}, nil
		}
		res := s.Rules.Apply(&rec.Order, t, blocked, now)
		a.Dust, a.Orphan = res.Dust, res.Refused
		if res.Refused != "" || (res.Dust && !res.Changed) {
			return step{}, nil // refused: an orphan; dust not final: noise, nothing recorded
		}
		if !res.Dust {
			// Recorded even when nothing changed (a removal of a transfer never seen): what
			// matters is that nothing older is applied after it.
			rec.SetFeedPosition(key, position)
		}
		a.Changed = res.Changed
		// Nothing changed: perhaps applied already by a step that died before announcing it
		// (before positions were kept); announcing is harmless and makes sure of it.
		return step{changes: res.Changes, write: true, announce: !res.Changed}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		// The address was bound but the order never written (its create died): keep the money visible.
		return &Applied{Orphan: "order " + orderID + " was never written"}, nil
	}
	if err != nil {
		return nil, err
	}
	a.Events, a.Status = events, rec.Order.Status
	return &a, nil
}

// Expiry is what Expire did with an order due for its expiry check.
type Expiry struct {
	// Gone: no such order (scheduled by a create that died before writing it).
	Gone bool
	// Expired: the order was settled now (EXPIRED, UNDERPAID) and left the schedule.
	Expired bool
	// Wait: the order is past its expiry but held open, by a transfer still confirming (its
	// settlement normally finishes the order first) or by a removed on-time transfer within
	// its reorg grace window, which ends at Until (zero when no end is known).
	Wait  bool
	Until time.Time
	// At is when the decision was taken; ExpiresAt the order's expiry time (an order found
	// not yet due, through clock skew between replicas, is neither Expired nor Wait nor
	// terminal).
	At, ExpiresAt time.Time
	// Status is the order's status after the check; a terminal one the check did not set
	// was settled already (and is announced again).
	Status checkout.Status
}

// Expire settles the order id if its time is up: EXPIRED with nothing received, UNDERPAID
// with less than the bound. It never touches the expiry schedule except to remove an order it
// settles: rescheduling one that waits is the scanner's call (see Expiry). Errors are those
// of change().
func (s *Service) Expire(ctx context.Context, id string) (*Expiry, error) {
	var x Expiry
	rec, events, err := s.change(ctx, id, func(rec *store.Record, now time.Time) (step, error) {
		x = Expiry{At: now, ExpiresAt: rec.Order.ExpiresAt}
		changes, wait, until := s.Rules.Expire(&rec.Order, now)
		switch {
		case wait:
			x.Wait, x.Until = true, until
			return step{}, nil
		case len(changes) == 0 && rec.Order.Status.Terminal():
			return step{announce: true}, nil // settled already, possibly by a step that died before announcing it
		case len(changes) == 0: // not due yet
			return step{}, nil
		}
		return step{changes: changes, write: true}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return &Expiry{Gone: true}, nil
	}
	if err != nil {
		return nil, err
	}
	x.Expired, x.Status = len(events) > 0, rec.Order.Status
	return &x, nil
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
