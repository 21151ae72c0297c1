package orders

// Network switching: the customer moves an open order to another network on the checkout
// (POST /v1/checkout/{id}/network), when the merchant allows it and nothing at all has been
// received. The order gets a deposit on the other network (xpub mode: an address derived for
// it; addresses mode: a reserved pair on one of the merchant's addresses), and the one it
// leaves stays bound to it and watched: a transfer still sent there is credited to the order
// as late funds (checkout.Rules), never lost. A switch back reuses the address the order held
// on that network, so an order holds at most one address per network.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
)

// switchSettings resolves a new order's network switching: the request's
// allow_network_switch, else the merchant's default; and, when allowed, the networks the
// merchant accepts now (the order's own among them), which the checkout offers.
func switchSettings(m *checkout.Merchant, p *CreateParams) (bool, []checkout.Network) {
	allow := m.AllowNetworkSwitch
	if p.AllowNetworkSwitch != nil {
		allow = *p.AllowNetworkSwitch
	}
	if !allow {
		return false, nil
	}
	var nets []checkout.Network
	for _, n := range checkout.Networks {
		if n == p.Network || accepts(m, n) {
			nets = append(nets, n)
		}
	}
	return true, nets
}

// accepts reports whether the merchant can take payments on n: an xpub, or addresses mode.
func accepts(m *checkout.Merchant, n checkout.Network) bool {
	return m.ReceiveFor(n).Mode == checkout.ReceiveAddresses || m.XPubs[n] != ""
}

// SwitchNetwork moves the order id to network `to` for its customer and returns it. Switching
// to the network the order is on already returns it unchanged (a retried click). Errors (all
// *checkout.Error but those of the store): 404 resource_missing; 409
// network_switch_not_allowed (the order does not allow it); 409 order_not_switchable
// (something was received, or the order is terminal or past its expiry); 400
// network_not_enabled (the merchant does not accept `to`, or did not when the order was
// made); 409 pay_amounts_exhausted (addresses mode: no free pair on `to`).
func (s *Service) SwitchNetwork(ctx context.Context, id string, to checkout.Network) (*checkout.Order, error) {
	if !ValidOrderID(id) {
		return nil, checkout.NotFound("order")
	}
	for attempt := 0; attempt < CommitAttempts; attempt++ {
		rec, err := s.Lookup(ctx, id)
		if err != nil {
			return nil, err
		}
		o := &rec.Order
		if o.Network == to {
			// Nothing to do; a switch that died before announcing or indexing is finished here.
			if len(o.PreviousAddresses) > 0 && o.AllowNetworkSwitch {
				if err := s.finishSwitch(ctx, rec, o.PreviousAddresses[len(o.PreviousAddresses)-1].Network); err != nil {
					return nil, err
				}
			}
			return o, nil
		}
		now := s.now()
		if err := switchRefused(o.SwitchRefusal(now), o); err != nil {
			return nil, err
		}
		m, err := s.Store.Merchant(ctx, rec.MerchantID)
		if err != nil {
			return nil, fmt.Errorf("order %s merchant: %w", id, err)
		}
		if !slices.Contains(o.SwitchNetworks, to) || !accepts(m, to) {
			return nil, checkout.Errorf(checkout.CodeNetworkNotEnabled, "network",
				"this merchant does not accept %s payments for this order", to)
		}
		d, err := s.depositOn(ctx, m, o, to, now)
		if err != nil {
			return nil, err
		}
		from := o.Deposit()
		change := o.SwitchTo(d, now)
		events := checkout.NewEvents(o, []checkout.Change{change}, now, ids.Event)
		_, err = s.Store.SwitchNetwork(ctx, rec, from, &events[0])
		var refused *store.SwitchRefusedError
		switch {
		case errors.Is(err, store.ErrConflict):
			continue // changed under us (a transfer, a concurrent switch): decide again
		case errors.As(err, &refused):
			// The stored order disagrees with the one decided on: reload and decide again,
			// which names the refusal (or finds the switch done).
			continue
		case err != nil:
			return nil, err
		}
		s.log().Info("orders: network switched", "order_id", id, "from", from.Network, "to", to,
			"address", d.Address)
		if err := s.finishSwitch(ctx, rec, from.Network); err != nil {
			return nil, err
		}
		return o, nil
	}
	return nil, fmt.Errorf("order %s kept changing: %w", id, store.ErrConflict)
}

// finishSwitch files the switched order under its new network in the merchant's index and
// takes it off the old one's. A failure leaves the switch unfinished: the next switch
// request (any click, to the order's current network included) finishes it.
func (s *Service) finishSwitch(ctx context.Context, rec *store.Record, from checkout.Network) error {
	if err := s.index(ctx, rec); err != nil {
		return err
	}
	if err := s.Store.UnindexNetwork(ctx, rec.MerchantID, &rec.Order, from); err != nil {
		return fmt.Errorf("order %s switched: %w: %v", rec.Order.ID, store.ErrUnannounced, err)
	}
	return nil
}

