package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/expiry"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
	"github.com/mpchat/checkout/watcher/devchain/nodeproxy"
	"github.com/mpchat/checkout/watcher/endpoints"
	"github.com/mpchat/checkout/watcher/evm"
	"github.com/mpchat/checkout/watcher/feed"
)

// The worlds of these tests put three node proxies (watcher/devchain/nodeproxy) in front of
// each network's one dev chain — in TRON mode for TRC20, as java-tron/TronGrid answer — and
// the watcher reads through all three as `watcher run --rpc A --rpc B --rpc C` does
// (watcher/endpoints). Faults are switched on one endpoint at a time and each is known to
// have met a call (the proxy's Faulted counter, the watcher's own endpoint records or its
// log) before the test goes on; the real chain's head is the oracle for when an order may
// be PAID.

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// logBook is a slog handler that keeps each record's message and "endpoint" attribute: a
// failover happens inside a scan step, and only the watcher's log says it happened.
type logBook struct {
	mu   sync.Mutex
	recs []logRec
}

type logRec struct{ msg, endpoint string }

func (b *logBook) Enabled(context.Context, slog.Level) bool { return true }
func (b *logBook) WithAttrs([]slog.Attr) slog.Handler       { return b }
func (b *logBook) WithGroup(string) slog.Handler            { return b }

func (b *logBook) Handle(_ context.Context, r slog.Record) error {
	rec := logRec{msg: r.Message}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "endpoint" {
			rec.endpoint = a.Value.String()
		}
		return true
	})
	b.mu.Lock()
	b.recs = append(b.recs, rec)
	b.mu.Unlock()
	return nil
}

// count is how many records have msg and name endpoint i (any endpoint when i < 0).
func (b *logBook) count(msg string, i int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, r := range b.recs {
		if r.msg == msg && (i < 0 || strings.HasPrefix(r.endpoint, fmt.Sprintf("#%d ", i))) {
			n++
		}
	}
	return n
}

const (
	logFailover = "watcher: RPC endpoint failed; failing over"
	logReading  = "watcher: reading from RPC endpoint"
)

// provOptions are the watcher's settings in a providers world.
type provOptions struct {
	quorum int
	// maxBlockRange is the TRON proxies' eth_getLogs cap; 0 = java-tron's 5,000.
	maxBlockRange int64
	// now is the endpoint pool's clock (benches, the head window); nil = the real one.
	now func() time.Time
}

// provNet is one network of a providers world: the chain, the proxies in front of it and
// the watcher reading through them, which the test stops, restarts or steps by hand.
type provNet struct {
	w       *world
	n       checkout.Network
	chain   *devchain.Chain
	proxies []*nodeproxy.Proxy
	log     *logBook

	hand *feed.Feed // the lease of the scanner stepped by hand

	mu   sync.Mutex
	pool *endpoints.Pool
	prog evm.Progress
	stop context.CancelFunc
	done chan struct{}
}

type provWorld struct {
	*world
	nets map[checkout.Network]*provNet
}

