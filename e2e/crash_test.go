package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/client/webhook"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
	"github.com/mpchat/checkout/watcher/evm"
)

// The crash test's size and pacing.
const (
	crashPerNetwork = 120 // orders (one payment each) per network: 240 payments
	crashWindow     = 40  // payments sent whose payment.confirmed webhook has not arrived yet, at most
	crashHookDelay  = 20 * time.Millisecond
	crashSeedEnv    = "MP_CRASH_SEED" // picks amounts, payers, the payment order and the kill points
	crashSeed       = 20261202
)

// TestCrashSafety is the crash guarantee: 240 payments flow on both networks (TRC20 and
// ERC20 dev chains) while every process is SIGKILLed mid-flight on a seeded schedule: two
// edge replicas (one killed while the other keeps working, both at once), the watchers (two
// per network; the standby takes over by lease), and Redis itself (AOF, fsync on every write;
// restarted on the same port and data directory), while webhooks are being delivered to the
// test's receiver. In the end every order is PAID with exactly its one on-chain payment and
// every webhook event of every order was received, correctly signed, in order; duplicates
// (allowed: delivery is at least once) are counted and reported.
func TestCrashSafety(t *testing.T) {
	seed := int64(crashSeed)
	if s := os.Getenv(crashSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("%s: %v", crashSeedEnv, err)
		}
	}
	rng := rand.New(rand.NewSource(seed))
	binaries(t) // built before the clock starts
	began := time.Now()

	srv, err := redistest.StartDurable()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	rcv := newHookLog(crashHookDelay)
	hooks := httptest.NewServer(rcv)
	t.Cleanup(hooks.Close)
	prefix := redistest.Prefix()
	st := newStack(t, stackOpts{
		redisArgs:    []string{"--redis", srv.URL, "--redis-prefix", prefix},
		merchantArgs: []string{"--webhook-url", hooks.URL + "/hooks"},
		edgeArgs: []string{"--settle-reclaim-after", "1s", "--expiry-interval", "1h", "--rate-limit", "100000",
			"--webhook-allow-private", "--webhook-lease", "2s", "--webhook-timeout", "5s", "--webhook-per-merchant", "8"},
		watcherArgs: []string{"--lease-ttl", "1s"},
		networks:    []checkout.Network{checkout.ERC20, checkout.TRC20},
		edges:       2, watchers: 2, watcherOps: true, blockInterval: 50 * time.Millisecond,
	})
	rcv.setSecret(st.merchant.WebhookSecret)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(srv.Log())
			t.Logf("seed %d (rerun with %s=%d); redis log:\n%s", seed, crashSeedEnv, seed, b)
		}
	})
	r := &crashRun{total: crashPerNetwork * len(st.networks), t: t, st: st, redis: srv, rdb: srv.Client(t), prefix: prefix, rcv: rcv, began: began}
	for _, a := range st.addrs {
		c := client.New("http://"+a, st.merchant.KeyID, st.merchant.Secret)
		c.MaxRetries = -1 // polls: one attempt, the next poll is the retry
		c.HTTP = &http.Client{Timeout: 2 * time.Second}
		r.quick = append(r.quick, c)
	}

	// The orders, created before anything is killed, and the seeded payment plan.
	var plan []*crashPayment
	for _, n := range st.networks {
		for i := 0; i < crashPerNetwork; i++ {
			plan = append(plan, &crashPayment{network: n, from: rng.Intn(st.chains[n].Accounts()),
				amount: fmt.Sprintf("%d.%06d", 1+rng.Intn(500), rng.Intn(1_000_000))})
		}
	}
	rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	r.createOrders(plan)
	ready := time.Since(began)
	schedule := crashSchedule(rng, len(plan))
	for _, s := range schedule {
		t.Logf("schedule (seed %d): after payment %3d: %s", seed, s.at, s.what)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	r.ctx = ctx
	payErr, chaosErr := make(chan error, 1), make(chan error, 1)
	go func() { payErr <- r.pay(plan) }()
	go func() { chaosErr <- r.chaos(schedule) }()
	// Both must end well; the first failure stops the other.
	for payDone, chaosDone := false, false; !payDone || !chaosDone; {
		select {
		case err := <-chaosErr:
			chaosDone = true
			if err != nil {
				cancel()
				if !payDone {
					<-payErr
				}
				t.Fatalf("crash schedule: %v", err)
			}
		case err := <-payErr:
			payDone = true
			if err != nil {
				cancel()
				if !chaosDone {
					<-chaosErr
				}
				t.Fatalf("payer: %v", err)
			}
		}
	}
	flowed := time.Since(began)
	r.logf("all %d payments sent; every process is up again", len(plan))

	r.verify(plan)
	total := time.Since(began)

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	dups, requests := 0, 0
	for _, n := range rcv.count {
		requests += n
		dups += n - 1
	}
	t.Logf("figures: %d payments (%d per network); kills: %s; %d webhook events in %d requests: %d duplicate deliveries, of which %d cut off by a kill during the receiver's hold; %d kills of an edge with a delivery held at the receiver",
		len(plan), crashPerNetwork, r.killCounts(), len(rcv.count), requests, dups, rcv.cut, r.midDelivery)
	t.Logf("time (binaries already built): stack and orders %.1fs, payments under the kill schedule %.1fs, settling and verification %.1fs, total %.1fs",
		ready.Seconds(), (flowed - ready).Seconds(), (total - flowed).Seconds(), total.Seconds())
}

