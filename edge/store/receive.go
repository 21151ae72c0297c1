package store

// Addresses mode: merchant-owned, watch-only receive addresses shared by many orders. Each
// order reserves a unique (address, pay_amount) pair; a transfer to the address is credited
// to the order whose pair it matches, and the per-transfer "credited to" record beside the
// reservations (the address's slot) makes every transfer credit at most one order, whether
// it is matched by the feed or claimed by tx hash. See keys.go for the layout.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// Errors of addresses mode.
var (
	// ErrPairsExhausted: every pay_amount within the offset cap is reserved on the address.
	ErrPairsExhausted = errors.New("every pay_amount within the offset cap is reserved")
	// ErrAddressOwned: the receive address belongs to another merchant (here or in another
	// deployment on the Redis), or is an HD deposit address already handed out.
	ErrAddressOwned = errors.New("receive address belongs to another merchant or order")
)

// TransferRetention is how long a transfer to a receive address is remembered (its "credited
// to" record, and an unmatched one's listing) after it is first seen. The feed keeps
// observations for a day, so a record outlives every observation of its transfer.
const TransferRetention = 30 * 24 * time.Hour

// BindReceiveAddress makes addr (network format) a receive address of the merchant: owned
// across deployments (the shared namespace, like xpubs), bound to the merchant in this one
// (so no HD-derived order can take it), and watched permanently. Binding an address the
// merchant already has succeeds; another's is ErrAddressOwned and changes nothing.
func (s *Store) BindReceiveAddress(ctx context.Context, merchantID string, n checkout.Network, addr string) error {
	shared := s.k.sharedAddressOwner(n, addr)
	if err := s.setOwner(ctx, shared, s.owner(merchantID)); err != nil {
		if errors.Is(err, ErrXPubInUse) {
			return fmt.Errorf("%s %s: %w", n, addr, ErrAddressOwned)
		}
		return fmt.Errorf("receive address %s: %w", addr, err)
	}
	local := s.k.address(n, addr)
	ok, err := s.rdb.SetNX(ctx, local, merchantID, 0).Result()
	if err != nil {
		return fmt.Errorf("bind receive address: %w", err)
	}
	if !ok {
		got, err := s.rdb.Get(ctx, local).Result()
		if err != nil {
			return fmt.Errorf("bind receive address: %w", err)
		}
		if got != merchantID {
			_ = s.releaseOwner(context.WithoutCancel(ctx), shared, s.owner(merchantID))
			return fmt.Errorf("%s %s: %w", n, addr, ErrAddressOwned)
		}
	}
	return wrap("watch receive address", s.rdb.SAdd(ctx, s.k.watchSet(n), addr).Err())
}

// SetReceive binds cfg's addresses to the merchant and stores cfg as its receive mode for n
// (m is updated to the merchant as stored).
// Addresses it had before stay bound and watched (open orders and late funds use them).
func (s *Store) SetReceive(ctx context.Context, m *checkout.Merchant, n checkout.Network, cfg checkout.ReceiveConfig) error {
	for _, a := range cfg.Addresses {
		if err := s.BindReceiveAddress(ctx, m.ID, n, a); err != nil {
			return err
		}
	}
	got, err := s.UpdateMerchant(ctx, m.ID, func(cur *checkout.Merchant) error {
		if cur.Receive == nil {
			cur.Receive = map[checkout.Network]checkout.ReceiveConfig{}
		}
		cur.Receive[n] = cfg
		return nil
	})
	if err != nil {
		return err
	}
	*m = *got
	return nil
}

// IsMerchantID reports whether an address binding (OrderIDByAddress) names a merchant: the
// address is a receive address of addresses mode, not an order's HD deposit address.
func IsMerchantID(id string) bool { return strings.HasPrefix(id, "mer_") }

// Reserve gives the order the smallest free pay_amount in [amount, amount + maxOffset] on
// the receive address, or the one it already holds (a retried create). The reservation is
// put on the release schedule at releaseAt first, so a create that dies afterwards leaves
// nothing reserved for ever. minPaid is the order's PAID bound (tolerance matching). All
// pairs taken: ErrPairsExhausted, and nothing is reserved.
func (s *Store) Reserve(ctx context.Context, n checkout.Network, addr, orderID string, amount, maxOffset, minPaid checkout.Amount, releaseAt time.Time) (checkout.Amount, error) {
	member := "r|" + string(n) + "|" + addr + "|" + orderID
	err := s.rdb.ZAddNX(ctx, s.k.receiveSchedule(), redis.Z{Score: float64(releaseAt.UnixMilli()), Member: member}).Err()
	if err != nil {
		return 0, fmt.Errorf("schedule reservation release: %w", err)
	}
	res, err := reserveScript.Run(ctx, s.rdb, []string{s.k.reservations(n, addr), s.k.reservedMin(n, addr)},
		orderID, int64(amount), int64(maxOffset), int64(minPaid)).Int64Slice()
	if err != nil {
		return 0, fmt.Errorf("reserve pay amount: %w", err)
	}
	if len(res) != 2 {
		return 0, fmt.Errorf("reserve pay amount: unexpected reply %v", res)
	}
	if res[0] == 0 {
		_ = s.rdb.ZRem(context.WithoutCancel(ctx), s.k.receiveSchedule(), member).Err()
		return 0, ErrPairsExhausted
	}
	return checkout.Amount(res[1]), nil
}

