package api

import (
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
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
	q, err := parseListQuery(ctx.QueryArgs())
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

func parseListQuery(args *fasthttp.Args) (store.ListQuery, error) {
	q := store.ListQuery{Limit: 10}
	var err error
	seen := map[string]bool{}
	args.VisitAll(func(k, v []byte) {
		if err != nil {
			return
		}
		key, val := string(k), string(v)
		if seen[key] {
			err = checkout.Invalid(checkout.CodeDuplicateParameter, key, "%s is given more than once", key)
			return
		}
		seen[key] = true
		bad := func(format string, a ...any) { err = checkout.Invalid(checkout.CodeInvalidType, key, format, a...) }
		switch key {
		case "limit":
			n, e := strconv.Atoi(val)
			if e != nil || n < 1 || n > 100 {
				bad("limit must be an integer from 1 to 100")
				return
			}
			q.Limit = n
		case "starting_after", "ending_before":
			if len(val) != 30 {
				bad("%s must be an order id", key)
				return
			}
			if key == "starting_after" {
				q.After = val
			} else {
				q.Before = val
			}
		case "status":
			st := checkout.Status(val)
			if !st.Valid() {
				bad("status must be one of PENDING, CONFIRMING, PAID, UNDERPAID, EXPIRED, FROZEN, CANCELED")
				return
			}
			q.Statuses = []checkout.Status{st}
		case "network":
			n, e := checkout.ParseNetwork(val)
			if e != nil {
				err = checkout.Invalid(checkout.CodeInvalidNetwork, key, "%v", e)
				return
			}
			q.Networks = []checkout.Network{n}
		case "created[gte]", "created[lte]":
			sec, e := strconv.ParseInt(val, 10, 64)
			if e != nil || sec < 0 || sec > 1<<32 {
				bad("%s must be a Unix time in seconds", key)
				return
			}
			if key == "created[gte]" {
				q.CreatedFrom = time.Unix(sec, 0).UTC()
			} else {
				q.CreatedTo = time.Unix(sec, 0).UTC()
			}
		case "amount[gte]", "amount[lte]":
			a, e := checkout.ParseAmount(val)
			if e != nil {
				err = checkout.Invalid(checkout.CodeInvalidAmount, key, "%s: %v", key, e)
				return
			}
			if key == "amount[gte]" {
				q.MinAmount = a
			} else {
				q.MaxAmount = a
			}
		default:
			err = checkout.Invalid(checkout.CodeUnknownParameter, key, "unknown query parameter %s", key)
		}
	})
	if err == nil && q.After != "" && q.Before != "" {
		err = checkout.Invalid(checkout.CodeInvalidType, "ending_before", "starting_after and ending_before cannot be used together")
	}
	return q, err
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