// crashPayment is one order and the transfer that pays it.
type crashPayment struct {
	network checkout.Network
	from    int
	amount  string
	order   *checkout.Order
	tx      common.Hash // set once sent
}

// crashStep is a point of the kill schedule: once `at` payments are sent, do runs (kills,
// waits for a condition, restarts) while the payments go on.
type crashStep struct {
	at   int
	what string
	do   func(r *crashRun) error
}

// crashSchedule places the steps through the flow: each at its fixed share of the payments,
// moved by a seeded jitter of up to ±2 % of them, never before the 5th payment.
func crashSchedule(rng *rand.Rand, payments int) []crashStep {
	steps := []crashStep{
		{what: "kill edge-0; edge-1 alone settles and delivers; restart edge-0", do: func(r *crashRun) error { return r.edgeAlone(0) }},
		{what: "kill the ERC20 leader watcher; the standby takes the lease; restart it", do: func(r *crashRun) error { return r.watcherFailover(checkout.ERC20) }},
		{what: "kill Redis; payments go on on chain; restart Redis on its port and AOF", do: func(r *crashRun) error { return r.redisCrash() }},
		{what: "kill the TRC20 leader watcher; the standby takes the lease; restart it", do: func(r *crashRun) error { return r.watcherFailover(checkout.TRC20) }},
		{what: "kill edge-1; edge-0 alone settles and delivers; restart edge-1", do: func(r *crashRun) error { return r.edgeAlone(1) }},
		{what: "kill both edges at once; payments go on on chain; restart both", do: func(r *crashRun) error { return r.allEdges() }},
		{what: "kill Redis; payments go on on chain; restart Redis on its port and AOF", do: func(r *crashRun) error { return r.redisCrash() }},
		{what: "kill edge-0 and the ERC20 leader watcher together; edge-1 and the standby carry on; restart both", do: func(r *crashRun) error { return r.edgeAndWatcher(0, checkout.ERC20) }},
		{what: "kill the leader watchers of both networks at once; the standbys take over; restart them", do: func(r *crashRun) error { return r.bothLeaders() }},
		{what: "kill edge-0; edge-1 alone settles and delivers; restart edge-0", do: func(r *crashRun) error { return r.edgeAlone(0) }},
		{what: "kill Redis, both edges and both leader watchers at once; restart them all", do: func(r *crashRun) error { return r.everything() }},
	}
	jitter := payments / 50
	for i := range steps {
		at := payments*(6+8*i)/100 + rng.Intn(2*jitter+1) - jitter
		steps[i].at = max(at, 5)
	}
	return steps
}

