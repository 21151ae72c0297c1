// Command memory measures the Redis memory each stored order costs: a real edge (the same
// api.Server as `edge serve`) creates N orders over signed HTTP on its own redis-server;
// INFO memory's used_memory before and after gives the bytes per open order. Then every order
// is paid as the watcher reports it (a confirmed transfer on the network's feed stream), the
// real settlement consumer makes it PAID and the real webhook dispatcher delivers its
// webhooks to a loopback receiver; used_memory again gives the bytes per finished order.
// After each phase every key of the private server is grouped by family (ids replaced by
// {id}) with MEMORY USAGE, so the table shows where the bytes are. Global keys (the change
// feed, the watch set, the expiry schedule, the watcher's feed stream) are shown divided by N.
// Last, every retention window passes (edge/retention's worker with a clock 91 days on, the
// watcher's feed trim, TTL keys deleted) and the memory left per finished order is measured.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/outbox"
	"github.com/mpchat/checkout/edge/retention"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/feed"
)

const prefix = "bench:"

func main() {
	n := flag.Int("orders", 2000, "orders to create and then pay")
	conc := flag.Int("c", 8, "concurrent clients creating orders")
	lpValue := flag.Int("hash-max-listpack-value", 0, "set the server's hash-max-listpack-value (0 = Redis's default, 64): above an order document's size, a trimmed order's hash is a listpack")
	flag.Parse()
	if err := run(*n, *conc, *lpValue); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n, conc, lpValue int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := redistest.Start()
	if err != nil {
		return err
	}
	defer srv.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 4 * conc})
	defer rdb.Close()
	if lpValue > 0 {
		if err := rdb.ConfigSet(ctx, "hash-max-listpack-value", strconv.Itoa(lpValue)).Err(); err != nil {
			return err
		}
	}
	st := store.New(rdb, prefix)
	quiet := slog.New(slog.DiscardHandler)

	// The merchant's webhook endpoint.
	var hooks atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hooks.Add(1)
		w.WriteHeader(204)
	})}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	s := &api.Server{Store: st, Orders: &orders.Service{Store: st, PublicURL: "https://pay.example"},
		Auth: &auth.Verifier{Keys: st}, RateLimit: 1_000_000, Log: quiet}
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fs := &fasthttp.Server{Handler: s.Handler()}
	go func() { _ = fs.Serve(eln) }()
	defer func() { _ = fs.Shutdown() }()

	xpub, err := deposit.DevAccountXPub(checkout.TRC20, 1)
	if err != nil {
		return err
	}
	k, err := deposit.ParseAccountXPub(xpub)
	if err != nil {
		return err
	}
	m := &checkout.Merchant{ID: ids.Merchant(), Name: "bench", XPubs: map[checkout.Network]string{checkout.TRC20: xpub},
		WebhookURL: "http://" + ln.Addr().String() + "/hooks", WebhookSecret: "whsec_bench"}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_bench"}
	if err := st.CreateMerchant(ctx, m, key, []string{k.Fingerprint()}); err != nil {
		return err
	}
	if err := st.EnsureFeedGroup(ctx, checkout.TRC20, settlement.DefaultGroup); err != nil {
		return err
	}

	base, baseDS, err := memory(ctx, rdb)
	if err != nil {
		return err
	}
	// Phase 1: N open orders, created as a merchant does (idempotency key, metadata).
	edge := "http://" + eln.Addr().String() + "/v1/orders"
	hc := &fasthttp.Client{MaxConnsPerHost: 2 * conc}
	idsCh := make(chan string, n)
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				id, err := create(hc, edge, key, i)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				idsCh <- id
			}
		}()
	}
	wg.Wait()
	close(idsCh)
	if firstErr != nil {
		return firstErr
	}
	var orderIDs []string
	for id := range idsCh {
		orderIDs = append(orderIDs, id)
	}
	open, openDS, err := memory(ctx, rdb)
	if err != nil {
		return err
	}
	openFam, err := census(ctx, rdb)
	if err != nil {
		return err
	}

	// Phase 2: pay every order in full as the watcher reports it, settle, deliver webhooks.
	for i, id := range orderIDs {
		rec, err := st.Order(ctx, id)
		if err != nil {
			return err
		}
		t := checkout.Transfer{Kind: checkout.TransferConfirmed, Network: checkout.TRC20,
			TxHash: common.BigToHash(big.NewInt(int64(i + 1))).Hex(), BlockNumber: 100 + uint64(i),
			BlockHash: common.BigToHash(big.NewInt(int64(1e9 + i))).Hex(),
			From:      deposit.Format(checkout.TRC20, common.BytesToAddress([]byte{0xf0, 0x0d})),
			To:        rec.Order.Address, Amount: rec.Order.PayAmount, Confirmations: 20, Required: 20,
			ObservedAt: time.Now().UTC()}
		b, err := json.Marshal(&t)
		if err != nil {
			return err
		}
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: prefix + checkout.FeedStream(checkout.TRC20),
			Values: []any{checkout.FeedField, b}}).Err(); err != nil {
			return err
		}
	}
	var paid atomic.Int64
	cons := &settlement.Consumer{Store: st, Network: checkout.TRC20, Block: 200 * time.Millisecond, Log: quiet,
		OnChange: func(_ string, evs []checkout.Event) {
			for _, e := range evs {
				if e.Type == checkout.EventPaymentConfirmed {
					paid.Add(1)
				}
			}
		}}
	disp := &outbox.Dispatcher{Store: st, Client: outbox.NewClient(true, 10*time.Second), Poll: 50 * time.Millisecond, Log: quiet}
	rctx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	running.Add(2)
	go func() { defer running.Done(); _ = cons.Run(rctx) }()
	go func() { defer running.Done(); disp.Run(rctx) }()
	settled := func() bool {
		due, _ := rdb.ZCard(ctx, prefix+"webhooks:{sched}:due").Result()
		claims, _ := rdb.ZCard(ctx, prefix+"webhooks:{sched}:claims").Result()
		return paid.Load() == int64(n) && due == 0 && claims == 0
	}
	deadline := time.Now().Add(5 * time.Minute)
	for !settled() {
		if time.Now().After(deadline) {
			stop()
			running.Wait()
			return fmt.Errorf("not settled in time: %d of %d paid, %d webhooks received", paid.Load(), n, hooks.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	running.Wait()
	for _, id := range orderIDs[:1] {
		rec, err := st.Order(ctx, id)
		if err != nil {
			return err
		}
		if rec.Order.Status != checkout.StatusPaid {
			return fmt.Errorf("order %s is %s after settlement", id, rec.Order.Status)
		}
	}
	done, doneDS, err := memory(ctx, rdb)
	if err != nil {
		return err
	}
	doneFam, err := census(ctx, rdb)
	if err != nil {
		return err
	}

	// Phase 3: every window passes. The retention worker runs as edge serve's does with its
	// default windows, its clock 91 days on; the watcher's feed step trims what the settlement
	// group acknowledged (retention 0 instead of the default 24h); keys with a TTL of at most
	// 24h (idempotency records, rate buckets, replay marks) are deleted, as their TTL would.
	rw := &retention.Worker{Store: st, Events: retention.DefaultEvents, Changes: retention.DefaultChanges,
		Records: retention.DefaultRecords, Log: quiet, Now: func() time.Time { return time.Now().Add(91 * 24 * time.Hour) }}
	rs, err := rw.Pass(ctx)
	if err != nil {
		return fmt.Errorf("retention pass: %w", err)
	}
	if rs.Trimmed != n {
		return fmt.Errorf("retention trimmed %d of %d orders (%+v)", rs.Trimmed, n, rs)
	}
	wf := feed.New(rdb, prefix, checkout.TRC20)
	wf.SetRetention(0)
	if ok, err := wf.Acquire(ctx, time.Minute); err != nil || !ok {
		return fmt.Errorf("watcher lease: %v %v", ok, err)
	}
	for i := 0; i <= n/1000; i++ {
		if err := wf.Commit(ctx, &feed.Step{Checkpoint: uint64(i + 1)}); err != nil {
			return err
		}
	}
	expired := 0
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator() // the program's own server
	for iter.Next(ctx) {
		if ttl, _ := rdb.TTL(ctx, iter.Val()).Result(); ttl > 0 && ttl <= 24*time.Hour {
			rdb.Del(ctx, iter.Val())
			expired++
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	aged, agedDS, err := memory(ctx, rdb)
	if err != nil {
		return err
	}
	agedFam, err := census(ctx, rdb)
	if err != nil {
		return err
	}

	sample, err := rdb.HGetAll(ctx, prefix+"order:{"+orderIDs[0]+"}").Result()
	if err != nil {
		return err
	}
	sampleUse, _ := rdb.MemoryUsage(ctx, prefix+"order:{"+orderIDs[0]+"}", 0).Result()
	enc, _ := rdb.ObjectEncoding(ctx, prefix+"order:{"+orderIDs[0]+"}").Result()

	// Empty the private server: what used_memory_dataset still counts then is held by no key
	// (process-wide buffers this workload left), so dataset − that is what the keys hold.
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		return err
	}
	_, emptyDS, err := memory(ctx, rdb)
	if err != nil {
		return err
	}

	ver, _ := rdb.Info(ctx, "server").Result()
	fmt.Printf("machine: %s/%s, %d CPUs, %s; redis %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), field(ver, "redis_version"))
	lp, _ := rdb.ConfigGet(ctx, "hash-max-listpack-value").Result()
	fmt.Printf("hash-max-listpack-value %s\n", lp["hash-max-listpack-value"])
	fmt.Printf("orders: %d TRC20 (description, one metadata key, Idempotency-Key); webhooks received: %d\n\n", n, hooks.Load())
	fmt.Printf("INFO memory used_memory: before %d B, %d open orders %d B, finished %d B\n", base, n, open, done)
	fmt.Printf("  per open order:     %6d B\n", (open-base)/int64(n))
	fmt.Printf("  per finished order: %6d B (PAID, webhooks delivered)\n", (done-base)/int64(n))
	fmt.Printf("  per finished order past every window: %6d B (used_memory %d B; retention: %d trimmed, %d addresses released, %d change entries; %d TTL keys deleted)\n\n",
		(aged-base)/int64(n), aged, rs.Trimmed, rs.Released, rs.Changes, expired)
	fmt.Printf("INFO memory used_memory_dataset (without Redis's overhead): before %d B, open %d B, finished %d B, past every window %d B\n", baseDS, openDS, doneDS, agedDS)
	fmt.Printf("  per open order: %d B; per finished order: %d B; past every window: %d B\n",
		(openDS-baseDS)/int64(n), (doneDS-baseDS)/int64(n), (agedDS-baseDS)/int64(n))
	fmt.Printf("  after FLUSHALL %d B are still counted (held by no key); the keys past every window hold %d B per order\n\n",
		emptyDS-baseDS, (agedDS-emptyDS)/int64(n))
	printCensus("open", openFam, n)
	printCensus("finished", doneFam, n)
	printCensus("finished, past every retention window", agedFam, n)
	fmt.Printf("one order record past every window: %d B (MEMORY USAGE, %s), fields:", sampleUse, enc)
	names := make([]string, 0, len(sample))
	for f := range sample {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		fmt.Printf(" %s (%d B)", f, len(sample[f]))
	}
	fmt.Println()
	return nil
}

func create(hc *fasthttp.Client, edge string, key *checkout.APIKey, i int64) (string, error) {
	body := []byte(`{"amount":"99.99","currency":"USDT","network":"TRC20","description":"bench order","metadata":{"cart":"c-` + strconv.FormatInt(i, 10) + `"}}`)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(edge)
	req.Header.SetMethod("POST")
	req.Header.Set("Authorization", client.Authorization(key.ID, key.Secret, time.Now().Unix(), "POST", "/v1/orders", body))
	req.Header.Set("Idempotency-Key", "bench-"+strconv.FormatInt(i, 10))
	req.SetBody(body)
	if err := hc.Do(req, resp); err != nil {
		return "", err
	}
	if resp.StatusCode() != 201 {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body())
	}
	var o struct{ ID string }
	if err := json.Unmarshal(resp.Body(), &o); err != nil || o.ID == "" {
		return "", fmt.Errorf("create response %q: %v", resp.Body(), err)
	}
	return o.ID, nil
}

// memory is INFO memory's used_memory and used_memory_dataset (used_memory less Redis's own
// overhead: client buffers, the keyspace's tables, replication and AOF buffers).
func memory(ctx context.Context, rdb *redis.Client) (used, dataset int64, err error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, 0, err
	}
	used, err1 := strconv.ParseInt(field(info, "used_memory"), 10, 64)
	dataset, err2 := strconv.ParseInt(field(info, "used_memory_dataset"), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("INFO memory: %v %v", err1, err2)
	}
	return used, dataset, nil
}

func field(info, name string) string {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
			return v
		}
	}
	return ""
}

