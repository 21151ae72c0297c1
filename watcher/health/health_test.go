package health_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/promtext"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
	"github.com/mpchat/checkout/watcher/evm"
	"github.com/mpchat/checkout/watcher/feed"
	"github.com/mpchat/checkout/watcher/health"
	"github.com/mpchat/checkout/watcher/metrics"
)

// watcher is one `watcher run` as cmd_run.go wires it: runner, metrics, operator server.
type watcher struct {
	url     string
	metrics *metrics.Watcher
	done    chan error
}

func startWatcher(t *testing.T, ctx context.Context, ch *devchain.Chain, rdb *redis.Client, prefix string, n checkout.Network) *watcher {
	t.Helper()
	cl, err := ethclient.Dial(ch.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	f := feed.New(rdb, prefix, n)
	start := uint64(0)
	sc := &evm.Scanner{Chain: evm.Node(cl), Store: f, Network: n, Token: ch.Token(), Required: 2, StartBlock: &start}
	r := &evm.Runner{Scanner: sc, Lease: f, LeaseTTL: 2 * time.Second, Poll: 20 * time.Millisecond, Status: f}
	m := metrics.New(n)
	m.Hook(r)
	checks := health.Checks{
		Redis:   func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Chain:   cl.BlockNumber,
		Lease:   m.LeaseState,
		Timeout: time.Second,
	}
	sctx, cancel := context.WithCancel(ctx)
	addr, served, err := health.Serve(sctx, "127.0.0.1:0", health.Handler(checks, m.Handler()))
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{url: "http://" + addr.String(), metrics: m, done: make(chan error, 1)}
	go func() { w.done <- r.Run(sctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-w.done; err != nil {
			t.Errorf("runner: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("operator server: %v", err)
		}
	})
	return w
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// until polls f (every 10 ms, for at most 20 s) until it returns "", else fails with its last answer.
func until(t *testing.T, what string, f func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readyz(t *testing.T, base string) (int, health.Readiness) {
	t.Helper()
	code, b := get(t, base+"/readyz")
	var rd health.Readiness
	if err := json.Unmarshal(b, &rd); err != nil {
		t.Fatalf("/readyz body %q: %v", b, err)
	}
	return code, rd
}

func samples(t *testing.T, base string) map[string]float64 {
	t.Helper()
	code, b := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, b)
	}
	out, err := promtext.Samples(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWatcherOperatorEndpoints runs an active and a standby watcher against a real dev chain
// and a Redis of their own, pays a watched address, then takes Redis and the chain away.
func TestWatcherOperatorEndpoints(t *testing.T) {
	ctx := context.Background()
	const n = checkout.TRC20
	ch, err := devchain.Start(ctx, devchain.Config{})
	if err != nil {
		t.Fatal(err)
	}
	chainClosed := false
	t.Cleanup(func() {
		if !chainClosed {
			_ = ch.Close()
		}
	})
	srv, err := redistest.Start() // our own server: this test stops it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 500 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	prefix := redistest.Prefix()

	active := startWatcher(t, ctx, ch, rdb, prefix, n)
	until(t, "active watcher ready", func() string {
		if code, rd := readyz(t, active.url); code != 200 || rd.Lease != metrics.LeaseLeader || rd.Redis != "ok" || rd.Chain != "ok" {
			return "readyz " + strconv.Itoa(code) + " " + rd.Status + " lease " + rd.Lease
		}
		return ""
	})
	standby := startWatcher(t, ctx, ch, rdb, prefix, n)
	until(t, "standby watcher ready", func() string {
		if code, rd := readyz(t, standby.url); code != 200 || rd.Lease != metrics.LeaseStandby {
			return "readyz " + strconv.Itoa(code) + " " + rd.Status + " lease " + rd.Lease
		}
		return ""
	})
	if code, b := get(t, active.url+"/healthz"); code != 200 || !strings.Contains(string(b), `"ok"`) {
		t.Errorf("/healthz: %d %s", code, b)
	}

	// A payment to a watched address: the active watcher writes seen then confirmed.
	to := common.BytesToAddress([]byte{0xde, 0xad, 0x07})
	if err := rdb.SAdd(ctx, prefix+checkout.WatchSet(n), deposit.Format(n, to)).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Pay(ctx, 1, to, 5*checkout.Unit); err != nil {
		t.Fatal(err)
	}
	l := `{network="TRC20"}`
	for _, kind := range []string{"seen", "confirmed"} { // one block each: seen at 1 confirmation, confirmed at 2
		ch.Commit()
		sample := `watcher_feed_writes_total{kind="` + kind + `",network="TRC20"}`
		until(t, kind+" transfer counted", func() string {
			if v := samples(t, active.url)[sample]; v != 1 {
				return sample + " = " + strconv.FormatFloat(v, 'f', -1, 64)
			}
			return ""
		})
	}
	head, err := ch.Client().BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	until(t, "caught up with the head", func() string {
		got := samples(t, active.url)
		if got["watcher_chain_head_block"+l] != float64(head) || got["watcher_scanned_block"+l] != float64(head) {
			return "head " + strconv.FormatFloat(got["watcher_chain_head_block"+l], 'f', -1, 64)
		}
		return ""
	})
	got := samples(t, active.url)
	for sample, want := range map[string]float64{
		"watcher_head_lag_blocks" + l:                               0,
		"watcher_checkpoint_block" + l:                              float64(head - 1), // 2 confirmations
		"watcher_leader" + l:                                        1,
		`watcher_feed_writes_total{kind="seen",network="TRC20"}`:    1,
		`watcher_feed_writes_total{kind="removed",network="TRC20"}`: 0,
		"watcher_step_errors_total" + l:                             0,
	} {
		if v, ok := got[sample]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", sample, v, ok, want)
		}
	}
	if ts := got["watcher_last_step_timestamp_seconds"+l]; ts < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last step timestamp %v", ts)
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	if sb := samples(t, standby.url); sb["watcher_leader"+l] != 0 || sb[`watcher_feed_writes_total{kind="confirmed",network="TRC20"}`] != 0 {
		t.Errorf("standby: leader %v, confirmed writes %v", sb["watcher_leader"+l], sb[`watcher_feed_writes_total{kind="confirmed",network="TRC20"}`])
	}

	// Redis goes away: not ready (the process is still alive), and the failures are counted.
	srv.Stop()
	for _, w := range []*watcher{active, standby} {
		until(t, "503 without Redis", func() string {
			if code, rd := readyz(t, w.url); code != 503 || rd.Redis != "unreachable" || rd.Chain != "ok" {
				return "readyz " + strconv.Itoa(code) + " redis " + rd.Redis + " chain " + rd.Chain
			}
			return ""
		})
		if code, _ := get(t, w.url+"/healthz"); code != 200 {
			t.Errorf("/healthz without Redis: %d", code)
		}
	}
	until(t, "step errors counted", func() string {
		if v := samples(t, active.url)["watcher_step_errors_total"+l]; v < 1 {
			return "step errors " + strconv.FormatFloat(v, 'f', -1, 64)
		}
		return ""
	})

	// The chain node goes away too.
	chainClosed = true
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	until(t, "503 without the chain node", func() string {
		if code, rd := readyz(t, active.url); code != 503 || rd.Chain != "unreachable" {
			return "readyz " + strconv.Itoa(code) + " chain " + rd.Chain
		}
		return ""
	})
}

func TestReadyzNeedsALeaseState(t *testing.T) {
	c := health.Checks{
		Redis: func(context.Context) error { return nil },
		Chain: func(context.Context) (uint64, error) { return 7, nil },
		Lease: func() string { return metrics.LeaseUnknown },
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, done, err := health.Serve(ctx, "127.0.0.1:0", health.Handler(c, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-done }()
	base := "http://" + addr.String()
	if code, rd := readyz(t, base); code != 503 || rd.Lease != "unknown" || rd.Head != 7 {
		t.Errorf("before any lease check: %d %+v", code, rd)
	}
	if code, _ := get(t, base+"/metrics"); code != 404 {
		t.Errorf("/metrics without metrics: %d", code)
	}
	resp, err := http.Post(base+"/readyz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST /readyz: %d", resp.StatusCode)
	}
}