// crashRun is the state the payer, the kill schedule and the checks share.
type crashRun struct {
	t      *testing.T
	st     *stack
	redis  *redistest.Server
	rdb    *redis.Client // a client of redis
	prefix string        // the stack's key prefix
	rcv    *hookLog
	quick  []*client.Client // of each edge, no retries
	began  time.Time
	ctx    context.Context

	total   int
	sent    atomic.Int64 // payments sent
	allowed atomic.Int64 // the payer sends no more than this many yet (the schedule holds it back)
	next    int          // where the schedule's next step begins: allowed once this step's kills are done
	waiting atomic.Bool  // the payer is waiting for the window to open

	mu          sync.Mutex
	kills       map[string]int
	midDelivery int
}

func (r *crashRun) logf(format string, args ...any) {
	r.t.Logf("%6.2fs "+format, append([]any{time.Since(r.began).Seconds()}, args...)...)
}

// createOrders creates the plan's orders through both edges.
func (r *crashRun) createOrders(plan []*crashPayment) {
	r.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(plan))
	work := make(chan *crashPayment)
	for w := 0; w < 4; w++ {
		c := client.New("http://"+r.st.addrs[w%len(r.st.addrs)], r.st.merchant.KeyID, r.st.merchant.Secret)
		c.Backoff = func(int) time.Duration { return 200 * time.Millisecond }
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				o, err := c.CreateOrder(context.Background(), &client.OrderParams{Amount: p.amount, Network: p.network})
				if err != nil {
					errs <- err
					continue
				}
				p.order = o
			}
		}()
	}
	for _, p := range plan {
		work <- p
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		r.t.Fatalf("create order: %v", err)
	}
}

// pay sends the plan's transfers in order, keeping at most crashWindow of them unconfirmed
// (by the merchant's payment.confirmed webhook), so the flow goes at the pace of the system
// and work is always in flight when a process dies. It does not run past the point where
// the schedule's next step begins until that step's kills are done, so every kill lands
// while payments are still to come.
func (r *crashRun) pay(plan []*crashPayment) error {
	for i, p := range plan {
		for i >= int(r.allowed.Load()) {
			if !pause(r.ctx, time.Millisecond) {
				return fmt.Errorf("payment %d: held back by the schedule (allowed %d): %w", i, r.allowed.Load(), r.ctx.Err())
			}
		}
		for int(r.sent.Load())-r.rcv.confirmedTotal() >= crashWindow {
			r.waiting.Store(true)
			if !pause(r.ctx, 5*time.Millisecond) {
				return fmt.Errorf("payment %d: the window never opened (%d sent, %d confirmed): %w", i, r.sent.Load(), r.rcv.confirmedTotal(), r.ctx.Err())
			}
		}
		r.waiting.Store(false)
		raw, err := deposit.Parse(p.network, p.order.Address)
		if err != nil {
			return err
		}
		if p.tx, err = r.st.chains[p.network].Pay(r.ctx, p.from, common.Address(raw), p.order.PayAmount); err != nil {
			return fmt.Errorf("pay order %s: %w", p.order.ID, err)
		}
		r.sent.Add(1)
	}
	return nil
}

// chaos runs the schedule; it returns with every process running again. A step begins once
// `at` payments are sent; while it picks its moment the payer may send up to 10 more, and
// once its kills are done, up to where the next step begins.
func (r *crashRun) chaos(schedule []crashStep) error {
	r.allowed.Store(int64(schedule[0].at))
	for k, s := range schedule {
		for int(r.sent.Load()) < s.at {
			if !pause(r.ctx, 2*time.Millisecond) {
				return fmt.Errorf("waiting for payment %d: %w", s.at, r.ctx.Err())
			}
		}
		r.next = r.total
		if k+1 < len(schedule) {
			r.next = schedule[k+1].at
		}
		r.allowed.Store(int64(min(s.at+10, r.next)))
		r.logf("step at payment %d (sent %d, confirmed %d): %s", s.at, r.sent.Load(), r.rcv.confirmedTotal(), s.what)
		if err := s.do(r); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		r.killed() // in case the step killed nothing
	}
	return nil
}

// killed lets the payer go on to the next step once the current step's kills are done.
func (r *crashRun) killed() { r.allowed.Store(int64(r.next)) }

