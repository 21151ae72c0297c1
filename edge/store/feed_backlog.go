package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
)

// FeedBacklog is how far a consumer group is behind on a network's feed: the settlement lag.
type FeedBacklog struct {
	// Pending entries were delivered to a consumer of the group and not yet acknowledged
	// (being applied, or held by a crashed edge until reclaimed).
	Pending int64
	// Undelivered entries were appended by the watcher and not yet read by the group;
	// -1 when Redis cannot tell (after entries were deleted from the stream).
	Undelivered int64
	// Oldest is when the oldest pending or undelivered entry was appended (stream ids carry
	// the append time in milliseconds); zero when the group is caught up.
	Oldest time.Time
}

// FeedBacklog reports the group's backlog on the network's feed (three reads, no writes; for
// metrics). A feed or group that does not exist yet answers ErrNotFound.
func (s *Store) FeedBacklog(ctx context.Context, n checkout.Network, group string) (*FeedBacklog, error) {
	stream := s.k.feed(n)
	groups, err := s.rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return nil, fmt.Errorf("feed %s: %w", n, ErrNotFound)
		}
		return nil, wrap("feed groups", err)
	}
	var b *FeedBacklog
	var lastDelivered string
	for _, g := range groups {
		if g.Name == group {
			b = &FeedBacklog{Pending: g.Pending, Undelivered: g.Lag}
			lastDelivered = g.LastDeliveredID
		}
	}
	if b == nil {
		return nil, fmt.Errorf("feed %s group %s: %w", n, group, ErrNotFound)
	}
	if b.Pending > 0 {
		// Delivered entries all precede undelivered ones: the oldest pending is the oldest.
		p, err := s.rdb.XPending(ctx, stream, group).Result()
		if err != nil {
			return nil, wrap("feed pending", err)
		}
		b.Oldest = streamIDTime(p.Lower)
		return b, nil
	}
	if b.Undelivered == 0 {
		return b, nil
	}
	next, err := s.rdb.XRangeN(ctx, stream, "("+lastDelivered, "+", 1).Result()
	if err != nil {
		return nil, wrap("feed next entry", err)
	}
	if len(next) > 0 {
		b.Oldest = streamIDTime(next[0].ID)
	}
	return b, nil
}

// streamIDTime is the append time a stream id ("{ms}-{seq}") carries; zero if malformed.
func streamIDTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	v, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || v <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
