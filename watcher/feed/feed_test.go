package feed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// newFeeds returns n watcher instances of one network under a fresh prefix on the package's
// own redis-server, and a client of it.
func newFeeds(t *testing.T, n int) ([]*Feed, *redis.Client) {
	t.Helper()
	rdb := redistest.Shared(t).Client(t)
	prefix := redistest.Prefix()
	fs := make([]*Feed, n)
	for i := range fs {
		fs[i] = New(rdb, prefix, checkout.ERC20)
	}
	return fs, rdb
}

func transfer(block uint64, kind checkout.TransferKind) checkout.Transfer {
	return checkout.Transfer{Network: checkout.ERC20, Kind: kind, TxHash: fmt.Sprintf("0x%064x", block),
		LogIndex: 1, BlockNumber: block, To: "0xto", From: "0xfrom", Amount: 1_000_000}
}

func mustAcquire(t *testing.T, f *Feed) {
	t.Helper()
	ok, err := f.Acquire(context.Background(), time.Minute)
	if err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
}

// TestCommitLeaseFenced: a watcher deposed by another (its lease released or expired and
// taken) gets ErrLeaseLost from Commit and writes nothing: no feed entry, no pending change,
// no checkpoint, no trim.
func TestCommitLeaseFenced(t *testing.T) {
	ctx := context.Background()
	fs, rdb := newFeeds(t, 2)
	a, b := fs[0], fs[1]
	a.SetRetention(0)
	mustAcquire(t, a)
	if ok, _ := b.Acquire(ctx, time.Minute); ok {
		t.Fatal("a second instance took a held lease")
	}
	step := &Step{Emit: []checkout.Transfer{transfer(5, checkout.TransferSeen)},
		Upsert: map[string]checkout.Transfer{"k5": transfer(5, checkout.TransferSeen)}, Checkpoint: 4}
	if err := a.Commit(ctx, step); err != nil {
		t.Fatal(err)
	}
	// a is deposed: its lease ends (here released; an expiry is the same) and b takes it.
	if err := rdb.Del(ctx, a.lease).Err(); err != nil {
		t.Fatal(err)
	}
	mustAcquire(t, b)
	if err := rdb.XGroupCreate(ctx, a.stream, "edge", "$").Err(); err != nil { // all acknowledged: a trim would empty it
		t.Fatal(err)
	}
	stale := &Step{Emit: []checkout.Transfer{transfer(6, checkout.TransferSeen), transfer(5, checkout.TransferConfirmed)},
		Upsert: map[string]checkout.Transfer{"k6": transfer(6, checkout.TransferSeen)}, Delete: []string{"k5"}, Checkpoint: 9}
	if err := a.Commit(ctx, stale); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("deposed commit: %v, want ErrLeaseLost", err)
	}
	st, err := b.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Checkpoint != 4 || len(st.Pending) != 1 || st.Pending["k5"] != transfer(5, checkout.TransferSeen) {
		t.Fatalf("the deposed commit changed the state: %+v", st)
	}
	if n := rdb.XLen(ctx, a.stream).Val(); n != 1 {
		t.Fatalf("feed has %d entries after the deposed commit, want 1", n)
	}
	if ok, _ := a.Acquire(ctx, time.Minute); ok {
		t.Fatal("the deposed instance took the lease back from a live holder")
	}
	if err := a.Release(ctx); err != nil || rdb.Get(ctx, b.lease).Val() != b.Token() {
		t.Fatalf("the deposed instance's release dropped the new holder's lease: %v", err)
	}
}

