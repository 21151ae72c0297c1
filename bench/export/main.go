// Command export measures `edge export`: orders per second and the peak RSS of the export
// process at two sizes of a merchant's history (default 10,000 then 100,000 orders), so the
// figures show whether memory stays flat as the history grows. It starts its own
// redis-server, creates the orders with the real create path (orders.Service, as POST
// /v1/orders does, metadata included) and pays every second one as the watcher reports it (a
// confirmed transfer on the feed, applied by the real settlement consumer), then builds the
// edge binary and runs `edge export` over the whole history as an operator would, its stdout
// counted and dropped. Peak RSS is the child's getrusage maxrss; an export of an empty window
// (the process's fixed cost) is measured in the same run as the baseline.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/bench/harness"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

const prefix = "bench:"

func main() {
	sizes := flag.String("orders", "10000,100000", "history sizes to export at, ascending, comma-separated")
	conc := flag.Int("c", 4, "concurrent creators")
	payEvery := flag.Int("pay-every", 2, "pay every Nth order (a confirmed payment on it)")
	flag.Parse()
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 || len(ns) > 0 && n <= ns[len(ns)-1] {
			fmt.Fprintf(os.Stderr, "bench: -orders %q: want ascending positive counts\n", *sizes)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	if err := run(ns, *conc, *payEvery); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(sizes []int, conc, payEvery int) error {
	ctx := context.Background()
	srv, err := redistest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 4 * conc})
	defer rdb.Close()
	st := store.New(rdb, prefix)
	quiet := slog.New(slog.DiscardHandler)

	dir, err := os.MkdirTemp("", "bench-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	edge := filepath.Join(dir, "edge")
	if out, err := exec.Command("go", "build", "-o", edge, "github.com/mpchat/checkout/edge").CombinedOutput(); err != nil {
		return fmt.Errorf("go build edge: %v\n%s", err, out)
	}

	xpub, err := deposit.DevAccountXPub(checkout.TRC20, 1)
	if err != nil {
		return err
	}
	k, err := deposit.ParseAccountXPub(xpub)
	if err != nil {
		return err
	}
	m := &checkout.Merchant{ID: ids.Merchant(), Name: "bench", XPubs: map[checkout.Network]string{checkout.TRC20: xpub},
		WebhookSecret: "whsec_bench", OrderTTL: 168 * time.Hour}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_bench"}
	if err := st.CreateMerchant(ctx, m, key, []string{k.Fingerprint()}); err != nil {
		return err
	}
	if err := st.EnsureFeedGroup(ctx, checkout.TRC20, settlement.DefaultGroup); err != nil {
		return err
	}
	svc := &orders.Service{Store: st, PublicURL: "https://pay.example", Log: quiet}
	cons := &settlement.Consumer{Store: st, Network: checkout.TRC20, Block: 50 * time.Millisecond, Log: quiet}

	fmt.Printf("machine: %d CPUs, load average %s\n", nproc(), harness.LoadAvg())
	base, err := exportRun(edge, srv.URL, m.ID, "2000-01-01", "2000-01-02", "ndjson")
	if err != nil {
		return err
	}
	fmt.Printf("baseline (empty window): peak RSS %.1f MiB, %s\n", base.rssMiB, base.wall.Round(time.Millisecond))
	fmt.Println("| orders | format | paid | seconds | orders/s | MiB/s out | output MiB | peak RSS MiB | RSS / baseline |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	have := 0
	for _, n := range sizes {
		t0 := time.Now()
		if err := create(ctx, svc, st, m, cons, rdb, have, n, conc, payEvery); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "seeded %d orders in %s\n", n, time.Since(t0).Round(time.Second))
		have = n
		for _, f := range []string{"ndjson", "csv"} {
			r, err := exportRun(edge, srv.URL, m.ID, "2000-01-01", "", f)
			if err != nil {
				return err
			}
			if r.orders != n {
				return fmt.Errorf("export of %d orders wrote %d", n, r.orders)
			}
			secs := r.wall.Seconds()
			fmt.Printf("| %d | %s | %d | %.2f | %.0f | %.1f | %.1f | %.1f | %.2f |\n", n, f, n/payEvery, secs,
				float64(n)/secs, float64(r.bytes)/secs/(1<<20), float64(r.bytes)/(1<<20), r.rssMiB, r.rssMiB/base.rssMiB)
		}
	}
	return nil
}

// create brings the merchant's history from `from` to `to` orders, paying every payEvery-th.
func create(ctx context.Context, svc *orders.Service, st *store.Store, m *checkout.Merchant, cons *settlement.Consumer,
	rdb *redis.Client, from, to, conc, payEvery int) error {
	var next atomic.Int64
	next.Store(int64(from))
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= to; i = int(next.Add(1)) {
				err := createOne(ctx, svc, rdb, m, i, payEvery)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	want := (to / payEvery) - (from / payEvery)
	for applied := 0; applied < want; {
		n, err := cons.Poll(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("settlement stalled at %d of %d payments", applied, want)
		}
		applied += n
	}
	return nil
}

func createOne(ctx context.Context, svc *orders.Service, rdb *redis.Client, m *checkout.Merchant, i, payEvery int) error {
	body := fmt.Sprintf(`{"amount":"%d.%06d","currency":"USDT","network":"TRC20","description":"order %d",`+
		`"metadata":{"cart":"c-%d","customer":"cus_%08d","channel":"web"}}`, 1+i%500, i%1000000, i, i, i)
	p, err := orders.ParseCreate([]byte(body), "", orders.Policy{})
	if err != nil {
		return err
	}
	o, _, err := svc.Create(ctx, m, p)
	if err != nil {
		return err
	}
	if i%payEvery != 0 {
		return nil
	}
	t := checkout.Transfer{Kind: checkout.TransferConfirmed, Network: checkout.TRC20,
		TxHash: common.BigToHash(big.NewInt(int64(i))).Hex(), BlockNumber: 100 + uint64(i),
		BlockHash: common.BigToHash(big.NewInt(int64(1e9 + i))).Hex(),
		From:      deposit.Format(checkout.TRC20, common.BytesToAddress([]byte{0xf0, 0x0d})),
		To:        o.Address, Amount: o.PayAmount, Confirmations: 20, Required: 20, ObservedAt: time.Now().UTC()}
	b, err := json.Marshal(&t)
	if err != nil {
		return err
	}
	return rdb.XAdd(ctx, &redis.XAddArgs{Stream: prefix + checkout.FeedStream(checkout.TRC20),
		Values: []any{checkout.FeedField, b}}).Err()
}

type result struct {
	orders int
	bytes  int64
	wall   time.Duration
	rssMiB float64
}

// exportRun runs `edge export` as a child process and measures it.
func exportRun(edge, redisURL, merchant, since, until, format string) (result, error) {
	args := []string{"export", "--redis", redisURL, "--redis-prefix", prefix, "--merchant", merchant,
		"--since", since, "--format", format}
	if until != "" {
		args = append(args, "--until", until)
	}
	cmd := exec.Command(edge, args...)
	var out counter
	var errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("edge export: %v\n%s", err, errOut.String())
	}
	r := result{wall: time.Since(t0), bytes: out.bytes}
	if format == "csv" {
		r.orders = int(out.lines) - 1
	} else {
		r.orders = int(out.lines)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssMiB = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	return r, nil
}

// counter counts what the export writes: bytes and newlines (one a record: no field of these
// orders holds a newline).
type counter struct{ bytes, lines int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.bytes += int64(len(p))
	for _, b := range p {
		if b == '\n' {
			c.lines++
		}
	}
	return len(p), nil
}

var _ io.Writer = (*counter)(nil)

func nproc() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	var n int
	fmt.Sscan(string(out), &n)
	return n
}
