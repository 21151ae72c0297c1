package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// Retention: what a finished order stops needing, and when (the policy is edge/retention's;
// the store gives it safe steps). Every finished order enters the retention schedule
// ({p}retention, score: when to look at it next) at its terminal commit. Looking at one
// (RetentionState) tells when it finished — field fin, Redis's clock at its last terminal
// commit, restarted by late funds — and when it was last trimmed (field trimmed). Each step
// is idempotent and touches one slot, so any number of edge replicas may run them at once:
//
//   - TrimOrder (the order's slot) drops every event but the last and the webhook delivery
//     records and attempt logs that are no longer pending; the document, version, merchant,
//     feed positions, last event and pending deliveries stay, so GET /v1/orders/{id} answers
//     the same order. It also deletes the keys of the earlier per-order layout (an events
//     stream, a delivery-record hash and an attempt stream per order), whose content is
//     what the trim drops.
//   - ReleaseAddress (the network's slot, then the address's) stops watching an xpub-mode
//     deposit address and deletes its binding to the order, once the late-funds window passed.
//   - TrimChanges and TrimRecords cut the shared streams by entry time (XTRIM MINID).

// Fields of the order record that retention reads and writes.
const (
	finField     = "fin"     // unix ms of the order's last terminal commit
	trimmedField = "trimmed" // unix ms of its last trim
	retrimField  = "retrim"  // set when that trim kept pending deliveries
)

// RetainItem is an entry of the retention schedule.
type RetainItem struct {
	OrderID string
	Score   int64 // unix ms it was due; pass it back to RetainNext
}

// RetainState is what the retention policy needs to know about an order.
type RetainState struct {
	Order      checkout.Order
	MerchantID string
	Version    int64
	FinishedAt time.Time // its last terminal commit (zero when unknown: not finished)
	TrimmedAt  time.Time // its last trim (zero: never)
	// Retrim: that trim kept pending deliveries, so the order needs another once they finish.
	Retrim bool
}

// scheduleRetention is the retention schedule entry a terminal commit adds (due now: the
// worker then moves it to its exact time). NX: an entry already there is due no later than
// this order's windows from its earlier finish, and the worker reads fin afresh.
func (s *Store) scheduleRetention(ctx context.Context, p redis.Cmdable, orderID string, now time.Time) *redis.IntCmd {
	return p.ZAddNX(ctx, s.k.retention(), redis.Z{Score: float64(now.UnixMilli()), Member: orderID})
}

// ScheduleRetention puts the order on the retention schedule, due at `at`, unless it is on it
// already (used by BackfillRetention and tests; commits schedule their orders themselves).
func (s *Store) ScheduleRetention(ctx context.Context, orderID string, at time.Time) error {
	return wrap("schedule retention", s.scheduleRetention(ctx, s.rdb, orderID, at).Err())
}

// DueRetention returns up to limit retention entries due at or before now, earliest first.
func (s *Store) DueRetention(ctx context.Context, now time.Time, limit int64) ([]RetainItem, error) {
	zs, err := s.rdb.ZRangeByScoreWithScores(ctx, s.k.retention(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: limit,
	}).Result()
	if err != nil {
		return nil, wrap("due retention", err)
	}
	out := make([]RetainItem, len(zs))
	for i, z := range zs {
		out[i] = RetainItem{OrderID: fmt.Sprint(z.Member), Score: int64(z.Score)}
	}
	return out, nil
}

// RetainNext moves a schedule entry to at, or drops it when at is zero, unless a commit
// changed the entry since it was read (then it stays as that commit left it).
func (s *Store) RetainNext(ctx context.Context, it RetainItem, at time.Time) error {
	next := ""
	if !at.IsZero() {
		next = strconv.FormatInt(at.UnixMilli(), 10)
	}
	err := retainNextScript.Run(ctx, s.rdb, []string{s.k.retention()}, it.OrderID, it.Score, next).Err()
	return wrap("reschedule retention", err)
}

// RetentionBacklog is how many orders are on the retention schedule (due or not).
func (s *Store) RetentionBacklog(ctx context.Context) (int64, error) {
	n, err := s.rdb.ZCard(ctx, s.k.retention()).Result()
	return n, wrap("retention backlog", err)
}

