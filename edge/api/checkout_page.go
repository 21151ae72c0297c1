package api

import (
	"context"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
)

// pageRoutes registers the hosted checkout (GET /pay/{id}) and its assets (GET /web/{file},
// /embed.js, /app-worker.js) when the server has a Page.
func (s *Server) pageRoutes(r *router.Router) {
	if s.Page == nil {
		return
	}
	r.GET("/pay/{id}", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		id, _ := ctx.UserValue("id").(string)
		return s.Page.Pay(ctx, id)
	}))
	asset := s.wrap(func(ctx *fasthttp.RequestCtx) error {
		if !s.Page.Asset(ctx) {
			return &checkout.Error{HTTPStatus: 404, Type: checkout.InvalidRequest, Code: "route_not_found", Message: "no such file"}
		}
		return nil
	})
	r.GET("/web/{file}", asset)
	r.HEAD("/web/{file}", asset)
	r.GET("/embed.js", asset)
	r.GET("/app-worker.js", asset)
}

// checkoutLookup is the page's view of an order: the customer-safe view only (the page never
// holds the merchant's order object) and the merchant's settings for its headers.
func (s *Server) checkoutLookup(ctx context.Context, id string) (checkout.CheckoutView, *checkout.Merchant, error) {
	rec, err := s.Orders.Lookup(ctx, id)
	if err != nil {
		return checkout.CheckoutView{}, nil, err
	}
	m, err := s.merchant(ctx, rec.MerchantID)
	if err != nil {
		return checkout.CheckoutView{}, nil, err
	}
	return rec.Order.CheckoutView(), m, nil
}

// CheckoutLookup is checkoutLookup for page.New.
func (s *Server) CheckoutLookup() func(context.Context, string) (checkout.CheckoutView, *checkout.Merchant, error) {
	return s.checkoutLookup
}
