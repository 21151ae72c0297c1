package store

// Network switching (the customer moves an open order to another network on the checkout).
// The steps cross slots, so they run in an order where a crash between two loses nothing,
// as CreateOrder's do: the new deposit's index is claimed once per (order, network) in the
// merchant's slot; the new address is bound to the order and watched (its own slot and the
// network's) BEFORE the order's script makes it visible; then the order's slot is written in
// one script that refuses unless the stored order is still PENDING with nothing received.
// The address switched away from stays bound and watched, so funds sent there still find
// the order (late funds).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// SwitchClaimTTL is how long a switch's index claim is kept: it only has to outlive the
// switch requests racing or retrying one another; once committed, the order itself holds the
// address (as its deposit or one of its previous addresses) and reuses it.
const SwitchClaimTTL = 24 * time.Hour

// ErrSwitchRefused: the stored order cannot switch (SwitchNetwork); Reason says why.
var ErrSwitchRefused = errors.New("order cannot switch network")

// SwitchRefusedError is SwitchNetwork's refusal. It wraps ErrSwitchRefused.
type SwitchRefusedError struct {
	// Reason: "received" (a payment or amount is recorded), "closed" (not PENDING) or
	// "moved" (the order is on another deposit than the one the switch started from).
	Reason string
}

func (e *SwitchRefusedError) Error() string { return "order cannot switch network: " + e.Reason }
func (e *SwitchRefusedError) Unwrap() error { return ErrSwitchRefused }

// SwitchIndex claims the index of an order's deposit on another network under the merchant's
// counter (the xpub's fingerprint, or addresses mode's spreading counter): the first call for
// (order, network) takes the counter's next index, every later one within SwitchClaimTTL
// gets the same, so concurrent and retried switches derive one address.
func (s *Store) SwitchIndex(ctx context.Context, merchantID, counter, orderID string, n checkout.Network, now time.Time) (uint32, error) {
	res, err := claimScript.Run(ctx, s.rdb,
		[]string{s.k.switchClaim(merchantID, orderID, n), s.k.addrCounter(merchantID, counter)},
		orderID, string(n), now.UnixMilli(), int(SwitchClaimTTL/time.Second)).Slice()
	if err != nil {
		return 0, fmt.Errorf("claim switch index: %w", err)
	}
	if len(res) != 5 {
		return 0, fmt.Errorf("claim switch index: unexpected reply %v", res)
	}
	idx, err := strconv.ParseUint(fmt.Sprint(res[3]), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("claim switch index: corrupt record: %w", err)
	}
	return uint32(idx), nil
}

// SkipSwitchIndex replaces a switch claim's index with a fresh one (an index where BIP32
// derivation is invalid); concurrent callers agree on the replacement.
func (s *Store) SkipSwitchIndex(ctx context.Context, merchantID, counter, orderID string, n checkout.Network, old uint32) (uint32, error) {
	idx, err := rebumpScript.Run(ctx, s.rdb,
		[]string{s.k.switchClaim(merchantID, orderID, n), s.k.addrCounter(merchantID, counter)}, old).Int64()
	if err != nil {
		return 0, fmt.Errorf("skip switch index: %w", err)
	}
	return uint32(idx), nil
}

// BindDepositAddress binds a derived deposit address to the order and adds it to the
// network's watch set, before any customer can see it. Binding an address the order holds
// already succeeds (a retry); one bound to anything else is ErrAddressInUse and changes
// nothing.
func (s *Store) BindDepositAddress(ctx context.Context, n checkout.Network, addr, orderID string) error {
	bound, err := s.rdb.SetNX(ctx, s.k.address(n, addr), orderID, 0).Result()
	if err != nil {
		return fmt.Errorf("bind deposit address: %w", err)
	}
	if !bound {
		owner, err := s.rdb.Get(ctx, s.k.address(n, addr)).Result()
		if err != nil {
			return fmt.Errorf("bind deposit address: %w", err)
		}
		if owner != orderID {
			return fmt.Errorf("order %s address %s: %w", orderID, addr, ErrAddressInUse)
		}
	}
	// Watched after the binding: the watcher reports to a bound address only what the edge
	// can credit, and a retry of a bound address re-adds it (idempotent).
	return wrap("watch deposit address", s.rdb.SAdd(ctx, s.k.watchSet(n), addr).Err())
}

// SwitchNetwork commits r.Order, moved by the caller from deposit `from` to its new one,
// with its order.network_changed event ev, if the stored order is still the version r was
// loaded at and is PENDING with nothing received on `from` (switch_network.lua). A lost
// compare-and-set is ErrConflict (reload and decide again); a stored order that cannot
// switch is a *SwitchRefusedError (nothing written). After the commit the webhook is
// scheduled and the change published, each failure there being ErrUnannounced (the order
// is written; the caller's retry finds it switched and calls Announce).
func (s *Store) SwitchNetwork(ctx context.Context, r *Record, from checkout.Deposit, ev *checkout.Event) (string, error) {
	doc, err := encodeOrder(&r.Order)
	if err != nil {
		return "", err
	}
	rec, err := encodeEvent(ev)
	if err != nil {
		return "", err
	}
	delivery, err := newDelivery(ev)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("encode event: %w", err)
	}
	id := r.Order.ID
	res, err := switchScript.Run(ctx, s.rdb, []string{s.k.order(id), s.k.webhookQueue(id)},
		r.Version, doc, eventsKept, string(from.Network), from.Address, rec, ev.ID, delivery).StringSlice()
	if err != nil {
		return "", fmt.Errorf("switch order %s: %w", id, err)
	}
	switch {
	case len(res) == 1 && res[0] == "conflict":
		return "", fmt.Errorf("order %s: %w", id, ErrConflict)
	case len(res) == 1:
		return "", &SwitchRefusedError{Reason: res[0]}
	case len(res) != 3 || res[0] != "ok":
		return "", fmt.Errorf("switch order %s: unexpected reply %v", id, res)
	}
	r.Version++
	if err := s.ScheduleWebhooks(ctx, id, ev.CreatedAt); err != nil {
		return res[2], fmt.Errorf("order %s switched: %w: %v", id, ErrUnannounced, err)
	}
	if err := s.publishChange(ctx, id, res[1], []StreamEvent{{ID: res[2], Type: ev.Type, Data: data}}); err != nil {
		return res[2], fmt.Errorf("order %s switched: %w", id, err)
	}
	return res[2], nil
}

// UnindexNetwork takes the order off its merchant's order lists of network n (the one it
// switched away from; IndexOrder files it under its current network). Idempotent.
func (s *Store) UnindexNetwork(ctx context.Context, merchantID string, o *checkout.Order, n checkout.Network) error {
	if n == o.Network {
		return nil
	}
	member := indexMember(o)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, st := range checkout.Statuses {
			p.ZRem(ctx, s.k.orderList(merchantID, st, n), member)
		}
		return nil
	})
	return wrap("unindex order network", err)
}
