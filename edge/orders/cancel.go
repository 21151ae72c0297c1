package orders

import (
	"context"
	"errors"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// errNotMine: the order is another merchant's; answered as not found so ids cannot be probed.
var errNotMine = checkout.NotFound("order")

// Cancel cancels the merchant's order (POST /v1/orders/{id}/cancel): allowed while it is
// PENDING with nothing received (checkout.Rules.Cancel), recorded with an order.canceled
// event and webhook. It goes through the same compare-and-set step as every other change, so
// a transfer arriving at the same moment either lands first (the cancel is refused) or after
// (it is late funds on the canceled order, recorded, never lost). Canceling a canceled order
// returns it unchanged. Errors: 404 resource_missing (unknown or another merchant's order),
// 409 order_not_cancelable, and those of the change step.
func (s *Service) Cancel(ctx context.Context, merchantID, id string) (*checkout.Order, error) {
	if !ValidOrderID(id) {
		return nil, checkout.NotFound("order")
	}
	rec, _, err := s.change(ctx, id, func(rec *store.Record, _ time.Time) (step, error) {
		if rec.MerchantID != merchantID {
			return step{}, errNotMine
		}
		was := rec.Order.Status
		changes, ok := s.Rules.Cancel(&rec.Order)
		switch {
		case !ok:
			msg := "the order is " + string(was) + "; only a PENDING order with nothing received can be canceled"
			if !was.Terminal() {
				msg = "funds were received for this order; it can no longer be canceled"
			}
			return step{}, checkout.NewError(checkout.CodeOrderNotCancelable, "", msg)
		case len(changes) == 0:
			return step{announce: true}, nil // canceled already, perhaps by a step that died before announcing
		}
		return step{changes: changes, write: true}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, checkout.NotFound("order")
	}
	if err != nil {
		return nil, err
	}
	return &rec.Order, nil
}
