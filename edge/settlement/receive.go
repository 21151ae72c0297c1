package settlement

// Transfers to a merchant's receive address (addresses mode). The address names a merchant,
// not an order: the store matches the transfer to the reservation it pays (its first
// observation only; later ones follow whichever order it was credited to, by that match or
// by a claim) in one script on the address's slot, which also keeps the transfer's
// "credited to" record, so a transfer credits at most one order. One that matches nothing is
// an unmatched transfer: recorded, listed for the merchant (GET /v1/transfers), claimable,
// and announced once by the merchant-level webhook transfer.unmatched.

import (
	"context"
	"log/slog"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
)

func (c *Consumer) applyReceived(ctx context.Context, e store.FeedEntry, merchantID string) error {
	t := &e.Transfer
	threshold := c.Rules.DustThreshold
	if threshold <= 0 {
		threshold = checkout.DefaultDustThreshold
	}
	m, err := c.Store.MatchTransfer(ctx, e.ID, t, t.Amount < threshold, c.Now())
	if err != nil {
		return err
	}
	switch m.State {
	case "stale", "dust":
		return nil // an older observation, or noise anyone can send: nothing to record
	case "unmatched":
		if err := c.Store.IndexUnmatched(ctx, merchantID, t, m.FirstSeen); err != nil {
			return err
		}
		// The merchant's transfer.unmatched webhook, queued once per transfer: at every
		// unmatched observation, so a consumer that died after the match still queues it.
		r := &checkout.ReceivedTransfer{Status: checkout.TransferUnmatched, Network: t.Network, Address: t.To,
			TxHash: t.TxHash, LogIndex: t.LogIndex, From: t.From, Amount: t.Amount, BlockNumber: t.BlockNumber,
			Confirmations: t.Confirmations, Kind: t.Kind, FirstSeenAt: m.FirstSeen}
		if _, err := c.Store.QueueTransferNotice(ctx, merchantID, checkout.EventTransferUnmatched, r, ids.Event(), c.Now()); err != nil {
			return err
		}
		if m.New {
			c.Log.Warn("settlement: transfer to a receive address matches no order", "network", c.Network,
				"merchant_id", merchantID, "to", t.To, "tx", t.TxHash, "amount", t.Amount.String())
			if c.OnUnmatched != nil {
				c.OnUnmatched(merchantID, t)
			}
		}
		return nil
	}
	a, err := c.orders.ApplyTransfer(ctx, m.OrderID, e.ID, t)
	if err != nil {
		return err
	}
	if a.Orphan != "" {
		c.Log.Warn("settlement: transfer credited to no order, parked in orphans", "network", c.Network,
			"order_id", m.OrderID, "tx", t.TxHash, "reason", a.Orphan)
		return c.Store.RecordOrphan(ctx, c.Network, e.ID, a.Orphan, t)
	}
	if a.Changed {
		c.Log.Log(ctx, slog.LevelInfo, "settlement: transfer applied", "order_id", m.OrderID, "kind", t.Kind,
			"tx", t.TxHash, "log_index", t.LogIndex, "amount", t.Amount.String(), "status", a.Status, "matched", m.New)
		if c.OnChange != nil {
			c.OnChange(m.OrderID, a.Events)
		}
	}
	return nil
}