// switchRefused is the API error of a refusal ("" is none).
func switchRefused(r checkout.SwitchRefusal, o *checkout.Order) error {
	switch r {
	case "":
		return nil
	case checkout.SwitchNotAllowed:
		return checkout.NewError(checkout.CodeNetworkSwitchNotAllowed, "network",
			"the merchant does not let this order change network; pay on "+string(o.Network))
	case checkout.SwitchReceived:
		return checkout.NewError(checkout.CodeOrderNotSwitchable, "network",
			"a payment was already seen for this order on "+string(o.Network)+"; it can no longer change network")
	}
	return checkout.NewError(checkout.CodeOrderNotSwitchable, "network",
		"the order is "+string(o.Status)+" or past its expiry; it can no longer change network")
}

// depositOn returns the order's deposit on network n: the address it held there before a
// switch (kept bound and, in addresses mode, reserved), else a new one, bound or reserved
// before it is returned so the address is watched before any customer sees it.
func (s *Service) depositOn(ctx context.Context, m *checkout.Merchant, o *checkout.Order, n checkout.Network, now time.Time) (checkout.Deposit, error) {
	cfg := m.ReceiveFor(n)
	if prev, ok := o.Previous(n); ok {
		d := checkout.Deposit{Network: n, Address: prev.Address, PayAmount: prev.PayAmount, DerivationPath: prev.DerivationPath}
		if prev.DerivationPath == "" {
			// A reservation (addresses mode derives nothing): make sure it is still held;
			// Reserve returns the order's own while it is.
			pay, err := s.Store.Reserve(ctx, n, prev.Address, o.ID, o.Amount, cfg.Offset(), o.MinPaid(), o.ExpiresAt.Add(cfg.Window()))
			if err != nil {
				return checkout.Deposit{}, fmt.Errorf("order %s: keep reservation on %s: %w", o.ID, prev.Address, err)
			}
			d.PayAmount = pay
			return d, nil
		}
		return d, s.Store.BindDepositAddress(ctx, n, prev.Address, o.ID)
	}
	if cfg.Mode == checkout.ReceiveAddresses {
		return s.reserveOn(ctx, m, o, n, cfg, now)
	}
	key, err := s.accountKey(m.XPubs[n])
	if err != nil {
		return checkout.Deposit{}, fmt.Errorf("merchant %s %s xpub: %w", m.ID, n, err)
	}
	idx, err := s.Store.SwitchIndex(ctx, m.ID, key.Fingerprint(), o.ID, n, now)
	if err != nil {
		return checkout.Deposit{}, err
	}
	addr, path, err := key.Address(n, idx)
	for errors.Is(err, deposit.ErrInvalidChild) {
		if idx, err = s.Store.SkipSwitchIndex(ctx, m.ID, key.Fingerprint(), o.ID, n, idx); err != nil {
			return checkout.Deposit{}, err
		}
		addr, path, err = key.Address(n, idx)
	}
	if err != nil {
		return checkout.Deposit{}, fmt.Errorf("derive deposit address: %w", err)
	}
	if err := s.Store.BindDepositAddress(ctx, n, addr, o.ID); err != nil {
		return checkout.Deposit{}, err
	}
	return checkout.Deposit{Network: n, Address: addr, PayAmount: o.Amount, DerivationPath: path}, nil
}

// reserveOn reserves a pair for the order on one of the merchant's addresses on n, spread
// as creation spreads them (by a claimed index, so retries start on the same address).
func (s *Service) reserveOn(ctx context.Context, m *checkout.Merchant, o *checkout.Order, n checkout.Network, cfg checkout.ReceiveConfig, now time.Time) (checkout.Deposit, error) {
	idx, err := s.Store.SwitchIndex(ctx, m.ID, receiveCounter(n), o.ID, n, now)
	if err != nil {
		return checkout.Deposit{}, err
	}
	k := len(cfg.Addresses)
	for i := range k {
		addr := cfg.Addresses[(int(idx%uint32(k))+i)%k]
		pay, err := s.Store.Reserve(ctx, n, addr, o.ID, o.Amount, cfg.Offset(), o.MinPaid(), o.ExpiresAt.Add(cfg.Window()))
		if errors.Is(err, store.ErrPairsExhausted) {
			continue
		}
		if err != nil {
			return checkout.Deposit{}, err
		}
		return checkout.Deposit{Network: n, Address: addr, PayAmount: pay}, nil
	}
	return checkout.Deposit{}, checkout.Errorf(checkout.CodePayAmountsExhausted, "network",
		"every pay_amount from %s to %s USDT is reserved on this merchant's %s addresses; retry later or pay on %s",
		o.Amount, o.Amount+cfg.Offset(), n, o.Network)
}
