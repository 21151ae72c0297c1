package store

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/internal/redistest"
)

// TestChangeReader: the reader starts at the feed's tail, returns every change after an id in
// order with its order, previous event id and events, waits for the next change when there is
// none yet, and does all of it on one connection of its own, not the store's pool.
func TestChangeReader(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Shared(t).Client(t)
	st := New(rdb, redistest.Prefix())
	r := st.ChangeReader()
	t.Cleanup(func() { _ = r.Close() })

	tail, err := r.Tail(ctx)
	if err != nil || tail != "0-0" {
		t.Fatalf("tail of an empty feed: %q, %v; want 0-0", tail, err)
	}
	if got, err := r.Read(ctx, tail, 50*time.Millisecond, 10); err != nil || len(got) != 0 {
		t.Fatalf("read of an empty feed: %v, %v; want nothing", got, err)
	}
	ev := StreamEvent{ID: "1700000000000-0", Type: checkout.EventOrderCreated, Data: json.RawMessage(`{"type":"order.created"}`)}
	if err := st.publishChange(ctx, "ord_A", "0-0", []StreamEvent{ev}); err != nil {
		t.Fatal(err)
	}
	if err := st.publishChange(ctx, "ord_B", "", nil); err != nil { // an announcement: no events
		t.Fatal(err)
	}
	got, err := r.Read(ctx, tail, time.Second, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("read after the tail: %+v, %v; want 2 changes", got, err)
	}
	a, b := got[0], got[1]
	if a.OrderID != "ord_A" || a.Prev != "0-0" || len(a.Events) != 1 || a.Events[0].ID != ev.ID ||
		a.Events[0].Type != ev.Type || string(a.Events[0].Data) != string(ev.Data) {
		t.Errorf("first change %+v; want ord_A after 0-0 with %+v", a, ev)
	}
	if b.OrderID != "ord_B" || b.Prev != "" || len(b.Events) != 0 || CompareStreamIDs(b.ID, a.ID) <= 0 {
		t.Errorf("second change %+v (first %s); want ord_B, no events, after the first", b, a.ID)
	}
	if tail, err := r.Tail(ctx); err != nil || tail != b.ID {
		t.Errorf("tail %q, %v; want the newest change %s", tail, err, b.ID)
	}
	if got, err := r.Read(ctx, a.ID, time.Second, 10); err != nil || len(got) != 1 || got[0].ID != b.ID {
		t.Errorf("read after the first change: %+v, %v; want only %s", got, err, b.ID)
	}

	// A blocking read waits for the next change.
	type result struct {
		c   []Change
		err error
	}
	res := make(chan result, 1)
	go func() {
		c, err := r.Read(ctx, b.ID, 10*time.Second, 10)
		res <- result{c, err}
	}()
	// Publish once the read is waiting (Redis lists it as blocked), so it is not a plain read.
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err := rdb.ClientList(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if blockedXRead(list) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the read never blocked")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := st.publishChange(ctx, "ord_C", "1-0", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-res:
		if r.err != nil || len(r.c) != 1 || r.c[0].OrderID != "ord_C" || r.c[0].Prev != "1-0" {
			t.Errorf("blocking read: %+v, %v; want the ord_C change", r.c, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a blocking read did not return the change published while it waited")
	}

	// Its own client, of one connection: the blocking read never holds a pooled connection.
	own, ok := r.rdb.(*redis.Client)
	if !ok || own == rdb {
		t.Fatalf("the reader uses %T %p, the store %p; want a client of its own", r.rdb, r.rdb, rdb)
	}
	if own.Options().PoolSize != 1 {
		t.Errorf("reader pool size %d; want 1", own.Options().PoolSize)
	}
	if n := own.PoolStats().TotalConns; n != 1 {
		t.Errorf("reader holds %d connections after its reads; want 1", n)
	}
	if err := r.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Errorf("closing the reader closed the store's client: %v", err)
	}
}

// blockedXRead reports whether CLIENT LIST shows a client blocked in XREAD.
func blockedXRead(list string) bool {
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, " flags=b ") && strings.Contains(line, " cmd=xread ") {
			return true
		}
	}
	return false
}
