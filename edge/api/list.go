package api

import (
	"errors"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/listquery"
	"github.com/mpchat/checkout/edge/store"
)

// orderList is the Stripe-style list object of GET /v1/orders.
type orderList struct {
	Object  string            `json:"object"` // "list"
	URL     string            `json:"url"`
	Data    []*checkout.Order `json:"data"`
	HasMore bool              `json:"has_more"`
	// NextStartingAfter, with has_more on a forward page, is the starting_after of the next
	// page: the last order of data, or the last one looked at when an amount filter's scan
	// stopped before the page filled.
	NextStartingAfter string `json:"next_starting_after,omitempty"`
}

// listOrders: GET /v1/orders, the merchant's orders newest first.
func (s *Server) listOrders(ctx *fasthttp.RequestCtx) error {
	q, err := listquery.Parse(ctx.QueryArgs(), listquery.Options{})
	if err != nil {
		return err
	}
	m := merchantOf(ctx)
	page, err := s.Store.ListOrders(ctx, m.ID, q)
	if errors.Is(err, store.ErrNotFound) {
		param := "starting_after"
		if q.Before != "" {
			param = "ending_before"
		}
		return checkout.NewError(checkout.CodeResourceMissing, param, "no such order")
	}
	if err != nil {
		return err
	}
	out := orderList{Object: "list", URL: "/v1/orders", Data: []*checkout.Order{}, HasMore: page.More, NextStartingAfter: page.Next}
	for _, r := range page.Records {
		out.Data = append(out.Data, &r.Order)
	}
	writeJSON(ctx, 200, out)
	return nil
}

// cancelOrder: POST /v1/orders/{id}/cancel. 200 with the canceled order (also when it was
// canceled already); 409 order_not_cancelable once anything was received or it is terminal.
func (s *Server) cancelOrder(ctx *fasthttp.RequestCtx) error {
	id, _ := ctx.UserValue("id").(string)
	o, err := s.Orders.Cancel(ctx, merchantOf(ctx).ID, id)
	if err != nil {
		return err
	}
	writeJSON(ctx, 200, o)
	return nil
}
