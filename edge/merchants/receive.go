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
	m, err := load(ctx, st, p.ID)
	if err != nil {
		return nil, err
	}
	n, err := checkout.ParseNetwork(p.Network)
	if err != nil {
		return nil, invalid("network", "%v", err)
	}
	cfg := m.Receive[n]
	switch checkout.ReceiveMode(p.Mode) {
	case checkout.ReceiveXPub:
		if m.XPubs[n] == "" {
			return nil, invalid("mode", "xpub mode needs an xpub for %s: set one with set-xpub first", n)
		}
		if len(p.Addresses) > 0 {
			return nil, invalid("address", "addresses are for mode addresses")
		}
	case checkout.ReceiveAddresses:
		if len(p.Addresses) == 0 && len(cfg.Addresses) == 0 {
			return nil, invalid("address", "mode addresses needs at least one --address")
		}
	default:
		return nil, invalid("mode", "must be xpub or addresses")
	}
	cfg.Mode = checkout.ReceiveMode(p.Mode)
	if len(p.Addresses) > 0 {
		if cfg.Addresses, err = receiveAddresses(n, p.Addresses); err != nil {
			return nil, err
		}
	}
	if p.MaxOffset != "" {
		a, err := checkout.ParseAmount(p.MaxOffset)
		if err != nil || a < 1 || a > maxOffsetLimit {
			return nil, invalid("max_offset", "must be a USDT amount from 0.000001 to %s", maxOffsetLimit)
		}
		cfg.MaxOffset = a
	}
	if p.LateWindow != 0 {
		if p.LateWindow < time.Minute || p.LateWindow > 720*time.Hour {
			return nil, invalid("late_window", "must be from 1m to 720h")
		}
		cfg.LateWindow = p.LateWindow
	}
	if err := st.SetReceive(ctx, m, n, cfg); err != nil {
		if errors.Is(err, store.ErrAddressOwned) {
			return nil, fmt.Errorf("set receive: %w", err)
		}
		return nil, err
	}
	return &ReceiveSet{MerchantID: m.ID, Network: n, Receive: cfg}, nil
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
