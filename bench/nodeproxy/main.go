// Command nodeproxy benchmarks catch-up against a node that answers as java-tron does: a dev
// chain with a backlog of blocks (a watched transfer sprinkled in every -every blocks), served
// through watcher/devchain/nodeproxy in TRON mode (eth_getLogs ranges capped at 5,000 blocks,
// TRON block hashes). In one run it measures
//
//  1. the baseline: raw eth_getLogs over the backlog in 5,000-block ranges, straight to the
//     dev chain and through the proxy (the proxy's own cost);
//  2. the real watcher scanner (watcher/evm, fenced commits to a private redis-server) from
//     block 0 to the head through the proxy, at -max-range 5,000 and at the scanner's
//     default, with the calls the proxy counted;
//  3. the scanner with a range above TRON's cap, which the proxy refuses as java-tron does;
//  4. the scanner through watcher/endpoints over three TRON proxies (as `watcher run --rpc A
//     --rpc B --rpc C`), all healthy, and with the first one refusing connections;
//  5. detection latency of the real watcher loop (latency.go): a single healthy endpoint
//     beside three endpoints whose primary refuses, cuts its answers or hangs.
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
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
	"github.com/mpchat/checkout/watcher/devchain/nodeproxy"
	"github.com/mpchat/checkout/watcher/endpoints"
	"github.com/mpchat/checkout/watcher/evm"
	"github.com/mpchat/checkout/watcher/feed"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func main() {
	blocks := flag.Int("blocks", 20_000, "backlog blocks")
	every := flag.Int("every", 20, "a watched transfer every this many backlog blocks")
	rounds := flag.Int("rounds", 3, "measure each this many times, interleaved; the median is reported")
	latRounds := flag.Int("latency-rounds", 3, "detection latency: rounds, the cases interleaved (0: skip)")
	samples := flag.Int("samples", 10, "detection latency: transfers timed per case and round")
	poll := flag.Duration("poll", 100*time.Millisecond, "detection latency: the watcher's --poll-interval")
	required := flag.Uint64("confirmations", 19, "detection latency: confirmations (TRON's default)")
	flag.Parse()
	if err := bench(*blocks, *every, max(1, *rounds), *latRounds, max(1, *samples), *poll, max(1, *required)); err != nil {
		fmt.Fprintln(os.Stderr, "nodeproxy bench:", err)
		os.Exit(1)
	}
}

