package sse

import (
	"testing"

	"github.com/mpchat/checkout/edge/store"
)

// TestSlowSubscriberIsDropped: a subscriber that does not read is dropped once its buffer is
// full, and the others keep receiving without waiting for it.
func TestSlowSubscriberIsDropped(t *testing.T) {
	h := NewHub(nil, "", nil)
	slow, fast := h.Subscribe("ord_A"), h.Subscribe("ord_A")
	other := h.Subscribe("ord_B")
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

func TestAfter(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{{"2-0", "1-5", true}, {"10-0", "9-9", true}, {"1-5", "1-4", true}, {"1-4", "1-4", false}, {"1-3", "1-4", false}}
	for _, c := range cases {
		if after(c.a, c.b) != c.want {
			t.Errorf("after(%s, %s) != %v", c.a, c.b, c.want)
		}
	}
}
