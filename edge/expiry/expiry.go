// Package expiry turns orders whose time is up into EXPIRED or UNDERPAID. The schedule is a
// Redis sorted set (store.DueOrders), so expiry survives restarts and runs on every edge
// replica at once: the status change is a compare-and-set, so two replicas never both apply it.
package expiry

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

// Defaults of Worker's fields.
const (
	DefaultInterval = time.Second
	DefaultBatch    = 100
	// DefaultRecheck is when an expired order still waiting for a confirming transfer is looked
	// at again (the transfer's own settlement normally finishes it first).
	DefaultRecheck = time.Minute
)

// Worker expires due orders.
type Worker struct {
	Store    *store.Store
	Now      func() time.Time // default time.Now
	Interval time.Duration    // between scans of the schedule; default DefaultInterval
	Batch    int64            // orders per scan; default DefaultBatch
	Recheck  time.Duration    // default DefaultRecheck
	// Rules are the status rules' settings (the reorg grace window); the same as the
	// settlement consumers'. Zero: the defaults.
	Rules checkout.Rules
	Log   *slog.Logger // default slog.Default()
}

// Run expires due orders every Interval until ctx is done. Errors are logged and retried at
// the next tick; it returns nil when ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := w.Tick(ctx); err != nil && ctx.Err() == nil {
			w.log().Error("expiry scan failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick processes the orders due now and returns how many it looked at.
func (w *Worker) Tick(ctx context.Context) (int, error) {
	batch := w.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	due, err := w.Store.DueOrders(ctx, w.now(), batch)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, id := range due {
		if err := w.expire(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("expire %s: %w", id, err))
		}
	}
	return len(due), errors.Join(errs...)
}

func (w *Worker) expire(ctx context.Context, id string) error {
	for attempt := 0; attempt < 5; attempt++ {
		rec, err := w.Store.Order(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			// Scheduled by a create that died before writing the order: nothing to expire.
			return w.Store.Unschedule(ctx, id)
		}
		if err != nil {
			return err
		}
		now := w.now()
		changes, wait, until := w.Rules.Expire(&rec.Order, now)
		switch {
		case wait:
			// Waiting for a confirming transfer (its settlement normally finishes the order
			// first), or for a removed one's re-inclusion: checked again when the grace
			// window ends, and at least every Recheck.
			recheck := w.Recheck
			if recheck <= 0 {
				recheck = DefaultRecheck
			}
			at := now.Add(recheck)
			if !until.IsZero() && until.Before(at) {
				at = until
			}
			return w.Store.Reschedule(ctx, id, at)
		case len(changes) == 0 && rec.Order.Status.Terminal():
			// Settled already, possibly by a step that died before announcing it.
			if err := w.Store.Announce(ctx, id); err != nil {
				return err
			}
			return w.Store.Unschedule(ctx, id)
		case len(changes) == 0: // not due yet (clock skew between replicas)
			return w.Store.Reschedule(ctx, id, rec.Order.ExpiresAt)
		}
		_, err = w.Store.CommitOrder(ctx, rec, checkout.NewEvents(&rec.Order, changes, now, ids.Event))
		if errors.Is(err, store.ErrConflict) {
			continue // changed under us (a transfer settled): decide again
		}
		if err != nil {
			return err
		}
		w.log().Info("order expired", "order_id", id, "status", rec.Order.Status)
		return w.Store.Unschedule(ctx, id)
	}
	return fmt.Errorf("order kept changing: %w", store.ErrConflict)
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}