// newProvidersWorld is newWorld with each watcher reading through three proxies; the
// watchers run (Poll 20 ms) with o.
func newProvidersWorld(t *testing.T, o provOptions) *provWorld {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv := redistest.Shared(t)
	w := &world{t: t, rdb: srv.Client(t), prefix: redistest.Prefix(), ctx: ctx,
		clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, chains: map[checkout.Network]*devchain.Chain{}}
	w.store = store.New(w.rdb, w.prefix)
	var wg sync.WaitGroup
	w.edgeURL = w.startEdge(&wg)
	for _, n := range checkout.Networks {
		c := &settlement.Consumer{Store: w.store, Network: n, Now: w.clock.Now, Block: 100 * time.Millisecond}
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Run(ctx) }()
	}
	w.expiry = &expiry.Worker{Store: w.store, Now: w.clock.Now}
	pw := &provWorld{world: w, nets: map[checkout.Network]*provNet{}}
	for _, n := range checkout.Networks {
		ch, err := devchain.Start(ctx, devchain.Config{Logger: quietLog})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ch.Close() })
		w.chains[n] = ch
		pn := &provNet{w: w, n: n, chain: ch, log: &logBook{}}
		for i := 0; i < 3; i++ {
			p, err := nodeproxy.Start(ctx, nodeproxy.Config{Upstream: ch.RPCURL(), TRON: n == checkout.TRC20,
				MaxBlockRange: o.maxBlockRange, Logger: quietLog})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			pn.proxies = append(pn.proxies, p)
		}
		pw.nets[n] = pn
	}
	// Registered last, so it runs first: watchers, edges and workers stop before the proxies
	// and chains close.
	t.Cleanup(func() {
		for _, pn := range pw.nets {
			pn.halt()
		}
		cancel()
		w.stopEdges()
		wg.Wait()
	})
	w.wg = &wg

	m := &checkout.Merchant{ID: ids.Merchant(), Name: "e2e-providers", XPubs: map[checkout.Network]string{},
		CreatedAt: time.Now(), RateLimit: 100_000}
	var fps []string
	for _, n := range checkout.Networks {
		x, _ := deposit.DevAccountXPub(n, 7)
		k, _ := deposit.ParseAccountXPub(x)
		m.XPubs[n] = x
		fps = append(fps, k.Fingerprint())
	}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_e2e"}
	if err := w.store.CreateMerchant(ctx, m, key, fps); err != nil {
		t.Fatal(err)
	}
	w.client = client.New(w.edgeURL, key.ID, key.Secret)
	w.client.Backoff = func(int) time.Duration { return 0 }
	for _, pn := range pw.nets {
		pn.run(o)
	}
	return pw
}

// scanner is a fresh watcher on this network's proxies (a restarted process: new endpoint
// records, the checkpoint and pending set from Redis).
func (pn *provNet) scanner(o provOptions) (*evm.Scanner, *feed.Feed, *endpoints.Pool) {
	pn.w.t.Helper()
	var cfgs []endpoints.Config
	for _, p := range pn.proxies {
		cfgs = append(cfgs, endpoints.Config{URL: p.URL()})
	}
	log := slog.New(pn.log)
	pool, err := endpoints.New(cfgs, endpoints.Options{Quorum: o.quorum, Now: o.now, Log: log})
	if err != nil {
		pn.w.t.Fatal(err)
	}
	start := uint64(0)
	f := feed.New(pn.w.rdb, pn.w.prefix, pn.n)
	maxRange := uint64(evm.DefaultMaxRange)
	if pn.n == checkout.TRC20 {
		maxRange = 5000 // the most `watcher run` allows on TRON: java-tron's own cap
	}
	sc := &evm.Scanner{Chain: pool, Store: f, Network: pn.n, Token: pn.chain.Token(), Required: required,
		MaxRange: maxRange, StartBlock: &start, Log: log}
	pn.mu.Lock()
	pn.pool = pool
	pn.mu.Unlock()
	return sc, f, pool
}

// run starts the watcher's loop (evm.Runner, as `watcher run`).
func (pn *provNet) run(o provOptions) {
	sc, f, _ := pn.scanner(o)
	ctx, cancel := context.WithCancel(pn.w.ctx)
	r := &evm.Runner{Scanner: sc, Lease: f, Poll: 20 * time.Millisecond, Log: slog.New(pn.log),
		OnStep: func(p evm.Progress) { pn.mu.Lock(); pn.prog = p; pn.mu.Unlock() }}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	pn.mu.Lock()
	pn.stop, pn.done = cancel, done
	pn.mu.Unlock()
}

