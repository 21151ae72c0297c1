package api

import (
	"github.com/valyala/fasthttp"

	"github.com/mpchat/checkout/edge/orders"
)

// createOrder: POST /v1/orders. 201 with the new order; 200 with Idempotent-Replayed: true
// when an earlier request with the same idempotency key made it.
func (s *Server) createOrder(ctx *fasthttp.RequestCtx) error {
	m := merchantOf(ctx)
	p, err := orders.ParseCreate(ctx.PostBody(), string(ctx.Request.Header.Peek("Idempotency-Key")),
		orders.Policy{Dev: s.Dev, ReturnHosts: m.ReturnHosts, MaxTolerance: s.MaxTolerance})
	if err != nil {
		return err
	}
	o, replayed, err := s.Orders.Create(ctx, m, p)
	if err != nil {
		return err
	}
	status := 201
	if replayed {
		status = 200
		ctx.Response.Header.Set("Idempotent-Replayed", "true")
	}
	writeJSON(ctx, status, o)
	return nil
}

// getOrder: GET /v1/orders/{id}, the merchant's source of truth.
func (s *Server) getOrder(ctx *fasthttp.RequestCtx) error {
	id, _ := ctx.UserValue("id").(string)
	o, err := s.Orders.Get(ctx, merchantOf(ctx).ID, id)
	if err != nil {
		return err
	}
	return writeOrder(ctx, 200, o)
}

// checkoutOrder: GET /v1/checkout/{id}, the customer-safe view, public by order id.
func (s *Server) checkoutOrder(ctx *fasthttp.RequestCtx) error {
	id, _ := ctx.UserValue("id").(string)
	v, _, err := s.checkoutLookup(ctx, id) // with the merchant's name and support contact
	if err != nil {
		return err
	}
	writeJSON(ctx, 200, v)
	return nil
}
