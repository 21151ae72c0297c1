package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
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
	// Deliveries is how many times the group has delivered the entry, this delivery
	// included (1 on a first read; set on reclaimed entries).
	Deliveries int64
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
	for i := range out {
		out[i].Deliveries = 1
	}
	return out, nil
}

// StaleFeedEntry is an entry of the group's pending list: read by Consumer, not acknowledged
// for Idle, delivered Deliveries times.
type StaleFeedEntry struct {
	ID         string
	Consumer   string
	Idle       time.Duration
	Deliveries int64
}

// StaleFeed lists up to count pending entries of the group idle for at least minIdle, in feed
// order, from the entry after `after` ("" for the start). A crashed consumer's entries stay
// here until someone claims them.
func (s *Store) StaleFeed(ctx context.Context, n checkout.Network, group string, minIdle time.Duration, after string, count int64) ([]StaleFeedEntry, error) {
	start := "-"
	if after != "" {
		start = "(" + after
	}
	res, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: s.k.feed(n), Group: group, Idle: minIdle, Start: start, End: "+", Count: count,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("list stale %s feed entries: %w", n, err)
	}
	out := make([]StaleFeedEntry, len(res))
	for i, p := range res {
		out[i] = StaleFeedEntry{ID: p.ID, Consumer: p.Consumer, Idle: p.Idle, Deliveries: p.RetryCount}
	}
	return out, nil
}

// ClaimFeed takes over the given pending entries for consumer, those still idle for at least
// minIdle (so of two replicas claiming the same entry, one gets it), and returns them in feed
// order with their delivery counts. Entries deleted from the stream meanwhile are dropped from
// the pending list by Redis and not returned.
func (s *Store) ClaimFeed(ctx context.Context, n checkout.Network, group, consumer string, minIdle time.Duration, stale []StaleFeedEntry) ([]FeedEntry, error) {
	if len(stale) == 0 {
		return nil, nil
	}
	ids := make([]string, len(stale))
	deliveries := make(map[string]int64, len(stale))
	for i, e := range stale {
		ids[i] = e.ID
		deliveries[e.ID] = e.Deliveries + 1 // XCLAIM counts a delivery
	}
	msgs, err := s.rdb.XClaim(ctx, &redis.XClaimArgs{
		Stream: s.k.feed(n), Group: group, Consumer: consumer, MinIdle: minIdle, Messages: ids,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("claim %s feed entries: %w", n, err)
	}
	out := decodeFeed(msgs)
	for i := range out {
		out[i].Deliveries = deliveries[out[i].ID]
	}
	sort.Slice(out, func(i, j int) bool { return CompareStreamIDs(out[i].ID, out[j].ID) < 0 })
	return out, nil
}

// ForgetIdleConsumers removes from the group the consumers other than self that hold no
// pending entry and have not read for longer than idle: each edge process has its own
// consumer name, so without this every restart would leave one behind for ever. It returns
// how many it removed. A removed consumer that was alive after all is recreated by its next
// read, having lost nothing (it held no entry).
func (s *Store) ForgetIdleConsumers(ctx context.Context, n checkout.Network, group, self string, idle time.Duration) (int, error) {
	cs, err := s.rdb.XInfoConsumers(ctx, s.k.feed(n), group).Result()
	if err != nil {
		return 0, fmt.Errorf("list %s feed consumers: %w", n, err)
	}
	removed := 0
	for _, c := range cs {
		if c.Name == self || c.Pending > 0 || c.Idle < idle {
			continue
		}
		// Safe between the listing and the delete: a consumer idle this long is dead (live
		// ones read every few seconds), and claims only ever go to the claimer's own name.
		if err := s.rdb.XGroupDelConsumer(ctx, s.k.feed(n), group, c.Name).Err(); err != nil {
			return removed, fmt.Errorf("remove %s feed consumer: %w", n, err)
		}
		removed++
	}
	return removed, nil
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

// RecordOrphan keeps a transfer that matched no order (its order was never written, the entry
// was undecodable, or it kept failing and was parked) in the orphans stream for an operator,
// so no payment is dropped.
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

// feedPosField is the order hash field holding settlement's feed positions: for each transfer
// applied to the order (tx hash and log index), the id of the last feed entry applied. It sits
// beside the order document, never in it, so it is written in the same compare-and-set commit
// and never shows in the order object merchants and customers get.
const feedPosField = "feedpos"

// MaxFeedPositions caps the feed positions kept per order (the oldest are dropped first): an
// order gets a handful of transfers, and the cap only bounds an address that keeps receiving
// them (each costs its sender a transaction). A dropped position only matters for an entry of
// that transfer still unacknowledged after this many newer transfers to the same order.
const MaxFeedPositions = 1000

// feedPositions is the decoded feedpos field; dirty says it changed since it was loaded.
//
// Stored, it is a JSON object of transfer key (TransferKey) to feed position. Retention's
// trim writes the key of a transfer that is one of the order's payments as a reference to
// it, "#" and the payment's index ("#0" for the first): a tx hash and log index take ~68
// bytes, the reference 2. Payments are only ever appended to an order (rules.go), never
// removed or reordered, so a reference names the same transfer for good; one beyond the
// order's payments is refused as corrupt rather than guessed.
type feedPositions struct {
	m     map[string]string
	dirty bool
}

func (f *feedPositions) decode(v any, payments []checkout.Payment) error {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), &f.m); err != nil {
		return fmt.Errorf("decode feed positions: %w", err)
	}
	for k, pos := range f.m {
		ref, ok := strings.CutPrefix(k, "#")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(ref)
		if err != nil || i < 0 || i >= len(payments) {
			return fmt.Errorf("decode feed positions: %q names none of the order's %d payments", k, len(payments))
		}
		delete(f.m, k)
		if full := paymentKey(&payments[i]); CompareStreamIDs(pos, f.m[full]) > 0 {
			f.m[full] = pos
		}
		// The order's next commit writes every key in full again: only a trimmed order,
		// which is rarely written, keeps references.
		f.dirty = true
	}
	return nil
}

