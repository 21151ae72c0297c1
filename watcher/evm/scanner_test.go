package evm

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
	"github.com/mpchat/checkout/watcher/feed"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

const required = 3

type rig struct {
	t      *testing.T
	ctx    context.Context
	chain  *devchain.Chain
	cl     *ethclient.Client
	rdb    *redis.Client
	prefix string
	n      checkout.Network
}

func newRig(t *testing.T, n checkout.Network) *rig {
	t.Helper()
	ch, err := devchain.Start(context.Background(), devchain.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Close() })
	cl, err := ethclient.Dial(ch.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &rig{t: t, ctx: context.Background(), chain: ch, cl: cl, rdb: redistest.Shared(t).Client(t), prefix: redistest.Prefix(), n: n}
}

// scanner returns a scanner with its own feed instance holding the lease.
func (r *rig) scanner(maxRange uint64) (*Scanner, *feed.Feed) {
	f := feed.New(r.rdb, r.prefix, r.n)
	ok, err := f.Acquire(r.ctx, time.Minute)
	if err != nil || !ok {
		r.t.Fatalf("acquire lease: %v %v", ok, err)
	}
	start := uint64(0)
	return &Scanner{Chain: Node(r.cl), Store: f, Network: r.n, Token: r.chain.Token(), Required: required,
		MaxRange: maxRange, StartBlock: &start}, f
}

// watch adds a fresh address (derived from bytes b) to the watch set and returns it.
func (r *rig) watch(b byte) (common.Address, string) {
	addr := common.BytesToAddress([]byte{0xde, 0xad, b})
	s := deposit.Format(r.n, addr)
	r.rdb.SAdd(r.ctx, r.prefix+checkout.WatchSet(r.n), s)
	return addr, s
}

