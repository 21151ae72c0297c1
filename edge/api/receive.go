package api

// Addresses mode's endpoints: claims by tx hash (the merchant's, signed, and the customer's
// on the public checkout, rate-limited per client and per order) and the merchant's list of
// unmatched transfers.

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
)

// Limits of public claims: per client a burst of 10, then one every 30 s; per order a burst
// of 10, then one a minute. A customer pastes a hash once or twice; guessing is pointless (a
// claim needs a recorded transfer) but each claim writes an order event, so it is bounded.
var (
	DefaultClaimClientLimit = store.Limit{Burst: 10, Every: 30 * time.Second}
	DefaultClaimOrderLimit  = store.Limit{Burst: 10, Every: time.Minute}
)

type claimBody struct {
	TxHash   string `json:"tx_hash"`
	LogIndex *uint  `json:"log_index,omitempty"`
}

func parseClaim(body []byte) (orders.ClaimParams, error) {
	var b claimBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return orders.ClaimParams{}, checkout.NewError(checkout.CodeInvalidJSON, "",
			`the body must be {"tx_hash": "0x…"} (optionally with "log_index")`)
	}
	if b.TxHash == "" {
		return orders.ClaimParams{}, checkout.NewError(checkout.CodeParameterMissing, "tx_hash", "tx_hash is required")
	}
	return orders.ClaimParams{TxHash: b.TxHash, LogIndex: b.LogIndex}, nil
}

// claimOrder: POST /v1/orders/{id}/claim, the merchant crediting a transfer (unmatched, or
// named by its customer) to its order. 200 with the order.
func (s *Server) claimOrder(ctx *fasthttp.RequestCtx) error {
	p, err := parseClaim(ctx.PostBody())
	if err != nil {
		return err
	}
	id, _ := ctx.UserValue("id").(string)
	rec, err := s.Orders.Lookup(ctx, id)
	if err != nil {
		return err
	}
	if rec.MerchantID != merchantOf(ctx).ID {
		return checkout.NotFound("order")
	}
	o, err := s.Orders.Claim(ctx, rec, p)
	if err != nil {
		return err
	}
	writeJSON(ctx, 200, o)
	return nil
}

// checkoutClaim: POST /v1/checkout/{id}/claim, the customer's claim from the checkout. 200
// with the customer-safe view.
func (s *Server) checkoutClaim(ctx *fasthttp.RequestCtx) error {
	id, _ := ctx.UserValue("id").(string)
	if err := s.throttle(ctx, "claim:"+s.clientBucket(ctx), DefaultClaimClientLimit, true,
		"too many claims from this client; retry after the Retry-After header's seconds"); err != nil {
		return err
	}
	p, err := parseClaim(ctx.PostBody())
	if err != nil {
		return err
	}
	rec, err := s.Orders.Lookup(ctx, id)
	if err != nil {
		return err
	}
	if err := s.throttle(ctx, "claim-order:{"+id+"}", DefaultClaimOrderLimit, true,
		"too many claims for this order; retry after the Retry-After header's seconds"); err != nil {
		return err
	}
	o, err := s.Orders.Claim(ctx, rec, p)
	if err != nil {
		return err
	}
	writeJSON(ctx, 200, o.CheckoutView())
	return nil
}

// transferList is GET /v1/transfers' answer.
type transferList struct {
	Data    []checkout.ReceivedTransfer `json:"data"`
	HasMore bool                        `json:"has_more"`
	Next    string                      `json:"next_cursor,omitempty"`
}

// listTransfers: GET /v1/transfers?status=unmatched[&limit=N][&cursor=C], the merchant's
// unmatched transfers, newest first.
func (s *Server) listTransfers(ctx *fasthttp.RequestCtx) error {
	args := ctx.QueryArgs()
	if st := string(args.Peek("status")); st != "" && st != string(checkout.TransferUnmatched) {
		return checkout.NewError(checkout.CodeInvalidType, "status", "status must be unmatched")
	}
	limit := 20
	if l := args.Peek("limit"); len(l) > 0 {
		n, err := strconv.Atoi(string(l))
		if err != nil || n < 1 || n > 100 {
			return checkout.NewError(checkout.CodeInvalidType, "limit", "limit must be from 1 to 100")
		}
		limit = n
	}
	list, next, err := s.Store.UnmatchedTransfers(ctx, merchantOf(ctx).ID, limit, string(args.Peek("cursor")))
	if err != nil {
		if isNotFound(err) {
			return checkout.NewError(checkout.CodeInvalidType, "cursor", "cursor must be a next_cursor this endpoint returned")
		}
		return err
	}
	writeJSON(ctx, 200, transferList{Data: list, HasMore: next != "", Next: next})
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
