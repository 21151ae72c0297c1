// Command soak runs the real `edge serve` binary for a while at a fixed order rate with short
// retention windows and tabulates Redis memory per minute, to show that what a finished order
// leaves behind stops growing once its windows roll over. It builds the edge, starts it on a
// private redis-server with --retain-* windows of -window (default 1m), makes a merchant with
// `edge merchant create` whose webhook URL is a loopback receiver, then every tick creates
// orders by signed POST /v1/orders and pays each one as the watcher reports it (a confirmed
// transfer appended through watcher/feed, the watcher's own lease-fenced step, which also
// trims the feed of what the settlement group acknowledged, with --feed-retention -window).
// The edge settles them (PAID) and delivers their webhooks; its retention worker trims them.
//
// Each minute it prints INFO used_memory, the memory of the replay marks (the one family
// bounded by a TTL longer than the windows here: 2× the 300 s signature window, so it grows
// for the first 10 minutes whatever retention does) and used_memory without them, with the
// growth per order created in that minute. Orders are never deleted (the order document is
// the system of record until exported), so "flat" means the growth per order settles at the
// trimmed order's size. At the end it checks that an order past its window still answers
// GET /v1/orders/{id} as PAID with its payment.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/bench/harness"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/feed"
)

const prefix = "mp:" // edge serve's default --redis-prefix