// Release ends the order's reservation on the address (nothing if it holds none).
func (s *Store) Release(ctx context.Context, n checkout.Network, addr, orderID string) error {
	err := releaseScript.Run(ctx, s.rdb, []string{s.k.reservations(n, addr), s.k.reservedMin(n, addr)}, orderID).Err()
	return wrap("release reservation", err)
}

// Reservations counts the open reservations on the address.
func (s *Store) Reservations(ctx context.Context, n checkout.Network, addr string) (int64, error) {
	c, err := s.rdb.ZCard(ctx, s.k.reservations(n, addr)).Result()
	return c, wrap("count reservations", err)
}

// CreateReservedOrder writes an addresses-mode order whose pair is reserved (Reserve): the
// expiry schedule first, then the order with its first event. The address needs no binding
// (it is the merchant's) and is watched already. Idempotent like CreateOrder: the same id
// returns the stored order and created=false.
func (s *Store) CreateReservedOrder(ctx context.Context, o *checkout.Order, merchantID string, ev *checkout.Event) (*checkout.Order, bool, error) {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, s.k.expiry(), redis.Z{Score: float64(o.ExpiresAt.UnixMilli()), Member: o.ID})
		s.queueIndex(ctx, p, merchantID, o) // the merchant's order index (index.go)
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("schedule expiry and index order: %w", err)
	}
	keys, args, err := s.createCall(o, merchantID, ev)
	if err != nil {
		return nil, false, err
	}
	res, err := createScript.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return nil, false, fmt.Errorf("create order: %w", err)
	}
	return createdOrder(o, res)
}

// ReceiveItem is a due entry of the release schedule: a reservation (Order set) or a transfer
// record (Field set, "TX:LOG").
type ReceiveItem struct {
	Member  string
	Network checkout.Network
	Address string
	Order   string
	Field   string
}

