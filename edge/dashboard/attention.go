package dashboard

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/maxence-charriere/go-app/v9/pkg/app"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
)

// Limits of the attention page: it shows the oldest attentionMax orders and the newest
// unmatchedMax unmatched transfers (each with up to candidatesScan open orders of the
// merchant looked at for one on its address).
const (
	attentionMax   = 200
	unmatchedMax   = 50
	candidatesScan = 100
)

func (h *Handler) attentionRoutes(r *router.Router) {
	r.GET(Path+"/attention", h.wrap(h.attentionPage, signedIn))
	r.POST(Path+"/attention/attach", h.wrap(h.attach, postSignedIn))
}

func attentionPath(r *request, merchantID string) string {
	p := Path + "/attention"
	if r.cur.User.Operator {
		p += "?merchant=" + url.QueryEscape(merchantID)
	}
	return p
}

// attentionMerchant is the merchant whose queue the request names: the user's own (naming
// another is a 404), or for an operator the ?merchant= one ("" when none is chosen yet).
func (h *Handler) attentionMerchant(r *request, named string) (string, bool) {
	u := r.cur.User
	if !u.Operator {
		return u.MerchantID, named == "" || named == u.MerchantID
	}
	if named == "" {
		return "", true
	}
	if !store.IsMerchantID(named) {
		return "", false
	}
	if _, err := h.cfg.Merchants.Merchant(r.ctx, named); err != nil {
		return "", false
	}
	return named, true
}

// attentionForm is the error to show beside one attach form.
type attentionForm struct {
	key, msg string // key: the transfer's form key (attachKey)
	orderID  string // what was typed
}

func (h *Handler) attentionPage(r *request) error {
	if h.cfg.Store == nil {
		return h.notFound(r)
	}
	mid, ok := h.attentionMerchant(r, string(r.ctx.QueryArgs().Peek("merchant")))
	if !ok {
		return h.notFound(r)
	}
	return h.showAttention(r, fasthttp.StatusOK, mid, attentionForm{})
}

// attentionOrder is an order of the queue as shown.
type attentionOrder struct {
	rec    *store.Record
	since  time.Time
	review *store.Review // an earlier review of another state
}