// RetentionState loads the order with its finish and trim times (one round trip), or
// ErrNotFound. An order finished before fin was recorded counts as finished at its last
// event (a terminal order's last commit is at or after its terminal one).
func (s *Store) RetentionState(ctx context.Context, orderID string) (*RetainState, error) {
	vals, err := s.rdb.HMGet(ctx, s.k.order(orderID), "doc", "merchant", "ver", finField, trimmedField, "last", retrimField).Result()
	if err != nil {
		return nil, fmt.Errorf("load order %s: %w", orderID, err)
	}
	doc, ok := vals[0].(string)
	if !ok {
		return nil, fmt.Errorf("order %s: %w", orderID, ErrNotFound)
	}
	st := &RetainState{MerchantID: fmt.Sprint(vals[1])}
	st.Version, _ = strconv.ParseInt(fmt.Sprint(vals[2]), 10, 64)
	if st.Order, err = decodeOrder(orderID, []byte(doc)); err != nil {
		return nil, err
	}
	if !st.Order.Status.Terminal() {
		return st, nil
	}
	if ms, ok := msField(vals[3]); ok {
		st.FinishedAt = time.UnixMilli(ms).UTC()
	} else if last, ok := vals[5].(string); ok {
		if msStr, _, ok := strings.Cut(last, "-"); ok {
			if ms, ok := msField(msStr); ok {
				st.FinishedAt = time.UnixMilli(ms).UTC()
			}
		}
	}
	if st.FinishedAt.IsZero() { // a terminal order with no clock at all: count from its expiry
		st.FinishedAt = st.Order.ExpiresAt
	}
	if ms, ok := msField(vals[4]); ok {
		st.TrimmedAt = time.UnixMilli(ms).UTC()
	}
	st.Retrim = vals[6] != nil
	return st, nil
}

// sameOrder reports whether two orders are the same as the API and the events see them.
func sameOrder(a, b *checkout.Order) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func msField(v any) (int64, bool) {
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// TrimOrder drops the finished order's events but the last and its delivery records and
// attempt logs that are no longer pending (see the top of this file), provided its version is
// still version (ErrConflict otherwise: it changed, look again), and records now as its trim
// time (TrimmedAt). It returns how many fields and keys went and how many deliveries it kept
// because they are pending (then Retrim is set: the order needs another trim once they are
// done).
func (s *Store) TrimOrder(ctx context.Context, orderID string, version int64, now time.Time) (removed, pending int64, err error) {
	// The last event stays, without the order state it shares with the document (the
	// version check makes sure both are what was read here).
	// The document is rewritten in its finished form and the feed positions with references
	// to the payments (compact_finished.go, feed.go): the same order, in fewer bytes.
	lastField, lastRec, newDoc, newFeed := "", "", "", ""
	vals, err := s.rdb.HMGet(ctx, s.k.order(orderID), "doc", "last", feedPosField).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("trim order %s: %w", orderID, err)
	}
	doc, _ := vals[0].(string)
	last, _ := vals[1].(string)
	cur, curErr := decodeOrder(orderID, []byte(doc))
	if n := eventNumber(last); doc != "" && n > 0 {
		field := "e:" + strconv.FormatInt(n, 10)
		raw, err := s.rdb.HGet(ctx, s.k.order(orderID), field).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return 0, 0, fmt.Errorf("trim order %s: %w", orderID, err)
		}
		if curErr == nil && raw != "" {
			if slim, ok := compactLastEvent(&cur, raw); ok {
				lastField, lastRec = field, slim
			}
		}
	}
	if curErr == nil && cur.Status.Terminal() {
		if fin, ok := finishDoc([]byte(doc)); ok && len(fin) < len(doc) {
			if again, err := decodeOrder(orderID, fin); err == nil && sameOrder(&cur, &again) {
				newDoc = string(fin)
			}
		}
		var f feedPositions
		if fp, _ := vals[2].(string); fp != "" && f.decode(fp, cur.Payments) == nil {
			if c, err := f.compact(cur.Payments); err == nil && c != fp {
				newFeed = c
			}
		}
	}
	res, err := retainTrimScript.Run(ctx, s.rdb, []string{s.k.order(orderID), s.k.webhookQueue(orderID),
		s.k.legacyEvents(orderID), s.k.legacyWebhooks(orderID), s.k.legacyAttempts(orderID)},
		version, now.UnixMilli(), lastField, lastRec, newDoc, newFeed).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("trim order %s: %w", orderID, err)
	}
	if n, ok := res.(int64); ok && n < 0 {
		return 0, 0, fmt.Errorf("trim order %s: %w", orderID, ErrConflict)
	}
	pair, ok := res.([]any)
	if !ok || len(pair) != 2 {
		return 0, 0, fmt.Errorf("trim order %s: unexpected reply %v", orderID, res)
	}
	removed, _ = pair[0].(int64)
	pending, _ = pair[1].(int64)
	return removed, pending, nil
}

