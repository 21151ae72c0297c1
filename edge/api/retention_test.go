package api_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/retention"
)

// TestTrimmedOrderAnswersTheSame: past every retention window, GET /v1/orders/{id} answers
// every finished order exactly as before (same fields, same values, on the wire), though
// its stored document was rewritten in its finished form.
func TestTrimmedOrderAnswersTheSame(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant(both, nil)
	ctx := context.Background()
	svc := &orders.Service{Store: e.store, PublicURL: "https://pay.example.test", Now: e.clock.Now}
	frozenFrom := "0x" + strings.Repeat("b", 40)
	if err := e.store.Block(ctx, checkout.ERC20, frozenFrom); err != nil {
		t.Fatal(err)
	}
	feed := 0
	pay := func(o *checkout.Order, amount checkout.Amount, from string) {
		t.Helper()
		feed++
		tr := &checkout.Transfer{Kind: checkout.TransferConfirmed, Network: o.Network, TxHash: fmt.Sprintf("0x%064x", 1000+feed),
			LogIndex: uint(feed % 3), From: from, To: o.Address, Amount: amount, BlockNumber: uint64(100 + feed),
			BlockHash: fmt.Sprintf("0x%064x", 5000+feed), Confirmations: 20, Required: 20, ObservedAt: e.clock.Now()}
		if _, err := svc.ApplyTransfer(ctx, o.ID, fmt.Sprintf("%d-0", 1_700_000_000_000+feed), tr); err != nil {
			t.Fatal(err)
		}
	}
	from := "0x" + strings.Repeat("a", 40)
	type outcome struct {
		status checkout.Status
		make   func(o *checkout.Order)
	}
	expire := func(o *checkout.Order) {
		t.Helper()
		e.clock.Add(31 * time.Minute)
		if _, err := svc.Expire(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]outcome{
		"paid":       {checkout.StatusPaid, func(o *checkout.Order) { pay(o, o.PayAmount, from) }},
		"overpaid":   {checkout.StatusPaid, func(o *checkout.Order) { pay(o, o.PayAmount/2, from); pay(o, o.PayAmount, from) }},
		"late funds": {checkout.StatusPaid, func(o *checkout.Order) { pay(o, o.PayAmount, from); pay(o, 2_000_000, from) }},
		"underpaid":  {checkout.StatusUnderpaid, func(o *checkout.Order) { pay(o, o.PayAmount/2, from); expire(o) }},
		"expired":    {checkout.StatusExpired, expire},
		"frozen":     {checkout.StatusFrozen, func(o *checkout.Order) { pay(o, o.PayAmount, frozenFrom) }},
		"canceled": {checkout.StatusCanceled, func(o *checkout.Order) {
			if _, err := mc.client.CancelOrder(ctx, o.ID); err != nil {
				t.Fatal(err)
			}
		}},
	}
	before := map[string]map[string]any{}
	ids := map[string]string{}
	for name, c := range cases {
		o, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "12.5", Network: checkout.ERC20,
			Description: "Order " + name, ReturnURL: "https://shop.example/r", Metadata: map[string]string{"case": name}})
		if err != nil {
			t.Fatal(err)
		}
		c.make(o)
		status, _, body := mc.raw(t, "GET", "/v1/orders/"+o.ID, "")
		if status != 200 || body["status"] != string(c.status) {
			t.Fatalf("%s: status %d, order %v", name, status, body)
		}
		before[name], ids[name] = body, o.ID
	}
	// Every window passes: the late-funds window (addresses released), then the events one.
	start := time.Now()
	for _, at := range []time.Duration{25 * time.Hour, retention.DefaultEvents + 25*time.Hour} {
		w := &retention.Worker{Store: e.store, Events: retention.DefaultEvents, Changes: retention.DefaultChanges,
			Records: retention.DefaultRecords, Now: func() time.Time { return start.Add(at) }}
		if _, err := w.Pass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for name, id := range ids {
		doc, err := e.rdb.HGet(ctx, e.prefix+"order:{"+id+"}", "doc").Result()
		if err != nil || !strings.HasPrefix(doc, `{"v":"3",`) {
			t.Errorf("%s: not trimmed to its finished form: %s %v", name, doc, err)
		}
		status, _, after := mc.raw(t, "GET", "/v1/orders/"+id, "")
		if status != 200 || !reflect.DeepEqual(after, before[name]) {
			t.Errorf("%s: GET after the trim differs:\n got %v\nwant %v", name, after, before[name])
		}
	}
}
