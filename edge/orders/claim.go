package orders

// Claims by tx hash (addresses mode): a customer or merchant names the transaction that paid
// an order whose transfer matched no reservation (an exchange deducted a fee, a wrong
// amount, a payment after the reservation was released). The transfer must be one the
// watcher recorded to the order's address, credited to no order, first seen after the order
// was created; the store credits it to the order atomically with that check (the
// transfer's "credited to" record in the address's slot), then the order takes it like any
// observation (ApplyTransfer: tolerance, UNDERPAID, late funds). A crash after the credit
// and before the order commit is finished by retrying the claim (it answers "already" and
// applies again, idempotently) or by the transfer's next feed observation, which follows
// the record to this order. Every claim, accepted or refused, is an order event.

import (
	"context"
	"errors"
	"fmt"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// ClaimParams name the transfer claimed.
type ClaimParams struct {
	TxHash   string // 0x + 64 hex digits
	LogIndex *uint  // optional: one log of a transaction with several transfers to the address
}

// Claim credits the transfer p names to the order rec and returns the order afterwards.
// Refusals are API errors: 422 claim_refused (no such transfer recorded to the order's
// address, first seen before the order, removed by a reorg, the order is not in addresses
// mode), 409 transfer_already_credited (another order has it). Either way the claim is
// recorded as an event of the order (claim.accepted or claim.refused).
func (s *Service) Claim(ctx context.Context, rec *store.Record, p ClaimParams) (*checkout.Order, error) {
	tx, ok := checkout.ParseTxHash(p.TxHash)
	if !ok {
		return nil, checkout.NewError(checkout.CodeClaimRefused, "tx_hash", "tx_hash must be 64 hex digits, with or without 0x")
	}
	o := &rec.Order
	detail := &checkout.Payment{TxHash: tx}
	if p.LogIndex != nil {
		detail.LogIndex = *p.LogIndex
	}
	owner, err := s.Store.OrderIDByAddress(ctx, o.Network, o.Address)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if owner != rec.MerchantID {
		return nil, s.refuseClaim(ctx, o.ID, detail, checkout.CodeClaimRefused,
			"this order has its own deposit address: every transfer to it is credited automatically")
	}
	out, err := s.Store.ClaimTransfer(ctx, o.Network, o.Address, o.ID, tx, p.LogIndex, o.CreatedAt)
	if err != nil {
		return nil, err
	}
	switch out.Result {
	case "claimed", "already":
	case "other":
		return nil, s.refuseClaim(ctx, o.ID, detail, checkout.CodeTransferCredited,
			"this transfer is already credited to another order")
	case "early":
		return nil, s.refuseClaim(ctx, o.ID, detail, checkout.CodeClaimRefused,
			"this transfer was seen before the order was created: it cannot pay it")
	case "removed":
		return nil, s.refuseClaim(ctx, o.ID, detail, checkout.CodeClaimRefused,
			"this transfer was removed from the chain by a reorganisation")
	default:
		return nil, s.refuseClaim(ctx, o.ID, detail, checkout.CodeClaimRefused,
			fmt.Sprintf("no USDT transfer of this transaction to %s has been seen; if it was just sent, retry in a minute", o.Address))
	}
	t := out.Transfer
	accepted := &checkout.Payment{TxHash: t.TxHash, LogIndex: t.LogIndex, From: t.From, Amount: t.Amount, BlockNumber: t.BlockNumber}
	if err := s.recordClaim(ctx, o.ID, checkout.EventClaimAccepted, accepted, ""); err != nil {
		return nil, err
	}
	a, err := s.ApplyTransfer(ctx, o.ID, out.Position, &t)
	if err != nil {
		return nil, err
	}
	if a.Orphan != "" {
		// The order refused it (its payment cap): the money stays visible in the orphans
		// record, and the transfer stays this order's (no other order may take it).
		if err := s.Store.RecordOrphan(ctx, o.Network, out.Position, a.Orphan, &t); err != nil {
			return nil, err
		}
		return nil, checkout.NewError(checkout.CodeClaimRefused, "tx_hash", a.Orphan)
	}
	if err := s.Store.UnindexUnmatched(ctx, rec.MerchantID, o.Network, o.Address, t.TxHash, t.LogIndex); err != nil {
		s.log().Warn("orders: claimed transfer left on the unmatched list", "order_id", o.ID, "err", err)
	}
	after, err := s.Store.Order(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return &after.Order, nil
}

// refuseClaim records the refusal as an order event and returns the API error.
func (s *Service) refuseClaim(ctx context.Context, id string, p *checkout.Payment, code checkout.Code, why string) error {
	if err := s.recordClaim(ctx, id, checkout.EventClaimRefused, p, why); err != nil {
		return err
	}
	return checkout.NewError(code, "tx_hash", why)
}

// recordClaim appends a claim event to the order (its status unchanged).
func (s *Service) recordClaim(ctx context.Context, id string, typ checkout.EventType, p *checkout.Payment, note string) error {
	_, _, err := s.change(ctx, id, func(*store.Record, time.Time) (step, error) {
		return step{changes: []checkout.Change{{Type: typ, Payment: p, Note: note}}, write: true}, nil
	})
	if err != nil {
		return fmt.Errorf("record claim on %s: %w", id, err)
	}
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
