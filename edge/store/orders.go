package store

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

// IdempotencyTTL is how long an idempotency key is remembered (the API promises 24 hours).
const IdempotencyTTL = 24 * time.Hour

// eventsKept caps the events an order keeps (the oldest are dropped). An order has a handful
// of events; the cap only bounds one whose payments keep changing (a payment's confirmations
// growing one at a time, reorgs).
const eventsKept = 200

// Claim is the outcome of reserving an order identity for a create request.
type Claim struct {
	OrderID    string
	ParamsHash string
	Index      uint32 // derivation index of the deposit address
	CreatedAt  time.Time
	Replayed   bool // an earlier request with the same idempotency key made this claim
}

// ClaimOrder reserves a deposit-address index for a new order of the merchant, counted per
// xpub (fingerprint) so indexes never repeat for one key. With an idempotency key, the first
// request's reservation is returned to every later one for IdempotencyTTL (Replayed set), so
// concurrent and retried requests all build the same order.
func (s *Store) ClaimOrder(ctx context.Context, merchantID, xpubFingerprint, idemKey, orderID, paramsHash string, now time.Time) (Claim, error) {
	counter := s.k.addrCounter(merchantID, xpubFingerprint)
	if idemKey == "" {
		n, err := s.rdb.Incr(ctx, counter).Result()
		if err != nil {
			return Claim{}, fmt.Errorf("allocate address index: %w", err)
		}
		return Claim{OrderID: orderID, ParamsHash: paramsHash, Index: uint32(n - 1), CreatedAt: now}, nil
	}
	res, err := claimScript.Run(ctx, s.rdb,
		[]string{s.k.idempotency(merchantID, idemKey), counter},
		orderID, paramsHash, now.UnixMilli(), int(IdempotencyTTL/time.Second)).Slice()
	if err != nil {
		return Claim{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	c, err := readClaim(res)
	if err != nil {
		return Claim{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	return c, nil
}

// readClaim reads claim_order.lua's reply.
func readClaim(res []any) (Claim, error) {
	if len(res) != 5 {
		return Claim{}, fmt.Errorf("unexpected reply %v", res)
	}
	idx, err1 := strconv.ParseUint(fmt.Sprint(res[3]), 10, 32)
	ms, err2 := strconv.ParseInt(fmt.Sprint(res[4]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return Claim{}, fmt.Errorf("corrupt record: %w", err)
	}
	return Claim{
		OrderID: fmt.Sprint(res[1]), ParamsHash: fmt.Sprint(res[2]), Index: uint32(idx),
		CreatedAt: time.UnixMilli(ms).UTC(), Replayed: res[0] == int64(0),
	}, nil
}

// SkipIndex replaces a claim's index with a fresh one; used for the (astronomically rare) index
// at which BIP32 derivation is invalid. Concurrent callers agree on the same replacement.
func (s *Store) SkipIndex(ctx context.Context, merchantID, xpubFingerprint, idemKey string, old uint32) (uint32, error) {
	counter := s.k.addrCounter(merchantID, xpubFingerprint)
	if idemKey == "" { // no record to keep consistent: just take the next index
		n, err := s.rdb.Incr(ctx, counter).Result()
		if err != nil {
			return 0, fmt.Errorf("skip address index: %w", err)
		}
		return uint32(n - 1), nil
	}
	n, err := rebumpScript.Run(ctx, s.rdb, []string{s.k.idempotency(merchantID, idemKey), counter}, old).Int64()
	if err != nil {
		return 0, fmt.Errorf("skip address index: %w", err)
	}
	return uint32(n), nil
}

// CreateOrder makes the order exist, idempotently: with the same id it returns the stored
// order and created=false. Before the order is written (its commit point) the deposit address
// is bound to it, added to the network's watch set and the order put on the expiry schedule,
// so once a customer can see the address, every payment to it is watched and the order
// expires even if this process dies right after. On one Redis all of it is one pipelined
// round trip: Redis runs a connection's commands in order, so the order is never written
// before the others. On a Redis Cluster those keys live on other nodes, so the pipeline of
// the first three runs before the create script.
func (s *Store) CreateOrder(ctx context.Context, o *checkout.Order, merchantID string, ev *checkout.Event) (*checkout.Order, bool, error) {
	keys, args, err := s.createCall(o, merchantID, ev)
	if err != nil {
		return nil, false, err
	}
	addrKey := s.k.address(o.Network, o.Address)
	var bind *redis.BoolCmd
	var created *redis.Cmd
	_, cluster := s.rdb.(*redis.ClusterClient)
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		bind = p.SetNX(ctx, addrKey, o.ID, 0)
		p.SAdd(ctx, s.k.watchSet(o.Network), o.Address)
		p.ZAdd(ctx, s.k.expiry(), redis.Z{Score: float64(o.ExpiresAt.UnixMilli()), Member: o.ID})
		s.queueIndex(ctx, p, merchantID, o) // the merchant's order index (index.go), before the order exists
		if !cluster {
			created = createScript.EvalSha(ctx, p, keys, args...)
		}
		return nil
	})
	if err != nil && (bind.Err() != nil || created == nil || !redis.HasErrorPrefix(created.Err(), "NOSCRIPT")) {
		return nil, false, fmt.Errorf("bind and watch deposit address: %w", err)
	}
	if created == nil || redis.HasErrorPrefix(created.Err(), "NOSCRIPT") {
		created = createScript.Run(ctx, s.rdb, keys, args...)
	}
	res, err := created.Slice()
	if err != nil {
		return nil, false, fmt.Errorf("create order: %w", err)
	}
	if !bind.Val() {
		owner, err := s.rdb.Get(ctx, addrKey).Result()
		if err != nil {
			return nil, false, fmt.Errorf("bind deposit address: %w", err)
		}
		if owner != o.ID {
			// The address belongs to another order (two merchants share an xpub, or a counter
			// went back). The order nobody has seen yet is taken back; the expiry entry just
			// added names an order that no longer exists, which the expiry worker drops.
			if res[0] == int64(1) {
				if err := s.rdb.Del(ctx, s.k.order(o.ID)).Err(); err != nil {
					return nil, false, fmt.Errorf("take back order %s: %w", o.ID, err)
				}
			}
			return nil, false, fmt.Errorf("order %s address %s: %w", o.ID, o.Address, ErrAddressInUse)
		}
	}
	// No change-feed hint: nobody can follow an order before it exists, and followers start
	// by reading the order's events.
	return createdOrder(o, res)
}

// createCall is create_order.lua's keys and arguments for the order and its first event.
func (s *Store) createCall(o *checkout.Order, merchantID string, ev *checkout.Event) ([]string, []any, error) {
	doc, err := encodeOrder(o)
	if err != nil {
		return nil, nil, err
	}
	rec, err := encodeEvent(ev)
	if err != nil {
		return nil, nil, err
	}
	return []string{s.k.order(o.ID)}, []any{doc, merchantID, rec}, nil
}

// createdOrder reads create_order.lua's reply: o with created=true when it wrote o, else
// the order stored under that id before (created=false).
func createdOrder(o *checkout.Order, res []any) (*checkout.Order, bool, error) {
	if res[0] != int64(0) {
		return o, true, nil
	}
	existing, err := decodeOrder(o.ID, []byte(fmt.Sprint(res[1])))
	if err != nil {
		return nil, false, err
	}
	return &existing, false, nil
}

// Record is a stored order with what the store needs to update it safely.
type Record struct {
	Order      checkout.Order
	MerchantID string
	Version    int64
	feed       feedPositions // settlement's per-transfer feed positions (see FeedPosition)
}

// Order loads an order (one round trip).
func (s *Store) Order(ctx context.Context, id string) (*Record, error) {
	return readOrder(id, s.rdb.HMGet(ctx, s.k.order(id), "doc", "merchant", "ver", feedPosField))
}

// readOrder reads an order's HMGET (doc, merchant, ver, feedpos); ErrNotFound if it has none.
func readOrder(id string, cmd *redis.SliceCmd) (*Record, error) {
	vals, err := cmd.Result()
	if err != nil {
		return nil, fmt.Errorf("load order %s: %w", id, err)
	}
	doc, ok := vals[0].(string)
	if !ok {
		return nil, fmt.Errorf("order %s: %w", id, ErrNotFound)
	}
	r := &Record{MerchantID: fmt.Sprint(vals[1])}
	r.Version, _ = strconv.ParseInt(fmt.Sprint(vals[2]), 10, 64)
	if r.Order, err = decodeOrder(id, []byte(doc)); err != nil {
		return nil, err
	}
	if err := r.feed.decode(vals[3], r.Order.Payments); err != nil {
		return nil, fmt.Errorf("order %s: %w", id, err)
	}
	return r, nil
}

// OrderIDByAddress finds the order a deposit address was handed out for.
func (s *Store) OrderIDByAddress(ctx context.Context, n checkout.Network, addr string) (string, error) {
	id, err := s.rdb.Get(ctx, s.k.address(n, addr)).Result()
	if errors.Is(err, redis.Nil) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("look up address: %w", err)
	}
	return id, nil
}

// CommitOrder stores r.Order and appends events to its stream in one atomic step, provided
// nobody changed the order since r was loaded; otherwise it returns ErrConflict and the
// caller reloads and decides again. Events of webhook types enter the order's webhook outbox
// in the same step. It returns the events' stream ids.
func (s *Store) CommitOrder(ctx context.Context, r *Record, events []checkout.Event) ([]string, error) {
	doc, err := encodeOrder(&r.Order)
	if err != nil {
		return nil, err
	}
	pos, err := r.feed.encode()
	if err != nil {
		return nil, err
	}
	terminal := ""
	if r.Order.Status.Terminal() {
		terminal = "1"
	}
	args := []any{r.Version, doc, eventsKept, pos, terminal}
	encoded := make([][]byte, len(events))
	var firstWebhook *time.Time // when the earliest new delivery is due
	for i := range events {
		ev := &events[i]
		if encoded[i], err = json.Marshal(ev); err != nil {
			return nil, fmt.Errorf("encode event: %w", err)
		}
		rec, err := encodeEvent(ev)
		if err != nil {
			return nil, err
		}
		var delivery []byte
		if ev.Type.Webhook() {
			if delivery, err = newDelivery(ev); err != nil {
				return nil, err
			}
			if firstWebhook == nil || ev.CreatedAt.Before(*firstWebhook) {
				firstWebhook = &ev.CreatedAt
			}
		}
		args = append(args, rec, ev.ID, delivery)
	}
	id := r.Order.ID
	res, err := commitScript.Run(ctx, s.rdb, []string{s.k.order(id), s.k.webhookQueue(id)}, args...).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("order %s: %w", id, ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("commit order %s: %w", id, err)
	}
	r.Version++
	r.feed.dirty = false
	streamIDs := res[1:]
	if firstWebhook != nil {
		// The outbox is written; the schedule (another slot) is told after. A crash in between
		// leaves the step unfinished (ErrUnannounced), and its retry's Announce schedules it.
		if err := s.ScheduleWebhooks(ctx, id, *firstWebhook); err != nil {
			return streamIDs, fmt.Errorf("order %s committed: %w: %v", id, ErrUnannounced, err)
		}
	}
	// A finished order enters the retention schedule (another slot) in the same round trip
	// as its change hint. Lost to a crash, it only means the order is never trimmed (edge
	// retention-backfill finds it).
	retain := terminal != ""
	if len(streamIDs) > 0 {
		published := make([]StreamEvent, len(streamIDs))
		for i, sid := range streamIDs {
			published[i] = StreamEvent{ID: sid, Type: events[i].Type, Data: encoded[i]}
		}
		if err := s.publish(ctx, id, res[0], published, retain); err != nil {
			return streamIDs, fmt.Errorf("order %s committed: %w", id, err)
		}
	} else if retain {
		if err := s.scheduleRetention(ctx, s.rdb, id, time.Now()).Err(); err != nil {
			return streamIDs, fmt.Errorf("order %s committed: schedule retention: %w", id, err)
		}
	}
	return streamIDs, nil
}

// ErrUnannounced: the order was committed but the change hint could not be published. The
// caller must treat its step as not finished (not acknowledge, not unschedule), so the step
// runs again, finds the change already applied, and calls Announce.
var ErrUnannounced = errors.New("change committed but not announced")

// Announce publishes a change hint without events for the order (every reader rereads the
// order's stream) and makes sure its pending webhooks are scheduled. A step that finds its
// work already done calls it, because the process that did the work may have died between
// the commit and what follows it.
func (s *Store) Announce(ctx context.Context, orderID string) error {
	if err := s.ensureWebhooksScheduled(ctx, orderID); err != nil {
		return fmt.Errorf("%w: %v", ErrUnannounced, err)
	}
	return s.publishChange(ctx, orderID, "", nil)
}

// changesMax caps the change feed; edges read it live, so only a short history is needed.
const changesMax = 100_000

// publishChange tells every edge that the order's event stream grew (the fan-out feed),
// carrying the new events and the id of the event before them. It is a hint: the order's own
// stream is the record, and a reader that sees a gap (prev is not what it last had) rereads
// it. A hint lost to a crash right after the commit is made good by the retried step's
// Announce (see ErrUnannounced).
func (s *Store) publishChange(ctx context.Context, orderID, prev string, events []StreamEvent) error {
	return s.publish(ctx, orderID, prev, events, false)
}

// publish is publishChange, also putting the order on the retention schedule when retain.
func (s *Store) publish(ctx context.Context, orderID, prev string, events []StreamEvent, retain bool) error {
	b, err := json.Marshal(events)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnannounced, err)
	}
	add := &redis.XAddArgs{
		Stream: s.k.changes(), MaxLen: changesMax, Approx: true,
		Values: []any{"order_id", orderID, "prev", prev, "events", b},
	}
	if retain {
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.XAdd(ctx, add)
			s.scheduleRetention(ctx, p, orderID, time.Now())
			return nil
		})
	} else {
		err = s.rdb.XAdd(ctx, add).Err()
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnannounced, err)
	}
	return nil
}

// DueOrders returns up to limit order ids whose expiry time is at or before now.
func (s *Store) DueOrders(ctx context.Context, now time.Time, limit int64) ([]string, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, s.k.expiry(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: limit,
	}).Result()
	return ids, wrap("due orders", err)
}

// Reschedule moves an order's next expiry check to at.
func (s *Store) Reschedule(ctx context.Context, orderID string, at time.Time) error {
	return wrap("reschedule", s.rdb.ZAdd(ctx, s.k.expiry(), redis.Z{Score: float64(at.UnixMilli()), Member: orderID}).Err())
}

// Unschedule removes an order from the expiry schedule.
func (s *Store) Unschedule(ctx context.Context, orderID string) error {
	return wrap("unschedule", s.rdb.ZRem(ctx, s.k.expiry(), orderID).Err())
}
