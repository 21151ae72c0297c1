package orders

// Creating an order in addresses mode: the order's address is one of the merchant's own
// receive addresses (spread over them by the claim's counter) and its pay_amount the amount
// plus the smallest free offset on that address, so (address, pay_amount) tells its payment
// apart from every other open order's.

import (
	"context"
	"errors"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
)

// receiveCounter names the per-merchant counter that spreads addresses-mode orders over
// the network's addresses (the claim's index, as xpub mode's derivation index).
func receiveCounter(n checkout.Network) string { return "recv-" + string(n) }

func (s *Service) createReserved(ctx context.Context, m *checkout.Merchant, p *CreateParams, cfg checkout.ReceiveConfig) (*checkout.Order, bool, error) {
	// A replay whose first request is still writing finds its reservation again on the same
	// first address (Reserve is idempotent).
	claim, prior, err := s.claim(ctx, m.ID, receiveCounter(p.Network), p)
	if err != nil || prior != nil {
		return prior, prior != nil, err
	}
	created := claim.CreatedAt.UTC().Truncate(time.Second)
	expires := created.Add(m.TTL())
	minPaid := checkout.MinPaid(p.Amount, p.Tolerance)
	n := len(cfg.Addresses)
	for i := range n {
		addr := cfg.Addresses[(int(claim.Index%uint32(n))+i)%n]
		pay, err := s.Store.Reserve(ctx, p.Network, addr, claim.OrderID, p.Amount, cfg.Offset(), minPaid,
			expires.Add(cfg.Window()))
		if errors.Is(err, store.ErrPairsExhausted) {
			continue // this address is full at this amount: try the next
		}
		if err != nil {
			return nil, false, err
		}
		o := &checkout.Order{
			ID: claim.OrderID, Status: checkout.StatusPending, Amount: p.Amount,
			Currency: checkout.Currency, Network: p.Network, Address: addr, PayAmount: pay,
			ReceiveMode:      checkout.ReceiveAddresses,
			TolerancePercent: p.Tolerance, Description: p.Description, Metadata: p.Metadata,
			ReturnURL: p.ReturnURL, WebhookURL: p.WebhookURL,
			PaymentURL: strings.TrimRight(s.PublicURL, "/") + "/pay/" + claim.OrderID,
			DeepLink:   checkout.DeepLink(claim.OrderID),
			Payments:   []checkout.Payment{}, CreatedAt: created, ExpiresAt: expires,
		}
		o.AllowNetworkSwitch, o.SwitchNetworks = switchSettings(m, p)
		ev := checkout.Event{ID: ids.Event(), Type: checkout.EventOrderCreated, CreatedAt: created, Order: *o}
		stored, _, err := s.Store.CreateReservedOrder(ctx, o, m.ID, &ev)
		if err != nil {
			return nil, false, err
		}
		return stored, claim.Replayed, nil
	}
	if !claim.Replayed {
		if err := s.Store.ForgetClaim(ctx, m.ID, p.IdempotencyKey, claim.OrderID); err != nil {
			s.log().Warn("orders: forgetting the idempotency record of a refused create", "err", err)
		}
	}
	return nil, false, checkout.Errorf(checkout.CodePayAmountsExhausted, "amount",
		"every pay_amount from %s to %s USDT is reserved by open orders on this merchant's %s addresses; retry later, or ask the operator to add receive addresses or raise the offset cap",
		p.Amount, p.Amount+cfg.Offset(), p.Network)
}
