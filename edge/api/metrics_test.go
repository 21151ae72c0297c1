package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/changes"
	"github.com/mpchat/checkout/edge/metrics"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/promtext"
	"github.com/mpchat/checkout/internal/redistest"
)

// metricsEdge is a real edge with metrics, event streams and a settlement consumer, as
// `edge serve` wires them. separate serves /metrics on a listener of its own.
type metricsEdge struct {
	*testEdge
	m       *metrics.Edge
	consume *settlement.Consumer
	opsURL  string // "" unless separate
}

func newMetricsEdge(t *testing.T, separate bool) *metricsEdge {
	t.Helper()
	srv := redistest.Shared(t)
	rdb := srv.Client(t)
	prefix := redistest.Prefix()
	clk := newClock()
	st := store.New(rdb, prefix)
	feedRedis := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 1})
	t.Cleanup(func() { feedRedis.Close() })
	changeFeed := changes.New(store.NewChangeReader(feedRedis, prefix), nil)
	m := metrics.NewEdge(nil)
	s := &api.Server{
		Store:   st,
		Orders:  &orders.Service{Store: st, PublicURL: "https://pay.example.test", Now: clk.Now},
		Auth:    &auth.Verifier{Keys: st, Now: clk.Now},
		Changes: changeFeed, Heartbeat: time.Hour,
		Metrics: m, MetricsSeparate: separate,
	}
	m.ObserveStreams(s.OpenStreams, changeFeed.Open)
	m.ObserveSettlement(st, settlement.DefaultGroup, checkout.Networks)
	c := &settlement.Consumer{Store: st, Network: checkout.ERC20, Block: 10 * time.Millisecond,
		OnChange: func(_ string, evs []checkout.Event) { m.SettlementApplied(checkout.ERC20, evs) }}

	ctx, cancel := context.WithCancel(context.Background())
	feedDone := make(chan struct{})
	go func() { defer close(feedDone); _ = changeFeed.Run(ctx) }()
	serve := func(h fasthttp.RequestHandler) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &fasthttp.Server{Handler: h, KeepHijackedConns: true}
		done := make(chan struct{})
		go func() { defer close(done); _ = hs.Serve(ln) }()
		t.Cleanup(func() { _ = hs.Shutdown(); <-done })
		return "http://" + ln.Addr().String()
	}
	me := &metricsEdge{m: m, consume: c}
	me.testEdge = &testEdge{t: t, rdb: rdb, prefix: prefix, store: st, clock: clk, url: serve(s.Handler())}
	if separate {
		me.opsURL = serve(s.OpsHandler())
	}
	t.Cleanup(func() {
		cancel()
		<-feedDone
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer wcancel()
		_ = s.WaitStreams(wctx)
	})
	return me
}

