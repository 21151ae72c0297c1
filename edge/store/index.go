package store

// The merchant's order index: what GET /v1/orders and `edge export` page through. It lives in
// the merchant's slot ({m:ID}), apart from the orders (each in its own slot), so it is written
// in separate idempotent steps:
//
//   - at create, before the order is written (CreateOrder's first round trip): a crash before
//     the commit point leaves an entry whose order never exists, which listing skips;
//   - after each commit that changes the status or adds a payment (edge/orders' change step),
//     and again whenever a step finds its work done (the rerun after a crash): an entry carries
//     the order's version and is only ever replaced by a later one, so steps running out of
//     order cannot move an order back.
//
// A listing also checks every order it loads against the list it came from, so an entry a
// crash left stale is never shown under the wrong status, and is refiled on the spot.
//
// Layout (keys.go): one lex-sorted set per status and network, member = created-at seconds in
// 8 hex digits + the order's 26-character ULID (34 bytes, lex order = creation order, ties by
// id), all scores 0. Status and network filters pick the sets; no filter merges all of them
// (at most 14 range reads in one pipelined round trip); a created-at range is a lex range. So
// a page costs O(log N + page) whatever the number of orders. The amount range is not indexed:
// it filters while paging, looking at no more than ListQuery.ScanBudget entries per call.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// DefaultScanBudget is how many index entries one ListOrders call looks at, at most, when a
// filter the index does not answer (the amount range) drops entries.
const DefaultScanBudget = 1000

// indexMember is the order's member in its merchant's lists.
func indexMember(o *checkout.Order) string {
	return fmt.Sprintf("%08x", o.CreatedAt.Unix()) + strings.TrimPrefix(o.ID, "ord_")
}

func memberOrderID(m string) string { return "ord_" + m[8:] }

// txField is a transaction hash as stored in the lookup hash: its 32 bytes when it is hex.
func txField(h string) string {
	if b, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(h), "0x")); err == nil && len(b) > 0 {
		return string(b)
	}
	return h
}

func (s *Store) indexCall(merchantID string, o *checkout.Order, version int64) ([]string, []any) {
	keys := []string{s.k.orderStatuses(merchantID), s.k.orderTxs(merchantID)}
	args := []any{strings.TrimPrefix(o.ID, "ord_"), indexMember(o), version, string(o.Status), len(checkout.Statuses)}
	for _, st := range checkout.Statuses {
		keys = append(keys, s.k.orderList(merchantID, st, o.Network))
		args = append(args, string(st))
	}
	keys, args = s.figuresCall(merchantID, o, time.Now(), keys, args) // dashboard_figures.go
	seen := map[string]bool{}
	for _, p := range o.Payments {
		if f := txField(p.TxHash); !seen[f] {
			seen[f] = true
			args = append(args, f)
		}
	}
	return keys, args
}

// IndexOrder files the order, as of its stored version, under its status in the merchant's
// order index, and records its payments' tx hashes. Idempotent, and a call with an older
// version than the index holds changes nothing but adding tx hashes.
func (s *Store) IndexOrder(ctx context.Context, merchantID string, o *checkout.Order, version int64) error {
	keys, args := s.indexCall(merchantID, o, version)
	if err := indexScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("index order %s: %w", o.ID, err)
	}
	return nil
}

// queueIndex adds the new order's index entry to CreateOrder's first pipeline (version 1, the
// version create_order.lua writes). EVAL rather than EVALSHA: a pipeline cannot fall back when
// Redis lost its script cache.
func (s *Store) queueIndex(ctx context.Context, p redis.Pipeliner, merchantID string, o *checkout.Order) {
	keys, args := s.indexCall(merchantID, o, 1)
	indexScript.Eval(ctx, p, keys, args...)
}