// halt stops the watcher's loop and waits for it (it releases its lease).
func (pn *provNet) halt() {
	pn.mu.Lock()
	stop, done := pn.stop, pn.done
	pn.stop, pn.done = nil, nil
	pn.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func (pn *provNet) stats() []endpoints.Stat {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	return pn.pool.Stats()
}

func (pn *provNet) waits(reason string) uint64 {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	return pn.pool.WaitCounts()[reason]
}

func (pn *provNet) progress() evm.Progress {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	return pn.prog
}

// until polls cond (every 5 ms, for up to 20 s); on a timeout the failure shows detail().
func until(t *testing.T, what string, cond func() bool, detail ...func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var more []string
			for _, d := range detail {
				more = append(more, d())
			}
			t.Fatalf("timed out waiting for %s %s", what, strings.Join(more, "; "))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (pn *provNet) head(t *testing.T) uint64 {
	t.Helper()
	h, err := pn.chain.Client().BlockNumber(pn.w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// payMined pays the order in full, mines the block and returns its height.
func (pn *provNet) payMined(t *testing.T, o *checkout.Order, from int) uint64 {
	t.Helper()
	tx, err := pn.chain.Pay(pn.w.ctx, from, depositAddr(t, o), o.PayAmount)
	if err != nil {
		t.Fatal(err)
	}
	pn.chain.Commit()
	r, err := pn.chain.Client().TransactionReceipt(pn.w.ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	return r.BlockNumber.Uint64()
}

// mineTo mines until the chain's head is h.
func (pn *provNet) mineTo(t *testing.T, h uint64) {
	t.Helper()
	for pn.head(t) < h {
		pn.chain.Commit()
	}
}

// drained waits until the edge has applied every feed entry the watcher wrote.
func (w *world) drained(t *testing.T, n checkout.Network) {
	t.Helper()
	key := w.prefix + checkout.FeedStream(n)
	until(t, string(n)+" feed applied", func() bool {
		g, err := w.rdb.XInfoGroups(w.ctx, key).Result()
		return err == nil && len(g) == 1 && g[0].Pending == 0 && g[0].Lag == 0
	})
}

// paidOnce asserts the order is PAID with one payment, one payment.confirmed event and one
// payment.confirmed webhook.
func (w *world) paidOnce(t *testing.T, id string) {
	t.Helper()
	o, err := w.client.GetOrder(w.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	count := func(types []checkout.EventType) int {
		n := 0
		for _, e := range types {
			if e == checkout.EventPaymentConfirmed {
				n++
			}
		}
		return n
	}
	if o.Status != checkout.StatusPaid || len(o.Payments) != 1 || o.AmountPaid != o.PayAmount {
		t.Errorf("order %s: %s, %d payments, paid %s of %s", id, o.Status, len(o.Payments), o.AmountPaid, o.PayAmount)
	}
	if evs := w.eventTypes(id); count(evs) != 1 {
		t.Errorf("order %s events: %v", id, evs)
	}
	if whs := w.webhookTypes(id); count(whs) != 1 {
		t.Errorf("order %s webhooks: %v", id, whs)
	}
}

// still asserts the order's status is want once the edge has applied the feed.
func (pn *provNet) still(t *testing.T, id string, want checkout.Status) *checkout.Order {
	t.Helper()
	pn.w.drained(t, pn.n)
	o, err := pn.w.client.GetOrder(pn.w.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != want {
		t.Fatalf("order %s is %s at chain head %d, want %s", id, o.Status, pn.head(t), want)
	}
	return o
}

// primary is the index of the endpoint the watcher reads from, once both healthy endpoints
// (0 and 1) are off the bench and at the head.
func (pn *provNet) primary(t *testing.T) int {
	t.Helper()
	prim := -1
	until(t, "endpoints 0 and 1 healthy", func() bool {
		s := pn.stats()
		prim = -1
		for _, e := range s {
			if e.Primary {
				prim = e.Index
			}
		}
		return s[0].Healthy && s[1].Healthy && s[0].Lag == 0 && s[1].Lag == 0 && (prim == 0 || prim == 1)
	})
	return prim
}

// faultCase is a fault switched on at the endpoint read from while an order confirms.
type faultCase struct {
	name  string
	fault nodeproxy.Fault
	// method is whose Faulted count shows the fault met a call ("" for StaleHead: the
	// watcher's lag record shows it).
	method string
	// held: the fault holds a call; once it is held, then is switched on instead (the
	// endpoint dies with the call in flight).
	held bool
	then func(p *nodeproxy.Proxy) error
	// afterMining: only a step that sees the confirming blocks meets the fault.
	afterMining bool
	// failover: the fault meets a call inside a step at a settled head (both healthy
	// endpoints at it), which the log must show failing over to the other.
	failover bool
	// network: only on this network ("" = both).
	network checkout.Network
}

var getLogs = []string{"eth_getLogs"}

var faultCycle = []faultCase{
	{name: "refused while its eth_getLogs is in flight", fault: nodeproxy.Fault{Delay: 3 * time.Second, Methods: getLogs},
		method: "eth_getLogs", held: true, then: (*nodeproxy.Proxy).Refuse, failover: true},
	{name: "eth_getLogs answer cut midway", fault: nodeproxy.Fault{DropMidResponse: true, Methods: getLogs},
		method: "eth_getLogs", failover: true},
	// Made only by the step that reports the confirmation, after its eth_getLogs answered.
	// (It may fail over or fail and be retried: while blocks are being mined the two healthy
	// endpoints' heads can differ by one, and only one is then at the head.)
	{name: "the confirming block lookup cut midway", fault: nodeproxy.Fault{DropMidResponse: true, Methods: []string{"eth_getBlockByNumber"}},
		method: "eth_getBlockByNumber", afterMining: true},
	{name: "eth_getLogs answers cut, switched on while one is in flight", fault: nodeproxy.Fault{Delay: 300 * time.Millisecond, Methods: getLogs},
		method: "eth_getLogs", held: true, then: (*nodeproxy.Proxy).DropMidResponse},
	{name: "java-tron's rate limiter", fault: nodeproxy.Fault{RateLimit: nodeproxy.RateLimitTron}, method: "eth_blockNumber",
		network: checkout.TRC20},
	{name: "TronGrid's 503 over quota", fault: nodeproxy.Fault{RateLimit: nodeproxy.RateLimitTronGrid503, RetryAfter: time.Second},
		method: "eth_blockNumber", network: checkout.TRC20},
	{name: "HTTP 429 with Retry-After", fault: nodeproxy.Fault{RateLimit: nodeproxy.RateLimit429, RetryAfter: time.Second},
		method: "eth_blockNumber", network: checkout.ERC20},
	{name: "stale head", fault: nodeproxy.Fault{StaleHead: true}, afterMining: true},
}

// TestProvidersFaultCycleSettlesOnce: with endpoint 2 lagging 50 blocks throughout, faults
// cycle over the endpoint read from (0 or 1, whichever it is) while an order confirms —
// among them the endpoint refused or cut off with a call of the scan in flight — and every
// order is PAID exactly once; the laggard is never read from.
func TestProvidersFaultCycleSettlesOnce(t *testing.T) {
	pw := newProvidersWorld(t, provOptions{})
	for _, n := range checkout.Networks {
		t.Run(string(n), func(t *testing.T) {
			pn := pw.nets[n]
			pn.mineTo(t, 60)
			laggard := pn.proxies[2]
			if err := laggard.Lag(50); err != nil {
				t.Fatal(err)
			}
			until(t, "the laggard's lag recorded", func() bool { return pn.stats()[2].Lag >= 50 })
			readLaggard := pn.log.count(logReading, 2) // it may have been chosen before it lagged
			faulted := map[int]bool{}
			var ids []string
			for i, c := range faultCycle {
				if c.network != "" && c.network != n {
					continue
				}
				o := pw.hostileOrder(n, fmt.Sprintf("%d.5", 10+i))
				ids = append(ids, o.ID)
				b := pn.payMined(t, o, 1+i%8)
				pw.waitFor(o.ID, "CONFIRMING", status(checkout.StatusConfirming))
				prim := pn.primary(t)
				faulted[prim] = true
				p := pn.proxies[prim]
				p.ResetCounts()
				failovers := pn.log.count(logFailover, prim)
				if err := p.Set(c.fault); err != nil {
					t.Fatal(err)
				}
				met := func() {
					if c.method != "" {
						until(t, c.name+": a call met the fault", func() bool { return p.Faulted(c.method) > 0 })
					} else {
						until(t, c.name+": the endpoint seen behind", func() bool { return pn.stats()[prim].Lag > 0 },
							func() string { return fmt.Sprintf("chain head %d, endpoints %+v", pn.head(t), pn.stats()) })
					}
				}
				if c.fault.StaleHead {
					// The head freezes at the first call after the fault: wait for a head call
					// that surely came after it (the second of these sequential calls after a
					// reset done once the fault was set), so the blocks mined next are past it.
					p.ResetCounts()
					until(t, c.name+": frozen", func() bool { return p.Count("eth_blockNumber") >= 2 })
				}
				if !c.afterMining {
					met()
				}
				if c.held {
					if err := c.then(p); err != nil {
						t.Fatal(err)
					}
				}
				pn.mineTo(t, b+required-1)
				met()
				if c.failover {
					until(t, c.name+": a step failing over", func() bool { return pn.log.count(logFailover, prim) > failovers })
				}
				pw.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
				if h := pn.head(t); h < b+required-1 {
					t.Fatalf("%s: PAID at chain head %d, transfer in block %d", c.name, h, b)
				}
				if err := p.Heal(); err != nil {
					t.Fatal(err)
				}
			}
			if !faulted[0] || !faulted[1] {
				t.Errorf("faults met only endpoints %v", faulted)
			}
			if k := pn.log.count(logReading, 2) - readLaggard; k != 0 {
				t.Errorf("the watcher read from the endpoint 50 blocks behind (%d times)", k)
			}
			pn.w.drained(t, n)
			for _, id := range ids {
				pw.paidOnce(t, id)
			}
			if err := laggard.Heal(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// manualClock is the endpoint pool's clock in the step-by-step tests.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// stepper is the watcher's scanner driven one step at a time (the loop stopped), so that the
// order can be checked after each step at a known chain head.
type stepper struct {
	t  *testing.T
	pn *provNet
	sc *evm.Scanner
}

func (pn *provNet) stepByHand(t *testing.T, o provOptions) *stepper {
	t.Helper()
	pn.halt()
	if pn.hand != nil {
		if err := pn.hand.Release(pn.w.ctx); err != nil {
			t.Fatal(err)
		}
	}
	sc, f, _ := pn.scanner(o)
	if ok, err := f.Acquire(pn.w.ctx, time.Minute); err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	pn.hand = f
	return &stepper{t: t, pn: pn, sc: sc}
}

// step runs one step; want is the error it must wait on (nil: it must commit).
func (s *stepper) step(want error) {
	s.t.Helper()
	_, err := s.sc.Step(s.pn.w.ctx)
	switch {
	case want == nil && err != nil:
		s.t.Fatalf("step at chain head %d: %v", s.pn.head(s.t), err)
	case want != nil && !errors.Is(err, want):
		s.t.Fatalf("step at chain head %d: %v, want %v", s.pn.head(s.t), err, want)
	}
}

// TestProvidersNoEarlyPaid: neither an endpoint that lies about a block's hash nor one that
// lags 50 blocks ever makes an order PAID before the real chain (and, with --rpc-quorum 2,
// the second endpoint) has the required confirmations. The watcher is stepped by hand and
// the order checked at every chain head on the way.
func TestProvidersNoEarlyPaid(t *testing.T) {
	pw := newProvidersWorld(t, provOptions{})
	for _, n := range checkout.Networks {
		t.Run(string(n), func(t *testing.T) {
			pn := pw.nets[n]
			pn.mineTo(t, 60) // so that a 50-block lag is one
			clk := &manualClock{t: time.Now()}
			s := pn.stepByHand(t, provOptions{now: clk.Now})
			s.step(nil)
			heal := func() {
				for _, p := range pn.proxies {
					if err := p.Heal(); err != nil {
						t.Fatal(err)
					}
				}
				clk.Add(5 * time.Minute) // off every bench
			}

			// A liar: one endpoint reports other hashes for the next blocks, first the one read
			// from, then a backup. Nothing is reported while they disagree, however many
			// confirmations the real chain has.
			for _, liarIsPrimary := range []bool{true, false} {
				s.step(nil)
				liar := 0
				for _, e := range pn.stats() {
					if e.Primary == liarIsPrimary {
						liar = e.Index
						break
					}
				}
				h0 := pn.head(t)
				for h := h0 + 1; h <= h0+4; h++ { // Commit may mine up to three extra blocks
					if err := pn.proxies[liar].ForkHash(h); err != nil {
						t.Fatal(err)
					}
				}
				o := pw.hostileOrder(n, "20")
				b := pn.payMined(t, o, 2)
				if b > h0+4 {
					t.Fatalf("transfer mined in %d, past the forked heights", b)
				}
				for h := b; h <= b+required+1; h++ {
					pn.mineTo(t, h)
					d := pn.waits(endpoints.WaitDisagree)
					s.step(endpoints.ErrDisagree)
					if pn.waits(endpoints.WaitDisagree) != d+1 {
						t.Fatalf("the disagreement was not counted")
					}
					pn.still(t, o.ID, checkout.StatusPending)
				}
				heal()
				s.step(nil)
				pw.drained(t, n)
				pw.paidOnce(t, o.ID)
			}

			// A liar that answers a catch-up range, then cuts its next answer: the step fails
			// over to an honest endpoint, which is asked about the liar's blocks too (the third
			// endpoint is down, so it is the only one that can be).
			s.step(nil)
			liar, other := -1, -1
			for _, e := range pn.stats() {
				switch {
				case e.Primary:
					liar = e.Index
				case other < 0:
					other = e.Index
				}
			}
			for i, p := range pn.proxies {
				if i != liar && i != other {
					if err := p.Refuse(); err != nil {
						t.Fatal(err)
					}
				}
			}
			o := pw.hostileOrder(n, "25")
			b := pn.payMined(t, o, 5)
			pn.mineTo(t, b+required+1) // not stepped: b is in the next step's catch-up range
			lp := pn.proxies[liar]
			lp.ResetCounts()
			if err := lp.Set(nodeproxy.Fault{ForkHeights: []uint64{b}, Delay: 300 * time.Millisecond, Methods: getLogs}); err != nil {
				t.Fatal(err)
			}
			stepped := make(chan error, 1)
			go func() { _, err := s.sc.Step(pw.ctx); stepped <- err }()
			until(t, "the catch-up read held", func() bool { return lp.Faulted("eth_getLogs") > 0 })
			if err := lp.Set(nodeproxy.Fault{ForkHeights: []uint64{b}, DropMidResponse: true, Methods: getLogs}); err != nil {
				t.Fatal(err)
			}
			if err := <-stepped; !errors.Is(err, endpoints.ErrDisagree) {
				t.Fatalf("the liar's catch-up, checked after its failover: %v, want %v", err, endpoints.ErrDisagree)
			}
			if lp.Faulted("eth_getLogs") < 2 || pn.log.count(logFailover, liar) == 0 {
				t.Fatalf("the step did not fail over from the liar (%d faulted reads)", lp.Faulted("eth_getLogs"))
			}
			pn.still(t, o.ID, checkout.StatusPending)
			heal()
			s.step(nil)
			pw.drained(t, n)
			pw.paidOnce(t, o.ID)

			// A laggard as the only source: after the head window it is read from, at its own
			// head; a transfer the healthy endpoints showed stays credited (never reverted)
			// while the laggard lacks its block, and is PAID when the laggard's head gives it
			// the confirmations — 50 blocks after the real chain did.
			laggard := pn.proxies[2]
			if err := laggard.Lag(50); err != nil {
				t.Fatal(err)
			}
			o = pw.hostileOrder(n, "30")
			b = pn.payMined(t, o, 3)
			s.step(nil)
			pn.still(t, o.ID, checkout.StatusConfirming)
			for _, p := range pn.proxies[:2] {
				if err := p.Refuse(); err != nil {
					t.Fatal(err)
				}
			}
			s.step(endpoints.ErrBehind) // within the head window of the dead endpoints' heads
			clk.Add(endpoints.DefaultHeadWindow + time.Second)
			s.step(nil)
			if got, want := s.sc.Progress().Head, pn.head(t)-50; got != want {
				t.Fatalf("read at head %d, want the laggard's %d", got, want)
			}
			got := pn.still(t, o.ID, checkout.StatusConfirming)
			if len(got.Payments) != 1 || got.Payments[0].Status == checkout.PaymentReverted {
				t.Fatalf("the laggard's view reverted the payment: %+v", got.Payments)
			}
			for _, h := range []uint64{b + 50, b + 50 + required - 2} {
				pn.mineTo(t, h)
				clk.Add(time.Minute) // the dead endpoints are asked again, and fail again
				s.step(nil)
				pn.still(t, o.ID, checkout.StatusConfirming)
			}
			pn.mineTo(t, b+50+required-1)
			s.step(nil)
			pw.drained(t, n)
			pw.paidOnce(t, o.ID)
			heal()

			// --rpc-quorum 2 with endpoint 1 down and endpoint 2 lagging 50 blocks: the
			// laggard's agreement is needed, so nothing is reported until it has the block
			// that gives the last confirmation.
			s = pn.stepByHand(t, provOptions{quorum: 2, now: clk.Now})
			if err := pn.proxies[1].Refuse(); err != nil {
				t.Fatal(err)
			}
			if err := laggard.Lag(50); err != nil {
				t.Fatal(err)
			}
			o = pw.hostileOrder(n, "40")
			b = pn.payMined(t, o, 4)
			for _, h := range []uint64{b, b + required - 1, b + 50 + required - 2} {
				pn.mineTo(t, h)
				s.step(endpoints.ErrNoQuorum)
				pn.still(t, o.ID, checkout.StatusPending)
			}
			pn.mineTo(t, b+50+required-1)
			s.step(nil)
			pw.drained(t, n)
			pw.paidOnce(t, o.ID)
			heal()
		})
	}
}

// TestProvidersDowntimeCatchUp: a watcher stopped for 30 minutes of blocks (TRON: 600 blocks
// of 3 s; Ethereum: 150 of 12 s) with payments inside the gap catches up on restart without
// a miss, each order PAID once, while the endpoint it reads from dies with a catch-up call in
// flight. The TRON proxies cap eth_getLogs at 250 blocks here (java-tron's maxBlockRange,
// lowered so the gap crosses it): the watcher, at --max-range 5000, learns the cap from the
// node's refusal and splits.
func TestProvidersDowntimeCatchUp(t *testing.T) {
	pw := newProvidersWorld(t, provOptions{maxBlockRange: 250})
	gaps := map[checkout.Network]uint64{checkout.TRC20: 600, checkout.ERC20: 150}
	for _, n := range checkout.Networks {
		t.Run(string(n), func(t *testing.T) {
			pn := pw.nets[n]
			gap := gaps[n]
			before := pw.hostileOrder(n, "11")
			pn.payMined(t, before, 1)
			pw.waitFor(before.ID, "CONFIRMING", status(checkout.StatusConfirming))
			pn.halt()

			start := pn.head(t)
			var inGap []*checkout.Order
			var last uint64
			for i, at := range []uint64{5, gap / 2, gap/2 + 1, gap - 20, gap} { // the last one not final at restart
				o := pw.hostileOrder(n, fmt.Sprintf("%d.25", 12+i))
				inGap = append(inGap, o)
				pn.mineTo(t, start+at-1)
				last = pn.payMined(t, o, 2+i)
			}
			if last < start+gap || last > start+gap+3 {
				t.Fatalf("gap: last payment in block %d, gap %d-%d", last, start, start+gap)
			}

			// Every endpoint holds eth_getLogs; the first one read from is refused with the
			// catch-up call in flight, the others healed.
			for _, p := range pn.proxies {
				p.ResetCounts()
				if err := p.Set(nodeproxy.Fault{Delay: 3 * time.Second, Methods: getLogs}); err != nil {
					t.Fatal(err)
				}
			}
			failovers := pn.log.count(logFailover, -1)
			pn.run(provOptions{})
			dead := -1
			until(t, "a catch-up call held", func() bool {
				for i, p := range pn.proxies {
					if p.Faulted("eth_getLogs") > 0 {
						dead = i
						return true
					}
				}
				return false
			})
			for i, p := range pn.proxies {
				if i != dead {
					if err := p.Heal(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := pn.proxies[dead].Refuse(); err != nil {
				t.Fatal(err)
			}
			until(t, "the step failing over", func() bool { return pn.log.count(logFailover, -1) > failovers })

			pw.waitFor(before.ID, "PAID", status(checkout.StatusPaid))
			for _, o := range inGap[:len(inGap)-1] {
				pw.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
			}
			pn.mineTo(t, last+required-1)
			pw.waitFor(inGap[len(inGap)-1].ID, "PAID", status(checkout.StatusPaid))
			if err := pn.proxies[dead].Heal(); err != nil {
				t.Fatal(err)
			}
			pn.w.drained(t, n)
			for _, o := range append([]*checkout.Order{before}, inGap...) {
				pw.paidOnce(t, o.ID)
			}
			if n == checkout.TRC20 {
				var refused uint64
				for _, e := range pn.stats() {
					refused += e.Errors[endpoints.RangeTooLarge]
				}
				if refused == 0 {
					t.Errorf("the catch-up never met the node's 250-block cap")
				}
			}
		})
	}
}
