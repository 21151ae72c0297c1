package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/client/webhook"
	"github.com/mpchat/checkout/deposit"
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
	rcv := &hookReceiver{ok: map[string][]string{}, seen: map[string]map[string]bool{}, gate: make(chan struct{})}
	hooks := httptest.NewServer(rcv)
	defer hooks.Close()
	st := newStack(t, stackOpts{merchantArgs: []string{"--webhook-url", hooks.URL + "/default-unused"},
		edgeArgs: []string{"--webhook-allow-private", "--webhook-lease", "2s", "--webhook-timeout", "30s",
			"--settle-reclaim-after", "1s", "--expiry-interval", "1h"}, watcherArgs: []string{"--lease-ttl", "1s"}})
	rcv.mu.Lock()
	rcv.secret = st.merchant.WebhookSecret
	rcv.mu.Unlock()
	ctx, chain, edge, c := context.Background(), st.chain, st.edge, st.client
	var err error

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
	eventually(t, "every order PAID and deliveries held in flight", func() string {
		for _, o := range orders {
			if got, err := c.GetOrder(ctx, o.ID); err != nil || got.Status != checkout.StatusPaid {
				return fmt.Sprintf("order %s not PAID (%v)", o.ID, err)
			}
		}
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		if rcv.held == 0 {
			return "no delivery held in flight yet"
		}
		return ""
	})

	edge.kill() // with deliveries in flight, parked and queued
	rcv.mu.Lock()
	rcv.open = true
	rcv.mu.Unlock()
	close(rcv.gate)
	edge.start()

	eventually(t, "every webhook delivered", func() string {
		for _, o := range orders {
			list, err := c.ListWebhooks(ctx, o.ID)
			if err != nil || len(list) == 0 || list[len(list)-1].Type != checkout.EventPaymentConfirmed {
				return fmt.Sprintf("order %s: deliveries %+v (%v)", o.ID, list, err)
			}
			for _, d := range list {
				if d.Status != checkout.DeliveryDelivered {
					return fmt.Sprintf("order %s: %s is %s", o.ID, d.Type, d.Status)
				}
			}
		}
		return ""
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
