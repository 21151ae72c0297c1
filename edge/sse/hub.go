// Package sse serves order events as Server-Sent Events. A Hub is the one reader of the
// Redis change feed per edge process: it dispatches each change in memory to the streams
// following that order, so the edge's Redis connections do not grow with its clients. Each
// stream has a bounded buffer; a stream that cannot keep up is dropped and its client resumes
// with Last-Event-ID, so a slow client never delays the others.
package sse

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mpchat/checkout/edge/store"
)

// subBuffer is how many changes a stream may lag behind before it is dropped.
const subBuffer = 32

// Hub fans the change feed out to subscribers.
type Hub struct {
	rdb    redis.UniversalClient // dedicated to the blocking read
	prefix string
	log    *slog.Logger

	ctx  atomic.Pointer[context.Context] // Run's context, for the streams' Redis reads
	mu   sync.RWMutex
	subs map[string]map[*Sub]struct{}
	// observers see every change read (set before Run; see Observe).
	observers []func(store.Change)
	open      atomic.Int64
	closed    chan struct{}
	once      sync.Once
}

// NewHub returns a hub reading the change feed under prefix with rdb, which it uses for one
// blocking read at a time (give it a client of its own, pool size 1 is enough).
func NewHub(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.Default()
	}
	return &Hub{rdb: rdb, prefix: prefix, log: log, subs: map[string]map[*Sub]struct{}{}, closed: make(chan struct{})}
}

// Batch is one change as dispatched to every stream of its order. Its events are rendered
// at most once per view, by whichever stream needs them first, however many streams follow
// the order.
type Batch struct {
	store.Change
	once   [2]sync.Once
	frames [2][]frame
	err    [2]error
}

// Frames returns the change's events as SSE frames for the merchant or the customer view.
func (b *Batch) Frames(customer bool) ([]frame, error) {
	v := 0
	if customer {
		v = 1
	}
	b.once[v].Do(func() {
		for _, se := range b.Events {
			f, err := render(se, customer, false)
			if err != nil {
				b.err[v] = err
				return
			}
			b.frames[v] = append(b.frames[v], f)
		}
	})
	return b.frames[v], b.err[v]
}

// Sub is one stream's subscription to an order's changes.
type Sub struct {
	orderID string
	C       chan *Batch
	dropped chan struct{} // closed when the stream fell behind
	drop    sync.Once
}

// Dropped is closed when the subscriber fell too far behind and must end its stream.
func (s *Sub) Dropped() <-chan struct{} { return s.dropped }

// Observe has f called with every change the hub reads, from the hub's reader goroutine
// (so f must not block). Other in-process consumers of the change feed (the webhook
// dispatcher's wake-up) use it rather than a Redis reader of their own. Call it before Run.
func (h *Hub) Observe(f func(store.Change)) { h.observers = append(h.observers, f) }

// Done is closed when the hub shuts down.
func (h *Hub) Done() <-chan struct{} { return h.closed }

// Open is the number of open subscriptions.
func (h *Hub) Open() int64 { return h.open.Load() }

// Subscribe follows an order's changes until Unsubscribe.
func (h *Hub) Subscribe(orderID string) *Sub {
	s := &Sub{orderID: orderID, C: make(chan *Batch, subBuffer), dropped: make(chan struct{})}
	h.mu.Lock()
	m := h.subs[orderID]
	if m == nil {
		m = map[*Sub]struct{}{}
		h.subs[orderID] = m
	}
	m[s] = struct{}{}
	h.mu.Unlock()
	h.open.Add(1)
	return s
}

// Unsubscribe stops following.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	if m := h.subs[s.orderID]; m != nil {
		if _, ok := m[s]; ok {
			delete(m, s)
			h.open.Add(-1)
		}
		if len(m) == 0 {
			delete(h.subs, s.orderID)
		}
	}
	h.mu.Unlock()
}

func (h *Hub) dispatch(c store.Change) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	subs := h.subs[c.OrderID]
	if len(subs) == 0 {
		return
	}
	b := &Batch{Change: c}
	for s := range subs {
		select {
		case s.C <- b:
		default: // full: drop this stream, never block the others
			s.drop.Do(func() { close(s.dropped) })
		}
	}
}

// Run reads the change feed until ctx ends, then closes Done so streams end cleanly. After a
// Redis error it resumes from the last entry it read, so nothing is skipped.
func (h *Hub) Run(ctx context.Context) error {
	h.ctx.Store(&ctx)
	defer h.once.Do(func() { close(h.closed) })
	last := ""
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if last == "" {
			tail, err := store.ChangesTailOf(ctx, h.rdb, h.prefix)
			if err != nil {
				h.log.Warn("sse: change feed unavailable", "err", err)
				sleep(ctx, backoff)
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			last = tail
		}
		changes, err := store.ReadChanges(ctx, h.rdb, h.prefix, last, 5*time.Second, 1000)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("sse: change feed read failed; resuming", "err", err, "after", last)
				sleep(ctx, backoff)
				backoff = min(backoff*2, 5*time.Second)
			}
			continue
		}
		backoff = 100 * time.Millisecond
		for _, c := range changes {
			last = c.ID
			for _, f := range h.observers {
				f(c)
			}
			h.dispatch(c)
		}
	}
	return nil
}

// context is the context streams use for Redis reads: Run's, or Background before Run.
func (h *Hub) context() context.Context {
	if p := h.ctx.Load(); p != nil {
		return *p
	}
	return context.Background()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
