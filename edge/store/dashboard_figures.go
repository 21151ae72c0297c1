package store

// The dashboard's figures: per-merchant daily counters, so the numbers page reads at most one
// small hash per day of its range (one pipelined round trip) however many orders there are,
// and never scans orders.
//
// Where they are counted, and why that is exactly once:
//
//   - orders by status, paid volume and time to PAID: in index_order.lua, the merchant index
//     step that already moves an order between its status lists once per version (a step run
//     again, late or by another replica finds the version filed and changes nothing). The
//     counters change in the same script, past the same check, so they move once per
//     transition. The key of the order's creation day holds, per status, the orders created
//     that day that are now in it (a transition moves one from the old status to the new);
//     the key of its PAID day adds it to pn (orders paid), pa (amount paid, base units) and to
//     one bucket tI of a histogram of the time from creation to PAID.
//   - webhooks: a delivery's outcome is written in the order's slot (webhook_save.lua), and
//     a Redis Cluster script cannot touch the merchant's slot too. So the counters are added
//     after the save succeeded, from Go, by fig_webhook.lua in the merchant's slot, guarded by
//     a field EVT:REV (the delivery record's revision the save wrote, unique per attempt):
//     a retried count adds nothing. The trade-off: a process that dies between the save and
//     the count loses that attempt's count (it never counts one twice), and the count costs
//     two more round trips per attempt (the order's merchant, then the script).
//
// Retention: each day's key expires FiguresRetention after the day ends (set on every write),
// the webhook guards after webhookGuardTTL. Orders created before the merchant's figures
// started (the fig:since key) are not in the per-status counts: BackfillFigures recomputes
// days from the orders themselves (`edge figures-backfill`).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// FiguresRetention is how long a day's figures are kept after the day ends (400 days: a year
// and a month, so a year-on-year comparison is still possible).
const FiguresRetention = 400 * 24 * time.Hour

// webhookGuardTTL is how long the record of a counted webhook attempt is kept: longer than any
// retry of one count (seconds), short enough that the guards cost little.
const webhookGuardTTL = 48 * time.Hour

// TimeToPaidBounds are the upper bounds of the time-to-PAID histogram's buckets; one more
// bucket holds everything from the last bound on. Each bucket is at most 1.5 times as wide as
// its lower bound (up to 1 h; 2× beyond), so a median read from it is within that bucket.
var TimeToPaidBounds = []time.Duration{
	15 * time.Second, 30 * time.Second, 45 * time.Second, time.Minute, 90 * time.Second,
	2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 450 * time.Second,
	10 * time.Minute, 15 * time.Minute, 20 * time.Minute, 30 * time.Minute, 45 * time.Minute,
	time.Hour, 90 * time.Minute, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour,
}

// TimeToPaidBuckets is the histogram's number of buckets.
var TimeToPaidBuckets = len(TimeToPaidBounds) + 1

// TimeToPaidBucket is the bucket of a time from creation to PAID.
func TimeToPaidBucket(d time.Duration) int {
	for i, b := range TimeToPaidBounds {
		if d < b {
			return i
		}
	}
	return len(TimeToPaidBounds)
}

// figDayName is a UTC day as it appears in key names.
func figDayName(t time.Time) string { return t.UTC().Format("20060102") }

