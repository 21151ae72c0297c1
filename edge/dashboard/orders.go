package dashboard

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/listquery"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
)

// OrderList is what the order list needs from the store (edge/store.Store): the merchant's
// order index (the listing GET /v1/orders pages through), the exact lookups, and the audit
// log for CSV downloads.
type OrderList interface {
	ListOrders(ctx context.Context, merchantID string, q store.ListQuery) (*store.ListPage, error)
	Order(ctx context.Context, id string) (*store.Record, error)
	OrderIDsByTx(ctx context.Context, merchantID, txHash string) ([]string, error)
	OrderIDByAddress(ctx context.Context, n checkout.Network, addr string) (string, error)
	OrderIDByIdempotencyKey(ctx context.Context, merchantID, key string) (string, error)
	AppendAudit(ctx context.Context, merchantID string, e store.AuditEntry) error
}

// The order list's page size, unless ?limit= says otherwise (1–listquery.MaxLimit).
const ordersPageSize = 25

// Parameters of the order pages beside the listing's own (listquery): the operator's
// merchant, the language, a redirect notice, the lookup, and the live fragment's marker.
const (
	paramMerchant = "merchant"
	paramLookup   = "q"
	paramView     = "view"
)

var orderListOptions = listquery.Options{
	DefaultLimit: ordersPageSize, Dates: true, SkipEmpty: true,
	Extra: []string{paramMerchant, "lang", "m", paramLookup, paramView},
}

func (h *Handler) ordersRoutes(r *router.Router) {
	if h.cfg.Store == nil {
		return // a sign-in-only dashboard (its tests)
	}
	r.GET(Path+"/orders", h.wrap(h.orderList, signedIn))
	r.GET(Path+"/orders.csv", h.wrap(h.ordersCSV, signedIn))
}

// scopeID is the merchant id a request may see, by the one rule of every page: a merchant's
// user its own (ok false, answer 404, when ?merchant= names another); an operator the one
// ?merchant= names, "" when none is named yet.
func scopeID(r *request) (id string, ok bool) {
	named := string(r.ctx.QueryArgs().Peek(paramMerchant))
	u := r.cur.User
	if u.Operator {
		return named, true
	}
	if named != "" && named != u.MerchantID {
		return "", false
	}
	return u.MerchantID, true
}

