// Package settlement is the edge's settlement consumer, a reader of the watchers' transfer
// feeds (one Redis stream per network) through a consumer group, so edge replicas share the
// work. It finds each transfer's order by address and hands the transfer to the one writer of
// order state, orders.Service.ApplyTransfer, which decides with the status rules and commits
// in one atomic compare-and-set step. Entries are acknowledged only after they are applied;
// entries a crashed replica held are reclaimed by the others (first of all when the consumer
// starts). Applying an observation twice changes nothing, so redelivery is harmless: each
// transfer counts exactly once.
//
// Observations of one transfer are applied in the watcher's order whatever order they are
// delivered in (a crashed consumer's entries are reclaimed after newer ones were applied, two
// replicas race): each order keeps, per transfer, the feed position (stream entry id) of the
// last observation applied, committed with the order, and an older observation is ignored.
// So a reorg's removal applied before a stale sighting stays applied. Transfers no order
// takes (no order for the address, the order never written, the payment cap) are kept in the
// orphans record. An entry that keeps failing is parked there after MaxDeliveries deliveries,
// so it cannot be retried for ever ahead of the others.
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
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
)

// Defaults of Consumer's fields.
const (
	DefaultGroup         = "settlement"
	DefaultBlock         = 2 * time.Second
	DefaultMinIdle       = 30 * time.Second
	DefaultBatch         = 100
	DefaultMaxDeliveries = 10
	// reclaimPages bounds the pending entries one reclaim round takes (pages of DefaultBatch).
	reclaimPages = 10
	// forgetConsumersAfter: a consumer of the group with nothing pending that has not read
	// for this long belongs to an edge process that is gone; it is removed from the group.
	forgetConsumersAfter = time.Hour
)