func (h *Handler) showAttention(r *request, status int, mid string, f attentionForm) error {
	l := r.lang
	if mid == "" { // an operator: choose a merchant
		ms, err := h.cfg.Merchants.Merchants(r.ctx)
		if err != nil {
			return err
		}
		items := []app.UI{}
		for _, m := range ms {
			items = append(items, app.Li().Body(app.A().Href("%s", Path+"/attention?merchant="+url.QueryEscape(m.ID)+"&lang="+l).Text(m.Name)))
		}
		h.render(r, status, t(l, "attention.title"), page(r, t(l, "attention.title"), app.P().Text(t(l, "attention.choose")), app.Ul().ID("merchants").Body(items...)))
		return nil
	}
	items, err := h.cfg.Store.Attention(r.ctx, mid, attentionMax)
	if err != nil {
		return err
	}
	var queue []attentionOrder
	for _, it := range items {
		rec, err := h.cfg.Store.Order(r.ctx, it.OrderID)
		if errors.Is(err, store.ErrNotFound) {
			if err := h.cfg.Store.Unfile(r.ctx, mid, it.OrderID); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		rv, err := h.cfg.Store.OrderReview(r.ctx, it.OrderID)
		if err != nil {
			return err
		}
		state := store.AttentionState(&rec.Order)
		if state == "" || rv != nil && rv.State == state {
			// Reviewed (a filing raced the review) or no longer needing anyone.
			if err := h.cfg.Store.Unfile(r.ctx, mid, it.OrderID); err != nil {
				return err
			}
			continue
		}
		queue = append(queue, attentionOrder{rec: rec, since: it.Since, review: rv})
	}
	transfers, _, err := h.cfg.Store.UnmatchedTransfers(r.ctx, mid, unmatchedMax, "")
	if err != nil {
		return err
	}
	var open []*store.Record
	if len(transfers) > 0 {
		pg, err := h.cfg.Store.ListOrders(r.ctx, mid, store.ListQuery{Statuses: []checkout.Status{checkout.StatusPending, checkout.StatusConfirming}, Limit: candidatesScan})
		if err != nil {
			return err
		}
		open = pg.Records
	}

	body := []app.UI{}
	if r.cur.User.Operator {
		if m, err := h.cfg.Merchants.Merchant(r.ctx, mid); err == nil {
			body = append(body, app.P().Class("sub").Text(t(l, "attention.for", m.Name)))
		}
	}
	if f.msg != "" && !slices.ContainsFunc(transfers, func(x checkout.ReceivedTransfer) bool { return attachKey(&x) == f.key }) {
		// The transfer is no longer listed (claimed meanwhile): the answer goes on top.
		body = append(body, alert("error", f.msg))
	}
	if len(queue) == 0 && len(transfers) == 0 {
		body = append(body, app.P().ID("attention-empty").Text(t(l, "attention.empty")))
	}
	if len(queue) > 0 {
		body = append(body, section("attention-orders", t(l, "attention.orders"), h.queueList(r, queue)))
	}
	if len(transfers) > 0 {
		body = append(body, section("attention-transfers", t(l, "attention.transfers"),
			app.P().Class("hint").Text(t(l, "attention.transfers.hint")), h.transferList(r, mid, transfers, open, f)))
	}
	h.render(r, status, t(l, "attention.title"), page(r, t(l, "attention.title"), body...))
	return nil
}

func reasons(l string, o *checkout.Order) string {
	var out []string
	switch o.Status {
	case checkout.StatusUnderpaid:
		out = append(out, t(l, "attention.why.underpaid", usdt(o.AmountPaid), usdt(o.Amount)))
	case checkout.StatusFrozen:
		why := t(l, "attention.why.frozen")
		if o.FrozenReason != "" {
			why += ": " + o.FrozenReason
		}
		out = append(out, why)
	}
	if o.AmountLate > 0 {
		out = append(out, t(l, "attention.why.late", usdt(o.AmountLate)))
	}
	return strings.Join(out, " · ")
}

func (h *Handler) queueList(r *request, queue []attentionOrder) app.UI {
	l := r.lang
	items := []app.UI{}
	for _, q := range queue {
		o := &q.rec.Order
		var earlier app.UI
		if q.review != nil {
			earlier = app.P().Class("hint").Text(t(l, "attention.reviewed.before", q.review.By, fmtTime(q.review.At)))
		}
		items = append(items, app.Li().Class("item").ID("item-"+o.ID).Body(
			app.Div().Class("item-head").Body(
				app.A().Class("mono").Href("%s", orderPath(o.ID)+"?lang="+l).Text(o.ID), app.Text(" "), statusBadge(l, o.Status)),
			app.P().Class("why").Text(reasons(l, o)),
			app.P().Class("hint").Text(t(l, "attention.since", fmtTime(q.since))),
			earlier,
			reviewForm(r, o.ID, "attention", false, ""),
		))
	}
	return app.Ul().ID("attention-list").Class("items").Body(items...)
}

// attachKey names one transfer's forms on the page.
func attachKey(x *checkout.ReceivedTransfer) string {
	return x.TxHash[:min(len(x.TxHash), 18)] + "-" + strconv.FormatUint(uint64(x.LogIndex), 10)
}

func (h *Handler) transferList(r *request, mid string, transfers []checkout.ReceivedTransfer, open []*store.Record, f attentionForm) app.UI {
	l := r.lang
	items := []app.UI{}
	for i := range transfers {
		x := &transfers[i]
		key := attachKey(x)
		var cands []app.UI
		for _, rec := range open {
			o := &rec.Order
			if o.Network != x.Network || o.Address != x.Address || !o.CreatedAt.Before(x.FirstSeenAt) {
				continue
			}
			row := []app.UI{app.A().Class("mono").Href("%s", orderPath(o.ID)+"?lang="+l).Text(o.ID),
				app.Text(" · " + t(l, "attention.cand.pay", usdt(o.PayAmount)) + " "), statusBadge(l, o.Status),
				attachHidden(r, mid, x, o.ID, "attach-"+o.ID, t(l, "attention.attach.this"))}
			if o.Status == checkout.StatusPending {
				row = append(row, app.Form().Class("inline").Method("post").Action("%s", action(r, orderPath(o.ID)+"/cancel")).Body(
					csrfInput(r), app.Button().Type("submit").Class("danger").ID("cancel-"+o.ID).Text(t(l, "attention.cancel"))))
			}
			cands = append(cands, app.Li().Body(row...))
		}
		var candUI app.UI = app.P().Class("hint").Text(t(l, "attention.cand.none"))
		if len(cands) > 0 {
			candUI = app.Div().Body(app.P().Text(t(l, "attention.cand")), app.Ul().Class("cands").Body(cands...))
		}
		fid := "attach-order-" + key
		in := app.Input().Type("text").ID(fid).Name("order_id").Attr("autocomplete", "off").Attr("spellcheck", "false").
			Attr("placeholder", "ord_…").MaxLength(30).Aria("describedby", fid+"-hint")
		var errEl app.UI
		if f.key == key {
			in = in.Value(f.orderID).Aria("invalid", "true").Aria("describedby", fid+"-error "+fid+"-hint")
			errEl = app.P().Class("field-error").ID(fid+"-error").Attr("role", "alert").Text(f.msg)
		}
		items = append(items, app.Li().Class("item").ID("transfer-"+key).Body(
			app.Div().Class("item-head").Body(app.Strong().Text(usdt(x.Amount)), app.Text(" · "+x.Network.Label()+" · "),
				linkOr(h.explorerTx(x.Network, x.TxHash), shortHash(x.TxHash), "mono")),
			app.Dl().Class("facts").Body(
				app.Dt().Text(t(l, "attention.to")), app.Dd().Body(linkOr(h.explorerAddress(x.Network, x.Address), x.Address, "mono")),
				app.Dt().Text(t(l, "detail.pay.from")), app.Dd().Class("mono").Text(x.From),
				app.Dt().Text(t(l, "detail.pay.seen")), app.Dd().Text(fmtTime(x.FirstSeenAt)),
				app.Dt().Text(t(l, "detail.pay.conf")), app.Dd().Text(strconv.FormatUint(x.Confirmations, 10)+" · "+string(x.Kind)),
			),
			candUI,
			app.Form().Class("attach").Method("post").Action("%s", action(r, Path+"/attention/attach")+merchantQuery(r)).Body(
				csrfInput(r), transferFields(x),
				app.Label().For(fid).Text(t(l, "attention.attach.label")),
				app.Div().Class("attach-row").Body(in, app.Button().Type("submit").Class("secondary").ID("attach-"+key).Text(t(l, "attention.attach"))),
				errEl,
				app.P().Class("hint").ID(fid+"-hint").Text(t(l, "attention.attach.hint")),
			),
		))
	}
	return app.Ul().ID("transfer-list").Class("items").Body(items...)
}

func transferFields(x *checkout.ReceivedTransfer) app.UI {
	return app.Span().Body(
		app.Input().Type("hidden").Name("tx_hash").Value(x.TxHash),
		app.Input().Type("hidden").Name("log_index").Value(strconv.FormatUint(uint64(x.LogIndex), 10)),
		app.Input().Type("hidden").Name("key").Value(attachKey(x)),
	)
}

// attachHidden is a one-button form attaching transfer x to the order orderID.
func attachHidden(r *request, mid string, x *checkout.ReceivedTransfer, orderID, id, label string) app.UI {
	return app.Form().Class("inline").Method("post").Action("%s", action(r, Path+"/attention/attach")+merchantQuery(r)).Body(
		csrfInput(r), transferFields(x), app.Input().Type("hidden").Name("order_id").Value(orderID),
		app.Button().Type("submit").Class("secondary").ID(id).Text(label))
}

// attach credits an unmatched transfer to an order, with the claim rules of
// POST /v1/orders/{id}/claim (edge/orders.Claim).
func (h *Handler) attach(r *request) error {
	if h.cfg.Store == nil {
		return h.notFound(r)
	}
	args := r.ctx.PostArgs()
	mid, ok := h.attentionMerchant(r, string(r.ctx.QueryArgs().Peek("merchant")))
	if !ok {
		return h.notFound(r)
	}
	orderID := strings.TrimSpace(string(args.Peek("order_id")))
	f := attentionForm{key: string(args.Peek("key")), orderID: orderID}
	refuse := func(status int, msg string) error {
		f.msg = msg
		return h.showAttention(r, status, mid, f)
	}
	tx := string(args.Peek("tx_hash"))
	if _, ok := checkout.ParseTxHash(tx); !ok {
		return refuse(fasthttp.StatusBadRequest, t(r.lang, "attention.attach.badtx"))
	}
	var logIndex *uint
	if li := string(args.Peek("log_index")); li != "" {
		n, err := strconv.ParseUint(li, 10, 32)
		if err != nil {
			return refuse(fasthttp.StatusBadRequest, t(r.lang, "attention.attach.badtx"))
		}
		v := uint(n)
		logIndex = &v
	}
	if orderID == "" {
		return refuse(fasthttp.StatusBadRequest, t(r.lang, "attention.attach.missing"))
	}
	if !orders.ValidOrderID(orderID) {
		return refuse(fasthttp.StatusBadRequest, t(r.lang, "attention.attach.badid"))
	}
	rec, err := h.orderOf(r, orderID)
	if err != nil {
		return err
	}
	if rec == nil || mid != "" && rec.MerchantID != mid {
		return refuse(fasthttp.StatusNotFound, t(r.lang, "attention.attach.unknown"))
	}
	_, err = h.cfg.Actions.Claim(r.ctx, rec, orders.ClaimParams{TxHash: tx, LogIndex: logIndex})
	var ce *checkout.Error
	switch {
	case errors.As(err, &ce) && ce.HTTPStatus < 500:
		if aerr := h.auditOrder(r, rec.MerchantID, actionAttachFail, orderID+" "+tx+" "+string(ce.Code)); aerr != nil {
			return aerr
		}
		return refuse(ce.HTTPStatus, ce.Message)
	case err != nil:
		return err
	}
	if err := h.auditOrder(r, rec.MerchantID, actionAttach, orderID+" "+tx); err != nil {
		return err
	}
	h.redirect(r, orderPath(orderID), "attached")
	return nil
}