func (r *crashRun) kill(p *proc) {
	p.kill()
	r.mu.Lock()
	if r.kills == nil {
		r.kills = map[string]int{}
	}
	r.kills[p.name]++
	r.mu.Unlock()
	r.logf("SIGKILL %s", p.name)
}

func (r *crashRun) restart(p *proc) {
	p.start()
	r.logf("started %s", p.name)
}

func (r *crashRun) killCounts() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var edges, watchers int
	var parts []string
	for _, p := range r.st.edges {
		edges += r.kills[p.name]
		parts = append(parts, fmt.Sprintf("%s %d", p.name, r.kills[p.name]))
	}
	for _, n := range r.st.networks {
		for _, p := range r.st.watchers[n] {
			watchers += r.kills[p.name]
			parts = append(parts, fmt.Sprintf("%s %d", p.name, r.kills[p.name]))
		}
	}
	return fmt.Sprintf("edge %d, watcher %d, redis %d (%s)", edges, watchers, r.kills["redis"], strings.Join(parts, ", "))
}

// killEdge SIGKILLs an edge as soon as the receiver holds a delivery (of either edge; up to
// 5 s), so kills land mid-delivery as often as the flow allows.
func (r *crashRun) killEdge(i int) {
	deadline := time.Now().Add(5 * time.Second)
	for r.rcv.holding() == 0 && time.Now().Before(deadline) && pause(r.ctx, time.Millisecond) {
	}
	if r.rcv.holding() > 0 {
		r.mu.Lock()
		r.midDelivery++
		r.mu.Unlock()
	}
	r.kill(r.st.edges[i])
}

// edgeAlone kills edge i and waits until the other replica, alone, has settled and delivered
// more payments and answers the API, then restarts edge i.
func (r *crashRun) edgeAlone(i int) error {
	other := 1 - i
	r.killEdge(i)
	r.killed()
	if err := r.othersCarryOn(other, 4); err != nil {
		return err
	}
	r.restart(r.st.edges[i])
	return nil
}

// othersCarryOn waits until k more payment.confirmed webhooks arrived, and the surviving
// edge's API shows the latest of those orders PAID.
func (r *crashRun) othersCarryOn(survivor, k int) error {
	base := r.rcv.confirmedTotal()
	return r.until(30*time.Second, fmt.Sprintf("edge-%d alone confirms %d more payments", survivor, k), func() string {
		if got := r.rcv.confirmedTotal(); got < base+k {
			return fmt.Sprintf("%d of %d confirmations", got-base, k)
		}
		id := r.rcv.lastConfirmed()
		o, err := r.quick[survivor].GetOrder(r.ctx, id)
		if err != nil || o.Status != checkout.StatusPaid {
			return fmt.Sprintf("edge-%d API: order %s: %v %v", survivor, id, o, err)
		}
		return ""
	})
}

// watcherFailover kills network n's leading watcher, waits until the standby holds the lease
// and confirms payments, and restarts the killed one, which stands by.
func (r *crashRun) watcherFailover(n checkout.Network) error {
	lead, standby, err := r.leader(n)
	if err != nil {
		return err
	}
	r.kill(lead)
	r.killed()
	if err := r.takesOver(n, standby); err != nil {
		return err
	}
	r.restart(lead)
	return r.leaseIs(lead, "standby")
}

// takesOver waits until p leads network n and the network's checkpoint moves on by 3
// blocks after that (the chains grow by themselves, so this holds even once every payment
// of n is settled).
func (r *crashRun) takesOver(n checkout.Network, p *proc) error {
	if err := r.leaseIs(p, "leader"); err != nil {
		return err
	}
	key := r.prefix + "watcher:{" + string(n) + "}:checkpoint"
	var base uint64
	return r.until(30*time.Second, fmt.Sprintf("%s scans %s", p.name, n), func() string {
		cp, err := r.rdb.Get(r.ctx, key).Uint64()
		switch {
		case err != nil:
			return "checkpoint: " + err.Error()
		case base == 0:
			base = cp
		case cp >= base+3:
			return ""
		}
		return fmt.Sprintf("checkpoint %d, was %d", cp, base)
	})
}

