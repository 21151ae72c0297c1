package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// FeedEntry is one entry of a watcher feed stream.
type FeedEntry struct {
	ID       string
	Transfer checkout.Transfer
	Err      error // the entry could not be decoded (poison): park it, do not retry
}

// EnsureFeedGroup creates the consumer group on the network's feed (and the stream) if absent.
// A new group starts at the beginning of the stream, so nothing written before the first edge
// started is skipped.
func (s *Store) EnsureFeedGroup(ctx context.Context, n checkout.Network, group string) error {
	err := s.rdb.XGroupCreateMkStream(ctx, s.k.feed(n), group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create feed group %s: %w", group, err)
	}
	return nil
}

// ReadFeed reads up to count new entries for the consumer, blocking up to block.
func (s *Store) ReadFeed(ctx context.Context, n checkout.Network, group, consumer string, count int64, block time.Duration) ([]FeedEntry, error) {
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: group, Consumer: consumer, Streams: []string{s.k.feed(n), ">"}, Count: count, Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s feed: %w", n, err)
	}
	var out []FeedEntry
	for _, st := range res {
		out = append(out, decodeFeed(st.Messages)...)
	}
	return out, nil
}

// ClaimStaleFeed takes over entries another consumer read but did not acknowledge within
// minIdle (it crashed mid-settlement), so they are applied by someone.
func (s *Store) ClaimStaleFeed(ctx context.Context, n checkout.Network, group, consumer string, minIdle time.Duration, count int64) ([]FeedEntry, error) {
	msgs, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: s.k.feed(n), Group: group, Consumer: consumer, MinIdle: minIdle, Start: "0", Count: count,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("reclaim %s feed: %w", n, err)
	}
	return decodeFeed(msgs), nil
}

// AckFeed acknowledges applied entries.
func (s *Store) AckFeed(ctx context.Context, n checkout.Network, group string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	return wrap("ack feed", s.rdb.XAck(ctx, s.k.feed(n), group, ids...).Err())
}

// FeedPending returns the number of entries of the network's feed not yet acknowledged by the
// group (pending) — for metrics and tests.
func (s *Store) FeedPending(ctx context.Context, n checkout.Network, group string) (int64, error) {
	p, err := s.rdb.XPending(ctx, s.k.feed(n), group).Result()
	if err != nil {
		return 0, wrap("feed pending", err)
	}
	return p.Count, nil
}

// RecordOrphan keeps a transfer that matched no order (its order was never written, or the
// entry was undecodable) in the orphans stream for an operator, so no payment is dropped.
func (s *Store) RecordOrphan(ctx context.Context, n checkout.Network, entryID, reason string, raw any) error {
	b, _ := json.Marshal(raw)
	return wrap("record orphan", s.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: s.k.orphans(),
		Values: []any{"network", string(n), "feed_id", entryID, "reason", reason, "transfer", b},
	}).Err())
}

// Orphans lists the recorded orphan transfers (oldest first, at most count).
func (s *Store) Orphans(ctx context.Context, count int64) ([]map[string]any, error) {
	msgs, err := s.rdb.XRangeN(ctx, s.k.orphans(), "-", "+", count).Result()
	if err != nil {
		return nil, wrap("list orphans", err)
	}
	out := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		out[i] = m.Values
	}
	return out, nil
}

func decodeFeed(msgs []redis.XMessage) []FeedEntry {
	out := make([]FeedEntry, 0, len(msgs))
	for _, m := range msgs {
		e := FeedEntry{ID: m.ID}
		raw, ok := m.Values[checkout.FeedField].(string)
		if !ok {
			e.Err = fmt.Errorf("feed entry %s has no %q field", m.ID, checkout.FeedField)
		} else if err := json.Unmarshal([]byte(raw), &e.Transfer); err != nil {
			e.Err = fmt.Errorf("feed entry %s: %w", m.ID, err)
		}
		out = append(out, e)
	}
	return out
}
