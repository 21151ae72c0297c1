// Command api benchmarks order creation: it runs a real edge (the same api.Server as `edge
// serve`) on loopback over its own redis-server, drives POST /v1/orders at a fixed concurrency
// with signed requests, counts the Redis round trips each create costs (a go-redis hook), and
// runs redis-benchmark at the same concurrency on the same server in the same run. The figure
// that matters is the ratio: edge creates/s ÷ (Redis round trips/s ÷ round trips per create).
//
// With -mode addresses it measures, in the same run, xpub mode (the baseline) and addresses
// mode (the merchant's one receive address, a unique pay_amount per order) with no open
// reservation and then with -open reservations on that address (receive.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/bench/redisbench"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

func main() {
	conc := flag.Int("c", 32, "concurrent clients")
	dur := flag.Duration("d", 10*time.Second, "measured duration")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured run to this file")
	mode := flag.String("mode", "xpub", "xpub, or addresses: xpub mode beside addresses mode with no and with -open open reservations on one address, in one run")
	open := flag.Int("open", 100_000, "open reservations on the receive address before addresses mode's second phase (-mode addresses)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	var err error
	switch *mode {
	case "xpub":
		err = run(*conc, *dur)
	case "addresses":
		err = runReceive(*conc, *dur, *open)
	default:
		err = fmt.Errorf("-mode must be xpub or addresses")
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// roundTrips counts commands and pipelines sent to Redis: one network round trip each.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

func run(conc int, dur time.Duration) error {
	srv, err := redistest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 4 * conc})
	defer rdb.Close()
	rt := &roundTrips{}
	rdb.AddHook(rt)
	ctx := context.Background()
	st := store.New(rdb, "bench:")
	s := &api.Server{Store: st, Orders: &orders.Service{Store: st, PublicURL: "https://pay.example"},
		Auth: &auth.Verifier{Keys: st}, RateLimit: 1_000_000,
		Log: nil}
	s.Log = discardLogger()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &fasthttp.Server{Handler: s.Handler()}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Shutdown()

	xpub, err := deposit.DevAccountXPub(checkout.TRC20, 1)
	if err != nil {
		return err
	}
	k, _ := deposit.ParseAccountXPub(xpub)
	m := &checkout.Merchant{ID: ids.Merchant(), Name: "bench", XPubs: map[checkout.Network]string{checkout.TRC20: xpub}}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_bench"}
	if err := st.CreateMerchant(ctx, m, key, []string{k.Fingerprint()}); err != nil {
		return err
	}
	addr := ln.Addr().String()
	// Each request's body differs (its cart number), so no two signed requests are equal:
	// the edge refuses a replayed signed POST.
	var seq atomic.Int64
	hc := &fasthttp.Client{MaxConnsPerHost: conc * 2}

	one := func() (time.Duration, error) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + addr + "/v1/orders")
		req.Header.SetMethod("POST")
		body := fmt.Appendf(nil, `{"amount":"99.99","currency":"USDT","network":"TRC20","description":"bench","metadata":{"cart":"%d"}}`, seq.Add(1))
		req.Header.Set("Authorization", client.Authorization(key.ID, key.Secret, time.Now().Unix(), "POST", "/v1/orders", body))
		req.SetBody(body)
		t0 := time.Now()
		if err := hc.Do(req, resp); err != nil {
			return 0, err
		}
		if resp.StatusCode() != 201 {
			return 0, fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body())
		}
		return time.Since(t0), nil
	}
	// Warm up (connections, script cache), then measure.
	for i := 0; i < 200; i++ {
		if _, err := one(); err != nil {
			return err
		}
	}
	rt.n.Store(0)
	var (
		mu   sync.Mutex
		lats []time.Duration
		errs atomic.Int64
	)
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) {
				d, err := one()
				if err != nil {
					errs.Add(1)
					continue
				}
				local = append(local, d)
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if errs.Load() > 0 {
		return fmt.Errorf("%d requests failed", errs.Load())
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	n := len(lats)
	rps := float64(n) / elapsed.Seconds()
	perReq := float64(rt.n.Load()) / float64(n)

	// redis-benchmark on the same server, same concurrency, one command per round trip.
	// EVALSHA of a trivial script stands for our scripts; PING is the floor.
	redisOps, err := redisbench.SetRate(srv.Addr, conc, 200000)
	if err != nil {
		return err
	}
	ceiling := redisOps / perReq
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Printf("edge create-order: %d requests in %.1fs at concurrency %d\n", n, elapsed.Seconds(), conc)
	fmt.Printf("  throughput      %.0f creates/s\n", rps)
	fmt.Printf("  latency         p50 %.2f ms  p99 %.2f ms\n", ms(lats[n/2]), ms(lats[n*99/100]))
	fmt.Printf("  redis round trips per create: %.2f\n", perReq)
	fmt.Printf("redis-benchmark (SET, -c %d, same server): %.0f round trips/s\n", conc, redisOps)
	fmt.Printf("  => ceiling for %.2f round trips: %.0f creates/s\n", perReq, ceiling)
	fmt.Printf("ratio edge / ceiling: %.2f (target >= 0.5)\n", rps/ceiling)
	fmt.Printf("ratio creates/s ÷ SET/s: %.3f\n", rps/redisOps)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
