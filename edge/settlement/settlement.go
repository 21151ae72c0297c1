// Package settlement is the edge's settlement consumer: it reads the watchers' transfer feeds
// (one Redis stream per network) through a consumer group, so edge replicas share the work,
// and applies each transfer to its order with the rules of package settle in one atomic
// compare-and-set step. Entries are acknowledged only after they are applied; entries a
// crashed replica held are reclaimed by the others. Applying an observation twice changes
// nothing, so redelivery is harmless: each transfer counts exactly once.
package settlement

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/settle"
	"github.com/mpchat/checkout/edge/store"
)

// Defaults of Consumer's fields.
const (
	DefaultGroup     = "settlement"
	DefaultBlock     = 2 * time.Second
	DefaultMinIdle   = 30 * time.Second
	DefaultBatch     = 100
	maxCommitRetries = 10
)

// Consumer applies one network's feed to orders.
type Consumer struct {
	Store    *store.Store
	Network  checkout.Network
	Group    string           // consumer group; default DefaultGroup
	Name     string           // consumer name, unique per process; default host-pid-random
	Block    time.Duration    // longest blocking read; default DefaultBlock
	MinIdle  time.Duration    // an unacknowledged entry older than this is reclaimed; default DefaultMinIdle
	Now      func() time.Time // default time.Now
	Rules    settle.Rules     // dust threshold, payment cap, reorg grace; zero: the defaults
	Log      *slog.Logger
	OnChange func(orderID string, events []checkout.Event) // optional hook (metrics, tests)
}

// Run consumes until ctx is done; transient errors are logged and retried with backoff.
func (c *Consumer) Run(ctx context.Context) error {
	c.defaults()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if err := c.Store.EnsureFeedGroup(ctx, c.Network, c.Group); err != nil {
			c.Log.Error("settlement: cannot create consumer group", "network", c.Network, "err", err)
			sleep(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		break
	}
	// Look for abandoned entries twice per MinIdle (at most every 10 s).
	reclaimEvery := min(c.MinIdle/2, 10*time.Second)
	lastReclaim := time.Time{}
	for ctx.Err() == nil {
		var err error
		if time.Since(lastReclaim) >= reclaimEvery {
			lastReclaim = time.Now()
			err = c.reclaim(ctx)
		}
		if err == nil {
			_, err = c.Poll(ctx)
		}
		if err != nil && ctx.Err() == nil {
			c.Log.Error("settlement: feed read failed", "network", c.Network, "err", err)
			sleep(ctx, backoff)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
	}
	return nil
}

// Poll reads and applies one batch of new entries (blocking up to Block); it returns how many
// entries it handled.
func (c *Consumer) Poll(ctx context.Context) (int, error) {
	c.defaults()
	entries, err := c.Store.ReadFeed(ctx, c.Network, c.Group, c.Name, DefaultBatch, c.Block)
	if err != nil {
		return 0, err
	}
	return len(entries), c.handle(ctx, entries)
}

func (c *Consumer) reclaim(ctx context.Context) error {
	entries, err := c.Store.ClaimStaleFeed(ctx, c.Network, c.Group, c.Name, c.MinIdle, DefaultBatch)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		c.Log.Warn("settlement: reclaimed unacknowledged feed entries", "network", c.Network, "count", len(entries))
	}
	return c.handle(ctx, entries)
}

// handle applies entries in feed order and acknowledges each once applied. It stops at the
// first failure: that entry stays pending and is reclaimed later, never skipped.
func (c *Consumer) handle(ctx context.Context, entries []store.FeedEntry) error {
	for _, e := range entries {
		if err := c.apply(ctx, e); err != nil {
			return fmt.Errorf("apply feed entry %s: %w", e.ID, err)
		}
		if err := c.Store.AckFeed(ctx, c.Network, c.Group, e.ID); err != nil {
			return err
		}
	}
	return nil
}

func (c *Consumer) apply(ctx context.Context, e store.FeedEntry) error {
	if e.Err != nil {
		c.Log.Error("settlement: undecodable feed entry parked in orphans", "network", c.Network, "id", e.ID, "err", e.Err)
		return c.Store.RecordOrphan(ctx, c.Network, e.ID, "undecodable: "+e.Err.Error(), nil)
	}
	t := &e.Transfer
	if t.Network != c.Network {
		return c.Store.RecordOrphan(ctx, c.Network, e.ID, "wrong network "+string(t.Network), t)
	}
	orderID, err := c.Store.OrderIDByAddress(ctx, c.Network, t.To)
	if errors.Is(err, store.ErrNotFound) {
		c.Log.Warn("settlement: transfer to an address with no order", "network", c.Network, "to", t.To, "tx", t.TxHash)
		return c.Store.RecordOrphan(ctx, c.Network, e.ID, "no order for address", t)
	}
	if err != nil {
		return err
	}
	blocked := false
	if t.Kind == checkout.TransferConfirmed {
		if blocked, err = c.Store.IsBlocked(ctx, c.Network, t.From); err != nil {
			return err
		}
	}
	for attempt := 0; attempt < maxCommitRetries; attempt++ {
		rec, err := c.Store.Order(ctx, orderID)
		if errors.Is(err, store.ErrNotFound) {
			// The address was bound but the order never written (its create died): keep the money visible.
			return c.Store.RecordOrphan(ctx, c.Network, e.ID, "order "+orderID+" was never written", t)
		}
		if err != nil {
			return err
		}
		now := c.Now()
		res := c.Rules.Apply(&rec.Order, t, blocked, now)
		if res.Refused != "" {
			c.Log.Warn("settlement: transfer refused by its order, parked in orphans", "network", c.Network,
				"order_id", orderID, "tx", t.TxHash, "reason", res.Refused)
			return c.Store.RecordOrphan(ctx, c.Network, e.ID, res.Refused, t)
		}
		changes := res.Changes
		if res.Dust && !res.Changed {
			return nil // noise anyone can send: nothing recorded, nothing to announce
		}
		if !res.Changed {
			// Already applied: a redelivery, perhaps because whoever applied it died before
			// announcing the change. Announcing again is harmless and makes sure of it.
			return c.Store.Announce(ctx, orderID)
		}
		events := settle.Events(&rec.Order, changes, now, ids.Event)
		_, err = c.Store.CommitOrder(ctx, rec, events)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		if rec.Order.Status.Terminal() {
			if err := c.Store.Unschedule(ctx, orderID); err != nil {
				c.Log.Warn("settlement: unschedule expiry", "order_id", orderID, "err", err)
			}
		}
		level := slog.LevelInfo
		if res.Dust {
			level = slog.LevelDebug // counted only; an attacker can send any number
		}
		c.Log.Log(ctx, level, "settlement: transfer applied", "order_id", orderID, "kind", t.Kind, "tx", t.TxHash,
			"log_index", t.LogIndex, "amount", t.Amount.String(), "status", rec.Order.Status)
		if c.OnChange != nil {
			c.OnChange(orderID, events)
		}
		return nil
	}
	return fmt.Errorf("order %s: %w", orderID, store.ErrConflict)
}

func (c *Consumer) defaults() {
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.Name == "" {
		host, _ := os.Hostname()
		c.Name = host + "-" + strconv.Itoa(os.Getpid()) + "-" + ids.New("c")[14:]
	}
	if c.Block <= 0 {
		c.Block = DefaultBlock
	}
	if c.MinIdle <= 0 {
		c.MinIdle = DefaultMinIdle
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