// dayStart is the start (00:00 UTC) of t's day.
func dayStart(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// figExpireAt is the EXPIREAT of day t's key, "" when that is not in the future (a day past
// retention is not counted at all).
func figExpireAt(t, now time.Time) string {
	at := dayStart(t).Add(24*time.Hour + FiguresRetention)
	if !at.After(now) {
		return ""
	}
	return strconv.FormatInt(at.Unix(), 10)
}

// figuresCall adds index_order.lua's figures block (keys after the status lists, arguments
// after the statuses) for o as it is now.
func (s *Store) figuresCall(merchantID string, o *checkout.Order, now time.Time, keys []string, args []any) ([]string, []any) {
	created := o.CreatedAt
	paidDay, paidExp, bucket := created, "", 0
	if o.Status == checkout.StatusPaid {
		paidDay = now
		if o.PaidAt != nil {
			paidDay = *o.PaidAt
		}
		paidExp = figExpireAt(paidDay, now)
		bucket = TimeToPaidBucket(paidDay.Sub(created))
	}
	keys = append(keys, s.k.figDay(merchantID, figDayName(created)), s.k.figDay(merchantID, figDayName(paidDay)), s.k.figSince(merchantID))
	args = append(args, "1", created.Unix(), figExpireAt(created, now), paidExp, int64(o.AmountPaid), bucket)
	return keys, args
}

// DayFigures are one UTC day's figures of a merchant.
type DayFigures struct {
	Day time.Time // 00:00 UTC
	// Created counts the orders created that day by their status now (only orders created
	// since the merchant's figures started, or backfilled).
	Created map[checkout.Status]int64
	// Paid orders turned PAID that day, for PaidAmount (their amount paid when they did).
	Paid       int64
	PaidAmount checkout.Amount
	// TimeToPaid is the histogram of those orders' times from creation to PAID, one count
	// per bucket (TimeToPaidBounds).
	TimeToPaid []int64
	// Webhook attempts made that day, those answered 2xx, and deliveries given up that day
	// (retried for the whole horizon).
	WebhookAttempts, WebhookOK, WebhookGaveUp int64
}

// Figures returns the merchant's figures for each UTC day from from's day to to's day, both
// included, oldest first (days with nothing counted have zero figures). One round trip.
func (s *Store) Figures(ctx context.Context, merchantID string, from, to time.Time) ([]DayFigures, error) {
	from, to = dayStart(from), dayStart(to)
	if to.Before(from) {
		return nil, errors.New("figures: range ends before it starts")
	}
	var days []time.Time
	for d := from; !d.After(to); d = d.Add(24 * time.Hour) {
		days = append(days, d)
	}
	if len(days) > 800 {
		return nil, fmt.Errorf("figures: %d days asked, at most 800", len(days))
	}
	cmds := make([]*redis.MapStringStringCmd, len(days))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range days {
			cmds[i] = p.HGetAll(ctx, s.k.figDay(merchantID, figDayName(d)))
		}
		return nil
	})
	if err != nil {
		return nil, wrap("read figures", err)
	}
	out := make([]DayFigures, len(days))
	for i, d := range days {
		out[i] = decodeDay(d, cmds[i].Val())
	}
	return out, nil
}

func decodeDay(d time.Time, f map[string]string) DayFigures {
	n := func(k string) int64 { v, _ := strconv.ParseInt(f[k], 10, 64); return v }
	day := DayFigures{Day: d, Created: map[checkout.Status]int64{}, TimeToPaid: make([]int64, TimeToPaidBuckets),
		Paid: n("pn"), PaidAmount: checkout.Amount(n("pa")), WebhookAttempts: n("wa"), WebhookOK: n("wo"), WebhookGaveUp: n("wf")}
	for _, st := range checkout.Statuses {
		if v := n("c:" + string(st)); v != 0 {
			day.Created[st] = v
		}
	}
	for i := range day.TimeToPaid {
		day.TimeToPaid[i] = n("t" + strconv.Itoa(i))
	}
	return day
}

// FiguresSince is when the merchant's per-status counts start: orders created before it are
// not in them. Zero when nothing was counted yet.
func (s *Store) FiguresSince(ctx context.Context, merchantID string) (time.Time, error) {
	v, err := s.rdb.Get(ctx, s.k.figSince(merchantID)).Int64()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, wrap("read figures start", err)
	}
	return time.Unix(v, 0).UTC(), nil
}

// figureWriteErrors counts figure writes that failed (their count is lost; the write they
// follow stands).
var figureWriteErrors atomic.Int64

// FigureWriteErrors is how many figure writes failed in this process since it started.
func FigureWriteErrors() int64 { return figureWriteErrors.Load() }

// countWebhook adds a saved delivery outcome to its merchant's figures: an attempt (ok when
// answered 2xx) and, when the delivery is now failed, a delivery given up. rev is the record's
// revision the save wrote; record the order's (or notice's) hash key. Failures are counted
// in FigureWriteErrors and never reach the delivery: figures must not hold webhooks up.
func (s *Store) countWebhook(ctx context.Context, record, eventID string, rev int64, status checkout.DeliveryStatus, a *checkout.WebhookAttempt, now time.Time) {
	attempts, ok, gaveUp := 0, 0, 0
	if a != nil {
		attempts = 1
		if a.Error == "" {
			ok = 1
		}
		now = a.At
	}
	if status == checkout.DeliveryFailed {
		gaveUp = 1
	}
	if attempts+gaveUp == 0 {
		return
	}
	exp := figExpireAt(now, time.Now())
	if exp == "" {
		return
	}
	var err error
	for try := 0; try < 3; try++ { // the guard makes a retry after a lost reply harmless
		var merchant string
		merchant, err = s.rdb.HGet(ctx, record, "merchant").Result()
		if errors.Is(err, redis.Nil) {
			return // no merchant to count for (a record retention removed meanwhile)
		}
		if err != nil {
			continue
		}
		day := figDayName(now)
		err = figWebhookScript.Run(ctx, s.rdb, []string{s.k.figDay(merchant, day), s.k.figWebhookGuard(merchant, day)},
			eventID+":"+strconv.FormatInt(rev, 10), attempts, ok, gaveUp, exp, int(webhookGuardTTL/time.Second)).Err()
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		figureWriteErrors.Add(1)
	}
}

