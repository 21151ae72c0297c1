package sse

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	sse "github.com/tmaxmax/go-sse"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// Defaults of a stream.
const (
	DefaultHeartbeat = 15 * time.Second
	RetryHint        = 3 * time.Second
)

// Events reads an order's event stream; *store.Store satisfies it.
type Events interface {
	OrderEvents(ctx context.Context, orderID, after string, count int64) ([]store.StreamEvent, error)
	LastOrderEvent(ctx context.Context, orderID string) (*store.StreamEvent, error)
}

// Request describes one stream. Everything is copied out of the HTTP request before
// streaming starts (fasthttp forbids touching the request context afterwards).
type Request struct {
	OrderID     string
	LastEventID string        // resume after this id; empty starts with the current state
	Customer    bool          // the customer-safe view (no metadata, webhook_url, …)
	Heartbeat   time.Duration // comment interval; also when the stream rechecks Redis
}

var eventIDPattern = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// ValidEventID reports whether id looks like a Redis stream id (what Last-Event-ID carries).
func ValidEventID(id string) bool { return eventIDPattern.MatchString(id) }

// Data is the JSON of one SSE message: the status and amounts at a glance, the payment the
// event is about, and the order as it stood right after the event.
type Data struct {
	OrderID    string             `json:"order_id"`
	Type       checkout.EventType `json:"type"`
	Status     checkout.Status    `json:"status"`
	AmountPaid checkout.Amount    `json:"amount_paid"`
	Payment    any                `json:"payment,omitempty"`
	Order      any                `json:"order"`
}

// Stream writes the order's events to w until the order reaches a terminal status (sent,
// then the stream ends), the client goes away, it falls behind, or the hub shuts down.
func (h *Hub) Stream(w *bufio.Writer, ev Events, req Request) error {
	// Redis reads use the hub's context (cancelled at shutdown); the loop below watches the
	// hub's Done channel itself, so a stream costs no goroutine beyond fasthttp's own.
	ctx := h.context()
	sub := h.Subscribe(req.OrderID) // before the first read, so no change falls in between
	defer h.Unsubscribe(sub)
	hb := req.Heartbeat
	if hb <= 0 {
		hb = DefaultHeartbeat
	}
	st := &stream{w: w, req: req, last: req.LastEventID, first: true}
	if st.last == "" {
		cur, err := ev.LastOrderEvent(ctx, req.OrderID)
		if err != nil {
			return fmt.Errorf("current state of %s: %w", req.OrderID, err)
		}
		if done, err := st.send([]store.StreamEvent{*cur}); done || err != nil {
			return err
		}
	} else if done, err := st.catchUp(ctx, ev); done || err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return nil // client gone
	}
	tick := time.NewTicker(hb)
	defer tick.Stop()
	for {
		var done bool
		var err error
		select {
		case b := <-sub.C:
			if b.Prev == st.last && len(b.Events) > 0 {
				var frames []frame
				if frames, err = b.Frames(req.Customer); err == nil {
					done, err = st.write(frames)
				}
			} else { // missed something (or a bad hint): read the record
				done, err = st.catchUp(ctx, ev)
			}
		case <-tick.C:
			m := &sse.Message{}
			m.AppendComment("keep-alive")
			if _, err = m.WriteTo(w); err == nil {
				done, err = st.catchUp(ctx, ev) // covers a hint lost between commit and publish
			}
		case <-sub.Dropped():
			return nil // too slow: the client reconnects with Last-Event-ID
		case <-h.closed:
			return nil // shutting down
		}
		if err != nil {
			return err
		}
		if ferr := w.Flush(); ferr != nil || done {
			return nil
		}
	}
}

type stream struct {
	w     *bufio.Writer
	req   Request
	last  string
	first bool
}

func (st *stream) catchUp(ctx context.Context, ev Events) (bool, error) {
	for {
		evs, err := ev.OrderEvents(ctx, st.req.OrderID, st.last, 100)
		if err != nil {
			return false, err
		}
		if len(evs) == 0 {
			return false, nil
		}
		if done, err := st.send(evs); done || err != nil {
			return done, err
		}
	}
}

// frame is one event rendered as an SSE message.
type frame struct {
	id       string
	terminal bool
	msg      []byte
}

// render turns a stored event into an unnamed SSE message with the stream id as its id and
// the view's JSON as its data; retry adds the reconnection hint.
func render(se store.StreamEvent, customer, retry bool) (frame, error) {
	var e checkout.Event
	if err := json.Unmarshal(se.Data, &e); err != nil {
		return frame{}, fmt.Errorf("decode event %s: %w", se.ID, err)
	}
	d := Data{OrderID: e.Order.ID, Type: e.Type, Status: e.Order.Status, AmountPaid: e.Order.AmountPaid}
	if customer {
		d.Order = e.Order.CheckoutView()
		if e.Payment != nil {
			d.Payment = checkout.CheckoutPayment{TxHash: e.Payment.TxHash, Amount: e.Payment.Amount,
				Confirmations: e.Payment.Confirmations, ConfirmationsRequired: e.Payment.ConfirmationsRequired, Status: e.Payment.Status}
		}
	} else {
		d.Order = e.Order
		if e.Payment != nil {
			d.Payment = e.Payment
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return frame{}, err
	}
	m := &sse.Message{ID: sse.ID(se.ID)}
	if retry {
		m.Retry = RetryHint
	}
	m.AppendData(string(b))
	text, err := m.MarshalText()
	if err != nil {
		return frame{}, err
	}
	return frame{id: se.ID, terminal: e.Order.Status.Terminal(), msg: text}, nil
}

// send renders and writes events; it reports done after a terminal status.
func (st *stream) send(evs []store.StreamEvent) (bool, error) {
	frames := make([]frame, 0, len(evs))
	for _, se := range evs {
		if st.last != "" && !after(se.ID, st.last) {
			continue
		}
		f, err := render(se, st.req.Customer, st.first)
		if err != nil {
			return false, err
		}
		st.first = false
		frames = append(frames, f)
	}
	return st.write(frames)
}

// write writes rendered frames not sent yet; it reports done after a terminal status.
func (st *stream) write(frames []frame) (bool, error) {
	for _, f := range frames {
		if st.last != "" && !after(f.id, st.last) {
			continue // already sent
		}
		if _, err := st.w.Write(f.msg); err != nil {
			return false, nil // client gone
		}
		st.last = f.id
		if f.terminal {
			return true, nil
		}
	}
	return false, nil
}

// after reports whether stream id a comes after b ("ms-seq").
func after(a, b string) bool {
	var am, as, bm, bs uint64
	fmt.Sscanf(a, "%d-%d", &am, &as)
	fmt.Sscanf(b, "%d-%d", &bm, &bs)
	return am > bm || (am == bm && as > bs)
}
