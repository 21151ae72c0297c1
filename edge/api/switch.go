package api

// The customer's network switch on the checkout: public by order id, like the checkout's
// claim, and rate-limited per client and per order.

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// Limits of public network switches: per client a burst of 10, then one every 30 s; per
// order a burst of 6, then one a minute. A customer switches once or twice; each switch
// writes an order event and a webhook, so it is bounded.
var (
	DefaultSwitchClientLimit = store.Limit{Burst: 10, Every: 30 * time.Second}
	DefaultSwitchOrderLimit  = store.Limit{Burst: 6, Every: time.Minute}
)

type switchBody struct {
	Network *string `json:"network"`
}

func parseSwitch(body []byte) (checkout.Network, error) {
	var b switchBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return "", checkout.NewError(checkout.CodeInvalidJSON, "", `the body must be {"network": "TRC20"} or {"network": "ERC20"}`)
	}
	if b.Network == nil {
		return "", checkout.NewError(checkout.CodeParameterMissing, "network", "network is required")
	}
	n, err := checkout.ParseNetwork(*b.Network)
	if err != nil {
		return "", checkout.NewError(checkout.CodeInvalidNetwork, "network", err.Error())
	}
	return n, nil
}

// checkoutSwitch: POST /v1/checkout/{id}/network, the customer moving the order to another
// network. 200 with the customer-safe view (the new address and pay_amount).
func (s *Server) checkoutSwitch(ctx *fasthttp.RequestCtx) error {
	id, _ := ctx.UserValue("id").(string)
	if err := s.throttle(ctx, "switch:"+s.clientBucket(ctx), DefaultSwitchClientLimit, true,
		"too many network switches from this client; retry after the Retry-After header's seconds"); err != nil {
		return err
	}
	n, err := parseSwitch(ctx.PostBody())
	if err != nil {
		return err
	}
	rec, err := s.Orders.Lookup(ctx, id)
	if err != nil {
		return err
	}
	if err := s.throttle(ctx, "switch-order:{"+id+"}", DefaultSwitchOrderLimit, true,
		"too many network switches for this order; retry after the Retry-After header's seconds"); err != nil {
		return err
	}
	o, err := s.Orders.SwitchNetwork(ctx, id, n)
	if err != nil {
		return err
	}
	v := o.CheckoutView()
	m, err := s.merchant(ctx, rec.MerchantID)
	if err != nil {
		return err
	}
	v.Merchant = m.CheckoutMerchant()
	writeJSON(ctx, 200, v)
	return nil
}
