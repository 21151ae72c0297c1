package evm_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
	"github.com/mpchat/checkout/watcher/endpoints"
	"github.com/mpchat/checkout/watcher/evm"
	"github.com/mpchat/checkout/watcher/feed"
)

// TestRunnerPublishesStatus: a running watcher over a pool of endpoints (one dead, one the
// dev chain behind a key in its query and a header) publishes, after its steps, the chain
// head it saw, when, the checkpoint, the endpoints' health and the primary's label, which
// carries neither the key nor the header; the record has a TTL and follows the head.
func TestRunnerPublishesStatus(t *testing.T) {
	ctx := context.Background()
	ch, err := devchain.Start(ctx, devchain.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Close() })
	cl, err := ethclient.Dial(ch.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	for i := 0; i < 5; i++ {
		ch.Commit()
	}
	rdb := redistest.Shared(t).Client(t)
	prefix := redistest.Prefix()

	// A frozen pool clock: the dead endpoint, benched at its first failure, stays benched.
	frozen := time.Now()
	pool, err := endpoints.New([]endpoints.Config{
		{URL: "http://127.0.0.1:1"},
		{URL: ch.RPCURL() + "/?key=s3cret-key", Headers: http.Header{"Authorization": {"Bearer s3cret-header"}}},
	}, endpoints.Options{Timeout: time.Second, Now: func() time.Time { return frozen }})
	if err != nil {
		t.Fatal(err)
	}
	f := feed.New(rdb, prefix, checkout.ERC20)
	start := uint64(0)
	const required = 2
	poll := 20 * time.Millisecond
	r := &evm.Runner{
		Scanner: &evm.Scanner{Chain: pool, Store: f, Network: checkout.ERC20, Token: ch.Token(), Required: required, StartBlock: &start},
		Lease:   f, LeaseTTL: 2 * time.Second, Poll: poll,
		Status: f, Health: pool.Health,
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	before := time.Now()
	go func() { done <- r.Run(rctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
	})

	key := prefix + "watcher:{ERC20}:status"
	head, err := cl.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Steps keep writing: the record ends at the head with the caught-up checkpoint.
	waitCheckpoint := func(head uint64) map[string]string {
		t.Helper()
		want := strconv.FormatUint(head+1-required, 10)
		deadline := time.Now().Add(15 * time.Second)
		for {
			h := rdb.HGetAll(ctx, key).Val()
			if h["h"] == strconv.FormatUint(head, 10) && h["cp"] == want {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("status record %v: want head %d, checkpoint %s", h, head, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	h := waitCheckpoint(head)
	at, _ := strconv.ParseInt(h["at"], 10, 64)
	if at < before.UnixMilli() || at > time.Now().UnixMilli() {
		t.Errorf("head read at %d, want between %d and now", at, before.UnixMilli())
	}
	wantPrimary := "#1 " + ch.RPCURL()
	if h["eh"] != "1" || h["et"] != "2" || h["p"] != wantPrimary {
		t.Errorf("endpoints in the record %v: want 1 of 2 healthy, primary %q", h, wantPrimary)
	}
	for _, v := range h {
		if strings.Contains(v, "s3cret") {
			t.Errorf("the status record carries a secret: %v", h)
		}
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > feed.StatusTTL(poll) {
		t.Errorf("status TTL %s, want (0, %s]", ttl, feed.StatusTTL(poll))
	}

	// A new block: the record follows the head.
	ch.Commit()
	waitCheckpoint(head + 1)
}
