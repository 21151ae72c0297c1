package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// ReleaseDue handles up to limit due entries of addresses mode's schedule: a reservation
// whose order is final and whose late-funds window has passed is released (one of an order
// still open, or final more recently, is put back for later), and a transfer record whose
// retention ended is forgotten. It returns how many entries it finished.
//
// The window counts from the latest of the order's expiry, its payment time and its last
// payment sighting or reversal: the order cannot have become final later than a step after
// those, so a pair is never released before its window ends.
func (s *Service) ReleaseDue(ctx context.Context, limit int64) (int, error) {
	now := s.now()
	due, err := s.Store.DueReceive(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	done := 0
	var errs []error
	for _, it := range due {
		var err error
		if it.Order != "" {
			err = s.releaseReservation(ctx, it, now)
		} else {
			err = s.forgetTransfer(ctx, it)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done++
	}
	return done, errors.Join(errs...)
}

func (s *Service) releaseReservation(ctx context.Context, it store.ReceiveItem, now time.Time) error {
	rec, err := s.Store.Order(ctx, it.Order)
	if err == nil {
		window := checkout.DefaultLateWindow
		if m, err := s.Store.Merchant(ctx, rec.MerchantID); err == nil {
			if c, ok := m.Receive[it.Network]; ok { // the reservation's: the order may have switched network
				window = c.Window() // also when switched back to xpub mode: its open pairs keep it
			}
		}
		if !rec.Order.Status.Terminal() {
			return s.Store.RescheduleReceive(ctx, it, now.Add(window))
		}
		if at := finalBound(&rec.Order).Add(window); now.Before(at) {
			return s.Store.RescheduleReceive(ctx, it, at)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	} // no order: its create died after reserving
	if err := s.Store.Release(ctx, it.Network, it.Address, it.Order); err != nil {
		return err
	}
	return s.Store.FinishReceive(ctx, it)
}

// finalBound is the latest moment the order's record says something happened to it.
func finalBound(o *checkout.Order) time.Time {
	t := o.ExpiresAt
	if o.PaidAt != nil && o.PaidAt.After(t) {
		t = *o.PaidAt
	}
	for _, p := range o.Payments {
		if p.FirstSeenAt.After(t) {
			t = p.FirstSeenAt
		}
		if p.RevertedAt != nil && p.RevertedAt.After(t) {
			t = *p.RevertedAt
		}
	}
	return t
}

func (s *Service) forgetTransfer(ctx context.Context, it store.ReceiveItem) error {
	owner, err := s.Store.OrderIDByAddress(ctx, it.Network, it.Address)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if !store.IsMerchantID(owner) {
		owner = ""
	}
	if err := s.Store.ForgetTransfer(ctx, owner, it.Network, it.Address, it.Field); err != nil {
		return err
	}
	return s.Store.FinishReceive(ctx, it)
}

// DefaultReleaseInterval is how often ReleaseWorker looks for due entries.
const DefaultReleaseInterval = 30 * time.Second

// ReleaseWorker runs ReleaseDue every Interval until its context ends. Every edge runs one;
// entries are handled idempotently, so replicas may overlap.
type ReleaseWorker struct {
	Orders   *Service
	Interval time.Duration // default DefaultReleaseInterval
	Log      *slog.Logger
}

// Run works until ctx is done.
func (w *ReleaseWorker) Run(ctx context.Context) error {
	every := w.Interval
	if every <= 0 {
		every = DefaultReleaseInterval
	}
	log := w.Log
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := w.Orders.ReleaseDue(ctx, 500)
			if err != nil && ctx.Err() == nil {
				log.Warn("orders: releasing reservations", "err", fmt.Errorf("release due: %w", err))
			}
			if n < 500 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