// redisCrash kills Redis, lets the chains (and the payer) go on, and restarts it.
func (r *crashRun) redisCrash() error {
	r.killRedis()
	r.killed()
	if err := r.chainsGoOn(); err != nil {
		return err
	}
	return r.restartRedis()
}

func (r *crashRun) killRedis() {
	r.redis.Kill()
	r.mu.Lock()
	if r.kills == nil {
		r.kills = map[string]int{}
	}
	r.kills["redis"]++
	r.mu.Unlock()
	r.logf("SIGKILL redis")
}

func (r *crashRun) restartRedis() error {
	start := time.Now()
	if err := r.redis.Restart(); err != nil {
		return err
	}
	r.logf("redis restarted on %s from its AOF in %s", r.redis.Addr, time.Since(start).Round(time.Millisecond))
	return nil
}

// chainsGoOn waits, with part of the system down, until each chain has grown by 8 blocks and
// the payer has sent 3 more transfers (or has filled its window).
func (r *crashRun) chainsGoOn() error {
	heads := map[checkout.Network]uint64{}
	for _, n := range r.st.networks {
		h, err := r.st.chains[n].Client().BlockNumber(r.ctx)
		if err != nil {
			return err
		}
		heads[n] = h
	}
	sent := r.sent.Load()
	err := r.until(30*time.Second, "the chains and the payer go on", func() string {
		for _, n := range r.st.networks {
			if h, err := r.st.chains[n].Client().BlockNumber(r.ctx); err != nil || h < heads[n]+8 {
				return fmt.Sprintf("%s head %d (was %d) %v", n, h, heads[n], err)
			}
		}
		if r.sent.Load() < sent+3 && !r.waiting.Load() && int(r.sent.Load()) < r.total {
			return fmt.Sprintf("%d payments sent since", r.sent.Load()-sent)
		}
		return ""
	})
	r.logf("%d payments sent while down", r.sent.Load()-sent)
	return err
}

func (r *crashRun) allEdges() error {
	r.killEdge(0)
	r.kill(r.st.edges[1])
	r.killed()
	if err := r.chainsGoOn(); err != nil {
		return err
	}
	r.restart(r.st.edges[0])
	r.restart(r.st.edges[1])
	return nil
}

func (r *crashRun) edgeAndWatcher(i int, n checkout.Network) error {
	lead, standby, err := r.leader(n)
	if err != nil {
		return err
	}
	r.killEdge(i)
	r.kill(lead)
	r.killed()
	if err := r.takesOver(n, standby); err != nil {
		return err
	}
	if err := r.othersCarryOn(1-i, 2); err != nil {
		return err
	}
	r.restart(r.st.edges[i])
	r.restart(lead)
	return r.leaseIs(lead, "standby")
}

func (r *crashRun) bothLeaders() error {
	leads, standbys := map[checkout.Network]*proc{}, map[checkout.Network]*proc{}
	for _, n := range r.st.networks {
		var err error
		if leads[n], standbys[n], err = r.leader(n); err != nil {
			return err
		}
	}
	for _, n := range r.st.networks {
		r.kill(leads[n])
	}
	r.killed()
	for _, n := range r.st.networks {
		if err := r.takesOver(n, standbys[n]); err != nil {
			return err
		}
	}
	for _, n := range r.st.networks {
		r.restart(leads[n])
	}
	for _, n := range r.st.networks {
		if err := r.leaseIs(leads[n], "standby"); err != nil {
			return err
		}
	}
	return nil
}

