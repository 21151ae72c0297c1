package merchants

import (
	"context"
	"errors"
	"fmt"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/store"
)

// ReceiveParams choose how a merchant receives on one network.
type ReceiveParams struct {
	ID      string // merchant id (required)
	Network string // ERC20 or TRC20 (required)
	// Mode is "xpub" (a derived address per order; the merchant needs an xpub for the
	// network) or "addresses" (the merchant's own watch-only Addresses, shared by orders).
	Mode string
	// Addresses replace the list addresses mode spreads orders over (network format; ≤
	// MaxReceiveAddresses). Empty with mode addresses keeps the current list.
	Addresses []string
	// MaxOffset caps what is added to an amount to make a pair unique (a USDT decimal, at
	// least 0.000001, at most 1); "" keeps the current cap (default 0.01).
	MaxOffset string
	// LateWindow: how long a pair stays reserved after its order is final, 1m to 720h;
	// 0 keeps the current window (default 24h).
	LateWindow time.Duration
}

// ReceiveSet is SetReceive's result: the network's receive settings as stored.
type ReceiveSet struct {
	MerchantID string                 `json:"merchant_id"`
	Network    checkout.Network       `json:"network"`
	Receive    checkout.ReceiveConfig `json:"receive"`
}

// maxOffsetLimit bounds the offset cap: beyond it pay_amount stops looking like the price.
const maxOffsetLimit = checkout.Unit

// SetReceive sets a merchant network's receive mode. Addresses are validated (TRON
// base58check, EIP-55) and claimed for the merchant across every deployment on the Redis;
// one owned by another merchant is an error wrapping store.ErrAddressOwned. Addresses from
// an earlier list stay the merchant's and stay watched, so orders open on them, and late
// funds, still settle; switching mode changes only new orders.
func SetReceive(ctx context.Context, st Store, p ReceiveParams) (*ReceiveSet, error) {
	if _, err := load(ctx, st, p.ID); err != nil {
		return nil, err
	}
	n, err := checkout.ParseNetwork(p.Network)
	if err != nil {
		return nil, invalid("network", "%v", err)
	}
	mode := checkout.ReceiveMode(p.Mode)
	switch mode {
	case checkout.ReceiveXPub:
		if len(p.Addresses) > 0 {
			return nil, invalid("address", "addresses are for mode addresses")
		}
	case checkout.ReceiveAddresses:
	default:
		return nil, invalid("mode", "must be xpub or addresses")
	}
	addrs, err := receiveAddresses(n, p.Addresses)
	if err != nil {
		return nil, err
	}
	var offset checkout.Amount
	if p.MaxOffset != "" {
		if offset, err = checkout.ParseAmount(p.MaxOffset); err != nil || offset < 1 || offset > maxOffsetLimit {
			return nil, invalid("max_offset", "must be a USDT amount from 0.000001 to %s", maxOffsetLimit)
		}
	}
	if p.LateWindow != 0 && (p.LateWindow < time.Minute || p.LateWindow > 720*time.Hour) {
		return nil, invalid("late_window", "must be from 1m to 720h")
	}
	// Claimed before the merchant record names them: a claim is the merchant's for good (as
	// are addresses of an earlier list), so one left by a failure below harms nothing.
	for _, a := range addrs {
		if err := st.BindReceiveAddress(ctx, p.ID, n, a); err != nil {
			if errors.Is(err, store.ErrAddressOwned) {
				return nil, fmt.Errorf("set receive: %w", err)
			}
			return nil, err
		}
	}
	var cfg checkout.ReceiveConfig
	// What the change keeps of the current configuration is read inside it, so a concurrent
	// change of another field is kept.
	_, err = st.UpdateMerchant(ctx, p.ID, func(m *checkout.Merchant) error {
		cfg = m.Receive[n]
		switch mode {
		case checkout.ReceiveXPub:
			if m.XPubs[n] == "" {
				return invalid("mode", "xpub mode needs an xpub for %s: set one with set-xpub first", n)
			}
		case checkout.ReceiveAddresses:
			if len(addrs) == 0 && len(cfg.Addresses) == 0 {
				return invalid("address", "mode addresses needs at least one --address")
			}
		}
		cfg.Mode = mode
		if len(addrs) > 0 {
			cfg.Addresses = addrs
		}
		if offset != 0 {
			cfg.MaxOffset = offset
		}
		if p.LateWindow != 0 {
			cfg.LateWindow = p.LateWindow
		}
		if m.Receive == nil {
			m.Receive = map[checkout.Network]checkout.ReceiveConfig{}
		}
		m.Receive[n] = cfg
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ReceiveSet{MerchantID: p.ID, Network: n, Receive: cfg}, nil
}

// receiveAddresses parses and normalizes addrs (EIP-55 for Ethereum), refusing duplicates.
func receiveAddresses(n checkout.Network, addrs []string) ([]string, error) {
	if len(addrs) > checkout.MaxReceiveAddresses {
		return nil, invalid("address", "at most %d addresses", checkout.MaxReceiveAddresses)
	}
	out := make([]string, 0, len(addrs))
	seen := map[string]bool{}
	for _, s := range addrs {
		a, err := deposit.Parse(n, s)
		if err != nil {
			return nil, invalid("address", "%q: %v", s, err)
		}
		if a == [20]byte{} {
			return nil, invalid("address", "%q is the zero address", s)
		}
		f := deposit.Format(n, a)
		if seen[f] {
			return nil, invalid("address", "%s is listed twice", f)
		}
		seen[f] = true
		out = append(out, f)
	}
	return out, nil
}

// receiveView is each network's effective receive settings.
func receiveView(m *checkout.Merchant) map[checkout.Network]checkout.ReceiveConfig {
	out := map[checkout.Network]checkout.ReceiveConfig{}
	for _, n := range checkout.Networks {
		c, ok := m.Receive[n]
		if !ok && m.XPubs[n] == "" {
			continue
		}
		if !ok {
			c = checkout.ReceiveConfig{Mode: checkout.ReceiveXPub}
		}
		c.MaxOffset, c.LateWindow = c.Offset(), c.Window()
		out[n] = c
	}
	return out
}