// ListQuery selects a merchant's orders. The zero value lists all, newest first, 10 a page.
type ListQuery struct {
	Statuses []checkout.Status  // only these statuses; none: all
	Networks []checkout.Network // only these networks; none: all
	// CreatedFrom and CreatedTo bound created_at, both inclusive (second precision); zero: open.
	CreatedFrom, CreatedTo time.Time
	// MinAmount and MaxAmount bound amount, both inclusive; zero: open.
	MinAmount, MaxAmount checkout.Amount
	// After: only orders after this one in the listing's order (an order id of the merchant;
	// ErrNotFound otherwise). Before: only orders before it, the page being the ones nearest
	// to it. At most one of them.
	After, Before string
	Oldest        bool // oldest first (export); default newest first
	Limit         int  // page size; default 10
	ScanBudget    int  // index entries looked at, at most, when the amount filter drops some; default DefaultScanBudget
}

// ListPage is one page of a listing.
type ListPage struct {
	Records []*Record
	// More: the listing goes on past this page (in its direction; for a Before query, on the
	// Before side).
	More bool
	// Next is the order id to continue after (ListQuery.After), when More: the last order
	// looked at, which is the last of Records unless the scan budget ran out first.
	Next string
}

func (q *ListQuery) statuses() []checkout.Status {
	if len(q.Statuses) > 0 {
		return q.Statuses
	}
	return checkout.Statuses
}

