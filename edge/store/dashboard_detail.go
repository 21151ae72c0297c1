package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// The dashboard's order page and "needs attention" queue. An order needing a human (UNDERPAID,
// FROZEN, or late funds) is filed in its merchant's attention set when its index entry is
// written (edge/orders' change step); a user marking it reviewed stores the review in the
// order's own hash (field rv, so it goes when the order goes) and takes it off the set. A
// review names the order's state it saw (Attention.State): an order that changes again (more
// late funds) is filed again.

// Fields of the order's hash the dashboard writes.
const (
	reviewField      = "rv" // Review JSON
	webhookTestField = "wt" // the last test webhook's checkout.WebhookAttempt JSON
)

// ReviewNoteMax bounds a review's note, in characters.
const ReviewNoteMax = 500

// Review is a user's "reviewed" mark on an order of the attention queue.
type Review struct {
	By     string    `json:"by"` // the user's e-mail address
	UserID string    `json:"user_id,omitempty"`
	At     time.Time `json:"at"`
	Note   string    `json:"note,omitempty"`
	// State is AttentionState of the order when it was reviewed.
	State string `json:"state"`
}

// AttentionState is what about an order needs a human, as text ("" when nothing does): its
// status when UNDERPAID or FROZEN, and its late funds when it has any. A review covers one
// state; a change of it makes the order need attention again.
func AttentionState(o *checkout.Order) string {
	st := ""
	if o.Status == checkout.StatusUnderpaid || o.Status == checkout.StatusFrozen {
		st = string(o.Status)
	}
	if o.AmountLate > 0 {
		st += "+late:" + o.AmountLate.String()
	}
	return st
}

// FileAttention puts the merchant's order on its attention set if it needs a human and its
// current state was not reviewed. Idempotent (NX: the first filing's time stays).
func (s *Store) FileAttention(ctx context.Context, merchantID string, o *checkout.Order, now time.Time) error {
	state := AttentionState(o)
	if state == "" {
		return nil
	}
	r, err := s.OrderReview(ctx, o.ID)
	if err != nil {
		return err
	}
	if r != nil && r.State == state {
		return nil
	}
	err = s.rdb.ZAddNX(ctx, s.k.attention(merchantID), redis.Z{Score: float64(now.UnixMilli()), Member: o.ID}).Err()
	return wrap("file attention", err)
}

// AttentionItem is an entry of the attention set.
type AttentionItem struct {
	OrderID string
	Since   time.Time // when it was filed
}

// Attention returns up to limit orders of the merchant's attention set, oldest filed first.
func (s *Store) Attention(ctx context.Context, merchantID string, limit int64) ([]AttentionItem, error) {
	zs, err := s.rdb.ZRangeWithScores(ctx, s.k.attention(merchantID), 0, limit-1).Result()
	if err != nil {
		return nil, wrap("read attention", err)
	}
	out := make([]AttentionItem, 0, len(zs))
	for _, z := range zs {
		id, _ := z.Member.(string)
		out = append(out, AttentionItem{OrderID: id, Since: time.UnixMilli(int64(z.Score)).UTC()})
	}
	return out, nil
}

// Unfile takes an order off the merchant's attention set (it is gone, or was reviewed).
func (s *Store) Unfile(ctx context.Context, merchantID, orderID string) error {
	return wrap("unfile attention", s.rdb.ZRem(ctx, s.k.attention(merchantID), orderID).Err())
}

// MarkReviewed stores r as the order's review (replacing an earlier one) and takes the order
// off its merchant's attention set. ErrNotFound if there is no such order.
func (s *Store) MarkReviewed(ctx context.Context, merchantID, orderID string, r *Review) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode review: %w", err)
	}
	if err := s.setOrderField(ctx, orderID, reviewField, b); err != nil {
		return err
	}
	return s.Unfile(ctx, merchantID, orderID)
}

// OrderReview returns the order's review, or nil if it has none.
func (s *Store) OrderReview(ctx context.Context, orderID string) (*Review, error) {
	var r Review
	ok, err := s.orderField(ctx, orderID, reviewField, &r)
	if !ok || err != nil {
		return nil, err
	}
	return &r, nil
}

// SaveWebhookTest keeps a as the order's last test webhook (one per order, replaced by the
// next). ErrNotFound if there is no such order.
func (s *Store) SaveWebhookTest(ctx context.Context, orderID string, a *checkout.WebhookAttempt) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode test webhook: %w", err)
	}
	return s.setOrderField(ctx, orderID, webhookTestField, b)
}

// WebhookTest returns the order's last test webhook, or nil.
func (s *Store) WebhookTest(ctx context.Context, orderID string) (*checkout.WebhookAttempt, error) {
	var a checkout.WebhookAttempt
	ok, err := s.orderField(ctx, orderID, webhookTestField, &a)
	if !ok || err != nil {
		return nil, err
	}
	return &a, nil
}

func (s *Store) setOrderField(ctx context.Context, orderID, field string, v []byte) error {
	n, err := setOrderScript.Run(ctx, s.rdb, []string{s.k.order(orderID)}, field, v).Int()
	if err != nil {
		return wrap("write order field "+field, err)
	}
	if n == 0 {
		return fmt.Errorf("order %s: %w", orderID, ErrNotFound)
	}
	return nil
}

func (s *Store) orderField(ctx context.Context, orderID, field string, v any) (bool, error) {
	raw, err := s.rdb.HGet(ctx, s.k.order(orderID), field).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, wrap("read order field "+field, err)
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return false, fmt.Errorf("decode %s of %s: %w", field, orderID, err)
	}
	return true, nil
}