// DueReceive returns up to limit schedule entries due at now.
func (s *Store) DueReceive(ctx context.Context, now time.Time, limit int64) ([]ReceiveItem, error) {
	ms, err := s.rdb.ZRangeByScore(ctx, s.k.receiveSchedule(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: limit,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("due releases: %w", err)
	}
	out := make([]ReceiveItem, 0, len(ms))
	for _, m := range ms {
		parts := strings.SplitN(m, "|", 4)
		if len(parts) != 4 {
			_ = s.rdb.ZRem(ctx, s.k.receiveSchedule(), m).Err() // not ours to understand: drop it
			continue
		}
		it := ReceiveItem{Member: m, Network: checkout.Network(parts[1]), Address: parts[2]}
		if parts[0] == "r" {
			it.Order = parts[3]
		} else {
			it.Field = parts[3]
		}
		out = append(out, it)
	}
	return out, nil
}

// RescheduleReceive moves a schedule entry to at.
func (s *Store) RescheduleReceive(ctx context.Context, it ReceiveItem, at time.Time) error {
	return wrap("reschedule release", s.rdb.ZAdd(ctx, s.k.receiveSchedule(),
		redis.Z{Score: float64(at.UnixMilli()), Member: it.Member}).Err())
}

// FinishReceive takes a handled entry off the schedule.
func (s *Store) FinishReceive(ctx context.Context, it ReceiveItem) error {
	return wrap("finish release", s.rdb.ZRem(ctx, s.k.receiveSchedule(), it.Member).Err())
}

// Match is MatchTransfer's outcome.
type Match struct {
	// State: "credited" (to OrderID), "unmatched", "stale" (an observation older than the
	// one recorded: ignore it) or "dust" (first seen, below the dust threshold, matching no
	// pair exactly: not recorded).
	State     string
	OrderID   string
	FirstSeen time.Time
	New       bool // the transfer's first observation
}

// transferField names a transfer inside its address's record.
func transferField(t *checkout.Transfer) string {
	return t.TxHash + ":" + strconv.FormatUint(uint64(t.LogIndex), 10)
}

// MatchTransfer records an observation of a transfer to a receive address at feed position
// and, at the first one, credits it to the order whose reservation matches it (exactly, or
// within the order's tolerance when no other order could be the one it pays). Later observations
// report the order it was credited to, by a match or a claim. dust: below the dust threshold
// (recorded only when it matches a pair exactly). The record is put on the retention
// schedule first, so a crash never leaves one for ever.
func (s *Store) MatchTransfer(ctx context.Context, position string, t *checkout.Transfer, dust bool, now time.Time) (Match, error) {
	field := transferField(t)
	member := "t|" + string(t.Network) + "|" + t.To + "|" + field
	err := s.rdb.ZAddNX(ctx, s.k.receiveSchedule(), redis.Z{Score: float64(now.Add(TransferRetention).UnixMilli()), Member: member}).Err()
	if err != nil {
		return Match{}, fmt.Errorf("schedule transfer record: %w", err)
	}
	obs, err := json.Marshal(t)
	if err != nil {
		return Match{}, fmt.Errorf("encode transfer: %w", err)
	}
	d := "0"
	if dust {
		d = "1"
	}
	res, err := matchScript.Run(ctx, s.rdb, []string{s.k.reservations(t.Network, t.To), s.k.reservedMin(t.Network, t.To),
		s.k.received(t.Network, t.To)}, field, t.TxHash, t.LogIndex, string(t.Kind), int64(t.Amount), obs,
		position, now.UnixMilli(), d).Slice()
	if err != nil {
		return Match{}, fmt.Errorf("match transfer: %w", err)
	}
	if len(res) != 4 {
		return Match{}, fmt.Errorf("match transfer: unexpected reply %v", res)
	}
	ms, _ := strconv.ParseInt(fmt.Sprint(res[2]), 10, 64)
	return Match{State: fmt.Sprint(res[0]), OrderID: fmt.Sprint(res[1]),
		FirstSeen: time.UnixMilli(ms).UTC(), New: res[3] == int64(1)}, nil
}

// IndexUnmatched lists the transfer among the merchant's unmatched transfers (idempotent).
func (s *Store) IndexUnmatched(ctx context.Context, merchantID string, t *checkout.Transfer, firstSeen time.Time) error {
	member := string(t.Network) + "|" + t.To + "|" + transferField(t)
	return wrap("index unmatched transfer", s.rdb.ZAdd(ctx, s.k.unmatched(merchantID),
		redis.Z{Score: float64(firstSeen.UnixMilli()), Member: member}).Err())
}

// UnindexUnmatched takes the transfer off the merchant's unmatched list (idempotent).
func (s *Store) UnindexUnmatched(ctx context.Context, merchantID string, n checkout.Network, addr, txHash string, logIndex uint) error {
	member := string(n) + "|" + addr + "|" + txHash + ":" + strconv.FormatUint(uint64(logIndex), 10)
	return wrap("unindex transfer", s.rdb.ZRem(ctx, s.k.unmatched(merchantID), member).Err())
}

// ClaimOutcome is ClaimTransfer's answer.
type ClaimOutcome struct {
	// Result: "claimed" (credited to the order now), "already" (credited to it before: a
	// retry), "other" (credited to OtherOrder), "early" (first seen before the order was
	// created), "removed" (a reorg removed it) or "unknown" (no such transfer recorded to the
	// address).
	Result     string
	OtherOrder string
	Transfer   checkout.Transfer // the latest observation (claimed, already)
	Position   string            // its feed position
}

// ClaimTransfer credits a transfer recorded to the order's receive address to the order, by
// tx hash (logIndex nil: the first claimable log of the transaction), atomically with the
// check that no other order has it. Refusals change nothing.
func (s *Store) ClaimTransfer(ctx context.Context, n checkout.Network, addr, orderID, txHash string, logIndex *uint, created time.Time) (ClaimOutcome, error) {
	li := ""
	if logIndex != nil {
		li = strconv.FormatUint(uint64(*logIndex), 10)
	}
	res, err := claimTxScript.Run(ctx, s.rdb, []string{s.k.received(n, addr)}, orderID, txHash, li, created.UnixMilli()).Slice()
	if err != nil {
		return ClaimOutcome{}, fmt.Errorf("claim transfer: %w", err)
	}
	if len(res) != 5 {
		return ClaimOutcome{}, fmt.Errorf("claim transfer: unexpected reply %v", res)
	}
	out := ClaimOutcome{Result: fmt.Sprint(res[0]), OtherOrder: fmt.Sprint(res[4])}
	if out.Result == "claimed" || out.Result == "already" {
		out.Position = fmt.Sprint(res[3])
		if err := json.Unmarshal([]byte(fmt.Sprint(res[2])), &out.Transfer); err != nil {
			return ClaimOutcome{}, fmt.Errorf("claim transfer: corrupt record: %w", err)
		}
	}
	return out, nil
}

// ForgetTransfer drops a transfer record whose retention ended, and its unmatched listing.
func (s *Store) ForgetTransfer(ctx context.Context, merchantID string, n checkout.Network, addr, field string) error {
	tx, li, _ := strings.Cut(field, ":")
	if err := forgetScript.Run(ctx, s.rdb, []string{s.k.received(n, addr)}, field, tx, li).Err(); err != nil {
		return fmt.Errorf("forget transfer: %w", err)
	}
	if merchantID == "" {
		return nil
	}
	return wrap("unindex transfer", s.rdb.ZRem(ctx, s.k.unmatched(merchantID), string(n)+"|"+addr+"|"+field).Err())
}

// ReceivedTransfer loads the record of one transfer to a receive address.
func (s *Store) ReceivedTransfer(ctx context.Context, n checkout.Network, addr, field string) (*checkout.ReceivedTransfer, error) {
	vals, err := s.rdb.HMGet(ctx, s.k.received(n, addr), "t:"+field, "a:"+field, "o:"+field).Result()
	if err != nil {
		return nil, fmt.Errorf("load transfer: %w", err)
	}
	return decodeReceived(vals)
}

func decodeReceived(vals []any) (*checkout.ReceivedTransfer, error) {
	doc, ok := vals[0].(string)
	if !ok {
		return nil, ErrNotFound
	}
	var t checkout.Transfer
	if err := json.Unmarshal([]byte(doc), &t); err != nil {
		return nil, fmt.Errorf("decode transfer: %w", err)
	}
	ms, _ := strconv.ParseInt(fmt.Sprint(vals[1]), 10, 64)
	r := &checkout.ReceivedTransfer{Status: checkout.TransferUnmatched, Network: t.Network, Address: t.To,
		TxHash: t.TxHash, LogIndex: t.LogIndex, From: t.From, Amount: t.Amount, BlockNumber: t.BlockNumber,
		Confirmations: t.Confirmations, Kind: t.Kind, FirstSeenAt: time.UnixMilli(ms).UTC()}
	if o, ok := vals[2].(string); ok && o != "" {
		r.Status, r.OrderID = checkout.TransferCredited, o
	}
	return r, nil
}

// UnmatchedTransfers lists the merchant's unmatched transfers, newest first, up to limit,
// after the cursor a previous page returned (""); next is "" on the last page.
func (s *Store) UnmatchedTransfers(ctx context.Context, merchantID string, limit int, cursor string) (out []checkout.ReceivedTransfer, next string, err error) {
	max, after := "+inf", ""
	if cursor != "" {
		score, member, ok := strings.Cut(cursor, "~")
		if _, perr := strconv.ParseInt(score, 10, 64); !ok || perr != nil {
			return nil, "", fmt.Errorf("cursor: %w", ErrNotFound)
		}
		max, after = score, member
	}
	out = []checkout.ReceivedTransfer{}
	last := ""
	for {
		zs, err := s.rdb.ZRevRangeByScoreWithScores(ctx, s.k.unmatched(merchantID), &redis.ZRangeBy{
			Max: max, Min: "-inf", Count: int64(limit + 16),
		}).Result()
		if err != nil {
			return nil, "", fmt.Errorf("list unmatched transfers: %w", err)
		}
		progressed := false
		for _, z := range zs {
			member := fmt.Sprint(z.Member)
			score := strconv.FormatInt(int64(z.Score), 10)
			// Same score: members come in reverse order; skip up to the cursor's.
			if score == max && after != "" && member >= after {
				continue
			}
			if len(out) == limit {
				return out, last, nil // one more exists: the page ends at the last one shown
			}
			progressed = true
			max, after = score, member
			parts := strings.SplitN(member, "|", 3)
			if len(parts) != 3 {
				continue
			}
			r, err := s.ReceivedTransfer(ctx, checkout.Network(parts[0]), parts[1], parts[2])
			if errors.Is(err, ErrNotFound) || (err == nil && r.Status != checkout.TransferUnmatched) {
				continue // forgotten or credited since: the index is tidied by their own steps
			}
			if err != nil {
				return nil, "", err
			}
			out = append(out, *r)
			last = score + "~" + member
		}
		if !progressed {
			return out, "", nil
		}
	}
}

// ForgetClaim deletes the idempotency record idemKey if it still names orderID: the create
// that claimed it stored nothing else (ErrPairsExhausted), so nothing at all stays stored.
func (s *Store) ForgetClaim(ctx context.Context, merchantID, idemKey, orderID string) error {
	if idemKey == "" {
		return nil
	}
	return wrap("forget claim", unclaimScript.Run(ctx, s.rdb, []string{s.k.idempotency(merchantID, idemKey)}, orderID).Err())
}