// Consumer applies one network's feed to orders.
type Consumer struct {
	Store   *store.Store
	Network checkout.Network
	Group   string        // consumer group; default DefaultGroup
	Name    string        // consumer name, unique per process; default host-pid-random
	Block   time.Duration // longest blocking read; default DefaultBlock
	MinIdle time.Duration // an unacknowledged entry older than this is reclaimed; default DefaultMinIdle
	// StartIdle: when the consumer starts, entries left unacknowledged at least this long
	// (by an edge that died) are taken over before any new entry is read; default the
	// smaller of MinIdle and 5 × Block. Taking a live replica's entry is harmless (feed
	// positions make any interleaving safe); this only makes the usual order the right one.
	StartIdle time.Duration
	// MaxDeliveries: an entry delivered this many times without being applied (it keeps
	// failing) is parked in the orphans record with the reason and acknowledged; default
	// DefaultMaxDeliveries.
	MaxDeliveries int
	Now           func() time.Time // default time.Now
	Rules         checkout.Rules   // dust threshold, payment cap, reorg grace; zero: the defaults
	Log           *slog.Logger
	OnChange      func(orderID string, events []checkout.Event) // optional hook (metrics, tests)
	OnPark        func(entryID, reason string)                  // optional hook: an entry was parked
	// OnUnmatched, optional, is told of each new unmatched transfer (addresses mode).
	OnUnmatched func(merchantID string, t *checkout.Transfer)

	orders *orders.Service // the writer the transfers are applied through (built from the fields above)
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
	// Look for abandoned entries twice per MinIdle (at most every 10 s); the first round,
	// before anything new is read, takes over what an edge that died left behind.
	reclaimEvery := min(c.MinIdle/2, 10*time.Second)
	lastReclaim := time.Time{}
	minIdle := c.StartIdle
	for ctx.Err() == nil {
		var err error
		if time.Since(lastReclaim) >= reclaimEvery {
			if err = c.Reclaim(ctx, minIdle); err == nil {
				lastReclaim, minIdle = time.Now(), c.MinIdle
				c.forgetConsumers(ctx)
			}
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

// Reclaim takes over the group's entries left unacknowledged for at least minIdle (their
// consumer died, or they failed) and applies them in feed order, up to reclaimPages pages.
func (c *Consumer) Reclaim(ctx context.Context, minIdle time.Duration) error {
	c.defaults()
	after := ""
	var errs []error
	for page := 0; page < reclaimPages; page++ {
		stale, err := c.Store.StaleFeed(ctx, c.Network, c.Group, minIdle, after, DefaultBatch)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if len(stale) == 0 {
			break
		}
		after = stale[len(stale)-1].ID
		entries, err := c.Store.ClaimFeed(ctx, c.Network, c.Group, c.Name, minIdle, stale)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if len(entries) > 0 {
			c.Log.Warn("settlement: reclaimed unacknowledged feed entries", "network", c.Network, "count", len(entries),
				"from", entries[0].ID, "consumer", stale[0].Consumer)
		}
		if err := c.handle(ctx, entries); err != nil {
			errs = append(errs, err)
		}
		if len(stale) < DefaultBatch {
			break
		}
	}
	return errors.Join(errs...)
}

func (c *Consumer) forgetConsumers(ctx context.Context) {
	n, err := c.Store.ForgetIdleConsumers(ctx, c.Network, c.Group, c.Name, forgetConsumersAfter)
	if err != nil {
		c.Log.Warn("settlement: removing idle feed consumers", "network", c.Network, "err", err)
	} else if n > 0 {
		c.Log.Info("settlement: removed idle feed consumers of edges that are gone", "network", c.Network, "count", n)
	}
}

// handle applies entries in feed order and acknowledges each once applied. An entry that
// fails stays pending, is retried when reclaimed, and is parked once it has failed
// MaxDeliveries deliveries; the entries behind it are applied meanwhile (feed positions keep
// each transfer's observations in order). It returns the first failure.
func (c *Consumer) handle(ctx context.Context, entries []store.FeedEntry) error {
	var first error
	for _, e := range entries {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err := c.apply(ctx, e)
		if err != nil && e.Deliveries >= int64(c.MaxDeliveries) {
			err = c.park(ctx, e, fmt.Sprintf("failed %d deliveries: %v", e.Deliveries, err))
		}
		if err == nil {
			err = c.Store.AckFeed(ctx, c.Network, c.Group, e.ID)
		}
		if err != nil {
			if first == nil {
				first = fmt.Errorf("feed entry %s: %w", e.ID, err)
			}
			if ctx.Err() == nil {
				c.Log.Warn("settlement: feed entry not applied; it stays pending and is retried", "network", c.Network,
					"id", e.ID, "deliveries", e.Deliveries, "err", err)
			}
		}
	}
	return first
}

// park records a feed entry that cannot be applied in the orphans record (the transfer and
// why), for an operator to look at and claim; the caller then acknowledges it.
func (c *Consumer) park(ctx context.Context, e store.FeedEntry, reason string) error {
	var t *checkout.Transfer
	if e.Err == nil {
		t = &e.Transfer
	}
	if err := c.Store.RecordOrphan(ctx, c.Network, e.ID, reason, t); err != nil {
		return err
	}
	c.Log.Error("settlement: feed entry parked in orphans", "network", c.Network, "id", e.ID, "reason", reason)
	if c.OnPark != nil {
		c.OnPark(e.ID, reason)
	}
	return nil
}

func (c *Consumer) apply(ctx context.Context, e store.FeedEntry) error {
	if e.Err != nil {
		return c.park(ctx, e, "undecodable: "+e.Err.Error())
	}
	t := &e.Transfer
	if t.Network != c.Network {
		return c.Store.RecordOrphan(ctx, c.Network, e.ID, "wrong network "+string(t.Network), t)
	}
	if t.Amount < 0 || t.Amount > checkout.MaxTransfer {
		// The watcher never reports one; keep the rules' sums within what an order can hold.
		return c.park(ctx, e, "amount out of range")
	}
	orderID, err := c.Store.OrderIDByAddress(ctx, c.Network, t.To)
	if errors.Is(err, store.ErrNotFound) {
		c.Log.Warn("settlement: transfer to an address with no order", "network", c.Network, "to", t.To, "tx", t.TxHash)
		return c.Store.RecordOrphan(ctx, c.Network, e.ID, "no order for address", t)
	}
	if err != nil {
		return err
	}
	if store.IsMerchantID(orderID) {
		return c.applyReceived(ctx, e, orderID) // a merchant's receive address (addresses mode)
	}
	a, err := c.orders.ApplyTransfer(ctx, orderID, e.ID, t)
	if err != nil {
		return err
	}
	if a.Orphan != "" {
		c.Log.Warn("settlement: transfer credited to no order, parked in orphans", "network", c.Network,
			"order_id", orderID, "tx", t.TxHash, "reason", a.Orphan)
		return c.Store.RecordOrphan(ctx, c.Network, e.ID, a.Orphan, t)
	}
	if !a.Changed {
		return nil // dust not final, a redelivery or an older observation (announced again)
	}
	level := slog.LevelInfo
	if a.Dust {
		level = slog.LevelDebug // counted only; an attacker can send any number
	}
	c.Log.Log(ctx, level, "settlement: transfer applied", "order_id", orderID, "kind", t.Kind, "tx", t.TxHash,
		"log_index", t.LogIndex, "amount", t.Amount.String(), "status", a.Status)
	if c.OnChange != nil {
		c.OnChange(orderID, a.Events)
	}
	return nil
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
	if c.StartIdle <= 0 {
		c.StartIdle = min(c.MinIdle, 5*c.Block)
	}
	if c.MaxDeliveries <= 0 {
		c.MaxDeliveries = DefaultMaxDeliveries
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.orders == nil {
		c.orders = &orders.Service{Store: c.Store, Now: c.Now, Rules: c.Rules, Log: c.Log}
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