// everything kills Redis, both edges and both leading watchers at once, and restarts Redis
// first (a command does not start without Redis), then the rest.
func (r *crashRun) everything() error {
	leads := map[checkout.Network]*proc{}
	for _, n := range r.st.networks {
		var err error
		if leads[n], _, err = r.leader(n); err != nil {
			return err
		}
	}
	r.killEdge(0)
	r.killRedis()
	r.kill(r.st.edges[1])
	for _, n := range r.st.networks {
		r.kill(leads[n])
	}
	r.killed()
	if err := r.chainsGoOn(); err != nil {
		return err
	}
	if err := r.restartRedis(); err != nil {
		return err
	}
	r.restart(r.st.edges[1])
	r.restart(r.st.edges[0])
	for _, n := range r.st.networks {
		r.restart(leads[n])
	}
	// Whichever of the two takes the lease once the dead leader's expires, one leads and
	// confirms again, the other stands by.
	for _, n := range r.st.networks {
		lead, _, err := r.leader(n)
		if err != nil {
			return err
		}
		if err := r.takesOver(n, lead); err != nil {
			return err
		}
	}
	return nil
}

// leader waits until exactly one of network n's watchers reports it holds the lease, and
// returns it and a standby.
func (r *crashRun) leader(n checkout.Network) (lead, standby *proc, err error) {
	err = r.until(15*time.Second, string(n)+" has one leader", func() string {
		lead, standby = nil, nil
		var states []string
		for _, p := range r.st.watchers[n] {
			s := r.lease(p)
			states = append(states, p.name+"="+s)
			switch {
			case s == "leader" && lead == nil:
				lead = p
			case s == "standby" && standby == nil:
				standby = p
			}
		}
		if lead == nil || standby == nil {
			return strings.Join(states, " ")
		}
		return ""
	})
	return lead, standby, err
}

// leaseIs waits until watcher p reports the lease state want ("leader" or "standby").
func (r *crashRun) leaseIs(p *proc, want string) error {
	return r.until(15*time.Second, p.name+" is "+want, func() string {
		if s := r.lease(p); s != want {
			return s
		}
		return ""
	})
}

var opsClient = &http.Client{Timeout: time.Second}

// lease is the watcher's lease state from its /readyz ("leader", "standby", "unknown"), or
// why it could not be read.
func (r *crashRun) lease(p *proc) string {
	resp, err := opsClient.Get("http://" + r.st.watcherOps[p] + "/readyz")
	if err != nil {
		return "unreachable"
	}
	defer resp.Body.Close()
	var rd struct{ Lease string }
	if err := json.NewDecoder(resp.Body).Decode(&rd); err != nil {
		return "undecodable: " + err.Error()
	}
	return rd.Lease
}

// until polls cond (which says what it still waits for, "" when it holds) every 10 ms until
// it holds, the deadline passes, or the run is canceled.
func (r *crashRun) until(d time.Duration, what string, cond func() string) error {
	deadline := time.Now().Add(d)
	for {
		msg := cond()
		if msg == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s: %s", what, d, msg)
		}
		if !pause(r.ctx, 10*time.Millisecond) {
			return fmt.Errorf("%s: %w: %s", what, r.ctx.Err(), msg)
		}
	}
}

