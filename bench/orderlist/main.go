// Command orderlist measures the dashboard's order list against a large history: it starts
// its own redis-server, stores -orders orders (default 1,000,000) for one merchant directly
// through the store (store.PutOrders, pipelined: order records and their index entries, no
// event streams), then serves the real edge route table (merchant API and dashboard) on
// loopback and times, over HTTP with a signed-in session, the list's first page, a filtered
// page (status, network and an amount range), a deep page (starting_after an order half way
// down), and a lookup by tx hash, beside a single signed GET /v1/orders/{id} in the same run
// (the baseline: one order, one round trip).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/dashboard"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
	"github.com/mpchat/checkout/internal/redistest"
)

const prefix = "bench:"

func main() {
	n := flag.Int("orders", 1_000_000, "orders to store for the merchant")
	iters := flag.Int("n", 200, "requests per measured case")
	batch := flag.Int("batch", 2000, "orders per pipeline while filling")
	flag.Parse()
	if err := run(*n, *iters, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n, iters, batch int) error {
	ctx := context.Background()
	srv, err := redistest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 16})
	defer rdb.Close()
	st := store.New(rdb, prefix)
	fmt.Printf("machine: %d CPUs, load average %s\n", nproc(), loadavg())

	m := &checkout.Merchant{ID: ids.Merchant(), Name: "bench", XPubs: map[checkout.Network]string{}, RateLimit: 1_000_000}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_bench"}
	if err := st.CreateMerchant(ctx, m, key, nil); err != nil {
		return err
	}
	t0 := time.Now()
	probe, err := fill(ctx, st, m.ID, n, batch)
	if err != nil {
		return err
	}
	fillTime := time.Since(t0)
	mem, _ := rdb.Info(ctx, "memory").Result()
	fmt.Printf("stored %d orders in %s (%.0f orders/s); redis used_memory %s\n", n, fillTime.Round(time.Millisecond),
		float64(n)/fillTime.Seconds(), infoField(mem, "used_memory_human"))

	base, cookie, stop, err := serve(ctx, st, m)
	if err != nil {
		return err
	}
	defer stop()
	cl := client.New(base, key.ID, key.Secret)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, want string) func() error {
		return func() error {
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header.Set("Cookie", dashboard.CookieName+"="+cookie)
			res, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				return err
			}
			if res.StatusCode != 200 || !strings.Contains(string(b), want) {
				return fmt.Errorf("GET %s: %d, lacks %q", path, res.StatusCode, want)
			}
			return nil
		}
	}
	q := url.Values{"status": {"PAID"}, "network": {"TRC20"}, "amount[gte]": {"100"}, "amount[lte]": {"150"}}
	cases := []struct {
		name string
		do   func() error
	}{
		{"GET /v1/orders/{id} (baseline)", func() error { _, err := cl.GetOrder(ctx, probe.mid); return err }},
		{"store.Order (one read)", func() error { _, err := st.Order(ctx, probe.mid); return err }},
		{"list: first page (25)", get("/dashboard/orders", probe.newest)},
		{"list: status=PAID network=TRC20 amount 100–150", get("/dashboard/orders?"+q.Encode(), "st-paid")},
		{"list: deep page (starting_after the middle order)", get("/dashboard/orders?starting_after="+probe.mid, `<tr id="row-`)},
		{"list: live rows fragment", get("/dashboard/orders?view=rows", probe.newest)},
		{"lookup: tx hash", get("/dashboard/orders?q="+probe.tx, probe.txOrder)},
		{"lookup: order id", get("/dashboard/orders?q="+probe.mid, probe.mid)},
	}
	fmt.Printf("\n%d requests per case, one at a time, over loopback HTTP (load average %s)\n\n", iters, loadavg())
	fmt.Println("| case | p50 | p95 | mean | p50 ÷ GET /v1/orders/{id} p50 |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	var baseP50 time.Duration
	for i, c := range cases {
		for range 5 { // warm up connections and caches
			if err := c.do(); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
		d := make([]time.Duration, iters)
		var sum time.Duration
		for j := range d {
			s := time.Now()
			if err := c.do(); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			d[j] = time.Since(s)
			sum += d[j]
		}
		slices.Sort(d)
		p50, p95 := d[len(d)/2], d[len(d)*95/100]
		if i == 0 {
			baseP50 = p50
		}
		fmt.Printf("| %s | %s | %s | %s | %.1f× |\n", c.name, ms(p50), ms(p95), ms(sum/time.Duration(iters)), float64(p50)/float64(baseP50))
	}
	fmt.Printf("\nload average after: %s\n", loadavg())
	return nil
}

// probe holds orders the measured cases look for.
type probe struct {
	newest, mid, tx, txOrder string
}

// fill stores n orders for the merchant, created 30 s apart ending now (so the newest is on
// the first page): 60 % PAID with a confirmed payment (its tx hash in the lookup index),
// 25 % EXPIRED, 10 % PENDING, 5 % CANCELED; 70 % TRC20; amounts 1–500 USDT.
func fill(ctx context.Context, st *store.Store, merchantID string, n, batch int) (probe, error) {
	var p probe
	start := time.Now().UTC().Add(-time.Duration(n) * 30 * time.Second).Truncate(time.Second)
	from := deposit.Format(checkout.TRC20, common.BytesToAddress([]byte{0xf0, 0x0d}))
	jobs := make(chan []*checkout.Order, 4)
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				if err := st.PutOrders(ctx, merchantID, b); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	var failed error
	cur := make([]*checkout.Order, 0, batch)
	for i := range n {
		created := start.Add(time.Duration(i) * 30 * time.Second)
		nw := checkout.TRC20
		if i%10 >= 7 {
			nw = checkout.ERC20
		}
		var a [20]byte
		copy(a[:], big.NewInt(int64(i)+1).FillBytes(make([]byte, 20)))
		amount := checkout.Amount(1+i%500) * 1_000_000
		o := &checkout.Order{ID: ids.Order(), Amount: amount, PayAmount: amount, Currency: "USDT", Network: nw,
			Address: deposit.Format(nw, a), TolerancePercent: checkout.DefaultTolerance, CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
		switch k := i % 20; {
		case k < 12:
			o.Status = checkout.StatusPaid
			paid := created.Add(2 * time.Minute)
			o.PaidAt, o.AmountPaid = &paid, amount
			hash := common.BigToHash(big.NewInt(int64(i) + 1)).Hex()
			if nw == checkout.TRC20 {
				hash = strings.TrimPrefix(hash, "0x")
			}
			o.Payments = []checkout.Payment{{TxHash: hash, From: from, Amount: amount, BlockNumber: uint64(1000 + i),
				Confirmations: 20, Status: checkout.PaymentConfirmed}}
			if i >= n/2 && p.tx == "" {
				p.tx, p.txOrder = hash, o.ID
			}
		case k < 17:
			o.Status = checkout.StatusExpired
		case k < 19:
			o.Status = checkout.StatusPending
		default:
			o.Status = checkout.StatusCanceled
		}
		if i == n/2 {
			p.mid = o.ID
		}
		if i == n-1 {
			p.newest = o.ID
		}
		cur = append(cur, o)
		if len(cur) == batch || i == n-1 {
			select {
			case jobs <- cur:
			case failed = <-errc:
			}
			if failed != nil {
				break
			}
			cur = make([]*checkout.Order, 0, batch)
			if (i+1)%100_000 < batch {
				fmt.Fprintf(os.Stderr, "stored %d\n", i+1)
			}
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		failed = err
	default:
	}
	if failed != nil {
		return p, failed
	}
	if p.tx == "" {
		return p, fmt.Errorf("no paid order in the second half (-orders too small)")
	}
	return p, nil
}

// serve runs the edge's route table with the dashboard on loopback and signs a merchant
// user in; it returns the base URL, the session cookie and a stop function.
func serve(ctx context.Context, st *store.Store, m *checkout.Merchant) (string, string, func(), error) {
	quiet := slog.New(slog.DiscardHandler)
	usvc := &users.Service{Store: st, Log: quiet}
	created, err := usvc.CreateUser(ctx, users.CreateParams{Email: "bench@example.com", MerchantID: m.ID}, users.OperatorActor)
	if err != nil {
		return "", "", nil, err
	}
	const pw = "a long bench password"
	if _, err := usvc.SetPassword(ctx, created.Token, pw, netipZero); err != nil {
		return "", "", nil, err
	}
	s, err := usvc.Login(ctx, "bench@example.com", pw, "", netipZero)
	if err != nil {
		return "", "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	base := "http://" + ln.Addr().String()
	svc := &orders.Service{Store: st, PublicURL: base, Log: quiet}
	d, err := dashboard.New(dashboard.Config{Users: usvc, Store: st, Actions: svc, Origin: base, Dev: true, Log: quiet})
	if err != nil {
		return "", "", nil, err
	}
	as := &api.Server{Store: st, Orders: svc, Auth: &auth.Verifier{Keys: st}, Dev: true, ExtraRoutes: d.Routes, Log: quiet}
	hs := &fasthttp.Server{Handler: as.Handler()}
	go func() { _ = hs.Serve(ln) }()
	return base, s.ID, func() { _ = hs.Shutdown() }, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func infoField(info, name string) string {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
			return v
		}
	}
	return "?"
}

func nproc() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	var n int
	fmt.Sscan(string(out), &n)
	return n
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

var netipZero netip.Addr