// ListOrders returns one page of the merchant's orders. Orders whose entry was written by a
// create that never finished are skipped; an order found under a status it has left is
// skipped in a status-filtered listing and refiled.
func (s *Store) ListOrders(ctx context.Context, merchantID string, q ListQuery) (*ListPage, error) {
	if q.After != "" && q.Before != "" {
		return nil, errors.New("list orders: After and Before together")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	budget := q.ScanBudget
	if budget <= 0 {
		budget = DefaultScanBudget
	}
	networks := q.Networks
	if len(networks) == 0 {
		networks = checkout.Networks
	}
	var lists []string
	for _, st := range q.statuses() {
		for _, n := range networks {
			lists = append(lists, s.k.orderList(merchantID, st, n))
		}
	}
	// The lex window: lo < member < hi, as ZRANGE BYLEX bounds.
	lo, hi := "-", "+"
	if !q.CreatedFrom.IsZero() {
		lo = "[" + fmt.Sprintf("%08x", max(q.CreatedFrom.Unix(), 0))
	}
	if !q.CreatedTo.IsZero() {
		hi = "(" + fmt.Sprintf("%08x", max(q.CreatedTo.Unix()+1, 0))
	}
	asc := q.Oldest
	if cur := q.After + q.Before; cur != "" {
		m, err := s.cursorMember(ctx, merchantID, cur)
		if err != nil {
			return nil, err
		}
		if (q.After != "") == asc { // the cursor bounds the window from below
			if lo == "-" || m >= lo[1:] {
				lo = "(" + m
			}
		} else if hi == "+" || m < hi[1:] {
			hi = "(" + m
		}
		if q.Before != "" {
			asc = !asc // read towards the cursor's far side, nearest first
		}
	}
	page := &ListPage{}
	amountFilter := q.MinAmount > 0 || q.MaxAmount > 0
	batch := limit + 1
	if amountFilter {
		batch = min(max(batch, 100), budget)
	}
	scanned := 0
	for {
		members, err := s.rangeLists(ctx, lists, lo, hi, asc, batch)
		if err != nil {
			return nil, err
		}
		recs, err := s.loadOrders(ctx, members)
		if err != nil {
			return nil, err
		}
		for i, m := range members {
			scanned++
			if asc {
				lo = "(" + m
			} else {
				hi = "(" + m
			}
			r := recs[i]
			if r == nil || r.MerchantID != merchantID {
				continue // its create died before the commit point
			}
			page.Next = r.Order.ID
			if !s.stillFiled(ctx, &q, r) {
				continue
			}
			if amountFilter && (r.Order.Amount < q.MinAmount || q.MaxAmount > 0 && r.Order.Amount > q.MaxAmount) {
				continue
			}
			if len(page.Records) == limit {
				page.More = true
				break
			}
			page.Records = append(page.Records, r)
		}
		switch {
		case page.More:
		case len(members) < batch: // the window is exhausted
			page.Next = ""
		case scanned >= budget:
			page.More = true
		default:
			continue
		}
		break
	}
	if page.More && len(page.Records) == limit {
		page.Next = page.Records[limit-1].Order.ID
	}
	if q.Before != "" {
		slices.Reverse(page.Records)
		page.Next = ""
	}
	return page, nil
}

// stillFiled reports whether the order belongs in the listing's statuses; an entry left
// behind by a crash between an order's commit and its indexing is refiled (best effort: the
// order's next step refiles it too).
func (s *Store) stillFiled(ctx context.Context, q *ListQuery, r *Record) bool {
	if len(q.Statuses) == 0 {
		return true
	}
	if slices.Contains(q.Statuses, r.Order.Status) {
		return true
	}
	_ = s.IndexOrder(ctx, r.MerchantID, &r.Order, r.Version)
	return false
}

// cursorMember finds the index member of one of the merchant's orders, from the order's
// record (its created-at; the member is not stored elsewhere).
func (s *Store) cursorMember(ctx context.Context, merchantID, id string) (string, error) {
	ulid, ok := strings.CutPrefix(id, "ord_")
	if !ok || len(ulid) != 26 {
		return "", fmt.Errorf("order %s: %w", id, ErrNotFound)
	}
	vals, err := s.rdb.HMGet(ctx, s.k.order(id), "doc", "merchant").Result()
	if err != nil {
		return "", fmt.Errorf("order index cursor: %w", err)
	}
	doc, ok := vals[0].(string)
	if !ok || vals[1] != merchantID {
		return "", fmt.Errorf("order %s: %w", id, ErrNotFound)
	}
	o, err := decodeOrder(id, []byte(doc))
	if err != nil {
		return "", fmt.Errorf("order index cursor: %w", err)
	}
	return indexMember(&o), nil
}

// rangeLists reads up to n members of the window from each list (one pipelined round trip,
// one slot) and merges them: the first n in the listing's order.
func (s *Store) rangeLists(ctx context.Context, lists []string, lo, hi string, asc bool, n int) ([]string, error) {
	cmds := make([]*redis.StringSliceCmd, len(lists))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, l := range lists {
			if asc {
				cmds[i] = p.ZRangeByLex(ctx, l, &redis.ZRangeBy{Min: lo, Max: hi, Count: int64(n)})
			} else {
				cmds[i] = p.ZRevRangeByLex(ctx, l, &redis.ZRangeBy{Min: lo, Max: hi, Count: int64(n)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read order index: %w", err)
	}
	var all []string
	for _, c := range cmds {
		all = append(all, c.Val()...)
	}
	slices.Sort(all)
	if !asc {
		slices.Reverse(all)
	}
	return all[:min(n, len(all))], nil
}

// loadOrders loads the orders of index members in one pipelined round trip; nil for an order
// that does not exist.
func (s *Store) loadOrders(ctx context.Context, members []string) ([]*Record, error) {
	if len(members) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.SliceCmd, len(members))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range members {
			cmds[i] = p.HMGet(ctx, s.k.order(memberOrderID(m)), "doc", "merchant", "ver")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load listed orders: %w", err)
	}
	out := make([]*Record, len(members))
	for i, c := range cmds {
		vals := c.Val()
		doc, ok := vals[0].(string)
		if !ok {
			continue
		}
		r := &Record{MerchantID: fmt.Sprint(vals[1])}
		r.Version, _ = strconv.ParseInt(fmt.Sprint(vals[2]), 10, 64)
		var err error
		if r.Order, err = decodeOrder(memberOrderID(members[i]), []byte(doc)); err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// OrderIDsByTx returns the merchant's orders that a transaction paid (usually one).
func (s *Store) OrderIDsByTx(ctx context.Context, merchantID, txHash string) ([]string, error) {
	v, err := s.rdb.HGet(ctx, s.k.orderTxs(merchantID), txField(txHash)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up tx: %w", err)
	}
	return strings.Split(v, ","), nil
}

// OrderIDByIdempotencyKey returns the order the merchant created with an idempotency key, while
// the key is remembered (IdempotencyTTL); "" when it is not.
func (s *Store) OrderIDByIdempotencyKey(ctx context.Context, merchantID, key string) (string, error) {
	id, err := s.rdb.HGet(ctx, s.k.idempotency(merchantID, key), "order_id").Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up idempotency key: %w", err)
	}
	return id, nil
}