// verify waits until every order is PAID and every webhook delivered, then checks the crash
// guarantee order by order against the chain and the receiver.
func (r *crashRun) verify(plan []*crashPayment) {
	t := r.t
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r.ctx = ctx
	// The receiver's view first (in memory, cheap to poll), then each order through the API.
	if err := r.until(60*time.Second, "a payment.confirmed webhook of every order", func() string {
		if got := r.rcv.confirmedTotal(); got < len(plan) {
			var missing []string
			r.rcv.mu.Lock()
			for _, p := range plan {
				if _, ok := r.rcv.paidBody[p.order.ID]; !ok && len(missing) < 5 {
					missing = append(missing, p.order.ID)
				}
			}
			r.rcv.mu.Unlock()
			return fmt.Sprintf("%d of %d, missing e.g. %v", got, len(plan), missing)
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	r.logf("a payment.confirmed webhook of every order received")
	final := make([]*checkout.Order, len(plan))
	lists := make([][]checkout.WebhookDelivery, len(plan))
	errs, chainErrs := make([]error, len(plan)), make([]error, len(plan))
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 4; w++ {
		c := r.quick[w%len(r.quick)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				id := plan[i].order.ID
				errs[i] = r.until(30*time.Second, "order "+id+" PAID and its webhooks delivered", func() string {
					o, err := c.GetOrder(ctx, id)
					if err != nil || o.Status != checkout.StatusPaid {
						return fmt.Sprintf("%s %v", statusOf(o), err)
					}
					list, err := c.ListWebhooks(ctx, id)
					if err != nil {
						return err.Error()
					}
					if len(list) == 0 || list[len(list)-1].Type != checkout.EventPaymentConfirmed {
						return fmt.Sprintf("deliveries %+v", list)
					}
					for _, d := range list {
						if d.Status != checkout.DeliveryDelivered {
							return fmt.Sprintf("%s is %s after %d attempts (%s)", d.Type, d.Status, d.Attempts, d.LastError)
						}
					}
					final[i], lists[i] = o, list
					return ""
				})
				if errs[i] == nil && len(final[i].Payments) == 1 {
					chainErrs[i] = onChain(ctx, r.st.chains[plan[i].network], plan[i], final[i].Payments[0])
				}
			}
		}()
	}
	for i := range plan {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r.logf("every order PAID, every webhook delivered")

	rcv := r.rcv
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Errorf("%d webhook requests failed verification, e.g. %s", len(rcv.bad), rcv.bad[0])
	}
	for i, p := range plan {
		o, id := final[i], p.order.ID
		// Exactly one payment, of the right amount, the transfer this test sent.
		if o.AmountPaid != p.order.PayAmount || o.AmountPending != 0 || len(o.Payments) != 1 {
			t.Errorf("order %s credited wrongly: paid %s pending %s of %s, payments %+v", id, o.AmountPaid, o.AmountPending, p.order.PayAmount, o.Payments)
			continue
		}
		pm := o.Payments[0]
		if pm.TxHash != p.tx.Hex() || pm.Amount != p.order.PayAmount || pm.Status != checkout.PaymentConfirmed {
			t.Errorf("order %s: payment %+v, sent %s of %s", id, pm, p.tx.Hex(), p.order.PayAmount)
		}
		if err := chainErrs[i]; err != nil {
			t.Errorf("order %s: payment not on chain: %v", id, err)
		}
		// Every event received, correctly signed (bad ones are counted above), first in the
		// order the edge lists them.
		var want []string
		for _, d := range lists[i] {
			want = append(want, d.EventID+"/"+string(d.Type))
			if !rcv.received[d.EventID] {
				t.Errorf("order %s: event %s (%s) listed delivered but never received", id, d.EventID, d.Type)
			}
		}
		var got []string
		for _, ev := range rcv.events[id] {
			got = append(got, ev+"/"+string(rcv.types[ev]))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("order %s: received %v, want %v in that order", id, got, want)
		}
		if n := strings.Count(strings.Join(want, " "), string(checkout.EventPaymentConfirmed)); n != 1 {
			t.Errorf("order %s: %d payment.confirmed events: %v", id, n, want)
		}
		if c := rcv.paidBody[id]; c.Status != checkout.StatusPaid || c.AmountPaid != p.order.PayAmount {
			t.Errorf("order %s: payment.confirmed webhook shows %s paid %s", id, c.Status, c.AmountPaid)
		}
	}
}

func statusOf(o *checkout.Order) string {
	if o == nil {
		return "-"
	}
	return fmt.Sprintf("%s paid %s pending %s", o.Status, o.AmountPaid, o.AmountPending)
}

// onChain checks that the payment is the transfer in the chain's receipt: same block, a
// Transfer log of the token at its log index, from the payer to the order's address, of its
// amount.
func onChain(ctx context.Context, chain *devchain.Chain, p *crashPayment, pm checkout.Payment) error {
	rc, err := chain.Client().TransactionReceipt(ctx, common.HexToHash(pm.TxHash))
	if err != nil {
		return fmt.Errorf("receipt of %s: %w", pm.TxHash, err)
	}
	if rc.Status != 1 || rc.BlockNumber.Uint64() != pm.BlockNumber {
		return fmt.Errorf("tx %s: status %d in block %d, payment says block %d", pm.TxHash, rc.Status, rc.BlockNumber, pm.BlockNumber)
	}
	canon, err := chain.Client().HeaderByNumber(ctx, rc.BlockNumber)
	if err != nil || canon.Hash() != rc.BlockHash {
		return fmt.Errorf("tx %s: block %d not canonical (%v)", pm.TxHash, rc.BlockNumber, err)
	}
	to, _ := deposit.Parse(p.network, p.order.Address)
	from := chain.Payer(p.from)
	for _, l := range rc.Logs {
		if l.Index != pm.LogIndex {
			continue
		}
		if l.Address != chain.Token() || len(l.Topics) != 3 || l.Topics[0] != evm.TransferTopic ||
			common.BytesToAddress(l.Topics[1].Bytes()) != from || common.BytesToAddress(l.Topics[2].Bytes()) != common.Address(to) ||
			new(big.Int).SetBytes(l.Data).Cmp(big.NewInt(int64(pm.Amount))) != 0 {
			return fmt.Errorf("log %d of %s is not the transfer of %s from %s to %s", l.Index, pm.TxHash, pm.Amount, from.Hex(), p.order.Address)
		}
		if pm.From != deposit.Format(p.network, from) {
			return fmt.Errorf("payment from %s, sent by %s", pm.From, deposit.Format(p.network, from))
		}
		return nil
	}
	return fmt.Errorf("tx %s has no log %d", pm.TxHash, pm.LogIndex)
}

// hookLog is the merchant's webhook endpoint: it verifies every request's signature, holds
// each request crashHookDelay before answering 200 (so deliveries are in flight when edges
// die), and records each event's requests. An event counts as received once a request of it
// was held to the end with its sender still connected (the merchant processed it and the
// edge could read the answer); one whose sender died during the hold must come again.
type hookLog struct {
	delay time.Duration

	mu        sync.Mutex
	secret    string
	events    map[string][]string           // order id → event ids received, in the order received
	types     map[string]checkout.EventType // event id → type
	count     map[string]int                // event id → requests that carried it
	received  map[string]bool               // event id → received (held to the end)
	cut       int                           // requests whose sender died during the hold
	paidBody  map[string]checkout.Order     // order id → the order in its payment.confirmed
	confirmed map[checkout.Network]int      // orders whose payment.confirmed arrived
	last      string                        // the order of the latest payment.confirmed
	bad       []string                      // verification failures
	inflight  int                           // requests being held
}

func newHookLog(delay time.Duration) *hookLog {
	return &hookLog{delay: delay, events: map[string][]string{}, types: map[string]checkout.EventType{},
		count: map[string]int{}, received: map[string]bool{}, paidBody: map[string]checkout.Order{}, confirmed: map[checkout.Network]int{}}
}

func (h *hookLog) setSecret(s string) { h.mu.Lock(); h.secret = s; h.mu.Unlock() }

func (h *hookLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	h.mu.Lock()
	var ev *webhook.Event
	if err == nil {
		ev, err = webhook.ConstructEvent(body, r.Header.Get(webhook.Header), h.secret)
	}
	if err != nil {
		h.bad = append(h.bad, err.Error())
		h.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.count[ev.ID]++
	h.inflight++
	h.mu.Unlock()
	cut := false
	select { // the edge may die now: then this event must come again
	case <-time.After(h.delay):
	case <-r.Context().Done():
		cut = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inflight--
	if cut {
		h.cut++
		return
	}
	if o := ev.Data.Order; !h.received[ev.ID] {
		h.received[ev.ID] = true
		h.events[o.ID] = append(h.events[o.ID], ev.ID)
		h.types[ev.ID] = ev.Type
		if ev.Type == checkout.EventPaymentConfirmed {
			h.paidBody[o.ID] = o
			h.confirmed[o.Network]++
			h.last = o.ID
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (h *hookLog) confirmedTotal() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.confirmed {
		n += c
	}
	return n
}

func (h *hookLog) confirmedOn(n checkout.Network) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.confirmed[n]
}

func (h *hookLog) lastConfirmed() string { h.mu.Lock(); defer h.mu.Unlock(); return h.last }

func (h *hookLog) holding() int { h.mu.Lock(); defer h.mu.Unlock(); return h.inflight }

// pause waits d, or less if ctx ends; it reports whether ctx is still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
