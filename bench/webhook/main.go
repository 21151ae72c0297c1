// Command webhook benchmarks webhook delivery: the real dispatcher (edge/outbox) on a private
// redis-server, woken by the real change feed as in `edge serve`, delivering to a local
// HTTP receiver.
//
//   - throughput: N orders each commit a payment.confirmed event (the outbox is filled with the
//     dispatcher stopped), then the dispatcher drains it; deliveries/s. Baseline in the same
//     run: the same bodies POSTed straight to the receiver by as many workers (no Redis, no
//     signing), so the ratio is the cost of durability.
//   - latency: with the dispatcher idle, events are committed one at a time; time from the
//     commit returning to the receiver reading the request, p50/p99. Baseline: one plain POST
//     to the receiver, p50/p99.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/changes"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/outbox"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

func main() {
	n := flag.Int("orders", 5000, "orders (one payment.confirmed each) in the throughput run")
	merchants := flag.Int("merchants", 16, "merchants the orders are spread over (the per-merchant cap applies to each)")
	workers := flag.Int("workers", outbox.DefaultWorkers, "dispatcher workers (and baseline POST workers)")
	samples := flag.Int("samples", 500, "events in the latency run")
	flag.Parse()
	if err := run(*n, *merchants, *workers, *samples); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// receiver is the merchant endpoint: it records when each event id arrived.
type receiver struct {
	mu   sync.Mutex
	at   map[string]time.Time
	got  atomic.Int64
	done chan struct{}
	want atomic.Int64
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	_, _ = io.Copy(io.Discard, req.Body)
	if id := req.Header.Get("MP-Event-Id"); id != "" {
		r.mu.Lock()
		r.at[id] = now
		r.mu.Unlock()
	}
	if r.got.Add(1) == r.want.Load() {
		close(r.done)
	}
	w.WriteHeader(204)
}

func (r *receiver) expect(n int64) {
	r.got.Store(0)
	r.want.Store(n)
	r.done = make(chan struct{})
}

type env struct {
	ctx context.Context
	st  *store.Store
	ms  []*checkout.Merchant
}

func run(n, nMerchants, workers, samples int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := redistest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 4 * workers})
	defer rdb.Close()
	e := &env{ctx: ctx, st: store.New(rdb, "bench:")}

	rc := &receiver{at: map[string]time.Time{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: rc}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/hooks"
	for i := 0; i < nMerchants; i++ {
		m := &checkout.Merchant{ID: ids.Merchant(), Name: fmt.Sprint("m", i), WebhookURL: url, WebhookSecret: "whsec_bench"}
		if err := e.st.PutMerchant(ctx, m); err != nil {
			return err
		}
		e.ms = append(e.ms, m)
	}
	fmt.Printf("machine: %d CPUs, %s; redis-server private; receiver net/http on loopback\n", runtime.NumCPU(), runtime.Version())

	// Baseline throughput: the same bodies, plain POSTs, same concurrency.
	bodies := make([][]byte, n)
	for i := range bodies {
		ev := checkout.Event{ID: ids.Event(), Type: checkout.EventPaymentConfirmed, CreatedAt: time.Now().UTC(),
			Order: checkout.Order{ID: ids.Order(), Status: checkout.StatusPaid, Amount: 10_000_000, Currency: "USDT", Network: checkout.TRC20}}
		bodies[i], _ = json.Marshal(ev.Webhook())
	}
	plain := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	rc.expect(int64(n))
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				resp, err := plain.Post(url, "application/json", bytes.NewReader(bodies[i]))
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	base := float64(n) / time.Since(start).Seconds()

	// Throughput: fill the outbox, then drain it.
	for i := 0; i < n; i++ {
		if err := e.confirmed(e.ms[i%len(e.ms)]); err != nil {
			return err
		}
	}
	d := &outbox.Dispatcher{Store: e.st, Client: outbox.NewClient(true, 10*time.Second), Workers: workers,
		Log: slog.New(slog.DiscardHandler)}
	rc.expect(int64(n))
	start = time.Now()
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	var running sync.WaitGroup
	running.Add(2)
	go func() { defer running.Done(); d.Run(dctx) }()
	<-rc.done
	got := float64(n) / time.Since(start).Seconds()
	fmt.Printf("throughput: %d deliveries over %d merchants: %.0f deliveries/s; plain POST baseline %.0f req/s; ratio %.2f\n",
		n, len(e.ms), got, base, got/base)

	// Latency: the production wiring, the change feed waking the dispatcher. Measured from
	// the start of the commit that changes the status.
	feedRedis := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 1})
	defer feedRedis.Close()
	changeFeed := changes.New(store.NewChangeReader(feedRedis, "bench:"), slog.New(slog.DiscardHandler))
	changeFeed.Observe(d.Observe)
	go func() { defer running.Done(); changeFeed.Run(dctx) }()
	time.Sleep(200 * time.Millisecond) // the change feed starts reading at the feed's tail
	var lat []time.Duration
	for i := 0; i < samples; i++ {
		rc.expect(1)
		evID, t0, err := e.confirmedID(e.ms[i%len(e.ms)])
		if err != nil {
			return err
		}
		select {
		case <-rc.done:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("event %s not delivered", evID)
		}
		rc.mu.Lock()
		lat = append(lat, rc.at[evID].Sub(t0))
		rc.mu.Unlock()
	}
	var baseLat []time.Duration
	for i := 0; i < samples; i++ {
		t0 := time.Now()
		resp, err := plain.Post(url, "application/json", bytes.NewReader(bodies[i%n]))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		baseLat = append(baseLat, time.Since(t0))
	}
	stop()
	running.Wait()
	p := func(l []time.Duration, q float64) time.Duration {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		return l[int(q*float64(len(l)-1))]
	}
	fmt.Printf("latency: status change (commit) → webhook received over %d events: p50 %s p99 %s; plain POST baseline p50 %s p99 %s\n",
		samples, p(lat, 0.5).Round(10*time.Microsecond), p(lat, 0.99).Round(10*time.Microsecond),
		p(baseLat, 0.5).Round(10*time.Microsecond), p(baseLat, 0.99).Round(10*time.Microsecond))
	return nil
}

// confirmed commits a payment.confirmed event on a new order of m, as settlement would.
func (e *env) confirmed(m *checkout.Merchant) error {
	_, _, err := e.confirmedID(m)
	return err
}

// confirmedID returns the event's id and when its commit started (the status change).
func (e *env) confirmedID(m *checkout.Merchant) (string, time.Time, error) {
	now := time.Now().UTC()
	o := &checkout.Order{ID: ids.Order(), Status: checkout.StatusPending, Amount: 10_000_000, Currency: "USDT",
		Network: checkout.TRC20, Address: ids.New("T"), Metadata: map[string]string{"cart": "c-1"},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	created := checkout.Event{ID: ids.Event(), Type: checkout.EventOrderCreated, CreatedAt: now, Order: *o}
	if _, _, err := e.st.CreateOrder(e.ctx, o, m.ID, &created); err != nil {
		return "", time.Time{}, err
	}
	rec, err := e.st.Order(e.ctx, o.ID)
	if err != nil {
		return "", time.Time{}, err
	}
	rec.Order.Status, rec.Order.AmountPaid, rec.Order.PaidAt = checkout.StatusPaid, rec.Order.Amount, &now
	ev := checkout.Event{ID: ids.Event(), Type: checkout.EventPaymentConfirmed, CreatedAt: now, Order: rec.Order}
	t0 := time.Now()
	_, err = e.st.CommitOrder(e.ctx, rec, []checkout.Event{ev})
	return ev.ID, t0, err
}