func main() {
	d := flag.Duration("d", 10*time.Minute, "how long to run")
	rate := flag.Int("rate", 10, "orders created and paid per second")
	window := flag.Duration("window", time.Minute, "every retention window (--retain-events, --retain-addresses, --retain-changes, --retain-records, the feed's retention)")
	every := flag.Duration("sample", time.Minute, "how often to sample memory")
	flag.Parse()
	if err := run(*d, *rate, *window, *every); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

type creds struct {
	MerchantID string `json:"merchant_id"`
	KeyID      string `json:"key_id"`
	Secret     string `json:"secret"`
}

func run(d time.Duration, rate int, window, every time.Duration) error {
	ctx := context.Background()
	srv, err := redistest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	dir, err := os.MkdirTemp("", "bench-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/mpchat/checkout/edge").CombinedOutput(); err != nil {
		return fmt.Errorf("build edge: %v %s", err, out)
	}
	bin := filepath.Join(dir, "edge")

	var hooks atomic.Int64
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hooks.Add(1)
		w.WriteHeader(204)
	})}
	go func() { _ = hs.Serve(hl) }()
	defer hs.Close()

	xpub, err := deposit.DevAccountXPub(checkout.TRC20, 9)
	if err != nil {
		return err
	}
	redisFlags := []string{"--redis", srv.URL}
	out, err := exec.Command(bin, append([]string{"merchant", "create", "--name", "soak", "--trc20-xpub", xpub,
		"--rate-limit", "1000000", "--dev", "--webhook-url", "http://" + hl.Addr().String() + "/hook"}, redisFlags...)...).Output()
	if err != nil {
		return fmt.Errorf("edge merchant create: %w", err)
	}
	var key creds
	if err := json.Unmarshal(out, &key); err != nil || key.Secret == "" {
		return fmt.Errorf("edge merchant create printed %q: %v", out, err)
	}
	addr, err := harness.FreeAddr()
	if err != nil {
		return err
	}
	metrics, err := harness.FreeAddr()
	if err != nil {
		return err
	}
	w := window.String()
	args := append([]string{"serve", "--listen", addr, "--metrics-listen", metrics, "--log-level", "warn",
		"--webhook-allow-private", "--retain-events", w, "--retain-addresses", w, "--retain-changes", w,
		"--retain-records", w, "--retention-interval", "5s"}, redisFlags...)
	edge := exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(dir, "edge.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	edge.Stdout, edge.Stderr = logf, logf
	if err := edge.Start(); err != nil {
		return err
	}
	defer func() { _ = edge.Process.Signal(syscall.SIGTERM); _, _ = edge.Process.Wait() }()
	if err := harness.WaitUp("http://" + metrics + "/healthz"); err != nil {
		return err
	}

	wf := feed.New(rdb, prefix, checkout.TRC20)
	wf.SetRetention(window)
	if ok, err := wf.Acquire(ctx, time.Hour); err != nil || !ok {
		return fmt.Errorf("watcher lease: %v %v", ok, err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + addr

	fmt.Printf("machine: %s/%s, %d CPUs, %s; load average %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), harness.LoadAvg())
	fmt.Printf("edge %s\n", strings.Join(args[1:len(args)-2], " "))
	fmt.Printf("%d orders/s for %s, each paid in full (TRC20, confirmed), webhooks to a loopback receiver\n\n", rate, d)
	fmt.Println("| minute | orders | PAID webhooks | used_memory | replay marks | used_memory − replay marks | growth / order that minute |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|")

	var created []string
	var block uint64 = 1000
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	perTick := max(1, rate/5)
	start := time.Now()
	nextSample := start.Add(every)
	var lastMem, lastOrders int64
	if lastMem, err = usedMemory(ctx, rdb); err != nil {
		return err
	}
	minute := 0
	for time.Since(start) < d {
		<-tick.C
		var step feed.Step
		for i := 0; i < perTick; i++ {
			o, err := create(hc, base, &key)
			if err != nil {
				return err
			}
			created = append(created, o.ID)
			block++
			step.Emit = append(step.Emit, checkout.Transfer{Kind: checkout.TransferConfirmed, Network: checkout.TRC20,
				TxHash: common.BigToHash(big.NewInt(int64(block))).Hex(), BlockNumber: block,
				BlockHash: common.BigToHash(big.NewInt(int64(1e9) + int64(block))).Hex(),
				From:      deposit.Format(checkout.TRC20, common.BytesToAddress([]byte{0xf0, 0x0d})),
				To:        o.Address, Amount: o.PayAmount, Confirmations: 20, Required: 20, ObservedAt: time.Now().UTC()})
		}
		step.Checkpoint = block
		if err := wf.Commit(ctx, &step); err != nil {
			return err
		}
		if time.Now().After(nextSample) {
			nextSample = nextSample.Add(every)
			minute++
			mem, err := usedMemory(ctx, rdb)
			if err != nil {
				return err
			}
			replay, err := familyBytes(ctx, rdb, prefix+"replay:*")
			if err != nil {
				return err
			}
			n := int64(len(created))
			growth := "-"
			if n > lastOrders {
				growth = strconv.FormatInt((mem-replay-lastMem)/(n-lastOrders), 10) + " B"
			}
			fmt.Printf("| %d | %d | %d | %d | %d | %d | %s |\n", minute, n, hooks.Load(), mem, replay, mem-replay, growth)
			lastMem, lastOrders = mem-replay, n
		}
	}
	// An order from the first tick is past every window: GET still answers it, PAID with its
	// payment.
	first := created[0]
	var o checkout.Order
	if err := get(hc, base, &key, "/v1/orders/"+first, &o); err != nil {
		return err
	}
	if o.Status != checkout.StatusPaid || len(o.Payments) != 1 {
		return fmt.Errorf("order %s past its window: %s with %d payments", first, o.Status, len(o.Payments))
	}
	fields, _ := rdb.HKeys(ctx, prefix+"order:{"+first+"}").Result()
	fmt.Printf("\nfirst order %s past its window: GET answers %s, %s paid, %d payment; its record's fields: %s\n",
		first, o.Status, o.AmountPaid, len(o.Payments), strings.Join(fields, " "))
	return nil
}

var carts atomic.Int64

func create(hc *http.Client, base string, key *creds) (*checkout.Order, error) {
	// A cart number of its own: two identical signed requests in one second are one replayed.
	body := []byte(`{"amount":"25.00","currency":"USDT","network":"TRC20","description":"soak order","metadata":{"cart":"c-` +
		strconv.FormatInt(carts.Add(1), 10) + `"}}`)
	req, err := http.NewRequest("POST", base+"/v1/orders", strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", client.Authorization(key.KeyID, key.Secret, time.Now().Unix(), "POST", "/v1/orders", body))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		return nil, fmt.Errorf("create: status %d: %s", resp.StatusCode, b)
	}
	var o checkout.Order
	if err := json.Unmarshal(b, &o); err != nil || o.ID == "" {
		return nil, fmt.Errorf("create response %q: %v", b, err)
	}
	return &o, nil
}

func get(hc *http.Client, base string, key *creds, path string, v any) error {
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", client.Authorization(key.KeyID, key.Secret, time.Now().Unix(), "GET", path, nil))
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("no used_memory in INFO memory")
}

// familyBytes is the MEMORY USAGE of every key matching pattern (SCAN is fine: the server is
// this program's own).
func familyBytes(ctx context.Context, rdb *redis.Client, pattern string) (int64, error) {
	var total int64
	it := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	var keys []string
	flush := func() error {
		cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.MemoryUsage(ctx, k, 0)
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for _, c := range cmds {
			if n, err := c.(*redis.IntCmd).Result(); err == nil {
				total += n
			}
		}
		keys = keys[:0]
		return nil
	}
	for it.Next(ctx) {
		if keys = append(keys, it.Val()); len(keys) == 500 {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := it.Err(); err != nil {
		return 0, err
	}
	return total, flush()
}