// BackfillResult is what BackfillFigures did.
type BackfillResult struct {
	From   time.Time `json:"from"`   // first day recomputed (00:00 UTC)
	Days   int       `json:"days"`   // days recomputed, up to today
	Orders int       `json:"orders"` // orders read
	// Attention is how many of them need a human (UNDERPAID, FROZEN, late funds): they are
	// filed in the dashboard's attention queue, where orders from before the queue existed
	// are otherwise missing (filing one already there, or reviewed, changes nothing).
	Attention int `json:"attention"`
}

// backfillMargin is how far before the first day orders are read, for the PAID figures of
// orders created before it and paid in it (an order is open for hours, not days).
const backfillMargin = 2 * 24 * time.Hour

// BackfillFigures recomputes the merchant's order figures (orders by status, paid volume,
// time to PAID) of the last days days up to now's day, from the orders themselves, and
// counts orders from the first of those days on from then (fig:since). Webhook figures are
// kept as they are: attempts are not recomputed (their logs do not last). It replaces, never
// adds, so running it again is harmless; an order that changes while it runs may be counted
// as it was (run it again, or at a quiet time). Orders created more than two days before the
// first day and paid in it are not in its PAID figures.
func (s *Store) BackfillFigures(ctx context.Context, merchantID string, days int, now time.Time) (*BackfillResult, error) {
	if days < 1 || days > int(FiguresRetention/(24*time.Hour)) {
		return nil, fmt.Errorf("figures backfill: days must be 1 to %d", int(FiguresRetention/(24*time.Hour)))
	}
	from := dayStart(now).Add(-time.Duration(days-1) * 24 * time.Hour)
	res := &BackfillResult{From: from, Days: days}
	figs := map[string]map[string]int64{}
	add := func(day time.Time, field string, v int64) {
		name := figDayName(day)
		if figs[name] == nil {
			figs[name] = map[string]int64{}
		}
		figs[name][field] += v
	}
	q := ListQuery{CreatedFrom: from.Add(-backfillMargin), CreatedTo: now, Oldest: true, Limit: 500}
	for {
		page, err := s.ListOrders(ctx, merchantID, q)
		if err != nil {
			return nil, fmt.Errorf("figures backfill: %w", err)
		}
		for _, r := range page.Records {
			o := &r.Order
			res.Orders++
			if AttentionState(o) != "" {
				if err := s.FileAttention(ctx, merchantID, o, now); err != nil {
					return nil, fmt.Errorf("figures backfill: %w", err)
				}
				res.Attention++
			}
			if !o.CreatedAt.Before(from) {
				add(o.CreatedAt, "c:"+string(o.Status), 1)
			}
			if o.Status == checkout.StatusPaid && o.PaidAt != nil && !o.PaidAt.Before(from) {
				add(*o.PaidAt, "pn", 1)
				add(*o.PaidAt, "pa", int64(o.AmountPaid))
				add(*o.PaidAt, "t"+strconv.Itoa(TimeToPaidBucket(o.PaidAt.Sub(o.CreatedAt))), 1)
			}
		}
		if !page.More {
			break
		}
		q.After = page.Next
	}
	var orderFields []string
	for _, st := range checkout.Statuses {
		orderFields = append(orderFields, "c:"+string(st))
	}
	orderFields = append(orderFields, "pn", "pa")
	for i := range TimeToPaidBuckets {
		orderFields = append(orderFields, "t"+strconv.Itoa(i))
	}
	for d := from; !d.After(now); d = d.Add(24 * time.Hour) {
		name := figDayName(d)
		key := s.k.figDay(merchantID, name)
		exp := figExpireAt(d, time.Now())
		if exp == "" {
			continue
		}
		at, _ := strconv.ParseInt(exp, 10, 64)
		pipe := s.rdb.TxPipeline() // one key: the day's counters replaced at once
		pipe.HDel(ctx, key, orderFields...)
		if f := figs[name]; len(f) > 0 {
			vals := make([]any, 0, 2*len(f))
			for k, v := range f {
				vals = append(vals, k, v)
			}
			pipe.HSet(ctx, key, vals...)
			pipe.ExpireAt(ctx, key, time.Unix(at, 0))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, wrap("figures backfill: write "+name, err)
		}
	}
	// Orders created from the first day on are now counted: their later transitions move them.
	since, err := s.FiguresSince(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	if since.IsZero() || since.After(from) {
		if err := s.rdb.Set(ctx, s.k.figSince(merchantID), from.Unix(), 0).Err(); err != nil {
			return nil, wrap("figures backfill: start", err)
		}
	}
	return res, nil
}

// OpenOrders counts, for each merchant, the orders its index holds as PENDING or CONFIRMING
// (an entry a create that died left behind counts too). One pipelined round trip for all.
func (s *Store) OpenOrders(ctx context.Context, merchantIDs []string) ([]int64, error) {
	cmds := make([][]*redis.IntCmd, len(merchantIDs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range merchantIDs {
			for _, st := range []checkout.Status{checkout.StatusPending, checkout.StatusConfirming} {
				for _, n := range checkout.Networks {
					cmds[i] = append(cmds[i], p.ZCard(ctx, s.k.orderList(id, st, n)))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("count open orders", err)
	}
	out := make([]int64, len(merchantIDs))
	for i, cs := range cmds {
		for _, c := range cs {
			out[i] += c.Val()
		}
	}
	return out, nil
}

// WatcherState is what Redis holds of a network's watcher: the lease the active instance
// renews, its checkpoint, its pending sightings, and the status record it publishes after
// each step (the chain head it sees and its RPC endpoints' health, otherwise only on its own
// /metrics), which expires when the watcher stops writing it.
type WatcherState struct {
	Network checkout.Network
	// Leader: an instance holds the lease (is active); LeaseLeft is the time before it lapses
	// unless renewed; Instance is the first 8 characters of the holder's random token (a
	// change means another instance took over).
	Leader    bool
	LeaseLeft time.Duration
	Instance  string
	// Checkpoint is the last block whose logs are final and reported; Started false when the
	// watcher never committed a step.
	Checkpoint uint64
	Started    bool
	// Pending is the number of transfers seen and not yet final.
	Pending int64
	// Reporting: a status record is there (the active watcher wrote one within its TTL);
	// false leaves the fields below zero.
	Reporting bool
	// Head is the chain head the watcher's last step saw, read at HeadAt; HeadLag is Head
	// minus the checkpoint the step left (0 when the head is not above it).
	Head    uint64
	HeadAt  time.Time
	HeadLag uint64
	// EndpointsHealthy of EndpointsTotal RPC endpoints were not benched; Primary is the one
	// the step read from, as the watcher's logs and metrics name it ("#i scheme://host"), or "".
	EndpointsHealthy, EndpointsTotal int
	Primary                          string
}

// WatcherState reads the network's watcher state (one round trip, one slot).
func (s *Store) WatcherState(ctx context.Context, n checkout.Network) (*WatcherState, error) {
	var lease, cp *redis.StringCmd
	var ttl *redis.DurationCmd
	var pend *redis.IntCmd
	var status *redis.MapStringStringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		lease = p.Get(ctx, s.k.watcherLease(n))
		ttl = p.PTTL(ctx, s.k.watcherLease(n))
		cp = p.Get(ctx, s.k.watcherCheckpoint(n))
		pend = p.HLen(ctx, s.k.watcherPending(n))
		status = p.HGetAll(ctx, s.k.watcherStatus(n))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap("read watcher state", err)
	}
	w := &WatcherState{Network: n, Pending: pend.Val()}
	if tok := lease.Val(); tok != "" {
		w.Leader, w.Instance = true, tok[:min(8, len(tok))]
		w.LeaseLeft = max(ttl.Val(), 0)
	}
	if v := cp.Val(); v != "" {
		c, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("watcher %s: corrupt checkpoint %q", n, v)
		}
		w.Checkpoint, w.Started = c, true
	}
	if h := status.Val(); len(h) > 0 {
		if err := w.readStatus(h); err != nil {
			return nil, fmt.Errorf("watcher %s: corrupt status record: %w", n, err)
		}
	}
	return w, nil
}

// readStatus fills the status fields from the watcher's status hash (watcher/feed writes it).
func (w *WatcherState) readStatus(h map[string]string) error {
	num := func(field string) (uint64, error) {
		v, err := strconv.ParseUint(h[field], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("field %s %q", field, h[field])
		}
		return v, nil
	}
	var vals [5]uint64
	for i, f := range []string{"h", "at", "cp", "eh", "et"} {
		v, err := num(f)
		if err != nil {
			return err
		}
		vals[i] = v
	}
	head, at, cp := vals[0], vals[1], vals[2]
	w.Reporting, w.Head, w.HeadAt = true, head, time.UnixMilli(int64(at))
	if head > cp {
		w.HeadLag = head - cp
	}
	w.EndpointsHealthy, w.EndpointsTotal, w.Primary = int(vals[3]), int(vals[4]), h["p"]
	return nil
}
