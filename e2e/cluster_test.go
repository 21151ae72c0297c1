package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/redistest"
)

// TestRedisCluster runs the real edge and watcher binaries on a three-node Redis Cluster
// (--redis-cluster): orders spread over the nodes are created, paid on the dev chain, settled
// to PAID, followed over SSE, and their webhooks delivered and verified. Every multi-key script
// keeps its keys in one slot, so this is the same code as on one Redis.
func TestRedisCluster(t *testing.T) {
	cl, err := redistest.StartCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Stop()
	rcv := &hookReceiver{open: true, ok: map[string][]string{}, seen: map[string]map[string]bool{}, gate: make(chan struct{})}
	hooks := httptest.NewServer(rcv)
	defer hooks.Close()
	st := newStack(t, stackOpts{redisArgs: []string{"--redis", cl.URL, "--redis-cluster", "--redis-prefix", redistest.Prefix()},
		merchantArgs: []string{"--webhook-url", hooks.URL + "/hooks"}, edgeArgs: []string{"--webhook-allow-private"}})
	rcv.mu.Lock()
	rcv.secret = st.merchant.WebhookSecret
	rcv.mu.Unlock()
	ctx, chain, c := context.Background(), st.chain, st.client

	const n = 6
	orders := make([]*checkout.Order, n)
	for i := range orders {
		if orders[i], err = c.CreateOrder(ctx, &client.OrderParams{Amount: fmt.Sprintf("%d.75", i+1), Network: checkout.ERC20}); err != nil {
			t.Fatal(err)
		}
	}
	// The orders live on more than one node: the cross-slot steps really cross nodes.
	rdb := cl.Client()
	defer rdb.Close()
	nodes := map[string]bool{}
	for _, o := range orders {
		slot := rdb.ClusterKeySlot(ctx, "{"+o.ID+"}").Val()
		for _, s := range rdb.ClusterSlots(ctx).Val() {
			if int64(s.Start) <= slot && slot <= int64(s.End) {
				nodes[s.Nodes[0].Addr] = true
			}
		}
	}
	if len(nodes) < 2 {
		t.Logf("all %d orders hashed to one node (possible, unlikely)", n)
	}

	followed := make(chan checkout.Status, 1)
	go func() {
		var last checkout.Status
		_ = c.FollowOrder(ctx, orders[0].ID, "", func(e client.Event) bool {
			last = e.Status
			return !e.Status.Terminal()
		})
		followed <- last
	}()
	for i, o := range orders {
		raw, _ := deposit.ParseEVM(o.Address)
		if _, err := chain.Pay(ctx, i%5, common.Address(raw), o.Amount); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < required+1; i++ {
		chain.Commit()
	}
	eventually(t, "every order PAID with its webhooks delivered", func() string {
		for _, o := range orders {
			got, err := c.GetOrder(ctx, o.ID)
			if err != nil || got.Status != checkout.StatusPaid || got.AmountPaid != o.Amount {
				return fmt.Sprintf("order %s: %+v (%v)", o.ID, got, err)
			}
			list, err := c.ListWebhooks(ctx, o.ID)
			if err != nil || len(list) == 0 || list[len(list)-1].Status != checkout.DeliveryDelivered {
				return fmt.Sprintf("order %s: deliveries %+v (%v)", o.ID, list, err)
			}
		}
		return ""
	})
	select {
	case st := <-followed:
		if st != checkout.StatusPaid {
			t.Fatalf("SSE stream ended at %s", st)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("SSE stream did not end with PAID")
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Fatalf("signature failures: %v", rcv.bad)
	}
	for _, o := range orders {
		got := rcv.ok[o.ID]
		if len(got) == 0 || got[len(got)-1] != string(checkout.EventPaymentConfirmed) {
			t.Errorf("order %s: webhooks %v", o.ID, got)
		}
	}
	t.Logf("orders on %d of 3 nodes", len(nodes))
}
