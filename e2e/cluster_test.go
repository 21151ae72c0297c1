package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/client"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
)

// TestRedisCluster runs the real edge and watcher binaries on a three-node Redis Cluster
// (--redis-cluster): orders spread over the nodes are created, paid on the dev chain, settled
// to PAID, followed over SSE, and their webhooks delivered and verified. Every multi-key script
// keeps its keys in one slot, so this is the same code as on one Redis.
func TestRedisCluster(t *testing.T) {
	bin := binaries(t)
	cl, err := redistest.StartCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Stop()
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
	redisArgs := []string{"--redis", cl.URL, "--redis-cluster", "--redis-prefix", redistest.Prefix()}

	rcv := &hookReceiver{open: true, ok: map[string][]string{}, seen: map[string]map[string]bool{}, gate: make(chan struct{})}
	hooks := httptest.NewServer(rcv)
	defer hooks.Close()
	out, err := exec.Command(filepath.Join(bin, "edge"), append([]string{"merchant", "create", "--dev", "--name", "cluster",
		"--webhook-url", hooks.URL + "/hooks"}, redisArgs...)...).Output()
	if err != nil {
		t.Fatalf("merchant create: %v", err)
	}
	var m struct {
		KeyID         string `json:"key_id"`
		Secret        string `json:"secret"`
		WebhookSecret string `json:"webhook_secret"`
	}
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	rcv.secret = m.WebhookSecret
	rcv.mu.Unlock()

	addr := freeAddr(t)
	edge := &proc{t: t, bin: filepath.Join(bin, "edge"), log: logf, args: append([]string{"serve", "--dev", "--listen", addr,
		"--webhook-allow-private"}, redisArgs...)}
	watcher := &proc{t: t, bin: filepath.Join(bin, "watcher"), log: logf, args: append([]string{"run", "--network", "ERC20",
		"--rpc", chain.RPCURL(), "--token", chain.Token().Hex(), "--confirmations", fmt.Sprint(required),
		"--start-block", "0", "--poll-interval", "20ms"}, redisArgs...)}
	edge.start()
	watcher.start()
	defer edge.kill()
	defer watcher.kill()
	c := client.New("http://"+addr, m.KeyID, m.Secret)
	c.Backoff = func(int) time.Duration { return 200 * time.Millisecond }
	c.MaxRetries = 30 // the edge is starting

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
	waitFor(t, 60*time.Second, "every order PAID with its webhooks delivered", func() bool {
		for _, o := range orders {
			got, err := c.GetOrder(ctx, o.ID)
			if err != nil || got.Status != checkout.StatusPaid || got.AmountPaid != o.Amount {
				return false
			}
			list, err := c.ListWebhooks(ctx, o.ID)
			if err != nil || len(list) == 0 || list[len(list)-1].Status != checkout.DeliveryDelivered {
				return false
			}
		}
		return true
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
