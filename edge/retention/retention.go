// Package retention is the edge's retention worker: it bounds what Redis keeps per order once
// the order is finished (a terminal status, checkout.Status.Terminal) and its windows have
// passed, and trims the shared streams by age. What goes, per key family:
//
//   - the order record: every event but the last, and the webhook delivery records with their
//     attempt logs that are no longer pending, Events after the order's last terminal commit
//     (late funds restart that clock). The document, version, payments, feed positions, last
//     event and every pending delivery stay: GET /v1/orders/{id} answers the same order.
//   - an xpub-mode deposit address: its watch-set entry and its binding to the order, the
//     merchant's late-funds window (per network, default 24h) after that same commit, or
//     Addresses when set.
//   - the change feed: entries older than Changes.
//   - the orphans and anomalies streams: entries older than Records.
//
// The watcher feed is trimmed by the watchers (of what every consumer group acknowledged,
// --feed-retention); idempotency records, rate buckets and replay marks expire by TTL.
//
// Every step is idempotent and touches one Redis slot, so every edge replica runs a worker
// and they may overlap.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// Defaults of the operator flags (edge serve --retain-…).
const (
	// DefaultEvents: a finished order keeps its event history and delivered webhook records
	// 90 days, time to look into a dispute (and for edge export to copy them out).
	DefaultEvents = 90 * 24 * time.Hour
	// DefaultChanges: the change feed is a live hint between edges (each reads its tail; an
	// SSE client resumes from the order's own events, never from this feed), so an hour
	// covers any reader that fell behind (a slow edge, a Redis failover) many times over.
	DefaultChanges = time.Hour
	// DefaultRecords: orphan transfers and watcher anomalies are operator records of money
	// that matched nothing; 90 days, like the order history.
	DefaultRecords = 90 * 24 * time.Hour
	// DefaultInterval is how often the worker looks for due work.
	DefaultInterval = 30 * time.Second
)

// batch is how many schedule entries one pass takes.
const batch = 500

// pendingRecheck: an order trimmed while deliveries were pending is trimmed again this much
// later, so they go too once delivered (or failed).
const pendingRecheck = 24 * time.Hour

// Worker applies the retention policy until its context ends. A negative window turns that
// part off (kept forever); zero Interval means DefaultInterval.
type Worker struct {
	Store *store.Store
	// Events: how long a finished order keeps its events and finished webhook records.
	Events time.Duration
	// Addresses: how long a finished xpub-mode order's deposit address stays watched and
	// bound; 0 = the merchant's late-funds window for the order's network.
	Addresses time.Duration
	// Changes: how long change feed entries are kept.
	Changes time.Duration
	// Records: how long orphans and anomalies entries are kept.
	Records  time.Duration
	Interval time.Duration
	Log      *slog.Logger
	Now      func() time.Time // default time.Now
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

// Run works until ctx is done. Errors are logged and retried at the next pass.
func (w *Worker) Run(ctx context.Context) error {
	every := w.Interval
	if every <= 0 {
		every = DefaultInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := w.Pass(ctx); err != nil && ctx.Err() == nil {
			w.log().Warn("retention: pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Stats counts what one pass did.
type Stats struct {
	Orders    int   // schedule entries handled
	Trimmed   int   // orders trimmed
	Released  int   // deposit addresses released
	Changes   int64 // change feed entries dropped
	Records   int64 // orphans and anomalies entries dropped
	Conflicts int   // orders that changed while being looked at (looked at again soon)
}

// Pass does all the work due now: the orders due on the schedule (in batches until none is
// left) and the stream trims.
func (w *Worker) Pass(ctx context.Context) (Stats, error) {
	var st Stats
	var errs []error
	now := w.now()
	if w.Changes >= 0 {
		n, err := w.Store.TrimChanges(ctx, now.Add(-w.Changes))
		st.Changes = n
		errs = append(errs, err)
	}
	if w.Records >= 0 {
		n, err := w.Store.TrimRecords(ctx, now.Add(-w.Records))
		st.Records = n
		errs = append(errs, err)
	}
	for ctx.Err() == nil {
		due, err := w.Store.DueRetention(ctx, now, batch)
		if err != nil {
			errs = append(errs, err)
			break
		}
		failed := 0
		for _, it := range due {
			if err := w.order(ctx, it, now, &st); err != nil {
				errs = append(errs, err)
				failed++
			}
			st.Orders++
		}
		if len(due) < batch || failed > 0 { // failures stay due: retried at the next pass
			break
		}
	}
	return st, errors.Join(errs...)
}

// order applies the policy to one scheduled order and moves its entry to its next due time
// (or drops it when nothing is left to do).
func (w *Worker) order(ctx context.Context, it store.RetainItem, now time.Time, st *Stats) error {
	rs, err := w.Store.RetentionState(ctx, it.OrderID)
	if errors.Is(err, store.ErrNotFound) {
		return w.Store.RetainNext(ctx, it, time.Time{})
	}
	if err != nil {
		return err
	}
	if !rs.Order.Status.Terminal() {
		// Open (an entry from a backfill): its terminal commit schedules it again.
		return w.Store.RetainNext(ctx, it, time.Time{})
	}
	var next time.Time
	later := func(at time.Time) {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	if w.Events >= 0 && (rs.TrimmedAt.Before(rs.FinishedAt) || rs.Retrim) {
		if due := rs.FinishedAt.Add(w.Events); now.Before(due) {
			later(due)
		} else if _, pending, err := w.Store.TrimOrder(ctx, it.OrderID, rs.Version, now); errors.Is(err, store.ErrConflict) {
			st.Conflicts++
			later(now.Add(time.Second)) // it changed (late funds?): look again at the next pass
		} else if err != nil {
			return err
		} else {
			st.Trimmed++
			if pending > 0 { // never trimmed while pending; retried for at most ~3 days
				later(now.Add(pendingRecheck))
			}
		}
	}
	// The deposit address, and those a network switch left behind: each is the order's until
	// its window ends (ReleaseAddress leaves a merchant's own address alone: it is not bound
	// to the order).
	deposits := []checkout.PreviousAddress{{Network: rs.Order.Network, Address: rs.Order.Address}}
	deposits = append(deposits, rs.Order.PreviousAddresses...)
	for _, d := range deposits {
		if w.Addresses < 0 || d.Address == "" {
			continue
		}
		window := w.Addresses
		if window == 0 {
			window = w.lateWindow(ctx, rs.MerchantID, d.Network)
		}
		if due := rs.FinishedAt.Add(window); now.Before(due) {
			later(due)
		} else if ok, err := w.Store.ReleaseAddress(ctx, it.OrderID, d.Network, d.Address); err != nil {
			return err
		} else if ok {
			st.Released++
		}
	}
	if err := w.Store.RetainNext(ctx, it, next); err != nil {
		return fmt.Errorf("order %s: %w", it.OrderID, err)
	}
	return nil
}

// lateWindow is the merchant's late-funds window for the network (the default when the
// merchant is gone or has no setting).
func (w *Worker) lateWindow(ctx context.Context, merchantID string, n checkout.Network) time.Duration {
	if m, err := w.Store.Merchant(ctx, merchantID); err == nil {
		if c, ok := m.Receive[n]; ok {
			return c.Window()
		}
	}
	return checkout.DefaultLateWindow
}
