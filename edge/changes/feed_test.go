package changes

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

// TestSlowSubscriberIsDropped: a subscriber that does not read is dropped once its buffer is
// full, and the others keep receiving without waiting for it.
func TestSlowSubscriberIsDropped(t *testing.T) {
	h := New(nil, nil)
	ctx := context.Background()
	slow, _ := h.Subscribe(ctx, "ord_A")
	fast, _ := h.Subscribe(ctx, "ord_A")
	other, _ := h.Subscribe(ctx, "ord_B")
	got := 0
	for i := 0; i < subBuffer*3; i++ {
		h.dispatch(store.Change{OrderID: "ord_A", ID: "1-0"}) // never blocks
		<-fast.C
		got++
	}
	select {
	case <-slow.Dropped():
	default:
		t.Fatal("a subscriber that never reads was not dropped")
	}
	select {
	case <-fast.Dropped():
		t.Fatal("a subscriber that keeps up was dropped")
	default:
	}
	if got != subBuffer*3 || len(other.C) != 0 {
		t.Errorf("fast got %d; other order got %d", got, len(other.C))
	}
	h.Unsubscribe(slow)
	h.Unsubscribe(fast)
	h.Unsubscribe(other)
	if h.Open() != 0 {
		t.Errorf("%d subscriptions left", h.Open())
	}
}

// TestRunEndsSubscribers: a subscriber's context ends when Run's context does (so a stream's
// Redis reads end at shutdown), Done closes once Run returns, and a subscription made after
// that is ended at once; before, changes reach subscribers and observers in order.
func TestRunEndsSubscribers(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	st := store.New(rdb, redistest.Prefix())
	r := store.NewChangeReader(redistest.Shared(t).Client(t), st.Prefix())
	f := New(r, nil)
	var observed atomic.Int64
	f.Observe(func(store.Change) { observed.Add(1) })
	parent := context.Background()
	sub, subCtx := f.Subscribe(parent, "ord_A")
	ctx, cancel := context.WithCancel(parent)
	ran := make(chan struct{})
	go func() { defer close(ran); _ = f.Run(ctx) }()

	// Announce (a change hint) until the running feed passes one on: it starts at the tail.
	deadline := time.Now().Add(5 * time.Second)
	var got *Batch
	for got == nil {
		if err := st.Announce(parent, "ord_A"); err != nil {
			t.Fatal(err)
		}
		select {
		case got = <-sub.C:
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no change reached the subscriber")
		}
	}
	if got.OrderID != "ord_A" || observed.Load() == 0 {
		t.Errorf("got %+v, observed %d; want ord_A's change, observed", got.Change, observed.Load())
	}
	if subCtx.Err() != nil {
		t.Fatal("the subscriber's context ended while the feed runs")
	}

	cancel()
	select {
	case <-subCtx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the subscriber's context did not end with Run's")
	}
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	select {
	case <-f.Done():
	default:
		t.Error("Done is open after Run returned")
	}
	late, lateCtx := f.Subscribe(parent, "ord_B")
	if lateCtx.Err() == nil {
		t.Error("a subscription after shutdown has a live context")
	}
	f.Unsubscribe(late)
	f.Unsubscribe(sub)
	if f.Open() != 0 {
		t.Errorf("%d subscriptions left", f.Open())
	}
}

// TestUnsubscribeEndsContext: Unsubscribe ends the context Subscribe returned, and leaves the
// caller's own context alone.
func TestUnsubscribeEndsContext(t *testing.T) {
	f := New(nil, nil)
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, ctx := f.Subscribe(parent, "ord_A")
	f.Unsubscribe(sub)
	if ctx.Err() == nil || parent.Err() != nil {
		t.Errorf("after Unsubscribe: subscription context %v, caller's %v; want ended, live", ctx.Err(), parent.Err())
	}
}
