package e2e

import (
	"context"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/changes"
	"github.com/mpchat/checkout/edge/expiry"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
	"github.com/mpchat/checkout/watcher/evm"
	"github.com/mpchat/checkout/watcher/feed"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// Required confirmations in these tests.
const required = 3

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// world is one edge, one Redis prefix, and a dev chain + watcher per network.
type world struct {
	t      *testing.T
	rdb    *redis.Client
	prefix string
	store  *store.Store
	clock  *clock
	chains map[checkout.Network]*devchain.Chain
	client *client.Client
	expiry *expiry.Worker
	ctx    context.Context

	edgeURL string
	wg      *sync.WaitGroup
	mu      sync.Mutex
	servers []*fasthttp.Server
	// feeds are the edges' change-feed Redis clients: closing one ends its blocking read
	// (up to 5 s) at once, which a cancelled context does not.
	feeds []*redis.Client
}

// startEdge starts an edge replica (API, change feed) on the world's Redis and returns its URL.
func (w *world) startEdge(wg *sync.WaitGroup) string {
	w.t.Helper()
	feedRedis := redis.NewClient(&redis.Options{Addr: w.rdb.Options().Addr, PoolSize: 1, ClientName: "edge-changes"})
	w.t.Cleanup(func() { feedRedis.Close() })
	changeFeed := changes.New(store.NewChangeReader(feedRedis, w.prefix), nil)
	s := &api.Server{Store: w.store, Orders: &orders.Service{Store: w.store, PublicURL: "https://pay.test", Now: w.clock.Now},
		Auth: &auth.Verifier{Keys: w.store}, Changes: changeFeed,
		// Every customer of these tests is one loopback client: no per-client caps.
		Heartbeat: 200 * time.Millisecond, StreamsPerIP: -1, PublicLimit: store.Limit{Burst: -1}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	hs := &fasthttp.Server{Handler: s.Handler(), KeepHijackedConns: true, ReduceMemoryUsage: true}
	w.mu.Lock()
	w.servers, w.feeds = append(w.servers, hs), append(w.feeds, feedRedis)
	w.mu.Unlock()
	wg.Add(2)
	go func() { defer wg.Done(); _ = hs.Serve(ln) }()
	go func() { defer wg.Done(); _ = changeFeed.Run(w.ctx) }()
	return "http://" + ln.Addr().String()
}

// stopEdges stops the edges' servers and, once their context is cancelled, their change
// feeds' Redis clients.
func (w *world) stopEdges() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, hs := range w.servers {
		_ = hs.Shutdown()
	}
	for _, c := range w.feeds {
		_ = c.Close()
	}
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv := redistest.Shared(t)
	w := &world{t: t, rdb: srv.Client(t), prefix: redistest.Prefix(), ctx: ctx,
		clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, chains: map[checkout.Network]*devchain.Chain{}}
	w.store = store.New(w.rdb, w.prefix)
	var wg sync.WaitGroup

	// The edge: API and event streams, settlement consumers, an expiry worker ticked by the test.
	w.edgeURL = w.startEdge(&wg)
	for _, n := range checkout.Networks {
		c := &settlement.Consumer{Store: w.store, Network: n, Now: w.clock.Now, Block: 100 * time.Millisecond}
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Run(ctx) }()
	}
	w.expiry = &expiry.Worker{Store: w.store, Now: w.clock.Now}

	// A dev chain (blocks only when the test commits) and a watcher per network.
	for _, n := range checkout.Networks {
		ch, err := devchain.Start(ctx, devchain.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ch.Close() })
		w.chains[n] = ch
		cl, err := ethclient.Dial(ch.RPCURL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		start := uint64(0)
		f := feed.New(w.rdb, w.prefix, n)
		r := &evm.Runner{Scanner: &evm.Scanner{Chain: evm.Node(cl), Store: f, Network: n, Token: ch.Token(),
			Required: required, StartBlock: &start}, Lease: f, Poll: 20 * time.Millisecond}
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.Run(ctx) }()
	}

	// Registered last, so it runs first: stop edges, workers and watchers before the chains close.
	t.Cleanup(func() { cancel(); w.stopEdges(); wg.Wait() })
	w.wg = &wg

	// A merchant with development xpubs.
	m := &checkout.Merchant{ID: ids.Merchant(), Name: "e2e", XPubs: map[checkout.Network]string{}, CreatedAt: time.Now(),
		RateLimit: 100_000}
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
	return w
}

func (w *world) order(n checkout.Network, amount string) *checkout.Order {
	w.t.Helper()
	o, err := w.client.CreateOrder(w.ctx, &client.OrderParams{Amount: amount, Network: n})
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// pay sends amount from payer `from` to the order's address (decoded from its network format).
func (w *world) pay(o *checkout.Order, from int, amount string) {
	w.t.Helper()
	raw, err := deposit.Parse(o.Network, o.Address)
	if err != nil {
		w.t.Fatal(err)
	}
	a, err := checkout.ParseAmount(amount)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.chains[o.Network].Pay(w.ctx, from, common.Address(raw), a); err != nil {
		w.t.Fatal(err)
	}
}

// mine commits k blocks on the order's chain.
func (w *world) mine(n checkout.Network, k int) {
	for i := 0; i < k; i++ {
		w.chains[n].Commit()
	}
}

// waitFor polls the order until cond holds (deadline 15 s) and returns it.
func (w *world) waitFor(id, what string, cond func(*checkout.Order) bool) *checkout.Order {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var o *checkout.Order
	var err error
	for time.Now().Before(deadline) {
		if o, err = w.client.GetOrder(w.ctx, id); err == nil && cond(o) {
			return o
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("order %s never became %s; last %+v (err %v)", id, what, o, err)
	return nil
}

func status(s checkout.Status) func(*checkout.Order) bool {
	return func(o *checkout.Order) bool { return o.Status == s }
}

// settled waits until every transfer the watcher reported has been applied (the feed group has
// nothing pending or undelivered), so "nothing happened" can be asserted.
func (w *world) settled(n checkout.Network) {
	w.t.Helper()
	feedKey := w.prefix + checkout.FeedStream(n)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		groups, err := w.rdb.XInfoGroups(w.ctx, feedKey).Result()
		if err == nil && len(groups) == 1 && groups[0].Pending == 0 && groups[0].Lag == 0 {
			cp, _ := w.rdb.Get(w.ctx, w.prefix+"watcher:{"+string(n)+"}:checkpoint").Uint64()
			head, _ := w.chains[n].Client().BlockNumber(w.ctx)
			if cp+required >= head+1 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("%s feed never settled", n)
}
