package api_test

import (
	"context"
	"errors"
	"testing"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
)

// TestListAndCancelOrders: GET /v1/orders lists the merchant's own orders newest first with
// Stripe's list shape and cursors; bad query parameters are 400s naming the parameter; cancel
// is 200 and idempotent, moves the order to the CANCELED filter, and is a 404 for another
// merchant.
func TestListAndCancelOrders(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	a := e.newMerchant([]checkout.Network{checkout.TRC20, checkout.ERC20}, nil)
	b := e.newMerchant([]checkout.Network{checkout.TRC20}, nil)
	ctx := context.Background()
	var made []string
	for i, n := range []checkout.Network{checkout.TRC20, checkout.ERC20, checkout.TRC20} {
		o, err := a.client.CreateOrder(ctx, &client.OrderParams{Amount: []string{"1", "2", "3"}[i], Network: n})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, o.ID)
		e.clock.Add(1e9)
	}
	if _, err := b.client.CreateOrder(ctx, &client.OrderParams{Amount: "5", Network: checkout.TRC20}); err != nil {
		t.Fatal(err)
	}
	ids := func(body map[string]any) []string {
		var out []string
		for _, o := range body["data"].([]any) {
			out = append(out, o.(map[string]any)["id"].(string))
		}
		return out
	}
	st, _, body := a.raw(t, "GET", "/v1/orders?limit=2", "")
	if st != 200 || body["object"] != "list" || body["has_more"] != true {
		t.Fatalf("first page: %d %v", st, body)
	}
	if got := ids(body); len(got) != 2 || got[0] != made[2] || got[1] != made[1] {
		t.Fatalf("first page %v, made %v", got, made)
	}
	st, _, body = a.raw(t, "GET", "/v1/orders?limit=2&starting_after="+made[1], "")
	if got := ids(body); st != 200 || len(got) != 1 || got[0] != made[0] || body["has_more"] != false {
		t.Fatalf("second page %d %v", st, body)
	}
	st, _, body = a.raw(t, "GET", "/v1/orders?network=ERC20&amount[gte]=2", "")
	if got := ids(body); st != 200 || len(got) != 1 || got[0] != made[1] {
		t.Fatalf("ERC20: %d %v", st, body)
	}
	for q, param := range map[string]string{"limit=0": "limit", "limit=101": "limit", "status=paid": "status",
		"network=BTC": "network", "colour=red": "colour", "created[gte]=yesterday": "created[gte]",
		"amount[lte]=-1": "amount[lte]", "limit=1&limit=2": "limit"} {
		st, _, body := a.raw(t, "GET", "/v1/orders?"+q, "")
		if st != 400 || errorOf(t, body)["param"] != param {
			t.Errorf("%s: %d %v", q, st, body)
		}
	}
	// Another merchant's order as a cursor, or to cancel: not found.
	if st, _, _ := b.raw(t, "GET", "/v1/orders?starting_after="+made[0], ""); st != 404 {
		t.Fatalf("b pages after a's order: %d", st)
	}
	if _, err := b.client.CancelOrder(ctx, made[0]); !isCode(err, checkout.CodeResourceMissing) {
		t.Fatalf("b cancels a's order: %v", err)
	}
	for range 2 {
		e.clock.Add(1e9) // a new signature: the same signed POST twice is a replay
		o, err := a.client.CancelOrder(ctx, made[0])
		if err != nil || o.Status != checkout.StatusCanceled {
			t.Fatalf("cancel: %v %v", o, err)
		}
	}
	_, _, body = a.raw(t, "GET", "/v1/orders?status=CANCELED", "")
	if got := ids(body); len(got) != 1 || got[0] != made[0] {
		t.Fatalf("CANCELED: %v", body)
	}
	_, _, body = a.raw(t, "GET", "/v1/orders?status=PENDING", "")
	if got := ids(body); len(got) != 2 {
		t.Fatalf("PENDING: %v", body)
	}
	var all []string
	it := a.client.ListOrdersAll(ctx, &client.ListParams{Limit: 1})
	for it.Next() {
		all = append(all, it.Order().ID)
	}
	if it.Err() != nil || len(all) != 3 || all[2] != made[0] {
		t.Fatalf("iterator: %v %v", all, it.Err())
	}
}

func isCode(err error, c checkout.Code) bool {
	var e *client.Error
	return err != nil && errors.As(err, &e) && e.Code == c
}