// orderScope is whose orders a request may see: the signed-in merchant's own, or for an
// operator the merchant ?merchant= names. found is false when the request named a merchant it
// may not see (or none exists): the caller answers 404, as for an unknown one, so nothing
// tells another merchant's id from a made-up one. An operator who named none gets a nil
// merchant (the page shows the chooser).
func (h *Handler) orderScope(r *request) (m *checkout.Merchant, found bool, err error) {
	id, ok := scopeID(r)
	switch {
	case !ok:
		return nil, false, nil
	case !r.cur.User.Operator:
		m, err := h.cfg.Merchants.Merchant(r.ctx, id)
		return m, err == nil, err
	case id == "":
		return nil, true, nil
	}
	if !strings.HasPrefix(id, "mer_") || len(id) > 64 {
		return nil, false, nil
	}
	m, err = h.cfg.Merchants.Merchant(r.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	return m, err == nil, err
}

// orderList: GET /dashboard/orders, the merchant's orders newest first, filtered, paged, or
// the orders one lookup value finds; with ?view=rows only the table's rows (the live update).
func (h *Handler) orderList(r *request) error {
	m, found, err := h.orderScope(r)
	if err != nil {
		return err
	}
	if !found {
		h.notFound(r)
		return nil
	}
	args := r.ctx.QueryArgs()
	if string(args.Peek(paramView)) == "rows" {
		return h.orderRows(r, m)
	}
	v := &ordersView{merchant: m, values: map[string]string{}}
	args.VisitAll(func(k, val []byte) { v.values[string(k)] = string(val) })
	if r.cur.User.Operator {
		if v.merchants, err = h.cfg.Merchants.Merchants(r.ctx); err != nil {
			return err
		}
		slices.SortFunc(v.merchants, func(a, b *checkout.Merchant) int { return strings.Compare(a.Name, b.Name) })
	}
	status := fasthttp.StatusOK
	switch q, perr := listquery.Parse(args, orderListOptions); {
	case m == nil: // an operator who has not chosen a merchant yet
	case perr != nil:
		status = fasthttp.StatusBadRequest
		v.fieldErr, v.errMsg = filterError(r.lang, perr, v.values)
	case strings.TrimSpace(v.values[paramLookup]) != "":
		v.lookup = strings.TrimSpace(v.values[paramLookup])
		recs, lerr := h.lookupOrders(r.ctx, m.ID, v.lookup)
		if errors.Is(lerr, errLookupTooLong) {
			status = fasthttp.StatusBadRequest
			v.fieldErr = map[string]string{paramLookup: t(r.lang, "orders.err.lookup", orders.MaxIdempotencyLen)}
			break
		}
		if lerr != nil {
			return lerr
		}
		v.records, v.listed = recs, true
	default:
		v.query = q
		page, lerr := h.cfg.Store.ListOrders(r.ctx, m.ID, q)
		if errors.Is(lerr, store.ErrNotFound) { // a cursor that is no order of this merchant
			status = fasthttp.StatusBadRequest
			v.errMsg = t(r.lang, "orders.err.cursor")
			break
		}
		if lerr != nil {
			return lerr
		}
		v.records, v.page, v.listed = page.Records, page, true
	}
	if v.live() {
		r.ctx.Response.Header.Set("Content-Security-Policy", h.csp+liveCSP)
	}
	h.render(r, status, t(r.lang, "orders.title"), ordersPage(r, v))
	return nil
}

// filterError turns the listing parser's refusal into the message beside its field (or,
// for a parameter no field sends, above the form).
func filterError(lang string, err error, values map[string]string) (map[string]string, string) {
	var e *checkout.Error
	if !errors.As(err, &e) {
		return nil, t(lang, "orders.err.query")
	}
	field := func(key string) (map[string]string, string) { return map[string]string{e.Param: t(lang, key)}, "" }
	if e.Code == checkout.CodeDuplicateParameter || e.Code == checkout.CodeUnknownParameter {
		return nil, t(lang, "orders.err.query") // no field of the form sends that
	}
	switch e.Param {
	case listquery.Status:
		return field("orders.err.status")
	case listquery.Network:
		return field("orders.err.network")
	case listquery.CreatedGTE:
		return field("orders.err.date")
	case listquery.CreatedLTE:
		// Either not a date, or a date before the start (the parser names the upper bound).
		if _, perr := listquery.Parse(argsOf(listquery.CreatedGTE, values[listquery.CreatedLTE]), orderListOptions); perr == nil {
			return field("orders.err.dates")
		}
		return field("orders.err.date")
	case listquery.AmountGTE:
		return field("orders.err.amount")
	case listquery.AmountLTE:
		if _, perr := checkout.ParseAmount(values[listquery.AmountLTE]); perr == nil {
			return field("orders.err.amounts")
		}
		return field("orders.err.amount")
	case listquery.StartingAfter, listquery.EndingBefore:
		return nil, t(lang, "orders.err.cursor")
	}
	return nil, t(lang, "orders.err.query")
}

func argsOf(key, val string) *fasthttp.Args {
	var a fasthttp.Args
	a.Set(key, val)
	return &a
}

var errLookupTooLong = errors.New("lookup value too long")

// lookupOrders finds the merchant's orders one value names exactly, newest first: an order
// id, a deposit address (also one an order held before a network switch, while the address
// stays bound to it), a transaction hash of a payment, or an idempotency key (while it is
// remembered, 24 h). Every shape the value could be is tried; orders of other merchants are
// never returned.
func (h *Handler) lookupOrders(ctx context.Context, merchantID, v string) ([]*store.Record, error) {
	if len(v) > orders.MaxIdempotencyLen {
		return nil, errLookupTooLong
	}
	st := h.cfg.Store
	var ids []string
	if strings.HasPrefix(v, "ord_") && len(v) == 30 {
		ids = append(ids, v)
	}
	if isTxHash(v) {
		got, err := st.OrderIDsByTx(ctx, merchantID, v)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	for _, n := range checkout.Networks {
		a, err := deposit.Parse(n, v)
		if err != nil {
			continue
		}
		id, err := st.OrderIDByAddress(ctx, n, deposit.Format(n, a))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, id) // a merchant's receive address maps to the merchant: skipped below
	}
	id, err := st.OrderIDByIdempotencyKey(ctx, merchantID, v)
	if err != nil {
		return nil, err
	}
	if id != "" {
		ids = append(ids, id)
	}
	var out []*store.Record
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !strings.HasPrefix(id, "ord_") {
			continue
		}
		seen[id] = true
		rec, err := st.Order(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if rec.MerchantID == merchantID {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b *store.Record) int {
		if c := b.Order.CreatedAt.Compare(a.Order.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.Order.ID, a.Order.ID)
	})
	return out, nil
}

// isTxHash: 32 bytes of hex, with or without 0x (Ethereum writes it, TRON does not).
func isTxHash(v string) bool {
	h := strings.TrimPrefix(strings.TrimPrefix(v, "0x"), "0X")
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