type family struct {
	name  string
	keys  int
	bytes int64
	ttl   time.Duration // of one key; -1: none
	typ   string
}

var (
	tagRe    = regexp.MustCompile(`\{[^}]*\}`)
	suffixRe = regexp.MustCompile(`(:idem:|:next:|replay:\{id\}:|rate:[a-z-]+:).*$`)
)

// census groups every key of the private server by family with MEMORY USAGE (SAMPLES 0:
// every element of a collection counted). SCAN is fine here: the server is this program's.
func census(ctx context.Context, rdb *redis.Client) (map[string]*family, error) {
	fams := map[string]*family{}
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		u, err := rdb.MemoryUsage(ctx, k, 0).Result()
		if errors.Is(err, redis.Nil) {
			continue // expired since SCAN listed it (a rate bucket lasts milliseconds here)
		}
		if err != nil {
			return nil, err
		}
		name := suffixRe.ReplaceAllString(tagRe.ReplaceAllString(k, "{id}"), "$1*")
		f := fams[name]
		if f == nil {
			f = &family{name: name, ttl: -1}
			ttl, err := rdb.TTL(ctx, k).Result()
			if err != nil {
				return nil, err
			}
			f.ttl = ttl
			f.typ, _ = rdb.Type(ctx, k).Result()
			fams[name] = f
		}
		f.keys++
		f.bytes += u
	}
	return fams, iter.Err()
}

func printCensus(phase string, fams map[string]*family, n int) {
	list := make([]*family, 0, len(fams))
	var total int64
	for _, f := range fams {
		list = append(list, f)
		total += f.bytes
	}
	sort.Slice(list, func(i, j int) bool { return list[i].bytes > list[j].bytes })
	fmt.Printf("MEMORY USAGE by key family, %s orders (%d orders):\n", phase, n)
	fmt.Printf("| %-42s | %-6s | %6s | %10s | %9s | %-10s |\n", "key family", "type", "keys", "bytes", "B / order", "TTL")
	fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", strings.Repeat("-", 42), "------", "------", "----------", "---------", "----------")
	for _, f := range list {
		ttl := "none"
		if f.ttl > 0 {
			ttl = f.ttl.Round(time.Minute).String()
		}
		fmt.Printf("| %-42s | %-6s | %6d | %10d | %9d | %-10s |\n", "`"+f.name+"`", f.typ, f.keys, f.bytes, f.bytes/int64(n), ttl)
	}
	fmt.Printf("| %-42s | %-6s | %6s | %10d | %9d | %-10s |\n\n", "total (MEMORY USAGE)", "", "", total, total/int64(n), "")
}
