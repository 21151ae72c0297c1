// Command load drives the real `edge serve` binary over HTTP as an operator runs it: it builds
// the binary, starts it on a private redis-server with its default flags, makes a merchant and
// key with `edge merchant create`, and sends signed POST /v1/orders (and a mix with
// GET /v1/orders/{id}) from a fixed number of concurrent keep-alive clients. It reports
// creates/s, latency percentiles, what each create costs Redis (read events and commands, from
// INFO deltas: the edge is another process, so no client hook can count), the CPU the edge and
// Redis spent per create, and, in the same run against the same redis-server,
// `redis-benchmark -t set` at the same concurrency, so the figure that travels between
// machines is the ratio creates/s ÷ SET/s. Then it fills Redis with open orders through the
// API and measures again.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/bench/harness"
	"github.com/mpchat/checkout/bench/redisbench"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/redistest"
)

type config struct {
	conc       int
	dur        time.Duration
	open       int
	gets       int
	logLevel   string
	cpuProfile string
	edgeArgs   string
	rates      []float64 // offered create rates of the open-loop sweep; none: skip it
}

func main() {
	var c config
	flag.IntVar(&c.conc, "c", 64, "concurrent clients (keep-alive connections)")
	flag.DurationVar(&c.dur, "d", 8*time.Second, "measured duration of each phase")
	flag.IntVar(&c.open, "open", 100_000, "open orders to fill Redis with before the second round (0 = skip it)")
	flag.IntVar(&c.gets, "gets", 1, "GET /v1/orders/{id} per create in the mixed phase (0 = skip the mixed phase)")
	flag.StringVar(&c.logLevel, "edge-log-level", "info", "the edge's --log-level (info is its default; its log goes to a file)")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the edge during the first create phase to this file (builds the edge with -tags pprof)")
	flag.StringVar(&c.edgeArgs, "edge-args", "", "extra flags for edge serve, space separated")
	rates := flag.String("rates", "", "open-loop sweep: offered creates/s, comma separated (e.g. 500,1000,2000); each runs for -d over the -c connections")
	flag.Parse()
	for _, f := range strings.FieldsFunc(*rates, func(r rune) bool { return r == ',' }) {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "load: -rates: %q is not a positive rate\n", f)
			os.Exit(2)
		}
		c.rates = append(c.rates, v)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

type creds struct {
	MerchantID string `json:"merchant_id"`
	KeyID      string `json:"key_id"`
	Secret     string `json:"secret"`
}

type env struct {
	cfg     config
	rdb     *redis.Client
	edge    *exec.Cmd
	addr    string
	key     creds
	hc      *fasthttp.HostClient
	ids     idRing       // recently created order ids, for GETs
	created atomic.Int64 // orders created so far (all open: nothing pays them, none expire in a run)
	edgeLog string
}

