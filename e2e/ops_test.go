package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/promtext"
)

// TestOperatorEndpoints runs the real edge and watcher commands the way docs/operating.md's "Metrics and
// health" shows (edge serve --metrics-listen, watcher run --listen), pays an order, and reads
// the probes and the metrics the payment moved.
func TestOperatorEndpoints(t *testing.T) {
	metricsAddr, watcherAddr := freeAddr(t), freeAddr(t)
	st := newStack(t, stackOpts{edgeArgs: []string{"--metrics-listen", metricsAddr},
		watcherArgs: []string{"--confirmations", "2", "--listen", watcherAddr}})
	ctx, chain, api, m := context.Background(), st.chain, st.addr, st.merchant

	eventually(t, "edge ready on the metrics listener", func() string {
		return expectStatus("http://"+metricsAddr+"/readyz", 200)
	})
	eventually(t, "watcher ready and leading", func() string {
		if msg := expectStatus("http://"+watcherAddr+"/readyz", 200); msg != "" {
			return msg
		}
		_, body, _ := httpGet("http://" + watcherAddr + "/readyz")
		if !strings.Contains(body, `"lease":"leader"`) {
			return "readyz " + body
		}
		return ""
	})
	if msg := expectStatus("http://"+api+"/metrics", 404); msg != "" {
		t.Errorf("/metrics on the public listener: %s", msg)
	}
	if msg := expectStatus("http://"+api+"/healthz", 200); msg != "" {
		t.Errorf("/healthz on the public listener: %s", msg)
	}

	c := client.New("http://"+api, m.KeyID, m.Secret)
	o, err := c.CreateOrder(ctx, &client.OrderParams{Amount: "4.2", Network: checkout.ERC20, IdempotencyKey: "ops-1"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := deposit.ParseEVM(o.Address)
	if _, err := chain.Pay(ctx, 1, common.Address(raw), o.Amount); err != nil {
		t.Fatal(err)
	}
	chain.Commit()
	chain.Commit()
	eventually(t, "order PAID", func() string {
		got, err := c.GetOrder(ctx, o.ID)
		if err != nil || got.Status != checkout.StatusPaid {
			return fmt.Sprintf("%v %v", got, err)
		}
		return ""
	})

	eventually(t, "edge metrics after the payment", func() string {
		got, err := promSamples("http://" + metricsAddr + "/metrics")
		if err != nil {
			return err.Error()
		}
		for sample, want := range map[string]float64{
			`http_requests_total{method="POST",route="/v1/orders",status="2xx"}`:     1,
			`settlement_events_total{network="ERC20",type="payment.confirmed"}`:      1,
			`settlement_lag_seconds{network="ERC20"}`:                                0,
			`settlement_feed_pending{network="ERC20"}`:                               0,
			`sse_open_streams{kind="checkout"}`:                                      0,
			`webhook_deliveries_total{result="gave_up"}`:                             0,
			`http_requests_total{method="GET",route="/v1/orders/{id}",status="2xx"}`: -1, // present
		} {
			v, ok := got[sample]
			if !ok || (want >= 0 && v != want) {
				return fmt.Sprintf("%s = %v (present %v), want %v", sample, v, ok, want)
			}
		}
		if got[`settlement_applied_total{network="ERC20"}`] < 1 { // confirmed (seen first, if the watcher stepped between the blocks)
			return fmt.Sprintf("settlement_applied_total %v", got[`settlement_applied_total{network="ERC20"}`])
		}
		return ""
	})
	eventually(t, "watcher metrics after the payment", func() string {
		got, err := promSamples("http://" + watcherAddr + "/metrics")
		if err != nil {
			return err.Error()
		}
		for sample, want := range map[string]float64{
			`watcher_feed_writes_total{kind="confirmed",network="ERC20"}`: 1,
			`watcher_leader{network="ERC20"}`:                             1,
			`watcher_head_lag_blocks{network="ERC20"}`:                    0,
		} {
			if v, ok := got[sample]; !ok || v != want {
				return fmt.Sprintf("%s = %v (present %v), want %v", sample, v, ok, want)
			}
		}
		return ""
	})

	// Both stop cleanly on SIGINT.
	for _, p := range []*proc{st.watcher, st.edge} {
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s exited: %v", filepath.Base(p.bin), err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not stop on SIGINT", filepath.Base(p.bin))
		}
	}
}

// eventually polls f (every 20 ms, at most 60 s) until it returns "", else fails with its last
// answer.
func eventually(t *testing.T, what string, f func() string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func expectStatus(url string, want int) string {
	code, body, err := httpGet(url)
	if err != nil {
		return err.Error()
	}
	if code != want {
		return fmt.Sprintf("GET %s: %d %s", url, code, body)
	}
	return ""
}

// promSamples reads a Prometheus text exposition into "name{labels}" → value.
func promSamples(url string) (map[string]float64, error) {
	code, body, err := httpGet(url)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("GET %s: %d", url, code)
	}
	return promtext.Samples(strings.NewReader(body))
}
