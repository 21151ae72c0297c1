// Package expiry is the scanner of the expiry schedule: it hands each order whose time is up
// to the one writer of order state, orders.Service.Expire, which turns it into EXPIRED or
// UNDERPAID, and reschedules the orders still held open. The schedule is a Redis sorted set
// (store.DueOrders), so expiry survives restarts and runs on every edge replica at once: the
// status change is a compare-and-set, so two replicas never both apply it.
package expiry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/orders"
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

	once   sync.Once
	orders *orders.Service // the writer the orders are expired through (built from the fields above)
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
	w.once.Do(func() { w.orders = &orders.Service{Store: w.Store, Now: w.Now, Rules: w.Rules, Log: w.log()} })
	x, err := w.orders.Expire(ctx, id)
	switch {
	case err != nil:
		return err
	case x.Gone:
		// Scheduled by a create that died before writing the order: nothing to expire.
		return w.Store.Unschedule(ctx, id)
	case x.Wait:
		// Waiting for a confirming transfer (its settlement normally finishes the order
		// first), or for a removed one's re-inclusion: checked again when the grace
		// window ends, and at least every Recheck.
		recheck := w.Recheck
		if recheck <= 0 {
			recheck = DefaultRecheck
		}
		at := x.At.Add(recheck)
		if !x.Until.IsZero() && x.Until.Before(at) {
			at = x.Until
		}
		return w.Store.Reschedule(ctx, id, at)
	case x.Expired: // orders took it off the schedule
		w.log().Info("order expired", "order_id", id, "status", x.Status)
		return nil
	case x.Status.Terminal(): // settled already (orders announced it again)
		return w.Store.Unschedule(ctx, id)
	default: // not due yet (clock skew between replicas)
		return w.Store.Reschedule(ctx, id, x.ExpiresAt)
	}
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