func run(c config) error {
	ctx := context.Background()
	srv, err := redistest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	dir, err := os.MkdirTemp("", "bench-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	build := []string{"build", "-o", dir + "/"}
	if c.cpuProfile != "" {
		build = append(build, "-tags", "pprof")
	}
	if out, err := exec.Command("go", append(build, "github.com/mpchat/checkout/edge")...).CombinedOutput(); err != nil {
		return fmt.Errorf("build edge: %v %s", err, out)
	}
	bin := filepath.Join(dir, "edge")
	redisFlags := []string{"--redis", srv.URL}

	xpub, err := deposit.DevAccountXPub(checkout.TRC20, 7)
	if err != nil {
		return err
	}
	out, err := exec.Command(bin, append([]string{"merchant", "create", "--name", "load",
		"--trc20-xpub", xpub, "--rate-limit", "1000000"}, redisFlags...)...).Output()
	if err != nil {
		return fmt.Errorf("edge merchant create: %w", err)
	}
	e := &env{cfg: c, edgeLog: filepath.Join(dir, "edge.log")}
	if err := json.Unmarshal(out, &e.key); err != nil || e.key.Secret == "" {
		return fmt.Errorf("edge merchant create printed %q: %v", out, err)
	}
	e.addr, err = harness.FreeAddr()
	if err != nil {
		return err
	}
	metricsAddr, err := harness.FreeAddr()
	if err != nil {
		return err
	}
	args := append([]string{"serve", "--listen", e.addr, "--metrics-listen", metricsAddr, "--log-level", c.logLevel}, redisFlags...)
	args = append(args, strings.Fields(c.edgeArgs)...)
	e.edge = exec.Command(bin, args...)
	logf, err := os.Create(e.edgeLog)
	if err != nil {
		return err
	}
	defer logf.Close()
	e.edge.Stdout, e.edge.Stderr = logf, logf
	var pprofAddr string
	if c.cpuProfile != "" {
		if pprofAddr, err = harness.FreeAddr(); err != nil {
			return err
		}
		e.edge.Env = append(os.Environ(), "MP_PPROF_LISTEN="+pprofAddr)
	}
	if err := e.edge.Start(); err != nil {
		return err
	}
	defer func() { _ = e.edge.Process.Signal(syscall.SIGTERM); _, _ = e.edge.Process.Wait() }()
	if err := harness.WaitUp("http://" + metricsAddr + "/healthz"); err != nil {
		return err
	}
	e.rdb = redis.NewClient(&redis.Options{Addr: srv.Addr, ClientName: "bench-load"})
	defer e.rdb.Close()
	e.hc = &fasthttp.HostClient{Addr: e.addr, MaxConns: c.conc, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}

	fmt.Printf("machine: %s/%s, %d CPUs, %s, %s; load average %s\n", runtime.GOOS, runtime.GOARCH,
		runtime.NumCPU(), runtime.Version(), redisVersion(ctx, e.rdb), harness.LoadAvg())
	fmt.Printf("edge serve %s (log to a file)\n", strings.Join(args[1:], " "))

	// Warm up: connections, Redis script cache, the merchant cache.
	if _, err := e.phase(ctx, "warm-up", 2*time.Second, 0, 0); err != nil {
		return err
	}
	var prof chan error
	if c.cpuProfile != "" {
		prof = make(chan error, 1)
		go func() { prof <- fetchProfile(pprofAddr, c.dur, c.cpuProfile) }()
	}
	empty, err := e.phase(ctx, "create, empty", c.dur, 0, 0)
	if err != nil {
		return err
	}
	if prof != nil {
		if err := <-prof; err != nil {
			return err
		}
		fmt.Printf("edge CPU profile: %s\n", c.cpuProfile)
	}
	var emptyMix *result
	if c.gets > 0 {
		if emptyMix, err = e.phase(ctx, "mix, empty", c.dur, 0, c.gets); err != nil {
			return err
		}
	}
	var sweep []*result
	for _, rate := range c.rates {
		r, err := e.phaseAt(ctx, fmt.Sprintf("create at %.0f/s", rate), c.dur, rate)
		if err != nil {
			return err
		}
		sweep = append(sweep, r)
	}
	setOps, err := redisbench.SetRate(srv.Addr, c.conc, 300000)
	if err != nil {
		return err
	}
	fmt.Printf("redis-benchmark -c %d -t set (same server): %.0f SET/s\n", c.conc, setOps)
	fmt.Printf("ratio creates/s ÷ SET/s: %.3f\n", empty.rps/setOps)
	empty.setOps = setOps
	if emptyMix != nil {
		emptyMix.setOps = setOps
	}

	var full, fullMix *result
	if c.open > 0 {
		pending := int64(c.open) - e.created.Load()
		if pending > 0 {
			fmt.Printf("filling: %d more open orders through the API\n", pending)
			if _, err := e.phase(ctx, "fill", 0, pending, 0); err != nil {
				return err
			}
		}
		fmt.Printf("open orders in Redis now: %d\n", e.created.Load())
		if full, err = e.phase(ctx, "create, full", c.dur, 0, 0); err != nil {
			return err
		}
		if c.gets > 0 {
			if fullMix, err = e.phase(ctx, "mix, full", c.dur, 0, c.gets); err != nil {
				return err
			}
		}
		setFull, err := redisbench.SetRate(srv.Addr, c.conc, 300000)
		if err != nil {
			return err
		}
		fmt.Printf("redis-benchmark -c %d -t set (same server, full): %.0f SET/s\n", c.conc, setFull)
		full.setOps = setFull
		if fullMix != nil {
			fullMix.setOps = setFull
		}
		fmt.Printf("ratio creates/s ÷ SET/s (full): %.3f\n", full.rps/setFull)
		fmt.Printf("full ÷ empty: creates/s %.2f, p99 %.2f\n", full.rps/empty.rps, full.p(99)/empty.p(99))
	}

	if len(sweep) > 0 {
		fmt.Println()
		fmt.Printf("| offered creates/s (%d connections) | achieved | p50 | p95 | p99 | p99.9 | edge CPU/create |\n", c.conc)
		fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
		for _, r := range sweep {
			fmt.Printf("| %.0f | %.0f | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.0f µs |\n", r.offered, r.rps,
				r.p(50), r.p(95), r.p(99), pct1000(r.lat, 999), us(r.edgeCPU)/float64(r.creates))
		}
	}
	// One markdown row per phase, for bench/README.md.
	fmt.Println()
	fmt.Println("| phase | creates/s | p50 | p95 | p99 | GET p50 / p99 | Redis reads/create | commands/create | edge CPU/create | SET/s | ratio |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range []*result{empty, emptyMix, full, fullMix} {
		if r != nil {
			fmt.Println(r.row())
		}
	}
	return nil
}

// result is one phase's measurement.
type result struct {
	name           string
	creates, gets  int
	elapsed        time.Duration
	rps            float64 // creates per second
	lat, getLat    []time.Duration
	reads, cmds    float64 // Redis read events and commands per request
	edgeCPU        time.Duration
	redisCPU       time.Duration
	genCPU         time.Duration
	requestsPerSec float64
	setOps         float64         // redis-benchmark SET/s of the same round
	offered        float64         // the open-loop phase's offered rate (creates/s); 0 in closed-loop phases
	pingLat        []time.Duration // Redis PING latencies during an open-loop phase
}

func pct1000(l []time.Duration, q int) float64 {
	if len(l) == 0 {
		return 0
	}
	return float64(l[(len(l)-1)*q/1000].Microseconds()) / 1000
}

func (r *result) p(q int) float64 { return pct(r.lat, q) }

func pct(l []time.Duration, q int) float64 {
	if len(l) == 0 {
		return 0
	}
	return float64(l[(len(l)-1)*q/100].Microseconds()) / 1000
}

func (r *result) row() string {
	setOps := r.setOps
	get := "—"
	if len(r.getLat) > 0 {
		get = fmt.Sprintf("%.2f / %.2f ms", pct(r.getLat, 50), pct(r.getLat, 99))
	}
	per := float64(r.creates + r.gets)
	return fmt.Sprintf("| %s | %.0f | %.2f ms | %.2f ms | %.2f ms | %s | %.2f | %.2f | %.0f µs | %.0f | %.3f |",
		r.name, r.rps, r.p(50), r.p(95), r.p(99), get, r.reads, r.cmds,
		float64(r.edgeCPU.Microseconds())/per, setOps, r.rps/setOps)
}

// phase runs the clients for dur (or until total creates when dur is 0), each sending a create
// followed by gets GETs of recently created orders.
func (e *env) phase(ctx context.Context, name string, dur time.Duration, total int64, gets int) (*result, error) {
	idle, err := e.idleReads(ctx)
	if err != nil {
		return nil, err
	}
	before, err := redisStats(ctx, e.rdb)
	if err != nil {
		return nil, err
	}
	edge0, gen0 := harness.ProcCPU(e.edge.Process.Pid), harness.SelfCPU()
	var (
		mu        sync.Mutex
		lats      []time.Duration
		getLats   []time.Duration
		failed    atomic.Int64
		firstErr  atomic.Value
		remaining atomic.Int64
		wg        sync.WaitGroup
	)
	remaining.Store(total)
	start := time.Now()
	deadline := start.Add(dur)
	for w := 0; w < e.cfg.conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := e.newClient(w)
			defer c.release()
			var myLat, myGet []time.Duration
			for {
				if dur > 0 && !time.Now().Before(deadline) {
					break
				}
				if dur == 0 && remaining.Add(-1) < 0 {
					break
				}
				d, id, err := c.create()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					if failed.Load() > 100 {
						break
					}
					continue
				}
				myLat = append(myLat, d)
				e.created.Add(1)
				e.ids.put(id)
				for range gets {
					d, err := c.get(e.ids.pick(w))
					if err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
						continue
					}
					myGet = append(myGet, d)
				}
			}
			mu.Lock()
			lats, getLats = append(lats, myLat...), append(getLats, myGet...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		return nil, fmt.Errorf("%s: %d requests failed, the first: %v", name, n, firstErr.Load())
	}
	after, err := redisStats(ctx, e.rdb)
	if err != nil {
		return nil, err
	}
	r := &result{name: name, creates: len(lats), gets: len(getLats), elapsed: elapsed, lat: lats, getLat: getLats,
		edgeCPU: harness.ProcCPU(e.edge.Process.Pid) - edge0, genCPU: harness.SelfCPU() - gen0,
		redisCPU: after.cpu - before.cpu}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	sort.Slice(r.getLat, func(i, j int) bool { return r.getLat[i] < r.getLat[j] })
	r.rps = float64(r.creates) / elapsed.Seconds()
	r.requestsPerSec = float64(r.creates+r.gets) / elapsed.Seconds()
	// The INFO call between the two snapshots is one read and one command; the edge's own
	// background work (expiry, feeds, outbox) is subtracted at its idle rate.
	reqs := float64(r.creates + r.gets)
	r.reads = (float64(after.reads-before.reads) - 1 - idle.reads*elapsed.Seconds()) / reqs
	r.cmds = (float64(after.cmds-before.cmds) - 1 - idle.cmds*elapsed.Seconds()) / reqs
	fmt.Printf("%-14s %7d creates %6d gets in %5.2fs: %6.0f creates/s (%6.0f req/s)  create p50 %.2f p95 %.2f p99 %.2f ms",
		name, r.creates, r.gets, elapsed.Seconds(), r.rps, r.requestsPerSec, r.p(50), r.p(95), r.p(99))
	if gets > 0 {
		fmt.Printf("  get p50 %.2f p99 %.2f ms", pct(r.getLat, 50), pct(r.getLat, 99))
	}
	fmt.Printf("\n%-14s Redis per request: %.2f reads, %.2f commands; CPU per request: edge %.0f µs, redis %.0f µs, generator %.0f µs\n",
		"", r.reads, r.cmds, us(r.edgeCPU)/reqs, us(r.redisCPU)/reqs, us(r.genCPU)/reqs)
	return r, nil
}