// TestCheckpointPendingRoundTrip: Load returns exactly what commits left: the checkpoint,
// and the pending transfers after deletes, upserts, and a delete-and-upsert of one key (a log
// re-mined in another block) in one step.
func TestCheckpointPendingRoundTrip(t *testing.T) {
	ctx := context.Background()
	fs, _ := newFeeds(t, 1)
	f := fs[0]
	st, err := f.Load(ctx)
	if err != nil || st.Started || st.Checkpoint != 0 || len(st.Pending) != 0 {
		t.Fatalf("fresh state %+v %v", st, err)
	}
	mustAcquire(t, f)
	k1, k2 := transfer(10, checkout.TransferSeen), transfer(11, checkout.TransferSeen)
	k2.Amount, k2.Confirmations, k2.ObservedAt = 1<<62, 3, time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := f.Commit(ctx, &Step{Upsert: map[string]checkout.Transfer{"k1": k1, "k2": k2}, Checkpoint: 9}); err != nil {
		t.Fatal(err)
	}
	st, err = f.Load(ctx)
	want := map[string]checkout.Transfer{"k1": k1, "k2": k2}
	if err != nil || !st.Started || st.Checkpoint != 9 || !reflect.DeepEqual(st.Pending, want) {
		t.Fatalf("after the first step: %+v %v", st, err)
	}
	remined := k1
	remined.BlockNumber, remined.BlockHash = 12, "0xother"
	if err := f.Commit(ctx, &Step{Delete: []string{"k1", "k2"}, Upsert: map[string]checkout.Transfer{"k1": remined}, Checkpoint: 11}); err != nil {
		t.Fatal(err)
	}
	st, err = f.Load(ctx)
	if err != nil || st.Checkpoint != 11 || !reflect.DeepEqual(st.Pending, map[string]checkout.Transfer{"k1": remined}) {
		t.Fatalf("after delete and re-upsert: %+v %v", st, err)
	}
}

// feedIDs lists the feed's entry ids.
func feedIDs(t *testing.T, rdb *redis.Client, f *Feed) []string {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), f.stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return ids
}

