package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/settlement"
)

// settle plays the watcher (one feed entry) and the edge's settlement consumer.
func settle(t *testing.T, o *checkout.Order, kind checkout.TransferKind, confirmations uint64) {
	t.Helper()
	ctx := context.Background()
	if err := edgeStore.EnsureFeedGroup(ctx, checkout.ERC20, settlement.DefaultGroup); err != nil {
		t.Fatal(err)
	}
	tr := checkout.Transfer{Kind: kind, Network: checkout.ERC20, TxHash: "0x" + strings.Repeat("a1", 32),
		BlockNumber: 9, BlockHash: "0x" + strings.Repeat("b2", 32), From: "0x000000000000000000000000000000000000dEaD",
		To: o.Address, Amount: o.Amount, Confirmations: confirmations, Required: 2, ObservedAt: time.Now().UTC()}
	b, _ := json.Marshal(&tr)
	if err := edgeRedis.XAdd(ctx, &redis.XAddArgs{Stream: edgePrefix + checkout.FeedStream(checkout.ERC20),
		Values: []any{checkout.FeedField, b}}).Err(); err != nil {
		t.Fatal(err)
	}
	c := &settlement.Consumer{Store: edgeStore, Network: checkout.ERC20, Block: 10 * time.Millisecond}
	if n, err := c.Poll(ctx); err != nil || n != 1 {
		t.Fatalf("settle: %d entries, %v", n, err)
	}
}

// TestFollowOrderResumesAndEnds: FollowOrder with a Last-Event-ID starts right after it (no
// replay of the state the caller already has), and returns nil once the order is PAID.
func TestFollowOrderResumesAndEnds(t *testing.T) {
	c := client.New(edgeURL, keyID, secret)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o, err := c.CreateOrder(ctx, &client.OrderParams{Amount: "3.5", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	var first client.Event
	if err := c.FollowOrder(ctx, o.ID, "", func(e client.Event) bool { first = e; return false }); err != nil {
		t.Fatal(err)
	}
	if first.Type != checkout.EventOrderCreated || first.ID == "" || first.Order.ID != o.ID {
		t.Fatalf("first message %+v", first)
	}

	settle(t, o, checkout.TransferSeen, 1) // while nobody follows
	got := make(chan client.Event, 10)
	done := make(chan error, 1)
	go func() {
		done <- c.FollowOrder(ctx, o.ID, first.ID, func(e client.Event) bool { got <- e; return true })
	}()
	e := <-got
	if e.Type != checkout.EventPaymentDetected || e.Status != checkout.StatusConfirming || e.Payment == nil ||
		e.Payment.Amount != o.Amount || e.ID == first.ID {
		t.Fatalf("resumed with %+v, want payment.detected after %s", e, first.ID)
	}
	settle(t, o, checkout.TransferConfirmed, 2)
	e = <-got
	if e.Type != checkout.EventPaymentConfirmed || e.Status != checkout.StatusPaid || e.AmountPaid != o.Amount {
		t.Fatalf("then %+v, want payment.confirmed PAID", e)
	}
	if err := <-done; err != nil {
		t.Fatalf("FollowOrder after PAID: %v, want nil", err)
	}
	if len(got) != 0 {
		t.Errorf("%d messages after the terminal one", len(got))
	}
}

type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// FollowOrder goes through the transport of Client.HTTP (proxies, TLS), without its timeout.
func TestFollowOrderUsesTheClientsTransport(t *testing.T) {
	tr := &countingTransport{}
	c := client.New(edgeURL, keyID, secret)
	c.HTTP = &http.Client{Transport: tr}
	ctx := context.Background()
	o, err := c.CreateOrder(ctx, &client.OrderParams{Amount: "1", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	before := tr.n.Load()
	c.HTTP.Timeout = time.Nanosecond // must not cut the stream
	if err := c.FollowOrder(ctx, o.ID, "", func(client.Event) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if tr.n.Load() != before+1 {
		t.Errorf("stream requests through the client's transport: %d", tr.n.Load()-before)
	}
}