// phaseAt offers creates at a fixed rate for dur, spread over the connections (open loop):
// connection w sends its i-th create at start + (i·conc + w)/rate whether or not the previous
// one has returned, and a create's latency counts from that intended send time, so time spent
// queued behind a slow one is measured (no coordinated omission). Closed-loop phases measure
// the box's capacity (at saturation a latency is just connections ÷ throughput); this one
// measures the latency a shop sees at a given load.
func (e *env) phaseAt(ctx context.Context, name string, dur time.Duration, rate float64) (*result, error) {
	edge0, gen0 := harness.ProcCPU(e.edge.Process.Pid), harness.SelfCPU()
	var (
		mu       sync.Mutex
		lats     []time.Duration
		failed   atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	interval := time.Duration(float64(e.cfg.conc) / rate * float64(time.Second))
	// A PING every 2 ms on a connection of its own tells Redis's own stalls from the edge's.
	pingCtx, stopPing := context.WithCancel(ctx)
	pings := make(chan []time.Duration, 1)
	go func() {
		var l []time.Duration
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-pingCtx.Done():
				pings <- l
				return
			case <-tick.C:
				t0 := time.Now()
				if e.rdb.Ping(pingCtx).Err() == nil {
					l = append(l, time.Since(t0))
				}
			}
		}
	}()
	start := time.Now()
	deadline := start.Add(dur)
	for w := 0; w < e.cfg.conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := e.newClient(w)
			defer c.release()
			var my []time.Duration
			for next := start.Add(interval * time.Duration(w) / time.Duration(e.cfg.conc)); next.Before(deadline); next = next.Add(interval) {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				_, id, err := c.create()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				my = append(my, time.Since(next))
				e.created.Add(1)
				e.ids.put(id)
			}
			mu.Lock()
			lats = append(lats, my...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopPing()
	pl := <-pings
	sort.Slice(pl, func(i, j int) bool { return pl[i] < pl[j] })
	if n := failed.Load(); n > 0 {
		return nil, fmt.Errorf("%s: %d requests failed, the first: %v", name, n, firstErr.Load())
	}
	r := &result{name: name, creates: len(lats), elapsed: elapsed, lat: lats, offered: rate, pingLat: pl,
		edgeCPU: harness.ProcCPU(e.edge.Process.Pid) - edge0, genCPU: harness.SelfCPU() - gen0}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	r.rps = float64(r.creates) / elapsed.Seconds()
	fmt.Printf("%-18s %7d creates in %5.2fs: %6.0f creates/s  p50 %.2f p95 %.2f p99 %.2f p99.9 %.2f ms; edge CPU %.0f µs/create; Redis PING p99 %.2f max %.2f ms\n",
		name, r.creates, elapsed.Seconds(), r.rps, r.p(50), r.p(95), r.p(99), pct1000(r.lat, 999), us(r.edgeCPU)/float64(max(r.creates, 1)),
		pct(pl, 99), pct(pl, 100))
	return r, nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// client is one worker's connection state: a request and response it reuses, and its HMAC.
type client struct {
	e        *env
	w        int
	seq      int64
	req      *fasthttp.Request
	resp     *fasthttp.Response
	mac      hash.Hash
	body     []byte
	sig      []byte
	header   []byte
	emptySum [64]byte
}

func (e *env) newClient(w int) *client {
	c := &client{e: e, w: w, req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse(),
		mac: hmac.New(sha256.New, []byte(e.key.Secret))}
	sum := sha256.Sum256(nil)
	hex.Encode(c.emptySum[:], sum[:])
	return c
}

func (c *client) release() {
	fasthttp.ReleaseRequest(c.req)
	fasthttp.ReleaseResponse(c.resp)
}

// authorization signs as the SDK does (client.Signature), reusing this worker's buffers.
func (c *client) authorization(method, path string, bodySum []byte) []byte {
	ts := time.Now().Unix()
	c.mac.Reset()
	c.sig = strconv.AppendInt(c.sig[:0], ts, 10)
	c.sig = append(c.sig, '\n')
	c.sig = append(c.sig, method...)
	c.sig = append(c.sig, '\n')
	c.sig = append(c.sig, path...)
	c.sig = append(c.sig, '\n')
	c.sig = append(c.sig, bodySum...)
	c.mac.Write(c.sig)
	var mac [sha256.Size]byte
	var macHex [64]byte
	hex.Encode(macHex[:], c.mac.Sum(mac[:0]))
	c.header = append(c.header[:0], "Bearer "...)
	c.header = append(c.header, c.e.key.KeyID...)
	c.header = append(c.header, ':')
	c.header = strconv.AppendInt(c.header, ts, 10)
	c.header = append(c.header, ':')
	c.header = append(c.header, macHex[:]...)
	return c.header
}

var orderID = regexp.MustCompile(`"id":"(ord_[0-9A-Z]{26})"`)

// create sends one POST /v1/orders with a body unique to this request (a merchant's cart id),
// so no two requests carry the same signature.
func (c *client) create() (time.Duration, string, error) {
	c.seq++
	c.body = append(c.body[:0], `{"amount":"99.99","currency":"USDT","network":"TRC20","description":"load","metadata":{"cart":"`...)
	c.body = strconv.AppendInt(c.body, int64(c.w), 10)
	c.body = append(c.body, '-')
	c.body = strconv.AppendInt(c.body, c.seq, 10)
	c.body = append(c.body, `"}}`...)
	sum := sha256.Sum256(c.body)
	var sumHex [64]byte
	hex.Encode(sumHex[:], sum[:])
	req := c.req
	req.Reset()
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://" + c.e.addr + "/v1/orders")
	req.Header.SetContentType("application/json")
	req.Header.SetBytesV("Authorization", c.authorization("POST", "/v1/orders", sumHex[:]))
	req.SetBody(c.body)
	t0 := time.Now()
	c.resp.Reset()
	if err := c.e.hc.Do(req, c.resp); err != nil {
		return 0, "", err
	}
	d := time.Since(t0)
	if c.resp.StatusCode() != 201 {
		return 0, "", fmt.Errorf("POST /v1/orders: %d %s", c.resp.StatusCode(), c.resp.Body())
	}
	m := orderID.FindSubmatch(c.resp.Body())
	if m == nil {
		return 0, "", fmt.Errorf("POST /v1/orders: no order id in %s", c.resp.Body())
	}
	return d, string(m[1]), nil
}

// get sends one GET /v1/orders/{id}.
func (c *client) get(id string) (time.Duration, error) {
	path := "/v1/orders/" + id
	req := c.req
	req.Reset()
	req.Header.SetMethod("GET")
	req.SetRequestURI("http://" + c.e.addr + path)
	req.Header.SetBytesV("Authorization", c.authorization("GET", path, c.emptySum[:]))
	t0 := time.Now()
	c.resp.Reset()
	if err := c.e.hc.Do(req, c.resp); err != nil {
		return 0, err
	}
	d := time.Since(t0)
	if c.resp.StatusCode() != 200 || !bytes.Contains(c.resp.Body(), []byte(id)) {
		return 0, fmt.Errorf("GET %s: %d %s", path, c.resp.StatusCode(), c.resp.Body())
	}
	return d, nil
}

// idRing holds the last created order ids; a GET picks one of them (recent orders are what a
// merchant polls).
type idRing struct {
	mu  sync.Mutex
	ids [4096]string
	n   int
}

func (r *idRing) put(id string) {
	r.mu.Lock()
	r.ids[r.n%len(r.ids)] = id
	r.n++
	r.mu.Unlock()
}

func (r *idRing) pick(w int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(r.n, len(r.ids))
	return r.ids[(r.n*7+w)%n]
}

type stats struct {
	reads, cmds int64
	cpu         time.Duration
}

var infoField = regexp.MustCompile(`(?m)^(total_reads_processed|total_commands_processed|used_cpu_sys|used_cpu_user):([0-9.]+)\r?$`)

// redisStats reads the server's read events (one per round trip that reaches it: a command
// or a whole pipeline from one connection), commands and CPU in one INFO.
func redisStats(ctx context.Context, rdb *redis.Client) (stats, error) {
	s, err := rdb.Info(ctx, "stats", "cpu").Result()
	if err != nil {
		return stats{}, fmt.Errorf("redis INFO: %w", err)
	}
	var st stats
	for _, m := range infoField.FindAllStringSubmatch(s, -1) {
		switch m[1] {
		case "total_reads_processed":
			st.reads, _ = strconv.ParseInt(m[2], 10, 64)
		case "total_commands_processed":
			st.cmds, _ = strconv.ParseInt(m[2], 10, 64)
		default:
			f, _ := strconv.ParseFloat(m[2], 64)
			st.cpu += time.Duration(f * float64(time.Second))
		}
	}
	return st, nil
}

// idleReads is the rate of the edge's background Redis traffic with no requests (its
// expiry, settlement feed and webhook workers), over one second.
func (e *env) idleReads(ctx context.Context) (struct{ reads, cmds float64 }, error) {
	var r struct{ reads, cmds float64 }
	a, err := redisStats(ctx, e.rdb)
	if err != nil {
		return r, err
	}
	t0 := time.Now()
	time.Sleep(time.Second)
	b, err := redisStats(ctx, e.rdb)
	if err != nil {
		return r, err
	}
	s := time.Since(t0).Seconds()
	r.reads, r.cmds = math0(float64(b.reads-a.reads-1)/s), math0(float64(b.cmds-a.cmds-1)/s)
	return r, nil
}

func math0(f float64) float64 { return max(f, 0) }

func fetchProfile(addr string, d time.Duration, file string) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())))
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// procCPU is a process's user+system CPU time from /proc (Linux).

func redisVersion(ctx context.Context, rdb *redis.Client) string {
	s, _ := rdb.Info(ctx, "server").Result()
	if m := regexp.MustCompile(`redis_version:(\S+)`).FindStringSubmatch(s); m != nil {
		return "Redis " + m[1]
	}
	return "Redis ?"
}
