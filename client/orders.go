package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	checkout "github.com/mpchat/checkout"
)

// ListParams are the query of GET /v1/orders. Zero fields are left out (the server's
// defaults: 10 a page, newest first, no filter). Times are Unix seconds, amounts decimal strings.
type ListParams struct {
	Limit         int
	StartingAfter string
	EndingBefore  string
	Status        checkout.Status
	Network       checkout.Network
	CreatedGTE    int64
	CreatedLTE    int64
	AmountGTE     string
	AmountLTE     string
}

// OrderList is one page of GET /v1/orders.
type OrderList struct {
	Object            string           `json:"object"`
	Data              []checkout.Order `json:"data"`
	HasMore           bool             `json:"has_more"`
	NextStartingAfter string           `json:"next_starting_after,omitempty"`
}

func (p *ListParams) query() string {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	if p.Limit > 0 {
		set("limit", strconv.Itoa(p.Limit))
	}
	set("starting_after", p.StartingAfter)
	set("ending_before", p.EndingBefore)
	set("status", string(p.Status))
	set("network", string(p.Network))
	if p.CreatedGTE > 0 {
		set("created[gte]", strconv.FormatInt(p.CreatedGTE, 10))
	}
	if p.CreatedLTE > 0 {
		set("created[lte]", strconv.FormatInt(p.CreatedLTE, 10))
	}
	set("amount[gte]", p.AmountGTE)
	set("amount[lte]", p.AmountLTE)
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// ListOrders reads one page of the merchant's orders, newest first.
func (c *Client) ListOrders(ctx context.Context, p *ListParams) (*OrderList, error) {
	if p == nil {
		p = &ListParams{}
	}
	var l OrderList
	if err := c.call(ctx, http.MethodGet, "/v1/orders"+p.query(), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// OrderIter pages through a listing: for it.Next() { it.Order() }; then check it.Err().
type OrderIter struct {
	c    *Client
	ctx  context.Context
	p    ListParams
	page []checkout.Order
	cur  checkout.Order
	more bool
	err  error
	done bool
}

// ListOrdersAll iterates over every order the params select, newest first, fetching pages
// as it goes (EndingBefore is ignored).
func (c *Client) ListOrdersAll(ctx context.Context, p *ListParams) *OrderIter {
	it := &OrderIter{c: c, ctx: ctx, more: true}
	if p != nil {
		it.p = *p
	}
	it.p.EndingBefore = ""
	return it
}

// Next advances to the next order, fetching a page when needed.
func (it *OrderIter) Next() bool {
	for len(it.page) == 0 {
		if !it.more || it.err != nil {
			return false
		}
		l, err := it.c.ListOrders(it.ctx, &it.p)
		if err != nil {
			it.err = err
			return false
		}
		it.page, it.more = l.Data, l.HasMore
		it.p.StartingAfter = l.NextStartingAfter
		if it.p.StartingAfter == "" && len(l.Data) > 0 {
			it.p.StartingAfter = l.Data[len(l.Data)-1].ID
		}
	}
	it.cur, it.page = it.page[0], it.page[1:]
	return true
}

// Order is the current order.
func (it *OrderIter) Order() *checkout.Order { return &it.cur }

// Err is the error that stopped the iteration, if any.
func (it *OrderIter) Err() error { return it.err }

// CancelOrder cancels an order while nothing has been received for it (POST
// /v1/orders/{id}/cancel); canceling a canceled order returns it. Errors: 409
// order_not_cancelable, 404 resource_missing.
func (c *Client) CancelOrder(ctx context.Context, id string) (*checkout.Order, error) {
	var o checkout.Order
	if err := c.call(ctx, http.MethodPost, "/v1/orders/"+url.PathEscape(id)+"/cancel", nil, &o); err != nil {
		return nil, err
	}
	return &o, nil
}
