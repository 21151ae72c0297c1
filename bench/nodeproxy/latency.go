package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/watcher/devchain"
	"github.com/mpchat/checkout/watcher/devchain/nodeproxy"
	"github.com/mpchat/checkout/watcher/endpoints"
	"github.com/mpchat/checkout/watcher/evm"
	"github.com/mpchat/checkout/watcher/feed"
)

// latencyCase is one set of endpoints the watcher reads through while transfers are timed.
type latencyCase struct {
	name      string
	endpoints int
	// fault is switched on at the endpoint the watcher reads from once it has taken its first
	// step (the primary fails; the others stay healthy); nil: all healthy.
	fault *nodeproxy.Fault
}

var latencyCases = []latencyCase{
	{name: "one healthy endpoint (baseline)", endpoints: 1},
	{name: "3 endpoints, primary refusing connections", endpoints: 3, fault: &nodeproxy.Fault{Refuse: true}},
	{name: "3 endpoints, primary cutting every answer midway", endpoints: 3, fault: &nodeproxy.Fault{DropMidResponse: true}},
	{name: "3 endpoints, primary hanging (2 s, --rpc-timeout 1s)", endpoints: 3, fault: &nodeproxy.Fault{Delay: 2 * time.Second}},
}

// latencyRun is where the watcher of one case writes and what it measured.
type latencyRun struct {
	seen, confirmed []time.Duration
}

// latency times detection through the real watcher loop (evm.Runner over watcher/endpoints,
// as `watcher run --rpc … --rpc …`): from the block with a transfer being mined to its seen
// entry on the feed, and from the block giving its last confirmation being mined to its
// confirmed entry (the one that turns the order PAID at the edge). Cases are interleaved over
// rounds, each round a fresh watcher per case.
func latency(ctx context.Context, rdb *redis.Client, chain *devchain.Chain, rounds, samples int, poll time.Duration, required uint64) (map[string]*latencyRun, error) {
	var proxies []*nodeproxy.Proxy
	for i := 0; i < 3; i++ {
		p, err := nodeproxy.Start(ctx, nodeproxy.Config{Upstream: chain.RPCURL(), TRON: true, Logger: quiet})
		if err != nil {
			return nil, err
		}
		defer p.Close()
		proxies = append(proxies, p)
	}
	out := map[string]*latencyRun{}
	addr := 0
	for r := 0; r < rounds; r++ {
		for ci, c := range latencyCases {
			res := out[c.name]
			if res == nil {
				res = &latencyRun{}
				out[c.name] = res
			}
			prefix := fmt.Sprintf("bench:lat:%d:%d:", r, ci)
			if err := latencyOnce(ctx, rdb, chain, proxies[:c.endpoints], c.fault, prefix, samples, poll, required, &addr, res); err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
		}
	}
	return out, nil
}

func latencyOnce(ctx context.Context, rdb *redis.Client, chain *devchain.Chain, proxies []*nodeproxy.Proxy, fault *nodeproxy.Fault,
	prefix string, samples int, poll time.Duration, required uint64, addr *int, res *latencyRun) error {
	for _, p := range proxies {
		if err := p.Heal(); err != nil {
			return err
		}
	}
	var cfgs []endpoints.Config
	for _, p := range proxies {
		cfgs = append(cfgs, endpoints.Config{URL: p.URL()})
	}
	pool, err := endpoints.New(cfgs, endpoints.Options{Timeout: time.Second, Log: quiet})
	if err != nil {
		return err
	}
	f := feed.New(rdb, prefix, checkout.TRC20)
	sc := &evm.Scanner{Chain: pool, Store: f, Network: checkout.TRC20, Token: chain.Token(), Required: required,
		MaxRange: 5000, Log: quiet}
	var mu sync.Mutex
	steps := 0
	r := &evm.Runner{Scanner: sc, Lease: f, Poll: poll, Log: quiet,
		OnStep: func(evm.Progress) { mu.Lock(); steps++; mu.Unlock() }}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(rctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(30 * time.Second); ; {
		mu.Lock()
		n := steps
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the watcher took no step in 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if fault != nil {
		prim := -1
		for _, s := range pool.Stats() {
			if s.Primary {
				prim = s.Index
			}
		}
		if prim < 0 {
			return fmt.Errorf("no primary after the first step")
		}
		if err := proxies[prim].Set(*fault); err != nil {
			return err
		}
		defer func() { _ = proxies[prim].Heal() }()
	}
	stream := prefix + checkout.FeedStream(checkout.TRC20)
	last := "0-0"
	for i := 0; i < samples; i++ {
		*addr++
		to := common.BigToAddress(big.NewInt(int64(0x7000000 + *addr)))
		if err := rdb.SAdd(ctx, prefix+checkout.WatchSet(checkout.TRC20), deposit.Format(checkout.TRC20, to)).Err(); err != nil {
			return err
		}
		tx, err := chain.Pay(ctx, i%10, to, 1_000_000)
		if err != nil {
			return err
		}
		chain.Commit()
		t0 := time.Now()
		if last, err = awaitEntry(ctx, rdb, stream, last, tx, checkout.TransferSeen); err != nil {
			return err
		}
		res.seen = append(res.seen, time.Since(t0))
		for k := uint64(1); k < required; k++ {
			chain.Commit()
		}
		t1 := time.Now()
		if last, err = awaitEntry(ctx, rdb, stream, last, tx, checkout.TransferConfirmed); err != nil {
			return err
		}
		res.confirmed = append(res.confirmed, time.Since(t1))
	}
	return nil
}

// awaitEntry reads the feed after id until the entry of tx of kind, and returns its id.
func awaitEntry(ctx context.Context, rdb *redis.Client, stream, id string, tx common.Hash, kind checkout.TransferKind) (string, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{stream, id}, Block: time.Second}).Result()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			return id, err
		}
		for _, m := range res[0].Messages {
			id = m.ID
			s, _ := m.Values[checkout.FeedField].(string)
			var t checkout.Transfer
			if err := json.Unmarshal([]byte(s), &t); err != nil {
				return id, fmt.Errorf("feed entry %s: %w", m.ID, err)
			}
			if t.TxHash == tx.Hex() && t.Kind == kind {
				return id, nil
			}
		}
	}
	return id, fmt.Errorf("no %s entry for %s in 60 s", kind, tx.Hex())
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func printLatency(out map[string]*latencyRun, rounds, samples int, poll time.Duration, required uint64) {
	fmt.Printf("detection latency, %d rounds x %d transfers per case, --poll-interval %s, %d confirmations (TRON proxies):\n",
		rounds, samples, poll, required)
	base := out[latencyCases[0].name]
	for _, c := range latencyCases {
		r := out[c.name]
		fmt.Printf("  %-55s seen p50 %6s p95 %6s max %6s | confirmed p50 %6s p95 %6s max %6s | p50 vs baseline %.2f / %.2f\n", c.name,
			ms(percentile(r.seen, .5)), ms(percentile(r.seen, .95)), ms(percentile(r.seen, 1)),
			ms(percentile(r.confirmed, .5)), ms(percentile(r.confirmed, .95)), ms(percentile(r.confirmed, 1)),
			percentile(r.seen, .5).Seconds()/percentile(base.seen, .5).Seconds(),
			percentile(r.confirmed, .5).Seconds()/percentile(base.confirmed, .5).Seconds())
	}
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
