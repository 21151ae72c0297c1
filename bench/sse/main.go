// Command sse benchmarks event streams: it runs the real `edge serve` binary on a private
// redis-server, opens N concurrent checkout streams (raw TCP, 10 per order), and reports the
// edge's Redis connections (CLIENT LIST) and RSS per stream, then commits a status change on
// every order (as any edge replica's settlement would) and measures change → received latency
// across all streams. Baseline in the same run: the same measurement with 10 streams.
// It raises its own file-descriptor limit (inherited by the edge); the product's defaults are
// left alone.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

func main() {
	streams := flag.Int("streams", 10_000, "concurrent streams")
	perOrder := flag.Int("per-order", 10, "streams per order")
	flag.Parse()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if err := run(*streams, *perOrder); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type env struct {
	ctx   context.Context
	rdb   *redis.Client
	st    *store.Store
	svc   *orders.Service
	m     *checkout.Merchant
	addr  string
	edge  *exec.Cmd
	prefx string
}

func run(n, perOrder int) error {
	ctx := context.Background()
	srv, err := redistest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	dir, _ := os.MkdirTemp("", "bench-sse-")
	defer os.RemoveAll(dir)
	if out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/mpchat/checkout/edge").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v %s", err, out)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	e := &env{ctx: ctx, prefx: "bench:", addr: addr}
	e.rdb = redis.NewClient(&redis.Options{Addr: srv.Addr, ClientName: "bench"})
	defer e.rdb.Close()
	e.st = store.New(e.rdb, e.prefx)
	e.svc = &orders.Service{Store: e.st, PublicURL: "https://pay.bench"}
	xpub, _ := deposit.DevAccountXPub(checkout.TRC20, 1)
	k, _ := deposit.ParseAccountXPub(xpub)
	e.m = &checkout.Merchant{ID: ids.Merchant(), XPubs: map[checkout.Network]string{checkout.TRC20: xpub}}
	if err := e.st.CreateMerchant(ctx, e.m, &checkout.APIKey{ID: ids.Key(), MerchantID: e.m.ID}, []string{k.Fingerprint()}); err != nil {
		return err
	}
	e.edge = exec.Command(filepath.Join(dir, "edge"), "serve", "--listen", addr, "--redis", srv.URL,
		"--redis-prefix", e.prefx, "--streams-per-ip", "-1", "--max-streams", "-1", "--log-level", "warn",
		"--public-lookup-limit", "off", "--metrics-listen", "off") // every stream comes from this one client
	e.edge.Stderr = os.Stderr
	if err := e.edge.Start(); err != nil {
		return err
	}
	defer func() { _ = e.edge.Process.Kill(); _, _ = e.edge.Process.Wait() }()
	if err := waitUp(addr); err != nil {
		return err
	}
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	rssIdle := rss(e.edge.Process.Pid)
	connsIdle := edgeConns(e)

	base, err := e.round(10, 1)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	r, err := e.round(n, perOrder)
	if err != nil {
		return err
	}
	fmt.Printf("edge Redis connections: %d idle, %d with %d streams open\n", connsIdle, r.conns, n)
	fmt.Printf("edge RSS: %.1f MiB idle, %.1f MiB with %d streams: %.1f KiB per stream\n",
		float64(rssIdle)/1024, float64(r.rss)/1024, n, float64(r.rss-rssIdle)/float64(n))
	fmt.Printf("change → received latency across streams:\n")
	fmt.Printf("  %5d streams (baseline)  p50 %.2f ms  p99 %.2f ms\n", 10, base.p50, base.p99)
	fmt.Printf("  %5d streams             p50 %.2f ms  p99 %.2f ms  (%d/%d received)\n", n, r.p50, r.p99, r.got, n)
	fmt.Printf("  ratio p99 %d/%d streams: %.1f\n", n, 10, r.p99/base.p99)
	return nil
}

type result struct {
	p50, p99 float64
	got      int
	conns    int
	rss      int64
}

// round opens n streams over n/perOrder new orders, then changes every order once.
func (e *env) round(n, perOrder int) (*result, error) {
	nOrders := n / perOrder
	ids := make([]string, nOrders)
	for i := range ids {
		o, _, err := e.svc.Create(e.ctx, e.m, &orders.CreateParams{Amount: checkout.Unit, Network: checkout.TRC20, Tolerance: checkout.DefaultTolerance})
		if err != nil {
			return nil, err
		}
		ids[i] = o.ID
	}
	var (
		mu      sync.Mutex
		changed = map[string]time.Time{}
		lats    []time.Duration
		ready   sync.WaitGroup
		done    sync.WaitGroup
	)
	conns := make([]net.Conn, 0, n)
	sem := make(chan struct{}, 200)
	var dialErr error
	for i := 0; i < n; i++ {
		id := ids[i%nOrders]
		sem <- struct{}{}
		c, err := net.Dial("tcp", e.addr)
		<-sem
		if err != nil {
			dialErr = err
			break
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /v1/checkout/%s/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n", id)
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			r := bufio.NewReaderSize(c, 2048)
			first := true
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					if first {
						ready.Done()
					}
					return
				}
				if !strings.HasPrefix(line, "data:") {
					continue
				}
				if first {
					first = false
					ready.Done()
					continue
				}
				if strings.Contains(line, `"status":"CONFIRMING"`) {
					now := time.Now()
					mu.Lock()
					lats = append(lats, now.Sub(changed[id]))
					mu.Unlock()
					return
				}
			}
		}()
	}
	if dialErr != nil {
		return nil, fmt.Errorf("dial after %d streams: %w", len(conns), dialErr)
	}
	ready.Wait()
	res := &result{conns: edgeConns(e), rss: rss(e.edge.Process.Pid)}
	// One status change per order, committed as a settlement on any replica would.
	for i, id := range ids {
		rec, err := e.st.Order(e.ctx, id)
		if err != nil {
			return nil, err
		}
		t := &checkout.Transfer{Kind: checkout.TransferSeen, Network: checkout.TRC20, TxHash: fmt.Sprintf("0x%064x", i),
			Amount: checkout.Unit, Confirmations: 1, Required: 19, To: rec.Order.Address, From: "T"}
		now := time.Now()
		changes := checkout.Rules{}.Apply(&rec.Order, t, false, now).Changes
		mu.Lock()
		changed[id] = time.Now()
		mu.Unlock()
		if _, err := e.st.CommitOrder(e.ctx, rec, checkout.NewEvents(&rec.Order, changes, now, func() string { return "evt_bench" })); err != nil {
			return nil, err
		}
	}
	wait := make(chan struct{})
	go func() { done.Wait(); close(wait) }()
	select {
	case <-wait:
	case <-time.After(60 * time.Second):
	}
	for _, c := range conns {
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	if len(lats) == 0 {
		return nil, fmt.Errorf("no stream received the change")
	}
	res.got = len(lats)
	res.p50 = float64(lats[len(lats)/2].Microseconds()) / 1000
	res.p99 = float64(lats[len(lats)*99/100].Microseconds()) / 1000
	return res, nil
}

// edgeConns counts Redis connections that are not the benchmark's own.
func edgeConns(e *env) int {
	n := 0
	for _, line := range strings.Split(e.rdb.ClientList(e.ctx).Val(), "\n") {
		if strings.TrimSpace(line) != "" && !strings.Contains(line, "name=bench") {
			n++
		}
	}
	return n
}

// rss reads a process's resident set size in KiB.
func rss(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}

func waitUp(addr string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("edge did not start on %s", addr)
}