// ReleaseAddress stops watching the order's deposit address and deletes its binding to the
// order, if the address is bound to this order (xpub mode; a receive address of addresses
// mode is bound to its merchant and stays watched). The watch-set entry goes first: a crash
// between the two leaves a bound, unwatched address, which the next call finishes (the other
// way round, a watched address without its order would turn late funds into orphans). It
// reports whether the binding was there.
func (s *Store) ReleaseAddress(ctx context.Context, orderID string, n checkout.Network, addr string) (bool, error) {
	owner, err := s.rdb.Get(ctx, s.k.address(n, addr)).Result()
	if errors.Is(err, redis.Nil) || (err == nil && owner != orderID) {
		return false, nil
	}
	if err != nil {
		return false, wrap("read address binding", err)
	}
	if err := s.rdb.SRem(ctx, s.k.watchSet(n), addr).Err(); err != nil {
		return false, wrap("unwatch address", err)
	}
	ok, err := retainUnbindScript.Run(ctx, s.rdb, []string{s.k.address(n, addr)}, orderID).Int64()
	if err != nil {
		return false, wrap("unbind address", err)
	}
	return ok == 1, nil
}

// TrimChanges drops change feed entries older than before (approximately: whole stream
// nodes, so a few more may stay). It returns how many went.
func (s *Store) TrimChanges(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.rdb.XTrimMinIDApprox(ctx, s.k.changes(), minID(before), 0).Result()
	return n, wrap("trim change feed", err)
}

// TrimRecords drops entries older than before from the operator records: the orphans stream
// and each network's anomalies stream (written by its watcher). It returns how many went.
func (s *Store) TrimRecords(ctx context.Context, before time.Time) (int64, error) {
	total := int64(0)
	keys := []string{s.k.orphans()}
	for _, n := range checkout.Networks {
		keys = append(keys, s.k.anomalies(n))
	}
	var errs []error
	for _, k := range keys {
		n, err := s.rdb.XTrimMinIDApprox(ctx, k, minID(before), 0).Result()
		if err != nil {
			errs = append(errs, fmt.Errorf("trim %s: %w", k, err))
		}
		total += n
	}
	return total, errors.Join(errs...)
}

func minID(before time.Time) string {
	ms := before.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	return strconv.FormatInt(ms, 10) + "-0"
}

// BackfillRetention puts every order record under the store's prefix on the retention
// schedule (due at `at`) that is not on it yet: orders finished before the schedule
// existed, and orders of the earlier per-order layout. It walks the keyspace with SCAN (on
// every master of a cluster), so run it once, as an operator step (edge retention-backfill);
// open orders it adds are dropped at their first look and come back at their terminal
// commit. It returns how many orders it saw.
func (s *Store) BackfillRetention(ctx context.Context, at time.Time) (int, error) {
	var seen atomic.Int64
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, s.k.prefix+"order:{*}", 1000).Iterator()
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			zs := make([]redis.Z, len(batch))
			for i, id := range batch {
				zs[i] = redis.Z{Score: float64(at.UnixMilli()), Member: id}
			}
			batch = batch[:0]
			return s.rdb.ZAddNX(ctx, s.k.retention(), zs...).Err()
		}
		for it.Next(ctx) {
			key := it.Val()
			rest, ok := strings.CutPrefix(key, s.k.prefix+"order:{")
			id, ok2 := strings.CutSuffix(rest, "}")
			if !ok || !ok2 || strings.ContainsAny(id, "{}") {
				continue // one of the order's other keys (:whq, or the earlier layout's)
			}
			seen.Add(1)
			if batch = append(batch, id); len(batch) == 500 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := it.Err(); err != nil {
			return err
		}
		return flush()
	}
	var err error
	switch c := s.rdb.(type) {
	case *redis.Client:
		err = scan(ctx, c)
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	default:
		err = fmt.Errorf("unsupported client %T", s.rdb)
	}
	if err != nil {
		return int(seen.Load()), fmt.Errorf("backfill retention: %w", err)
	}
	return int(seen.Load()), nil
}