func bench(blocks, every, rounds, latRounds, samples int, poll time.Duration, required uint64) error {
	ctx := context.Background()
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	srv, err := redistest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	chain, err := devchain.Start(ctx, devchain.Config{Logger: quiet})
	if err != nil {
		return err
	}
	defer chain.Close()
	proxy, err := nodeproxy.Start(ctx, nodeproxy.Config{Upstream: chain.RPCURL(), TRON: true, Logger: quiet})
	if err != nil {
		return err
	}
	defer proxy.Close()
	// Two more TRON proxies in front of the same chain, for the scanner through the endpoint pool.
	pooled := []*nodeproxy.Proxy{proxy}
	for i := 0; i < 2; i++ {
		p, err := nodeproxy.Start(ctx, nodeproxy.Config{Upstream: chain.RPCURL(), TRON: true, Logger: quiet})
		if err != nil {
			return err
		}
		defer p.Close()
		pooled = append(pooled, p)
	}

	// Every scanner run has its own prefix, with a copy of this watch set.
	watch := "bench:" + checkout.WatchSet(checkout.TRC20)
	run := 0
	prefix := func() (string, error) {
		run++
		p := fmt.Sprintf("bench:%d:", run)
		return p, rdb.SUnionStore(ctx, p+checkout.WatchSet(checkout.TRC20), watch).Err()
	}
	t0 := time.Now()
	transfers := 0
	for i := 1; i <= blocks; i++ {
		if i%every == 0 {
			to := common.BigToAddress(big.NewInt(int64(0x10000 + i)))
			if err := rdb.SAdd(ctx, watch, deposit.Format(checkout.TRC20, to)).Err(); err != nil {
				return err
			}
			if _, err := chain.Pay(ctx, i%10, to, 1_000_000); err != nil {
				return err
			}
			transfers++
		}
		chain.Commit()
	}
	build := time.Since(t0)
	direct, err := ethclient.Dial(chain.RPCURL())
	if err != nil {
		return err
	}
	defer direct.Close()
	cl, err := ethclient.Dial(proxy.URL())
	if err != nil {
		return err
	}
	defer cl.Close()
	head, err := cl.BlockNumber(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("backlog: %d blocks, %d watched transfers (chain built in %s)\n", head, transfers, build.Round(time.Millisecond))

	const tronRange = 5000
	rate := func(d time.Duration) float64 { return float64(head) / d.Seconds() }
	ranges := []uint64{tronRange, evm.DefaultMaxRange}
	var rawDirect, rawProxy []time.Duration
	scans := make([][]time.Duration, len(ranges))
	poolCases := []string{"all healthy", "the first refusing connections"}
	poolScans := make([][]time.Duration, len(poolCases))
	poolInfo := make([]string, len(poolCases))
	var nLogs int
	var scanInfo []string
	for r := 0; r < rounds; r++ {
		d, nDirect, err := rawLogs(ctx, direct, chain.Token(), head, tronRange)
		if err != nil {
			return fmt.Errorf("raw logs, direct: %w", err)
		}
		rawDirect = append(rawDirect, d)
		proxy.ResetCounts()
		d, nProxy, err := rawLogs(ctx, cl, chain.Token(), head, tronRange)
		if err != nil {
			return fmt.Errorf("raw logs, proxy: %w", err)
		}
		if nDirect != nProxy {
			return fmt.Errorf("raw logs: %d direct, %d through the proxy", nDirect, nProxy)
		}
		rawProxy, nLogs = append(rawProxy, d), nProxy
		rawCalls := proxy.Counts()
		scanInfo = scanInfo[:0]
		for i, rng := range ranges {
			p, err := prefix()
			if err != nil {
				return err
			}
			proxy.ResetCounts()
			d, steps, emitted, err := scan(ctx, rdb, p, cl, chain.Token(), rng)
			if err != nil {
				return fmt.Errorf("scanner, range %d: %w", rng, err)
			}
			scans[i] = append(scans[i], d)
			scanInfo = append(scanInfo, fmt.Sprintf("%d steps, %d feed entries, calls %v", steps, emitted, proxy.Counts()))
		}
		for i := range poolCases {
			p, err := prefix()
			if err != nil {
				return err
			}
			for _, px := range pooled {
				px.ResetCounts()
			}
			if i == 1 {
				if err := proxy.Refuse(); err != nil {
					return err
				}
			}
			d, steps, emitted, err := scanPool(ctx, rdb, p, pooled, chain.Token(), tronRange)
			if herr := proxy.Heal(); herr != nil {
				return herr
			}
			if err != nil {
				return fmt.Errorf("scanner through the pool (%s): %w", poolCases[i], err)
			}
			poolScans[i] = append(poolScans[i], d)
			var calls []map[string]int
			for _, px := range pooled {
				calls = append(calls, px.Counts())
			}
			poolInfo[i] = fmt.Sprintf("%d steps, %d feed entries, calls per endpoint %v", steps, emitted, calls)
		}
		if r == 0 {
			fmt.Printf("raw eth_getLogs through the proxy: %d logs, calls %v\n", nLogs, rawCalls)
			for i, c := range poolCases {
				fmt.Printf("scanner through 3 endpoints, %s: %s\n", c, poolInfo[i])
			}
			for i, rng := range ranges {
				fmt.Printf("scanner --max-range %d: %s\n", rng, scanInfo[i])
			}
		}
	}
	fmt.Printf("median of %d rounds over %d blocks:\n", rounds, head)
	md, mp := median(rawDirect), median(rawProxy)
	fmt.Printf("  raw eth_getLogs (ranges of %d), direct to the dev chain: %8s %9.0f blocks/s\n", tronRange, md.Round(time.Millisecond), rate(md))
	fmt.Printf("  raw eth_getLogs (ranges of %d), through the TRON proxy:  %8s %9.0f blocks/s  (proxy/direct %.2f)\n", tronRange, mp.Round(time.Millisecond), rate(mp), md.Seconds()/mp.Seconds())
	for i, rng := range ranges {
		m := median(scans[i])
		fmt.Printf("  scanner --max-range %d through the TRON proxy:         %8s %9.0f blocks/s  (scanner/raw proxy %.2f)\n", rng, m.Round(time.Millisecond), rate(m), mp.Seconds()/m.Seconds())
	}
	for i, c := range poolCases {
		m := median(poolScans[i])
		fmt.Printf("  scanner --max-range %d through 3 endpoints, %s: %8s %9.0f blocks/s  (pool/raw proxy %.2f)\n", tronRange, c, m.Round(time.Millisecond), rate(m), mp.Seconds()/m.Seconds())
	}
	if latRounds > 0 {
		out, err := latency(ctx, rdb, chain, latRounds, samples, poll, required)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		printLatency(out, latRounds, samples, poll, required)
	}
	p, err := prefix()
	if err != nil {
		return err
	}
	if head <= tronRange+1000 {
		return nil // a range above the cap needs a longer backlog to be refused
	}
	_, _, _, err = scan(ctx, rdb, p, cl, chain.Token(), tronRange+1000)
	fmt.Printf("  scanner --max-range %d through the TRON proxy: %v\n", tronRange+1000, err)
	if err == nil {
		return fmt.Errorf("a range above TRON's cap was not refused")
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// rawLogs reads the token's Transfer logs over [0, head] in ranges of rng blocks.
func rawLogs(ctx context.Context, cl *ethclient.Client, token common.Address, head, rng uint64) (time.Duration, int, error) {
	t := time.Now()
	n := 0
	for from := uint64(0); from <= head; from += rng {
		logs, err := cl.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(from),
			ToBlock: new(big.Int).SetUint64(min(from+rng-1, head)), Addresses: []common.Address{token},
			Topics: [][]common.Hash{{evm.TransferTopic}}})
		if err != nil {
			return 0, 0, err
		}
		n += len(logs)
	}
	return time.Since(t), n, nil
}

// scan runs the scanner from block 0 until it reaches the head.
func scan(ctx context.Context, rdb *redis.Client, prefix string, cl *ethclient.Client, token common.Address, rng uint64) (time.Duration, int, int64, error) {
	return scanWith(ctx, rdb, prefix, evm.Node(cl), token, rng)
}

// scanPool runs the scanner through the endpoint pool of proxies from block 0 to the head.
func scanPool(ctx context.Context, rdb *redis.Client, prefix string, proxies []*nodeproxy.Proxy, token common.Address, rng uint64) (time.Duration, int, int64, error) {
	var cfgs []endpoints.Config
	for _, p := range proxies {
		cfgs = append(cfgs, endpoints.Config{URL: p.URL()})
	}
	pool, err := endpoints.New(cfgs, endpoints.Options{Log: quiet})
	if err != nil {
		return 0, 0, 0, err
	}
	return scanWith(ctx, rdb, prefix, pool, token, rng)
}

// scanWith runs the scanner over chain from block 0 until it reaches the head.
func scanWith(ctx context.Context, rdb *redis.Client, prefix string, chain evm.Chain, token common.Address, rng uint64) (time.Duration, int, int64, error) {
	f := feed.New(rdb, prefix, checkout.TRC20)
	if ok, err := f.Acquire(ctx, time.Minute); err != nil || !ok {
		return 0, 0, 0, fmt.Errorf("lease: %v", err)
	}
	start := uint64(0)
	s := &evm.Scanner{Chain: chain, Store: f, Network: checkout.TRC20, Token: token, Required: 19,
		MaxRange: rng, StartBlock: &start, Log: quiet}
	t := time.Now()
	steps := 0
	for {
		steps++
		done, err := s.Step(ctx)
		if err != nil {
			return 0, steps, 0, err
		}
		if done {
			break
		}
	}
	d := time.Since(t)
	return d, steps, rdb.XLen(ctx, prefix+checkout.FeedStream(checkout.TRC20)).Val(), nil
}
