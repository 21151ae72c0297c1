package store

import (
	"context"
	"encoding/json"
	"fmt"

	checkout "github.com/mpchat/checkout"
)

// StreamEvent is an entry of an order's event stream: its stream id (the SSE id), type and the
// checkout.Event JSON.
type StreamEvent struct {
	ID   string             `json:"id"`
	Type checkout.EventType `json:"type"`
	Data json.RawMessage    `json:"data"`
}

// Change is an entry of the change feed: an order's stream grew by Events, the entry before
// them having id Prev ("0-0" for a new order).
type Change struct {
	ID      string // the change feed entry's own id
	OrderID string
	Prev    string
	Events  []StreamEvent
}

// OrderEvents returns up to count events of the order after the stream id after ("0-0" or ""
// for all), oldest first.
func (s *Store) OrderEvents(ctx context.Context, orderID, after string, count int64) ([]StreamEvent, error) {
	start := "-"
	if after != "" && after != "0-0" {
		start = "(" + after
	}
	msgs, err := s.rdb.XRangeN(ctx, s.k.orderEvents(orderID), start, "+", count).Result()
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", orderID, err)
	}
	out := make([]StreamEvent, 0, len(msgs))
	for _, m := range msgs {
		t, _ := m.Values["type"].(string)
		d, _ := m.Values["event"].(string)
		out = append(out, StreamEvent{ID: m.ID, Type: checkout.EventType(t), Data: json.RawMessage(d)})
	}
	return out, nil
}

// LastOrderEvent returns the order's newest event (its current state), or ErrNotFound.
func (s *Store) LastOrderEvent(ctx context.Context, orderID string) (*StreamEvent, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.k.orderEvents(orderID), "+", "-", 1).Result()
	if err != nil {
		return nil, fmt.Errorf("read last event of %s: %w", orderID, err)
	}
	if len(msgs) == 0 {
		return nil, ErrNotFound
	}
	t, _ := msgs[0].Values["type"].(string)
	d, _ := msgs[0].Values["event"].(string)
	return &StreamEvent{ID: msgs[0].ID, Type: checkout.EventType(t), Data: json.RawMessage(d)}, nil
}
