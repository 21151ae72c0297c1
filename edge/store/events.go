package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	checkout "github.com/mpchat/checkout"
)

// An order's events live in the order's own hash, field e:N for its N-th event (N from 1),
// each "ID RECORD": ID is the event's id, "{ms}-{N}" with ms Redis's clock at the commit but
// never below the previous event's, so ids grow per order and read like Redis stream ids
// (the SSE id: Last-Event-ID "{ms}-{N}" resumes after event N). RECORD is the compact event
// (compact.go). The order keeps its last eventsKept events; retention drops all but the last
// once the order is finished and its window has passed (see Retention).

// StreamEvent is an event of an order: its id (the SSE id), type and the checkout.Event JSON
// (the order as it stood right after it).
type StreamEvent struct {
	ID   string             `json:"id"`
	Type checkout.EventType `json:"type"`
	Data json.RawMessage    `json:"data"`
}

// Change is an entry of the change feed: an order gained Events, the event before them
// having id Prev ("0-0" for a new order).
type Change struct {
	ID      string // the change feed entry's own id
	OrderID string
	Prev    string
	Events  []StreamEvent
}

// eventNumber is N of an event id "{ms}-{N}" (0 for "", "0-0" or an id without one).
func eventNumber(id string) int64 {
	_, seq, ok := strings.Cut(id, "-")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// OrderEvents returns up to count events of the order after the event id after ("0-0" or ""
// for all), oldest first, in one round trip. An order that does not exist has none.
func (s *Store) OrderEvents(ctx context.Context, orderID, after string, count int64) ([]StreamEvent, error) {
	return s.readEvents(ctx, orderID, eventNumber(after), count)
}

// LastOrderEvent returns the order's newest event (its current state), or ErrNotFound.
func (s *Store) LastOrderEvent(ctx context.Context, orderID string) (*StreamEvent, error) {
	evs, err := s.readEvents(ctx, orderID, -1, 1)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("last event of %s: %w", orderID, ErrNotFound)
	}
	return &evs[0], nil
}

func (s *Store) readEvents(ctx context.Context, orderID string, after, count int64) ([]StreamEvent, error) {
	res, err := eventsScript.Run(ctx, s.rdb, []string{s.k.order(orderID)}, after, count, eventsKept).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("read events of %s: %w", orderID, err)
	}
	if len(res) == 0 {
		return nil, nil
	}
	cur, err := decodeOrder(orderID, []byte(res[0]))
	if err != nil {
		return nil, err
	}
	out := make([]StreamEvent, 0, len(res)-1)
	for _, raw := range res[1:] {
		se, err := storedStreamEvent(&cur, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, se)
	}
	return out, nil
}

// storedStreamEvent rebuilds a stored "ID RECORD" into the event with the order as it stood.
func storedStreamEvent(cur *checkout.Order, raw string) (StreamEvent, error) {
	id, rec, ok := strings.Cut(raw, " ")
	if !ok {
		return StreamEvent{}, fmt.Errorf("event of %s: corrupt record", cur.ID)
	}
	ev, err := decodeEvent(cur, []byte(rec))
	if err != nil {
		return StreamEvent{}, err
	}
	b, err := json.Marshal(&ev)
	if err != nil {
		return StreamEvent{}, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	return StreamEvent{ID: id, Type: ev.Type, Data: b}, nil
}
