package changes

import (
	"context"
	"testing"

	"github.com/mpchat/checkout/edge/store"
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
