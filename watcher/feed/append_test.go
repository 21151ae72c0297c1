package feed

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
)

// TestAppendConfirmed: a rescan's append writes confirmed observations, in order, while
// another instance holds the lease, and leaves the checkpoint and the pending set alone; a
// batch holding anything but a confirmed transfer of the feed's network writes nothing.
func TestAppendConfirmed(t *testing.T) {
	ctx := context.Background()
	fs, rdb := newFeeds(t, 2)
	live, rescan := fs[0], fs[1]
	mustAcquire(t, live)
	pending := transfer(9, checkout.TransferSeen)
	if err := live.Commit(ctx, &Step{Upsert: map[string]checkout.Transfer{pending.Key(): pending}, Checkpoint: 7}); err != nil {
		t.Fatal(err)
	}
	before := rdb.XLen(ctx, live.stream).Val()

	for _, bad := range []struct {
		name string
		t    checkout.Transfer
	}{
		{"seen", transfer(3, checkout.TransferSeen)},
		{"removed", transfer(3, checkout.TransferRemoved)},
		{"other network", func() checkout.Transfer {
			x := transfer(3, checkout.TransferConfirmed)
			x.Network = checkout.TRC20
			return x
		}()},
	} {
		if err := rescan.AppendConfirmed(ctx, []checkout.Transfer{transfer(2, checkout.TransferConfirmed), bad.t}); err == nil {
			t.Errorf("%s: appended", bad.name)
		}
	}
	if n := rdb.XLen(ctx, live.stream).Val(); n != before {
		t.Fatalf("refused batches wrote %d entries", n-before)
	}

	batch := []checkout.Transfer{transfer(4, checkout.TransferConfirmed), transfer(5, checkout.TransferConfirmed)}
	if err := rescan.AppendConfirmed(ctx, batch); err != nil {
		t.Fatal(err)
	}
	msgs := rdb.XRange(ctx, live.stream, "-", "+").Val()
	if len(msgs) != int(before)+2 {
		t.Fatalf("%d entries, want %d", len(msgs), before+2)
	}
	for i, m := range msgs[before:] {
		var got checkout.Transfer
		if err := json.Unmarshal([]byte(m.Values[checkout.FeedField].(string)), &got); err != nil {
			t.Fatal(err)
		}
		if got.Key() != batch[i].Key() || got.Kind != checkout.TransferConfirmed {
			t.Errorf("entry %d: %+v, want %+v", i, got, batch[i])
		}
	}
	st, err := live.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Checkpoint != 7 || len(st.Pending) != 1 {
		t.Errorf("the append moved the live state: checkpoint %d, pending %v", st.Checkpoint, st.Pending)
	}
	if ok, err := live.Acquire(ctx, time.Minute); err != nil || !ok {
		t.Errorf("the live watcher lost its lease: %v %v", ok, err)
	}
}
