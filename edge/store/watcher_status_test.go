package store_test

import (
	"context"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/feed"
)

// TestWatcherStateReadsTheStatus: the status record the active watcher writes (with its own
// writer, watcher/feed) is read back by WatcherState beside the lease and checkpoint, with a
// TTL on its key; with no record the watcher is "not reporting", and a watcher that lost the
// lease writes none.
func TestWatcherStateReadsTheStatus(t *testing.T) {
	rdb := redistest.Shared(t).Client(t)
	prefix := redistest.Prefix()
	ctx := context.Background()
	st := store.New(rdb, prefix)
	n := checkout.TRC20

	w, err := st.WatcherState(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if w.Reporting || w.Head != 0 || w.EndpointsTotal != 0 {
		t.Fatalf("no watcher ran, yet: %+v", w)
	}

	f := feed.New(rdb, prefix, n)
	if ok, err := f.Acquire(ctx, time.Minute); err != nil || !ok {
		t.Fatalf("lease %v %v", ok, err)
	}
	if err := f.Commit(ctx, &feed.Step{Checkpoint: 1180}); err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(time.Now().Add(-3 * time.Second).UnixMilli())
	ttl := feed.StatusTTL(time.Second)
	if ttl != 30*time.Second || feed.StatusTTL(20*time.Second) != time.Minute {
		t.Fatalf("status TTL %s for a 1 s poll, %s for 20 s", ttl, feed.StatusTTL(20*time.Second))
	}
	err = f.WriteStatus(ctx, &feed.Status{Head: 1200, At: at, Checkpoint: 1180,
		EndpointsHealthy: 1, EndpointsTotal: 2, Primary: "#1 https://rpc.example"}, ttl)
	if err != nil {
		t.Fatal(err)
	}
	w, err = st.WatcherState(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	want := store.WatcherState{Network: n, Leader: true, LeaseLeft: w.LeaseLeft, Instance: f.Token()[:8],
		Checkpoint: 1180, Started: true, Reporting: true, Head: 1200, HeadAt: at, HeadLag: 20,
		EndpointsHealthy: 1, EndpointsTotal: 2, Primary: "#1 https://rpc.example"}
	if !w.HeadAt.Equal(at) {
		t.Errorf("head read at %s, want %s", w.HeadAt, at)
	}
	w.HeadAt = at
	if *w != want {
		t.Errorf("watcher state\n got %+v\nwant %+v", *w, want)
	}
	key := prefix + "watcher:{" + string(n) + "}:status"
	if left := rdb.PTTL(ctx, key).Val(); left <= 0 || left > ttl {
		t.Errorf("status key %s: TTL %s, want (0, %s]", key, left, ttl)
	}

	// A head below the checkpoint (a node answering from behind) is no lag, not a wrap.
	if err := f.WriteStatus(ctx, &feed.Status{Head: 1100, At: at, Checkpoint: 1180, EndpointsTotal: 1}, ttl); err != nil {
		t.Fatal(err)
	}
	if w, err = st.WatcherState(ctx, n); err != nil || w.HeadLag != 0 || w.Head != 1100 || w.Primary != "" {
		t.Errorf("head behind the checkpoint: %+v %v", w, err)
	}

	// Another instance, without the lease, is fenced off and writes nothing.
	other := feed.New(rdb, prefix, n)
	if err := other.WriteStatus(ctx, &feed.Status{Head: 9999, At: time.Now()}, ttl); err != feed.ErrLeaseLost {
		t.Errorf("status written without the lease: %v", err)
	}
	// Gone (its TTL ran out): not reporting, and nothing of it is shown.
	rdb.Del(ctx, key)
	if w, err = st.WatcherState(ctx, n); err != nil || w.Reporting || w.Head != 0 || !w.Started {
		t.Errorf("status gone: %+v %v", w, err)
	}
}
