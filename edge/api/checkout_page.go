package api

import (
	"context"
	"errors"

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
	pay := s.publicLookup(func(ctx *fasthttp.RequestCtx) error {
		id, _ := ctx.UserValue("id").(string)
		return s.Page.Pay(ctx, id)
	})
	r.GET("/pay/{id}", s.wrap(func(ctx *fasthttp.RequestCtx) error {
		err := pay(ctx)
		var ce *checkout.Error
		if errors.As(err, &ce) && ce.HTTPStatus == fasthttp.StatusTooManyRequests {
			tooManyPage(ctx)
			return nil
		}
		return err
	}))
	asset := s.wrap(func(ctx *fasthttp.RequestCtx) error {
		if !s.Page.Asset(ctx) {
			return checkout.NewError(checkout.CodeRouteNotFound, "", "no such file")
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
	v := rec.Order.CheckoutView()
	v.Merchant = m.CheckoutMerchant()
	return v, m, nil
}

// CheckoutLookup is checkoutLookup for page.New.
func (s *Server) CheckoutLookup() func(context.Context, string) (checkout.CheckoutView, *checkout.Merchant, error) {
	return s.checkoutLookup
}

// tooManyPage is the hosted page's answer to a throttled client (Retry-After is set): a
// plain page a customer can read, with nothing to load.
func tooManyPage(ctx *fasthttp.RequestCtx) {
	wait := string(ctx.Response.Header.Peek("Retry-After"))
	ctx.SetStatusCode(fasthttp.StatusTooManyRequests)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors *")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetBodyString("<!doctype html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">" +
		"<title>Too many requests</title></head><body><h1>Too many requests</h1>" +
		"<p>Please wait " + wait + " seconds and reload this page.</p>" +
		"<p lang=\"zh\">请求过多，请稍候 " + wait + " 秒后刷新页面。</p></body></html>\n")
}