// scrape fetches url/metrics and returns each sample ("name{labels}") with its value.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	out, err := promtext.Samples(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitMetric scrapes until sample has value want (polling, bounded).
func waitMetric(t *testing.T, base, sample string, want float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := scrape(t, base)
		if v, ok := got[sample]; ok && v == want {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (present %v), want %v", sample, got[sample], hasKey(got, sample), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hasKey(m map[string]float64, k string) bool { _, ok := m[k]; return ok }

// openStream opens an event stream and reads its first message (the current state), so the
// stream is registered when it returns; it is closed when the test ends.
func openStream(t *testing.T, req *http.Request) {
	t.Helper()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		t.Fatalf("stream %s: %d", req.URL.Path, resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream %s: %v", req.URL.Path, err)
		}
		if strings.HasPrefix(line, "data:") {
			return
		}
	}
}

func TestMetricsAfterRealTraffic(t *testing.T) {
	e := newMetricsEdge(t, false)
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	ctx := context.Background()

	o, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "12.5", Network: checkout.ERC20, IdempotencyKey: "metrics-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "12.5", Network: checkout.ERC20, IdempotencyKey: "metrics-1"}); err != nil {
		t.Fatal(err) // replay: 200
	}
	if _, err := mc.client.GetOrder(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.client.GetOrder(ctx, "ord_nope"); err == nil {
		t.Fatal("unknown order: no error")
	}
	for _, p := range []string{"/v1/checkout/" + o.ID, "/no/such/" + o.ID} {
		resp, err := http.Get(e.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	req, _ := http.NewRequest("BREW", e.url+"/v1/orders", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	// Two open streams: one merchant, one checkout.
	path := "/v1/orders/" + o.ID + "/events"
	sreq, _ := http.NewRequest("GET", e.url+path, nil)
	sreq.Header.Set("Authorization", client.Authorization(mc.key.ID, mc.key.Secret, e.clock.Now().Unix(), "GET", path, nil))
	openStream(t, sreq)
	creq, _ := http.NewRequest("GET", e.url+"/v1/checkout/"+o.ID+"/events", nil)
	openStream(t, creq)

	got := waitMetric(t, e.url, `sse_open_streams{kind="checkout"}`, 1)
	for sample, want := range map[string]float64{
		`sse_open_streams{kind="merchant"}`:                                               1,
		`sse_hub_subscriptions`:                                                           2,
		`http_requests_total{method="POST",route="/v1/orders",status="2xx"}`:              2,
		`http_requests_total{method="GET",route="/v1/orders/{id}",status="2xx"}`:          1,
		`http_requests_total{method="GET",route="/v1/orders/{id}",status="4xx"}`:          1,
		`http_requests_total{method="GET",route="/v1/checkout/{id}",status="2xx"}`:        1,
		`http_requests_total{method="GET",route="unmatched",status="4xx"}`:                1,
		`http_requests_total{method="OTHER",route="unmatched",status="4xx"}`:              1,
		`http_requests_total{method="GET",route="/v1/orders/{id}/events",status="2xx"}`:   1,
		`http_requests_total{method="GET",route="/v1/checkout/{id}/events",status="2xx"}`: 1,
		`http_request_duration_seconds_count{method="POST",route="/v1/orders"}`:           2,
		`webhook_deliveries_total{result="delivered"}`:                                    0,
		`webhook_deliveries_total{result="failed_attempt"}`:                               0,
		`webhook_deliveries_total{result="gave_up"}`:                                      0,
		`webhook_deliveries_total{result="skipped"}`:                                      0,
		`settlement_applied_total{network="ERC20"}`:                                       0,
	} {
		if v, ok := got[sample]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", sample, v, ok, want)
		}
	}
	for _, name := range []string{"http_request_duration_seconds_bucket", "go_goroutines", "process_resident_memory_bytes"} {
		found := false
		for k := range got {
			found = found || strings.HasPrefix(k, name)
		}
		if !found {
			t.Errorf("no %s sample", name)
		}
	}
	if hasKey(got, "webhook_backlog") {
		t.Error("webhook_backlog present before a source was set")
	}
	// Bounded labels: no order id, raw path or odd method ever becomes a label value.
	for k := range got {
		if strings.Contains(k, "ord_") || strings.Contains(k, "/no/such") || strings.Contains(k, "BREW") {
			t.Errorf("unbounded label in %s", k)
		}
	}

	// A watcher reports a transfer: the settlement backlog shows it until it is applied.
	if err := e.store.EnsureFeedGroup(ctx, checkout.ERC20, settlement.DefaultGroup); err != nil {
		t.Fatal(err)
	}
	tr := checkout.Transfer{Kind: checkout.TransferSeen, Network: checkout.ERC20,
		TxHash: "0x" + strings.Repeat("ab", 32), BlockNumber: 7, BlockHash: "0x" + strings.Repeat("cd", 32),
		From: "0x000000000000000000000000000000000000dEaD", To: o.Address, Amount: o.Amount,
		Confirmations: 1, Required: 12, ObservedAt: time.Now().UTC()}
	b, _ := json.Marshal(&tr)
	if err := e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: e.prefix + checkout.FeedStream(checkout.ERC20),
		Values: []any{checkout.FeedField, b}}).Err(); err != nil {
		t.Fatal(err)
	}
	got = scrape(t, e.url)
	if got[`settlement_feed_undelivered{network="ERC20"}`] != 1 || !hasKey(got, `settlement_lag_seconds{network="ERC20"}`) ||
		got[`settlement_feed_pending{network="ERC20"}`] != 0 {
		t.Errorf("backlog before settlement: undelivered %v pending %v lag %v", got[`settlement_feed_undelivered{network="ERC20"}`],
			got[`settlement_feed_pending{network="ERC20"}`], got[`settlement_lag_seconds{network="ERC20"}`])
	}
	if hasKey(got, `settlement_feed_pending{network="TRC20"}`) {
		t.Error("a feed with no group yet reported a backlog")
	}
	if n, err := e.consume.Poll(ctx); err != nil || n != 1 {
		t.Fatalf("poll: %d %v", n, err)
	}
	e.m.WebhookDelivery(metrics.Delivered)
	e.m.WebhookDelivery(metrics.FailedAttempt)
	e.m.SetWebhookBacklog(func(context.Context) (int64, error) { return 3, nil })
	got = scrape(t, e.url)
	for sample, want := range map[string]float64{
		`settlement_applied_total{network="ERC20"}`:                        1,
		`settlement_events_total{network="ERC20",type="payment.detected"}`: 1,
		`settlement_feed_pending{network="ERC20"}`:                         0,
		`settlement_feed_undelivered{network="ERC20"}`:                     0,
		`settlement_lag_seconds{network="ERC20"}`:                          0,
		`webhook_deliveries_total{result="delivered"}`:                     1,
		`webhook_deliveries_total{result="failed_attempt"}`:                1,
		`webhook_backlog`: 3,
	} {
		if v, ok := got[sample]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", sample, v, ok, want)
		}
	}
}

func TestMetricsOnASeparateListener(t *testing.T) {
	e := newMetricsEdge(t, true)
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("/metrics on the public listener: %d, want 404", resp.StatusCode)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(e.opsURL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s on the metrics listener: %d", p, resp.StatusCode)
		}
	}
	got := scrape(t, e.opsURL)
	if got[`http_requests_total{method="GET",route="unmatched",status="4xx"}`] != 1 {
		t.Errorf("the public listener's 404 was not counted: %v", got)
	}
	if got[`http_requests_total{method="GET",route="/healthz",status="2xx"}`] != 1 {
		t.Errorf("the metrics listener's own requests were not counted")
	}
}
