package api

import (
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
)

const (
	createValue = "create" // prepareCreate's parsed body
	claimValue  = "claim"  // set when the admission made the create's claim
	orderValue  = "order"  // set to the id when the admission loaded the order
)

type parsedCreate struct {
	p   *orders.CreateParams
	err error
}

// prepareCreate parses the body (its error is answered after authentication, by
// createOrder) and puts the order's claim in the admission's round trip.
func (s *Server) prepareCreate(ctx *fasthttp.RequestCtx, m *checkout.Merchant, a *store.Admission) {
	p, err := orders.ParseCreate(ctx.PostBody(), string(ctx.Request.Header.Peek("Idempotency-Key")),
		orders.Policy{Dev: s.Dev, ReturnHosts: m.ReturnHosts, MaxTolerance: s.MaxTolerance})
	ctx.SetUserValue(createValue, parsedCreate{p, err})
	if err == nil {
		if a.Claim = s.Orders.ClaimFor(m, p); a.Claim != nil {
			ctx.SetUserValue(claimValue, true)
		}
	}
}

// prepareGet loads the order in the admission's round trip.
func (s *Server) prepareGet(ctx *fasthttp.RequestCtx, _ *checkout.Merchant, a *store.Admission) {
	if id, _ := ctx.UserValue("id").(string); orders.ValidOrderID(id) {
		a.Order = id
		ctx.SetUserValue(orderValue, id)
	}
}

// createOrder: POST /v1/orders. 201 with the new order; 200 with Idempotent-Replayed: true
// when an earlier request with the same idempotency key made it.
func (s *Server) createOrder(ctx *fasthttp.RequestCtx) error {
	m := merchantOf(ctx)
	pc, ok := ctx.UserValue(createValue).(parsedCreate)
	if !ok {
		pc.p, pc.err = orders.ParseCreate(ctx.PostBody(), string(ctx.Request.Header.Peek("Idempotency-Key")),
			orders.Policy{Dev: s.Dev, ReturnHosts: m.ReturnHosts, MaxTolerance: s.MaxTolerance})
	}
	if pc.err != nil {
		return pc.err
	}
	var (
		o        *checkout.Order
		replayed bool
		err      error
	)
	if ad, ok := ctx.UserValue(admittedValue).(*store.Admitted); ok && ctx.UserValue(claimValue) != nil {
		o, replayed, err = s.Orders.CreateClaimed(ctx, m, pc.p, ad.Claim)
	} else {
		o, replayed, err = s.Orders.Create(ctx, m, pc.p)
	}
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
	var o *checkout.Order
	var err error
	if ad, ok := ctx.UserValue(admittedValue).(*store.Admitted); ok && ctx.UserValue(orderValue) == id {
		o, err = orders.Loaded(merchantOf(ctx).ID, ad.Order)
	} else {
		o, err = s.Orders.Get(ctx, merchantOf(ctx).ID, id)
	}
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
