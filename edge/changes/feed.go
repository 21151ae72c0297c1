// Package changes is the edge process's one reader of the Redis change feed and its
// in-memory fan-out: each change (an order's event stream grew) goes to the subscribers
// following that order and to the in-process observers (the webhook dispatcher's wake-up),
// so the edge's Redis connections do not grow with its clients. Each subscription has a
// bounded buffer; one that cannot keep up is dropped (its stream resumes by Last-Event-ID),
// so a slow subscriber never delays the others.
package changes

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpchat/checkout/edge/store"
)

// subBuffer is how many changes a subscriber may lag behind before it is dropped.
const subBuffer = 32

// Reading the change feed: how long one blocking read waits, and how many entries it takes.
const (
	readBlock = 5 * time.Second
	readCount = 1000
)

// Feed fans the change feed out to subscribers.
type Feed struct {
	r   *store.ChangeReader
	log *slog.Logger

	mu   sync.RWMutex
	subs map[string]map[*Sub]struct{}
	// stopped is set once Run's context has ended: later subscriptions end at once.
	stopped bool
	// observers see every change read (set before Run; see Observe).
	observers []func(store.Change)
	open      atomic.Int64
	closed    chan struct{}
	once      sync.Once
}

// New returns a feed read with r, the process's one change reader (its own Redis client).
func New(r *store.ChangeReader, log *slog.Logger) *Feed {
	if log == nil {
		log = slog.Default()
	}
	return &Feed{r: r, log: log, subs: map[string]map[*Sub]struct{}{}, closed: make(chan struct{})}
}

// Batch is one change as dispatched to every subscriber of its order. What a subscriber
// derives from it per view (the SSE stream's rendered messages) is computed once, by the
// first subscriber that needs it, however many follow the order (see Memo).
type Batch struct {
	store.Change
	once [2]sync.Once
	val  [2]any
	err  [2]error
}

// Memo returns f's result for the view (customer or merchant), calling f at most once per
// batch and view whichever subscriber asks first; the others get the same value and error.
func Memo[T any](b *Batch, customer bool, f func(store.Change) (T, error)) (T, error) {
	v := 0
	if customer {
		v = 1
	}
	b.once[v].Do(func() { b.val[v], b.err[v] = f(b.Change) })
	t, _ := b.val[v].(T)
	return t, b.err[v]
}

// Sub is one subscription to an order's changes.
type Sub struct {
	orderID string
	C       chan *Batch
	dropped chan struct{} // closed when the subscriber fell behind
	drop    sync.Once
	cancel  context.CancelFunc // ends the context Subscribe returned
}

// Dropped is closed when the subscriber fell too far behind and must end its stream.
func (s *Sub) Dropped() <-chan struct{} { return s.dropped }

// Observe has f called with every change the feed reads, from the reader goroutine (so f
// must not block). Other in-process consumers of the change feed (the webhook dispatcher's
// wake-up) use it rather than a Redis reader of their own. Call it before Run.
func (f *Feed) Observe(fn func(store.Change)) { f.observers = append(f.observers, fn) }

// Done is closed when the feed shuts down (Run returned).
func (f *Feed) Done() <-chan struct{} { return f.closed }

// Open is the number of open subscriptions.
func (f *Feed) Open() int64 { return f.open.Load() }

// Subscribe follows an order's changes until Unsubscribe. The context it returns is ctx,
// also ended when the feed shuts down (or at Unsubscribe), so the subscriber's own Redis
// reads end with the feed.
func (f *Feed) Subscribe(ctx context.Context, orderID string) (*Sub, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	s := &Sub{orderID: orderID, C: make(chan *Batch, subBuffer), dropped: make(chan struct{}), cancel: cancel}
	f.mu.Lock()
	if f.stopped {
		f.mu.Unlock()
		cancel()
		return s, ctx
	}
	m := f.subs[orderID]
	if m == nil {
		m = map[*Sub]struct{}{}
		f.subs[orderID] = m
	}
	m[s] = struct{}{}
	f.mu.Unlock()
	f.open.Add(1)
	return s, ctx
}

// Unsubscribe stops following, and ends the context Subscribe returned.
func (f *Feed) Unsubscribe(s *Sub) {
	s.cancel()
	f.mu.Lock()
	if m := f.subs[s.orderID]; m != nil {
		if _, ok := m[s]; ok {
			delete(m, s)
			f.open.Add(-1)
		}
		if len(m) == 0 {
			delete(f.subs, s.orderID)
		}
	}
	f.mu.Unlock()
}

func (f *Feed) dispatch(c store.Change) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	subs := f.subs[c.OrderID]
	if len(subs) == 0 {
		return
	}
	b := &Batch{Change: c}
	for s := range subs {
		select {
		case s.C <- b:
		default: // full: drop this subscriber, never block the others
			s.drop.Do(func() { close(s.dropped) })
		}
	}
}

// Run reads the change feed until ctx ends, then closes Done. Once ctx ends, so does every
// subscriber's context (at once, not after the read in flight), so streams end cleanly.
// After a Redis error it resumes from the last entry it read, so nothing is skipped.
func (f *Feed) Run(ctx context.Context) error {
	context.AfterFunc(ctx, f.endSubs)
	defer f.once.Do(func() { f.endSubs(); close(f.closed) })
	last := ""
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if last == "" {
			tail, err := f.r.Tail(ctx)
			if err != nil {
				f.log.Warn("changes: change feed unavailable", "err", err)
				sleep(ctx, backoff)
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			last = tail
		}
		changes, err := f.r.Read(ctx, last, readBlock, readCount)
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn("changes: change feed read failed; resuming", "err", err, "after", last)
				sleep(ctx, backoff)
				backoff = min(backoff*2, 5*time.Second)
			}
			continue
		}
		backoff = 100 * time.Millisecond
		for _, c := range changes {
			last = c.ID
			for _, fn := range f.observers {
				fn(c)
			}
			f.dispatch(c)
		}
	}
	return nil
}

// endSubs ends the contexts of the subscribers, and of those that subscribe later.
func (f *Feed) endSubs() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	for _, m := range f.subs {
		for s := range m {
			s.cancel()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