// compact is the field written with payments' keys as references (see feedPositions), or ""
// when there are no positions.
func (f *feedPositions) compact(payments []checkout.Payment) (string, error) {
	if len(f.m) == 0 {
		return "", nil
	}
	ref := make(map[string]string, len(payments))
	for i := range payments {
		k := paymentKey(&payments[i])
		if _, dup := ref[k]; !dup {
			ref[k] = "#" + strconv.Itoa(i)
		}
	}
	out := make(map[string]string, len(f.m))
	for k, pos := range f.m {
		if r, ok := ref[k]; ok {
			k = r
		}
		out[k] = pos
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode feed positions: %w", err)
	}
	return string(b), nil
}

// paymentKey is the TransferKey of the transfer a payment records.
func paymentKey(p *checkout.Payment) string {
	return p.TxHash + ":" + strconv.FormatUint(uint64(p.LogIndex), 10)
}

// encode returns the field's new JSON, or "" when it did not change (the commit leaves it).
func (f *feedPositions) encode() (string, error) {
	if !f.dirty {
		return "", nil
	}
	b, err := json.Marshal(f.m)
	if err != nil {
		return "", fmt.Errorf("encode feed positions: %w", err)
	}
	return string(b), nil
}

// FeedPosition is the id of the last feed entry applied to the order for the transfer key
// (TransferKey), or "" if none was.
func (r *Record) FeedPosition(key string) string { return r.feed.m[key] }

// SetFeedPosition records that the feed entry id was applied for the transfer key; CommitOrder
// stores it with the order, atomically. Past MaxFeedPositions the oldest position is dropped.
func (r *Record) SetFeedPosition(key, id string) {
	if r.feed.m == nil {
		r.feed.m = map[string]string{}
	}
	r.feed.m[key] = id
	r.feed.dirty = true
	for len(r.feed.m) > MaxFeedPositions {
		oldest := ""
		for k, v := range r.feed.m {
			if oldest == "" || CompareStreamIDs(v, r.feed.m[oldest]) < 0 {
				oldest = k
			}
		}
		delete(r.feed.m, oldest)
	}
}

// TransferKey identifies a transfer within an order's feed positions (the order fixes the
// network): tx hash and log index.
func TransferKey(t *checkout.Transfer) string {
	return t.TxHash + ":" + strconv.FormatUint(uint64(t.LogIndex), 10)
}

// CompareStreamIDs orders two Redis stream ids ("{ms}-{seq}") as Redis does: -1, 0 or +1. A
// malformed id sorts first.
func CompareStreamIDs(a, b string) int {
	am, as := splitStreamID(a)
	bm, bs := splitStreamID(b)
	switch {
	case am != bm:
		return cmpUint(am, bm)
	default:
		return cmpUint(as, bs)
	}
}

func splitStreamID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
