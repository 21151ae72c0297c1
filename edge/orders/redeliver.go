package orders

import (
	"context"
	"errors"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// Redeliver queues the webhook delivery of the merchant's order's event eventID again, due
// now, whatever its status (POST /v1/orders/{id}/webhooks/{event_id}/redeliver and the
// dashboard's Redeliver button). Errors: 404 resource_missing (unknown or another merchant's
// order, or no such delivery: unknown event, or one retention dropped), 409 delivery_busy
// (an attempt is being made right now).
func (s *Service) Redeliver(ctx context.Context, merchantID, orderID, eventID string) (*store.Delivery, error) {
	if _, err := s.Get(ctx, merchantID, orderID); err != nil {
		return nil, err
	}
	// Due on the wall clock, which the dispatchers read (not the service's clock).
	d, err := s.Store.Redeliver(ctx, orderID, eventID, time.Now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, checkout.NotFound("webhook event")
	}
	if errors.Is(err, store.ErrConflict) {
		return nil, checkout.NewError(checkout.CodeDeliveryBusy, "", "the delivery is being attempted right now; retry in a moment")
	}
	return d, err
}