func (r *rig) step(s *Scanner) bool {
	r.t.Helper()
	caughtUp, err := s.Step(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	return caughtUp
}

// feed returns every transfer on the network's feed stream.
func (r *rig) feed() []checkout.Transfer {
	r.t.Helper()
	msgs, err := r.rdb.XRange(r.ctx, r.prefix+checkout.FeedStream(r.n), "-", "+").Result()
	if err != nil {
		r.t.Fatal(err)
	}
	out := make([]checkout.Transfer, len(msgs))
	for i, m := range msgs {
		if err := json.Unmarshal([]byte(m.Values[checkout.FeedField].(string)), &out[i]); err != nil {
			r.t.Fatal(err)
		}
	}
	return out
}

func kinds(ts []checkout.Transfer) (out []string) {
	for _, t := range ts {
		out = append(out, string(t.Kind)+":"+string(rune('0'+t.Confirmations)))
	}
	return out
}

func TestSeenProgressConfirmed(t *testing.T) {
	for _, n := range checkout.Networks {
		t.Run(string(n), func(t *testing.T) {
			r := newRig(t, n)
			s, _ := r.scanner(0)
			to, toStr := r.watch(1)
			unwatched := common.BytesToAddress([]byte{0xbe, 0xef})
			if _, err := r.chain.Pay(r.ctx, 1, to, 7_500_000); err != nil {
				t.Fatal(err)
			}
			if _, err := r.chain.Pay(r.ctx, 2, unwatched, 1_000_000); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < required; i++ {
				r.chain.Commit()
				r.step(s)
				r.step(s) // a step without a new block reports nothing new
			}
			got := r.feed()
			if want := []string{"seen:1", "seen:2", "confirmed:3"}; len(got) != 3 || kinds(got)[0] != want[0] || kinds(got)[1] != want[1] || kinds(got)[2] != want[2] {
				t.Fatalf("feed %v, want %v", kinds(got), want)
			}
			c := got[2]
			if c.To != toStr || c.From != deposit.Format(n, r.chain.Payer(1)) || c.Amount != 7_500_000 || c.Network != n ||
				c.Required != required || len(c.TxHash) != 66 || c.BlockHash == "" {
				t.Errorf("confirmed transfer %+v", c)
			}
			if n == checkout.TRC20 && c.To[0] != 'T' {
				t.Errorf("TRC20 address not in TRON format: %s", c.To)
			}
		})
	}
}

func TestReorgRemovesSeen(t *testing.T) {
	r := newRig(t, checkout.ERC20)
	s, _ := r.scanner(0)
	to, _ := r.watch(2)
	parent, _ := r.chain.Client().HeaderByNumber(r.ctx, nil)
	if _, err := r.chain.Pay(r.ctx, 1, to, 5_000_000); err != nil {
		t.Fatal(err)
	}
	r.chain.Commit()
	r.step(s)
	if err := r.chain.Backend().Fork(parent.Hash()); err != nil {
		t.Fatal(err)
	}
	r.chain.Backend().Rollback()
	r.chain.Commit()
	r.chain.Commit()
	r.step(s)
	for i := 0; i < 2*required; i++ {
		r.chain.Commit()
		r.step(s)
	}
	got := kinds(r.feed())
	if len(got) != 2 || got[0] != "seen:1" || got[1][:8] != "removed:" {
		t.Fatalf("feed %v, want seen then removed", got)
	}
}

// TestRestartConfirmsWhatWasSeen: a new watcher instance (after the old one's lease is gone)
// confirms a transfer the old one only saw: nothing missed across a restart.
func TestRestartConfirmsWhatWasSeen(t *testing.T) {
	r := newRig(t, checkout.TRC20)
	old, oldFeed := r.scanner(0)
	to, _ := r.watch(3)
	if _, err := r.chain.Pay(r.ctx, 1, to, 1_000_000); err != nil {
		t.Fatal(err)
	}
	r.chain.Commit()
	r.step(old)
	if err := oldFeed.Release(r.ctx); err != nil { // stopped
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		r.chain.Commit()
	}
	fresh, _ := r.scanner(0)
	for !r.step(fresh) {
	}
	got := kinds(r.feed())
	if len(got) != 2 || got[0] != "seen:1" || got[1][:10] != "confirmed:" {
		t.Fatalf("feed %v", got)
	}
	// The deposed instance can no longer write.
	if _, err := old.Step(r.ctx); !errors.Is(err, feed.ErrLeaseLost) {
		t.Errorf("old instance step: %v, want ErrLeaseLost", err)
	}
}

func TestCatchUpInBoundedRanges(t *testing.T) {
	r := newRig(t, checkout.ERC20)
	to, _ := r.watch(4)
	const blocks, every = 300, 10
	for i := 1; i <= blocks; i++ {
		if i%every == 0 {
			if _, err := r.chain.Pay(r.ctx, i%5, to, checkout.Amount(i)); err != nil {
				t.Fatal(err)
			}
		}
		r.chain.Commit()
	}
	s, _ := r.scanner(50)
	steps := 0
	for !r.step(s) {
		steps++
	}
	// The last payment is still in the unconfirmed window: make it final too.
	for i := 0; i < required; i++ {
		r.chain.Commit()
	}
	r.step(s)
	head, _ := r.cl.BlockNumber(r.ctx)
	got := r.feed()
	confirmed := 0
	for _, tr := range got {
		if tr.Kind == checkout.TransferConfirmed {
			confirmed++
		}
	}
	if confirmed != blocks/every || steps < blocks/50-1 {
		t.Errorf("%d confirmed in %d steps (head %d), want %d in ≥ %d", confirmed, steps, head, blocks/every, blocks/50-1)
	}
	cp, _ := r.rdb.Get(r.ctx, r.prefix+"watcher:{ERC20}:checkpoint").Uint64()
	if cp != head+1-required {
		t.Errorf("checkpoint %d, want %d", cp, head+1-required)
	}
}

func TestLeaseFencingAndTakeover(t *testing.T) {
	r := newRig(t, checkout.ERC20)
	to, _ := r.watch(5)
	run := func(ctx context.Context) (*Runner, chan struct{}) {
		f := feed.New(r.rdb, r.prefix, r.n)
		start := uint64(0)
		runner := &Runner{Scanner: &Scanner{Chain: Node(r.cl), Store: f, Network: r.n, Token: r.chain.Token(),
			Required: required, StartBlock: &start}, Lease: f, LeaseTTL: 500 * time.Millisecond, Poll: 10 * time.Millisecond}
		done := make(chan struct{})
		go func() { defer close(done); _ = runner.Run(ctx) }()
		return runner, done
	}
	ctxA, stopA := context.WithCancel(r.ctx)
	_, doneA := run(ctxA)
	waitLeader(t, r, "")
	leaderA, _ := r.rdb.Get(r.ctx, r.prefix+"watcher:{ERC20}:lease").Result()
	ctxB, stopB := context.WithCancel(r.ctx)
	defer func() { stopB() }()
	_, doneB := run(ctxB)
	if _, err := r.chain.Pay(r.ctx, 1, to, 3_000_000); err != nil {
		t.Fatal(err)
	}
	r.chain.Commit()
	waitFeed(t, r, 1)
	stopA()
	<-doneA
	waitLeader(t, r, leaderA) // B takes over
	for i := 0; i < required; i++ {
		r.chain.Commit()
	}
	deadline := time.Now().Add(10 * time.Second)
	for !hasConfirmed(r.feed()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := r.feed()
	if !hasConfirmed(got) || got[0].Kind != checkout.TransferSeen || got[len(got)-1].Kind != checkout.TransferConfirmed {
		t.Errorf("feed %v: want seen first and confirmed last, after the takeover", kinds(got))
	}
	stopB()
	<-doneB
}

func hasConfirmed(ts []checkout.Transfer) bool {
	for _, t := range ts {
		if t.Kind == checkout.TransferConfirmed {
			return true
		}
	}
	return false
}

func waitLeader(t *testing.T, r *rig, not string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if v, err := r.rdb.Get(r.ctx, r.prefix+"watcher:{ERC20}:lease").Result(); err == nil && v != not {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no new leader")
}

func waitFeed(t *testing.T, r *rig, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r.rdb.XLen(r.ctx, r.prefix+checkout.FeedStream(r.n)).Val() >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("feed never reached %d entries", n)
}
