// Command chain benchmarks the chain side on a real dev chain and a private redis-server:
//
//  1. detection latency: block committed → order status changed in Redis (the real watcher
//     runner woken by WebSocket new heads, the real settlement consumer), over N payments,
//     beside the baseline of the same run: block committed → new head received over WebSocket;
//  2. catch-up: scanning a backlog of blocks with transfers sprinkled in, beside the baseline
//     of the same run: the raw eth_getLogs calls over the same ranges with no processing.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
	"github.com/mpchat/checkout/watcher/evm"
	"github.com/mpchat/checkout/watcher/feed"
)

func main() {
	payments := flag.Int("payments", 200, "payments for the detection latency")
	blocks := flag.Int("blocks", 10_000, "backlog blocks for the catch-up scan")
	every := flag.Int("every", 20, "a watched transfer every this many backlog blocks")
	flag.Parse()
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	if err := detection(*payments); err != nil {
		fmt.Fprintln(os.Stderr, "detection:", err)
		os.Exit(1)
	}
	if err := catchUp(*blocks, *every); err != nil {
		fmt.Fprintln(os.Stderr, "catch-up:", err)
		os.Exit(1)
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func detection(n int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rdb, chain, stop, err := setup(ctx)
	if err != nil {
		return err
	}
	defer stop()
	prefix := "bench:"
	st := store.New(rdb, prefix)
	svc := &orders.Service{Store: st, PublicURL: "https://pay.bench"}
	xpub, _ := deposit.DevAccountXPub(checkout.ERC20, 1)
	k, _ := deposit.ParseAccountXPub(xpub)
	m := &checkout.Merchant{ID: ids.Merchant(), XPubs: map[checkout.Network]string{checkout.ERC20: xpub}}
	if err := st.CreateMerchant(ctx, m, &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID}, []string{k.Fingerprint()}); err != nil {
		return err
	}

	// Status changes, as the settlement consumer commits them.
	var mu sync.Mutex
	changedAt := map[string]time.Time{}
	changed := make(chan string, n)
	cons := &settlement.Consumer{Store: st, Network: checkout.ERC20, Log: quiet, OnChange: func(id string, evs []checkout.Event) {
		for _, e := range evs {
			if e.Type == checkout.EventPaymentDetected {
				mu.Lock()
				changedAt[id] = time.Now()
				mu.Unlock()
				changed <- id
			}
		}
	}}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() { defer wg.Done(); _ = cons.Run(ctx) }()
	cl, err := ethclient.Dial(chain.RPCURL())
	if err != nil {
		return err
	}
	defer cl.Close()
	f := feed.New(rdb, prefix, checkout.ERC20)
	wake := make(chan struct{}, 1)
	wg.Add(2)
	go func() { defer wg.Done(); evm.WakeOnHeads(ctx, chain.WSURL(), wake, quiet) }()
	start := uint64(0)
	r := &evm.Runner{Scanner: &evm.Scanner{Chain: evm.Node(cl), Store: f, Network: checkout.ERC20, Token: chain.Token(),
		Required: 3, StartBlock: &start}, Lease: f, Poll: time.Second, Wake: wake, Log: quiet}
	go func() { defer wg.Done(); _ = r.Run(ctx) }()

	// Baseline: the same commits, observed as WebSocket new heads.
	ws, err := ethclient.Dial(chain.WSURL())
	if err != nil {
		return err
	}
	defer ws.Close()
	heads := make(chan *types.Header, 16)
	sub, err := ws.SubscribeNewHead(ctx, heads)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()

	var lat, base []time.Duration
	for i := 0; i < n; i++ {
		o, _, err := svc.Create(ctx, m, &orders.CreateParams{Amount: 5 * checkout.Unit, Network: checkout.ERC20, Tolerance: checkout.DefaultTolerance})
		if err != nil {
			return err
		}
		raw, _ := deposit.ParseEVM(o.Address)
		if _, err := chain.Pay(ctx, i%10, common.Address(raw), o.Amount); err != nil {
			return err
		}
		time.Sleep(5 * time.Millisecond) // let the previous round's reads settle
		for len(heads) > 0 {
			<-heads
		}
		t0 := time.Now()
		chain.Commit()
		committed := time.Now()
		select {
		case <-heads:
			base = append(base, time.Since(t0))
		case <-time.After(10 * time.Second):
			return fmt.Errorf("no head")
		}
		select {
		case id := <-changed:
			mu.Lock()
			lat = append(lat, changedAt[id].Sub(committed))
			mu.Unlock()
		case <-time.After(10 * time.Second):
			return fmt.Errorf("payment %d not detected", i)
		}
	}
	p := func(d []time.Duration, q float64) float64 {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return float64(s[int(float64(len(s)-1)*q)].Microseconds()) / 1000
	}
	fmt.Printf("detection latency, block committed → order CONFIRMING in Redis, %d payments:\n", n)
	fmt.Printf("  ours      p50 %.2f ms  p99 %.2f ms\n", p(lat, .5), p(lat, .99))
	fmt.Printf("  baseline  p50 %.2f ms  p99 %.2f ms  (commit → new head over WebSocket)\n", p(base, .5), p(base, .99))
	fmt.Printf("  beyond the baseline: p50 %.2f ms  p99 %.2f ms\n", p(lat, .5)-p(base, .5), p(lat, .99)-p(base, .99))
	return nil
}

func catchUp(blocks, every int) error {
	ctx := context.Background()
	rdb, chain, stop, err := setup(ctx)
	if err != nil {
		return err
	}
	defer stop()
	prefix := "bench:"
	transfers := 0
	t0 := time.Now()
	for i := 1; i <= blocks; i++ {
		if i%every == 0 {
			to := common.BigToAddress(big.NewInt(int64(0x10000 + i)))
			rdb.SAdd(ctx, prefix+checkout.WatchSet(checkout.ERC20), deposit.EncodeEVM(to))
			if _, err := chain.Pay(ctx, i%10, to, 1_000_000); err != nil {
				return err
			}
			transfers++
		}
		chain.Commit()
	}
	build := time.Since(t0)
	cl, err := ethclient.Dial(chain.RPCURL())
	if err != nil {
		return err
	}
	defer cl.Close()
	head, _ := cl.BlockNumber(ctx)

	// Baseline: the raw eth_getLogs over the same ranges.
	const rng = evm.DefaultMaxRange
	t1 := time.Now()
	raw := 0
	for from := uint64(0); from <= head; from += rng {
		logs, err := cl.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(from),
			ToBlock: new(big.Int).SetUint64(min(from+rng-1, head)), Addresses: []common.Address{chain.Token()},
			Topics: [][]common.Hash{{evm.TransferTopic}}})
		if err != nil {
			return err
		}
		raw += len(logs)
	}
	baseline := time.Since(t1)

	f := feed.New(rdb, prefix, checkout.ERC20)
	if ok, err := f.Acquire(ctx, time.Minute); err != nil || !ok {
		return fmt.Errorf("lease: %v", err)
	}
	start := uint64(0)
	s := &evm.Scanner{Chain: evm.Node(cl), Store: f, Network: checkout.ERC20, Token: chain.Token(), Required: 12, StartBlock: &start, Log: quiet}
	t2 := time.Now()
	for {
		done, err := s.Step(ctx)
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	ours := time.Since(t2)
	emitted := rdb.XLen(ctx, prefix+checkout.FeedStream(checkout.ERC20)).Val()
	fmt.Printf("catch-up over %d blocks (%d watched transfers of %d token logs; chain built in %s):\n", head, transfers, raw, build.Round(time.Millisecond))
	fmt.Printf("  ours      %s: %.0f blocks/s, %.0f logs/s, %d feed entries\n", ours.Round(time.Millisecond),
		float64(head)/ours.Seconds(), float64(raw)/ours.Seconds(), emitted)
	fmt.Printf("  baseline  %s: %.0f blocks/s (raw eth_getLogs, same ranges)\n", baseline.Round(time.Millisecond), float64(head)/baseline.Seconds())
	fmt.Printf("  ratio ours/baseline throughput: %.2f\n", baseline.Seconds()/ours.Seconds())
	return nil
}

// setup starts a private redis-server and a dev chain with blocks on demand.
func setup(ctx context.Context) (*redis.Client, *devchain.Chain, func(), error) {
	srv, err := redistest.Start()
	if err != nil {
		return nil, nil, nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	chain, err := devchain.Start(ctx, devchain.Config{Logger: quiet})
	if err != nil {
		rdb.Close()
		srv.Stop()
		return nil, nil, nil, err
	}
	return rdb, chain, func() { chain.Close(); rdb.Close(); srv.Stop() }, nil
}
