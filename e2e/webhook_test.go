package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/client"
	"github.com/mpchat/checkout/edge/client/webhook"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
)

// hookReceiver is the merchant's webhook endpoint: it verifies every request's signature with
// the merchant's webhook secret and, until open, holds requests without answering (so
// deliveries are in flight when the edge is killed).
type hookReceiver struct {
	secret string
	mu     sync.Mutex
	open   bool
	held   int                        // requests received while closed
	ok     map[string][]string        // order id → event types answered 200, in order
	seen   map[string]map[string]bool // order id → event ids answered 200
	bad    []string                   // signature failures
	gate   chan struct{}
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ev, err := webhook.ConstructEvent(body, r.Header.Get(webhook.Header), h.secret)
	h.mu.Lock()
	if err != nil {
		h.bad = append(h.bad, err.Error())
		h.mu.Unlock()
		w.WriteHeader(400)
		return
	}
	if !h.open {
		h.held++
		h.mu.Unlock()
		select { // hold it: the edge dies with this request in flight
		case <-h.gate:
		case <-r.Context().Done():
		}
		w.WriteHeader(503)
		return
	}
	o := ev.Data.Order.ID
	if h.seen[o] == nil {
		h.seen[o] = map[string]bool{}
	}
	if !h.seen[o][ev.ID] {
		h.seen[o][ev.ID] = true
		h.ok[o] = append(h.ok[o], string(ev.Type))
	}
	h.mu.Unlock()
	w.WriteHeader(200)
}

// TestWebhooksSurviveKill: webhooks of real payments are in flight (the endpoint holds them)
// when the edge is SIGKILLed; after a restart every event of every order is delivered, signed
// with the merchant's secret, each order's events in order.
func TestWebhooksSurviveKill(t *testing.T) {
	bin := binaries(t)
	srv := redistest.Shared(t)
	prefix := redistest.Prefix()
	ctx := context.Background()
	chain, err := devchain.Start(ctx, devchain.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	logf, err := os.Create(filepath.Join(t.TempDir(), "procs.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("process output:\n%s", b)
		}
	}()
	redisArgs := []string{"--redis", srv.URL, "--redis-prefix", prefix}

	rcv := &hookReceiver{ok: map[string][]string{}, seen: map[string]map[string]bool{}, gate: make(chan struct{})}
	hooks := httptest.NewServer(rcv)
	defer hooks.Close()
	out, err := exec.Command(filepath.Join(bin, "edge"), append([]string{"merchant", "create", "--dev", "--name", "hooks",
		"--webhook-url", hooks.URL + "/default-unused"}, redisArgs...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		KeyID         string `json:"key_id"`
		Secret        string `json:"secret"`
		WebhookSecret string `json:"webhook_secret"`
	}
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	rcv.secret = m.WebhookSecret

	addr := freeAddr(t)
	edge := &proc{t: t, bin: filepath.Join(bin, "edge"), log: logf, args: append([]string{"serve", "--dev", "--listen", addr,
		"--webhook-allow-private", "--webhook-lease", "2s", "--webhook-timeout", "30s", "--settle-reclaim-after", "1s",
		"--expiry-interval", "1h"}, redisArgs...)}
	watcher := &proc{t: t, bin: filepath.Join(bin, "watcher"), log: logf, args: append([]string{"run", "--network", "ERC20",
		"--rpc", chain.RPCURL(), "--token", chain.Token().Hex(), "--confirmations", fmt.Sprint(required),
		"--start-block", "0", "--poll-interval", "20ms", "--lease-ttl", "1s"}, redisArgs...)}
	edge.start()
	watcher.start()
	defer edge.kill()
	defer watcher.kill()
	c := client.New("http://"+addr, m.KeyID, m.Secret)
	c.Backoff = func(int) time.Duration { return 200 * time.Millisecond }
	c.MaxRetries = 30

	const n = 8
	orders := make([]*checkout.Order, n)
	for i := range orders {
		// The order's own webhook_url overrides the merchant's default.
		if orders[i], err = c.CreateOrder(ctx, &client.OrderParams{Amount: fmt.Sprintf("%d.25", i+1), Network: checkout.ERC20,
			WebhookURL: hooks.URL + "/hooks", Metadata: map[string]string{"n": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
		raw, _ := deposit.ParseEVM(orders[i].Address)
		if _, err := chain.Pay(ctx, i%5, common.Address(raw), orders[i].Amount); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < required+1; i++ {
		chain.Commit()
	}
	waitFor(t, 60*time.Second, "every order PAID and deliveries held in flight", func() bool {
		for _, o := range orders {
			if got, err := c.GetOrder(ctx, o.ID); err != nil || got.Status != checkout.StatusPaid {
				return false
			}
		}
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		return rcv.held > 0
	})

	edge.kill() // with deliveries in flight, parked and queued
	rcv.mu.Lock()
	rcv.open = true
	rcv.mu.Unlock()
	close(rcv.gate)
	edge.start()

	waitFor(t, 60*time.Second, "every webhook delivered", func() bool {
		for _, o := range orders {
			list, err := c.ListWebhooks(ctx, o.ID)
			if err != nil || len(list) == 0 || list[len(list)-1].Type != checkout.EventPaymentConfirmed {
				return false
			}
			for _, d := range list {
				if d.Status != checkout.DeliveryDelivered {
					return false
				}
			}
		}
		return true
	})
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Fatalf("signature failures: %v", rcv.bad)
	}
	for _, o := range orders {
		list, err := c.ListWebhooks(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, d := range list {
			want = append(want, string(d.Type))
			if !rcv.seen[o.ID][d.EventID] {
				t.Errorf("order %s: event %s (%s) listed delivered but never received", o.ID, d.EventID, d.Type)
			}
		}
		if fmt.Sprint(rcv.ok[o.ID]) != fmt.Sprint(want) {
			t.Errorf("order %s: received %v, want %v in that order", o.ID, rcv.ok[o.ID], want)
		}
		// payment.detected comes first when the watcher saw the transfer before it was final.
		if len(want) > 2 || len(want) == 2 && want[0] != string(checkout.EventPaymentDetected) {
			t.Errorf("order %s: events %v", o.ID, want)
		}
	}
	t.Logf("%d requests were held in flight when the edge was killed", rcv.held)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
