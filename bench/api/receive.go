package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

// phase is one measured run of creates.
type phase struct {
	name       string
	open       int64 // reservations on the receive address when it started (addresses mode)
	n          int
	rps        float64
	p50, p99   time.Duration
	roundTrips float64
}

// runReceive measures create-order throughput of xpub mode and of addresses mode on one
// edge and one Redis, one phase after the other: xpub; addresses with no open reservation;
// addresses after `open` more reservations were made on the same address. Amounts cycle over
// 100 prices (10.00 … 10.99) in every phase, inside the range the open reservations crowd.
func runReceive(conc int, dur time.Duration, open int) error {
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
		Auth: &auth.Verifier{Keys: st}, RateLimit: 1_000_000, Log: discardLogger()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &fasthttp.Server{Handler: s.Handler()}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Shutdown()

	// Merchant x: a TRC20 xpub. Merchant a: addresses mode on one TRC20 address.
	xpub, err := deposit.DevAccountXPub(checkout.TRC20, 1)
	if err != nil {
		return err
	}
	k, _ := deposit.ParseAccountXPub(xpub)
	mx := &checkout.Merchant{ID: ids.Merchant(), Name: "bench-xpub", XPubs: map[checkout.Network]string{checkout.TRC20: xpub}}
	kx := &checkout.APIKey{ID: ids.Key(), MerchantID: mx.ID, Secret: "sk_bench_x"}
	if err := st.CreateMerchant(ctx, mx, kx, []string{k.Fingerprint()}); err != nil {
		return err
	}
	var raw [20]byte
	_, _ = rand.Read(raw[:])
	addr := deposit.Format(checkout.TRC20, raw)
	ma := &checkout.Merchant{ID: ids.Merchant(), Name: "bench-addresses"}
	ka := &checkout.APIKey{ID: ids.Key(), MerchantID: ma.ID, Secret: "sk_bench_a"}
	if err := st.CreateMerchant(ctx, ma, ka, nil); err != nil {
		return err
	}
	if err := st.SetReceive(ctx, ma, checkout.TRC20, checkout.ReceiveConfig{Mode: checkout.ReceiveAddresses, Addresses: []string{addr}}); err != nil {
		return err
	}

	target := "http://" + ln.Addr().String() + "/v1/orders"
	var seq atomic.Int64
	hc := &fasthttp.Client{MaxConnsPerHost: conc * 2}
	one := func(key *checkout.APIKey) (time.Duration, error) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(target)
		req.Header.SetMethod("POST")
		i := seq.Add(1)
		body := fmt.Appendf(nil, `{"amount":"10.%02d","currency":"USDT","network":"TRC20","description":"bench","metadata":{"cart":"%d"}}`,
			i%100, i)
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
	measure := func(name string, key *checkout.APIKey) (phase, error) {
		for i := 0; i < 200; i++ { // warm up: connections, script cache, merchant cache
			if _, err := one(key); err != nil {
				return phase{}, err
			}
		}
		p := phase{name: name}
		if p.open, err = st.Reservations(ctx, checkout.TRC20, addr); err != nil {
			return p, err
		}
		rt.n.Store(0)
		var mu sync.Mutex
		var lats []time.Duration
		var errs atomic.Int64
		var first atomic.Value
		deadline := time.Now().Add(dur)
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				local := make([]time.Duration, 0, 4096)
				for time.Now().Before(deadline) {
					d, err := one(key)
					if err != nil {
						errs.Add(1)
						first.CompareAndSwap(nil, err.Error())
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
			return p, fmt.Errorf("%s: %d requests failed, first: %v", name, errs.Load(), first.Load())
		}
		sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
		p.n = len(lats)
		p.rps = float64(p.n) / elapsed.Seconds()
		p.p50, p.p99 = lats[p.n/2], lats[p.n*99/100]
		p.roundTrips = float64(rt.n.Load()) / float64(p.n)
		return p, nil
	}

	var phases []phase
	for _, ph := range []struct {
		name string
		key  *checkout.APIKey
		fill int
	}{
		{"xpub", kx, 0},
		{"addresses", ka, 0},
		{"addresses", ka, open},
	} {
		if ph.fill > 0 {
			t0 := time.Now()
			if err := fill(ctx, st, addr, ph.fill, conc); err != nil {
				return err
			}
			fmt.Printf("reserved %d more pairs on %s in %.1fs\n", ph.fill, addr, time.Since(t0).Seconds())
		}
		p, err := measure(ph.name, ph.key)
		if err != nil {
			return err
		}
		phases = append(phases, p)
	}
	fmt.Printf("machine: %s/%s, %d CPUs, %s; concurrency %d, %s per phase\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), conc, dur)
	fmt.Printf("| mode | open reservations on the address | creates | creates/s | p50 | p99 | round trips/create | vs xpub |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, p := range phases {
		fmt.Printf("| %s | %d | %d | %.0f | %.2f ms | %.2f ms | %.2f | %.2f |\n", p.name, p.open, p.n, p.rps, ms(p.p50), ms(p.p99),
			p.roundTrips, p.rps/phases[0].rps)
	}
	fmt.Printf("addresses with %d open ÷ addresses with %d open: %.2f\n", phases[2].open, phases[1].open, phases[2].rps/phases[1].rps)
	return nil
}

// fill makes n reservations on addr as orders would (the store's Reserve: release schedule
// entry and the pair), over 10,000 prices (10.0000 … 10.9999 USDT, 0.0001 apart) so the
// address is densely reserved where the measured creates land too.
func fill(ctx context.Context, st *store.Store, addr string, n, conc int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	release := time.Now().Add(48 * time.Hour)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				amount := 10*checkout.Unit + checkout.Amount(i%10_000)*100
				if _, err := st.Reserve(ctx, checkout.TRC20, addr, ids.Order(), amount, checkout.DefaultMaxOffset, amount, release); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