// read has the group's consumer read up to count new entries and acknowledge the first ack.
func read(t *testing.T, rdb *redis.Client, f *Feed, group string, count int64, ack int) []string {
	t.Helper()
	ctx := context.Background()
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "c", Streams: []string{f.stream, ">"}, Count: count, Block: -1}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range res {
		for _, m := range s.Messages {
			ids = append(ids, m.ID)
		}
	}
	if ack > 0 {
		if err := rdb.XAck(ctx, f.stream, group, ids[:ack]...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// TestTrimKeepsUnacknowledged: with two consumer groups, one lagging (entries pending, others
// never read), each step trims only what both have acknowledged; entries the lagging group
// holds or has not read stay, and its lag stays known.
func TestTrimKeepsUnacknowledged(t *testing.T) {
	ctx := context.Background()
	fs, rdb := newFeeds(t, 1)
	f := fs[0]
	f.SetRetention(0)
	f.now = func() time.Time { return time.Now().Add(time.Hour) } // the retention never binds here
	f.trimBatch = 3
	mustAcquire(t, f)
	for _, g := range []string{"fast", "slow"} {
		if err := rdb.XGroupCreateMkStream(ctx, f.stream, g, "0").Err(); err != nil {
			t.Fatal(err)
		}
	}
	step := &Step{Checkpoint: 1}
	for b := range uint64(10) {
		step.Emit = append(step.Emit, transfer(b, checkout.TransferSeen))
	}
	if err := f.Commit(ctx, step); err != nil {
		t.Fatal(err)
	}
	all := feedIDs(t, rdb, f)
	if len(all) != 10 {
		t.Fatalf("%d entries, want 10: nothing is acknowledged yet", len(all))
	}
	read(t, rdb, f, "fast", 100, 10) // all read and acknowledged
	read(t, rdb, f, "slow", 6, 3)    // 1-3 acknowledged, 4-6 pending, 7-10 unread
	tick := func(want []string) {
		t.Helper()
		if err := f.Commit(ctx, &Step{Checkpoint: 1}); err != nil {
			t.Fatal(err)
		}
		if got := feedIDs(t, rdb, f); !reflect.DeepEqual(got, want) {
			t.Fatalf("feed after the step: %v, want %v", got, want)
		}
	}
	tick(all[3:]) // 1-3 go; the slow group's pending 4-6 and unread 7-10 stay
	tick(all[3:]) // nothing more is acknowledged by both
	if err := rdb.XAck(ctx, f.stream, "slow", all[3:6]...).Err(); err != nil {
		t.Fatal(err)
	}
	tick(all[6:]) // 4-6 go; 7-10 the slow group never read
	read(t, rdb, f, "slow", 100, 4)
	read(t, rdb, f, "fast", 100, 0) // a group with nothing new
	tick(all[9:])                   // three a step (the batch)
	tick([]string{})
	groups, err := rdb.XInfoGroups(ctx, f.stream).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if g.Pending != 0 || g.Lag != 0 {
			t.Fatalf("group %s after the trims: pending %d lag %d, want 0 and 0 (lag known)", g.Name, g.Pending, g.Lag)
		}
	}
	// New entries after a full trim: kept until read.
	if err := f.Commit(ctx, &Step{Emit: []checkout.Transfer{transfer(20, checkout.TransferConfirmed)}, Checkpoint: 2}); err != nil {
		t.Fatal(err)
	}
	if got := feedIDs(t, rdb, f); len(got) != 1 {
		t.Fatalf("an unread entry was trimmed: %v", got)
	}
}

// TestTrimRetention: acknowledged entries younger than the retention stay; a negative
// retention never trims.
func TestTrimRetention(t *testing.T) {
	ctx := context.Background()
	fs, rdb := newFeeds(t, 1)
	f := fs[0]
	mustAcquire(t, f)
	if err := rdb.XGroupCreateMkStream(ctx, f.stream, "edge", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(ctx, &Step{Emit: []checkout.Transfer{transfer(1, checkout.TransferSeen), transfer(2, checkout.TransferSeen)}}); err != nil {
		t.Fatal(err)
	}
	ids := read(t, rdb, f, "edge", 100, 2)
	if err := f.Commit(ctx, &Step{}); err != nil { // default retention: a day
		t.Fatal(err)
	}
	if got := feedIDs(t, rdb, f); !reflect.DeepEqual(got, ids) {
		t.Fatalf("entries within the retention were trimmed: %v", got)
	}
	f.SetRetention(-1)
	f.now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	if err := f.Commit(ctx, &Step{}); err != nil {
		t.Fatal(err)
	}
	if got := feedIDs(t, rdb, f); !reflect.DeepEqual(got, ids) {
		t.Fatalf("a negative retention trimmed: %v", got)
	}
	f.SetRetention(DefaultRetention)
	if err := f.Commit(ctx, &Step{}); err != nil { // two days later
		t.Fatal(err)
	}
	if got := feedIDs(t, rdb, f); len(got) != 0 {
		t.Fatalf("acknowledged entries past the retention stayed: %v", got)
	}
}

// TestTrimUngrouped: with no consumer group, the feed keeps everything up to its cap, then
// the oldest go (a batch a step).
func TestTrimUngrouped(t *testing.T) {
	ctx := context.Background()
	fs, rdb := newFeeds(t, 1)
	f := fs[0]
	f.SetRetention(0)
	f.ungroupedMax, f.trimBatch = 5, 2
	mustAcquire(t, f)
	step := &Step{}
	for b := range uint64(5) {
		step.Emit = append(step.Emit, transfer(b, checkout.TransferSeen))
	}
	if err := f.Commit(ctx, step); err != nil {
		t.Fatal(err)
	}
	all := feedIDs(t, rdb, f)
	if len(all) != 5 {
		t.Fatalf("%d entries within the cap, want 5", len(all))
	}
	if err := f.Commit(ctx, &Step{Emit: step.Emit[:4]}); err != nil {
		t.Fatal(err)
	}
	all = feedIDs(t, rdb, f)
	if len(all) != 7 { // 9 entries, 4 over the cap, 2 trimmed a step
		t.Fatalf("%d entries after the first trim, want 7", len(all))
	}
	if err := f.Commit(ctx, &Step{}); err != nil {
		t.Fatal(err)
	}
	if got := feedIDs(t, rdb, f); !reflect.DeepEqual(got, all[2:]) {
		t.Fatalf("feed %v, want the newest five %v", got, all[2:])
	}
	if err := f.Commit(ctx, &Step{}); err != nil {
		t.Fatal(err)
	}
	if got := feedIDs(t, rdb, f); len(got) != 5 {
		t.Fatalf("trimmed below the cap: %v", got)
	}
}
