// Package sse renders an order's events as Server-Sent Events and serves one stream: the
// wire format (go-sse's message encoding), resuming after a Last-Event-ID, heartbeats, and
// the catch-up read of the order's own event stream whenever the change feed shows a gap.
// The changes it follows come from the process's one change-feed reader (edge/changes).
package sse

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	sse "github.com/tmaxmax/go-sse"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/changes"
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

// maxEventIDLen is the longest stream id Redis parses (its 128-byte buffer).
const maxEventIDLen = 127

// ParseEventID checks a Last-Event-ID the way Redis parses a stream id, so a resume never
// sends Redis an id it refuses: "ms" or "ms-seq", each part a decimal unsigned 64-bit number
// (digits only: the sign and blanks Redis's strtoull lets through are refused, no stream ever
// sent them), at most 127 bytes, and not the very last id (18446744073709551615-
// 18446744073709551615: nothing can follow it, and XRANGE refuses to start after it). It
// returns the id in canonical "ms-seq" form (Redis reads a bare "ms" as "ms-0").
func ParseEventID(id string) (string, bool) {
	if id == "" || len(id) > maxEventIDLen {
		return "", false
	}
	msPart, seqPart, hasSeq := strings.Cut(id, "-")
	ms, ok := parseIDPart(msPart)
	if !ok {
		return "", false
	}
	var seq uint64
	if hasSeq {
		if seq, ok = parseIDPart(seqPart); !ok {
			return "", false
		}
	}
	if ms == math.MaxUint64 && seq == math.MaxUint64 {
		return "", false
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq, 10), true
}

// parseIDPart parses one part of a stream id: ASCII digits, at most 2^64-1.
func parseIDPart(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

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
// then the stream ends), the client goes away, it falls behind, or the change feed shuts
// down. ctx ends it early (the caller saw the client leave): Stream then returns nil, or
// context.Canceled from a Redis read it interrupted. Stream starts no goroutine.
func Stream(ctx context.Context, w *bufio.Writer, feed *changes.Feed, ev Events, req Request) error {
	if err := follow(ctx, w, feed, ev, req); !errors.Is(err, errClientGone) {
		return err
	}
	return nil
}

// errClientGone: a write to the client failed (it left, or stopped reading past the
// connection's write deadline); the stream ends at once rather than read on for nobody.
var errClientGone = errors.New("client gone")

func follow(ctx context.Context, w *bufio.Writer, feed *changes.Feed, ev Events, req Request) error {
	// Subscribed before the first read, so no change falls in between; the subscription's
	// context also ends when the feed shuts down, and so do the stream's Redis reads.
	sub, ctx := feed.Subscribe(ctx, req.OrderID)
	defer feed.Unsubscribe(sub)
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
	renderView := renderChange(req.Customer)
	tick := time.NewTicker(hb)
	defer tick.Stop()
	for {
		var done bool
		var err error
		select {
		case b := <-sub.C:
			if b.Prev == st.last && len(b.Events) > 0 {
				var frames []frame
				if frames, err = changes.Memo(b, req.Customer, renderView); err == nil {
					done, err = st.write(frames)
				}
			} else { // missed something (or a bad hint): read the record
				done, err = st.catchUp(ctx, ev)
			}
		case <-tick.C:
			m := &sse.Message{}
			m.AppendComment("keep-alive")
			if _, werr := m.WriteTo(w); werr != nil {
				return nil // client gone
			}
			done, err = st.catchUp(ctx, ev) // covers a hint lost between commit and publish
		case <-sub.Dropped():
			return nil // too slow: the client reconnects with Last-Event-ID
		case <-ctx.Done():
			return nil // the client left, or the change feed is shutting down
		case <-feed.Done():
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

// renderChange renders a change's events for the view: once per change and view, shared by
// every stream of the order (changes.Memo).
func renderChange(customer bool) func(store.Change) ([]frame, error) {
	return func(c store.Change) ([]frame, error) {
		frames := make([]frame, 0, len(c.Events))
		for _, se := range c.Events {
			f, err := render(se, customer, false)
			if err != nil {
				return nil, err
			}
			frames = append(frames, f)
		}
		return frames, nil
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
			return false, errClientGone
		}
		st.last = f.id
		if f.terminal {
			return true, nil
		}
	}
	return false, nil
}

// After reports whether stream id a comes after b; both are valid ids ("ms" or "ms-seq").
func After(a, b string) bool { return after(a, b) }

// after reports whether stream id a comes after b ("ms-seq", or "ms" for "ms-0").
func after(a, b string) bool {
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am > bm || (am == bm && as > bs)
}

func splitID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}
