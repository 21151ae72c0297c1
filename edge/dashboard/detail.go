package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/router"
	"github.com/maxence-charriere/go-app/v9/pkg/app"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/outbox"
	"github.com/mpchat/checkout/edge/store"
)

// OrderDetail is what the order page and the attention queue need from the store.
type OrderDetail interface {
	Order(ctx context.Context, id string) (*store.Record, error)
	OrderEvents(ctx context.Context, orderID, after string, count int64) ([]store.StreamEvent, error)
	WebhookList(ctx context.Context, orderID string) ([]checkout.WebhookDelivery, *time.Time, error)
	OrderReview(ctx context.Context, orderID string) (*store.Review, error)
	MarkReviewed(ctx context.Context, merchantID, orderID string, r *store.Review) error
	WebhookTest(ctx context.Context, orderID string) (*checkout.WebhookAttempt, error)
	SaveWebhookTest(ctx context.Context, orderID string, a *checkout.WebhookAttempt) error
	Attention(ctx context.Context, merchantID string, limit int64) ([]store.AttentionItem, error)
	Unfile(ctx context.Context, merchantID, orderID string) error
	UnmatchedTransfers(ctx context.Context, merchantID string, limit int, cursor string) ([]checkout.ReceivedTransfer, string, error)
	ListOrders(ctx context.Context, merchantID string, q store.ListQuery) (*store.ListPage, error)
	AppendAudit(ctx context.Context, merchantID string, e store.AuditEntry) error
}

// Actions changes orders the way the merchant API does, with the same rules (edge/orders).
type Actions interface {
	Lookup(ctx context.Context, id string) (*store.Record, error)
	Cancel(ctx context.Context, merchantID, id string) (*checkout.Order, error)
	Claim(ctx context.Context, rec *store.Record, p orders.ClaimParams) (*checkout.Order, error)
	Redeliver(ctx context.Context, merchantID, orderID, eventID string) (*store.Delivery, error)
}

// Webhooks is the edge's webhook dispatcher (edge/outbox.Dispatcher): woken when a
// redelivery is queued, and the sender of test events.
type Webhooks interface {
	Wake()
	SendTest(ctx context.Context, m *checkout.Merchant, target, orderID string) (*checkout.WebhookAttempt, error)
}

func init() {
	addMessages(map[string]string{
		"canceled": "detail.msg.canceled", "redelivered": "detail.msg.redelivered", "tested": "detail.msg.tested",
		"reviewed": "detail.msg.reviewed", "attached": "detail.msg.attached",
	})
}

func (h *Handler) detailRoutes(r *router.Router) {
	r.GET(Path+"/orders/{id}", h.wrap(h.orderPage, signedIn))
	r.POST(Path+"/orders/{id}/cancel", h.wrap(h.cancelOrder, postSignedIn))
	r.POST(Path+"/orders/{id}/review", h.wrap(h.reviewOrder, postSignedIn))
	r.POST(Path+"/orders/{id}/webhooks/test", h.wrap(h.testWebhook, postSignedIn))
	r.POST(Path+"/orders/{id}/webhooks/{event_id}/redeliver", h.wrap(h.redeliver, postSignedIn))
	h.attentionRoutes(r)
}

// Audit actions of the order page and the attention queue.
const (
	actionCancel     = "order.canceled"
	actionRedeliver  = "webhook.redelivered"
	actionTest       = "webhook.test_sent"
	actionReview     = "order.reviewed"
	actionAttach     = "transfer.attached"
	actionAttachFail = "transfer.attach_refused"
)

// auditOrder records a user's action on a merchant's data in that merchant's audit log.
func (h *Handler) auditOrder(r *request, merchantID, action, detail string) error {
	e := store.AuditEntry{At: time.Now().UTC(), Actor: r.cur.User.Email, UserID: r.cur.User.ID, Action: action, Detail: detail}
	if r.ip.IsValid() {
		e.IP = r.ip.String()
	}
	return h.cfg.Store.AppendAudit(r.ctx, merchantID, e)
}

// notFound answers 404 for an order (or anything) the user may not see, exactly as for one
// that does not exist.
func (h *Handler) notFound(r *request) error {
	h.render(r, fasthttp.StatusNotFound, t(r.lang, "title.error"), errorPage(r, t(r.lang, "detail.notfound")))
	return nil
}

// orderOf loads the order named by the route for the signed-in user: nil (answer 404) when
// there is none, the id is malformed, or it is another merchant's and the user no operator.
func (h *Handler) orderOf(r *request, id string) (*store.Record, error) {
	if h.cfg.Store == nil || !orders.ValidOrderID(id) {
		return nil, nil
	}
	rec, err := h.cfg.Store.Order(r.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !r.cur.User.Operator && rec.MerchantID != r.cur.User.MerchantID {
		return nil, nil
	}
	return rec, nil
}

func routeID(r *request, name string) string {
	v, _ := r.ctx.UserValue(name).(string)
	return v
}

func orderPath(id string) string { return Path + "/orders/" + url.PathEscape(id) }

// detailData is everything the order page shows.
type detailData struct {
	rec        *store.Record
	merchant   *checkout.Merchant
	events     []store.StreamEvent
	deliveries []checkout.WebhookDelivery
	trimmed    *time.Time
	review     *store.Review
	test       *checkout.WebhookAttempt
	errField   string // a form's field with an error (review note)
	errMsg     string
}

func (h *Handler) orderPage(r *request) error {
	rec, err := h.orderOf(r, routeID(r, "id"))
	if err != nil || rec == nil {
		return errOr(err, h.notFound(r))
	}
	return h.showOrder(r, fasthttp.StatusOK, rec, "", "")
}

func errOr(err, other error) error {
	if err != nil {
		return err
	}
	return other
}

func (h *Handler) showOrder(r *request, status int, rec *store.Record, errField, errMsg string) error {
	d := &detailData{rec: rec, errField: errField, errMsg: errMsg}
	var err error
	id := rec.Order.ID
	if d.merchant, err = h.cfg.Merchants.Merchant(r.ctx, rec.MerchantID); err != nil {
		return err
	}
	if d.events, err = h.cfg.Store.OrderEvents(r.ctx, id, "", 1000); err != nil {
		return err
	}
	if d.deliveries, d.trimmed, err = h.cfg.Store.WebhookList(r.ctx, id); err != nil {
		return err
	}
	if d.review, err = h.cfg.Store.OrderReview(r.ctx, id); err != nil {
		return err
	}
	if d.test, err = h.cfg.Store.WebhookTest(r.ctx, id); err != nil {
		return err
	}
	h.render(r, status, t(r.lang, "detail.title", id), h.detailPage(r, d))
	return nil
}

func (h *Handler) cancelOrder(r *request) error {
	rec, err := h.orderOf(r, routeID(r, "id"))
	if err != nil || rec == nil {
		return errOr(err, h.notFound(r))
	}
	_, err = h.cfg.Actions.Cancel(r.ctx, rec.MerchantID, rec.Order.ID)
	var ce *checkout.Error
	switch {
	case errors.As(err, &ce) && ce.HTTPStatus == fasthttp.StatusNotFound:
		return h.notFound(r)
	case errors.As(err, &ce) && ce.HTTPStatus < 500:
		return h.showOrder(r, ce.HTTPStatus, rec, "cancel", ce.Message)
	case err != nil:
		return err
	}
	if err := h.auditOrder(r, rec.MerchantID, actionCancel, rec.Order.ID); err != nil {
		return err
	}
	// Wherever it was canceled from (the queue too), the order's page shows the outcome.
	h.redirect(r, orderPath(rec.Order.ID), "canceled")
	return nil
}

// redirectKeep is redirect to a path that may carry its own query (?merchant=…).
func (h *Handler) redirectKeep(r *request, path, msg string) {
	p, q, _ := strings.Cut(path, "?")
	h.redirect(r, p, msg)
	if q != "" {
		loc := string(r.ctx.Response.Header.Peek("Location"))
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		r.ctx.Response.Header.Set("Location", loc+sep+q)
	}
}

func (h *Handler) redeliver(r *request) error {
	rec, err := h.orderOf(r, routeID(r, "id"))
	if err != nil || rec == nil {
		return errOr(err, h.notFound(r))
	}
	evt := routeID(r, "event_id")
	_, err = h.cfg.Actions.Redeliver(r.ctx, rec.MerchantID, rec.Order.ID, evt)
	var ce *checkout.Error
	switch {
	case errors.As(err, &ce) && ce.HTTPStatus == fasthttp.StatusNotFound:
		return h.notFound(r)
	case errors.As(err, &ce) && ce.HTTPStatus < 500:
		return h.showOrder(r, ce.HTTPStatus, rec, "redeliver-"+evt, ce.Message)
	case err != nil:
		return err
	}
	if h.cfg.Webhooks != nil {
		h.cfg.Webhooks.Wake()
	}
	if err := h.auditOrder(r, rec.MerchantID, actionRedeliver, rec.Order.ID+" "+evt); err != nil {
		return err
	}
	h.redirect(r, orderPath(rec.Order.ID), "redelivered")
	return nil
}

func (h *Handler) testWebhook(r *request) error {
	rec, err := h.orderOf(r, routeID(r, "id"))
	if err != nil || rec == nil {
		return errOr(err, h.notFound(r))
	}
	if h.cfg.Webhooks == nil {
		return h.showOrder(r, fasthttp.StatusServiceUnavailable, rec, "test", t(r.lang, "detail.test.off"))
	}
	m, err := h.cfg.Merchants.Merchant(r.ctx, rec.MerchantID)
	if err != nil {
		return err
	}
	// Bounded apart from the dispatcher's own timeout: the user waits for this answer.
	ctx, cancel := context.WithTimeout(r.ctx, 15*time.Second)
	defer cancel()
	a, err := h.cfg.Webhooks.SendTest(ctx, m, outbox.Target(&rec.Order, m), rec.Order.ID)
	if err != nil {
		return err
	}
	if err := h.cfg.Store.SaveWebhookTest(r.ctx, rec.Order.ID, a); err != nil {
		return err
	}
	if err := h.auditOrder(r, rec.MerchantID, actionTest, rec.Order.ID+" "+hostOnly(a.URL)+" "+strconv.Itoa(a.StatusCode)); err != nil {
		return err
	}
	h.redirect(r, orderPath(rec.Order.ID), "tested")
	return nil
}

func hostOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

func (h *Handler) reviewOrder(r *request) error {
	rec, err := h.orderOf(r, routeID(r, "id"))
	if err != nil || rec == nil {
		return errOr(err, h.notFound(r))
	}
	note := strings.TrimSpace(string(r.ctx.PostArgs().Peek("note")))
	state := store.AttentionState(&rec.Order)
	switch {
	case state == "":
		return h.showOrder(r, fasthttp.StatusConflict, rec, "note", t(r.lang, "detail.review.nothing"))
	case !utf8.ValidString(note) || utf8.RuneCountInString(note) > store.ReviewNoteMax:
		return h.showOrder(r, fasthttp.StatusBadRequest, rec, "note", t(r.lang, "detail.review.long", store.ReviewNoteMax))
	case strings.ContainsFunc(note, func(c rune) bool { return c < ' ' && c != '\n' && c != '\r' && c != '\t' }):
		return h.showOrder(r, fasthttp.StatusBadRequest, rec, "note", t(r.lang, "detail.review.control"))
	}
	rv := &store.Review{By: r.cur.User.Email, UserID: r.cur.User.ID, At: time.Now().UTC().Truncate(time.Second), Note: note, State: state}
	if err := h.cfg.Store.MarkReviewed(r.ctx, rec.MerchantID, rec.Order.ID, rv); err != nil {
		return err
	}
	if err := h.auditOrder(r, rec.MerchantID, actionReview, rec.Order.ID+" "+state); err != nil {
		return err
	}
	back := orderPath(rec.Order.ID)
	if string(r.ctx.PostArgs().Peek("from")) == "attention" {
		back = attentionPath(r, rec.MerchantID)
	}
	h.redirectKeep(r, back, "reviewed")
	return nil
}

// --- rendering ---

func fmtTime(tm time.Time) string {
	if tm.IsZero() {
		return "—"
	}
	return tm.UTC().Format("2006-01-02 15:04:05 UTC")
}

func usdt(a checkout.Amount) string { return a.String() + " USDT" }

// explorerTx is the operator's explorer page of a transaction ("" when none is set).
func (h *Handler) explorerTx(n checkout.Network, tx string) string {
	tpl := h.cfg.Explorers[n]
	if tpl == "" || tx == "" {
		return ""
	}
	return strings.ReplaceAll(tpl, "{tx}", url.PathEscape(tx))
}

// explorerAddress is the explorer's page of an address, derived from its transaction page
// the way the common explorers lay them out (…/tx/{tx} → …/address/{addr}, tronscan's
// #/transaction/{tx} → #/address/{addr}); "" when the template is of neither shape.
func (h *Handler) explorerAddress(n checkout.Network, addr string) string {
	tpl := h.cfg.Explorers[n]
	for _, p := range []string{"/transaction/{tx}", "/tx/{tx}"} {
		if strings.Contains(tpl, p) && addr != "" {
			return strings.Replace(tpl, p, "/address/"+url.PathEscape(addr), 1)
		}
	}
	return ""
}

// linkOr is a link to href showing text, or the text alone when there is no href.
func linkOr(href, text, cls string) app.UI {
	if href == "" {
		return app.Span().Class(cls).Text(text)
	}
	return app.A().Class(cls).Href("%s", href).Attr("rel", "noopener noreferrer").Text(text)
}

func statusBadge(lang string, s checkout.Status) app.UI {
	return app.Span().Class("badge st-" + strings.ToLower(string(s))).Text(t(lang, "detail.status."+strings.ToLower(string(s))))
}

func kv(pairs ...app.UI) app.UI { return app.Dl().Class("facts").Body(pairs...) }

func fact(label string, value app.UI) []app.UI {
	return []app.UI{app.Dt().Text(label), app.Dd().Body(value)}
}

func section(id, title string, body ...app.UI) app.UI {
	return app.Section().ID(id).Aria("labelledby", id+"-h").Body(append([]app.UI{app.H2().ID(id + "-h").Text(title)}, body...)...)
}

func (h *Handler) detailPage(r *request, d *detailData) app.UI {
	o := &d.rec.Order
	l := r.lang
	var facts []app.UI
	add := func(label string, v app.UI) { facts = append(facts, fact(label, v)...) }
	add(t(l, "detail.status"), statusBadge(l, o.Status))
	add(t(l, "detail.amount"), app.Text(usdt(o.Amount)))
	add(t(l, "detail.payamount"), app.Span().ID("pay-amount").Text(usdt(o.PayAmount)))
	add(t(l, "detail.paid"), app.Text(usdt(o.AmountPaid)))
	if o.AmountPending > 0 {
		add(t(l, "detail.pending"), app.Text(usdt(o.AmountPending)))
	}
	if o.AmountOverpaid > 0 {
		add(t(l, "detail.overpaid"), app.Text(usdt(o.AmountOverpaid)))
	}
	if o.AmountLate > 0 {
		add(t(l, "detail.late"), app.Strong().ID("late-funds").Text(usdt(o.AmountLate)))
	}
	add(t(l, "detail.network"), app.Text(o.Network.Label()))
	add(t(l, "detail.address"), linkOr(h.explorerAddress(o.Network, o.Address), o.Address, "mono"))
	if o.ReceiveMode != "" {
		add(t(l, "detail.mode"), app.Text(string(o.ReceiveMode)))
	}
	add(t(l, "detail.created"), app.Text(fmtTime(o.CreatedAt)))
	add(t(l, "detail.expires"), app.Text(fmtTime(o.ExpiresAt)))
	if o.PaidAt != nil {
		add(t(l, "detail.paidat"), app.Text(fmtTime(*o.PaidAt)))
	}
	if o.FrozenReason != "" {
		add(t(l, "detail.frozen"), app.Text(o.FrozenReason))
	}
	if o.Description != "" {
		add(t(l, "detail.description"), app.Text(o.Description))
	}
	target := outbox.Target(o, d.merchant)
	if target == "" {
		target = t(l, "detail.webhook.none")
	}
	add(t(l, "detail.webhookurl"), app.Span().Class("mono").Text(target))
	if r.cur.User.Operator {
		add(t(l, "detail.merchant"), app.Text(d.merchant.Name+" ("+d.merchant.ID+")"))
	}

	body := []app.UI{
		app.P().Class("mono sub").ID("order-id").Text(o.ID),
		alertFor(d, "", "cancel"),
		kv(facts...),
		h.orderActions(r, d),
		h.reviewSection(r, d),
		h.timeline(r, d),
		h.paymentsSection(r, d),
		h.dustSection(r, d),
		h.previousSection(r, d),
		metadataSection(r, o),
		h.webhookSection(r, d),
	}
	return page(r, t(l, "detail.heading"), body...)
}

// alertFor shows the page's form error when it belongs to one of fields ("" for none given).
func alertFor(d *detailData, fields ...string) app.UI {
	for _, f := range fields {
		if f != "" && d.errField == f {
			return app.P().Class("alert error").ID(f+"-error").Attr("role", "alert").Text(d.errMsg)
		}
	}
	return nil
}

func (h *Handler) orderActions(r *request, d *detailData) app.UI {
	o := &d.rec.Order
	if o.Status != checkout.StatusPending {
		return nil
	}
	return app.Div().Class("row-actions").Body(
		app.Form().Class("inline").Method("post").Action("%s", action(r, orderPath(o.ID)+"/cancel")).Body(
			csrfInput(r), app.Button().ID("cancel").Type("submit").Class("danger").Aria("describedby", "cancel-hint").Text(t(r.lang, "detail.cancel"))),
		app.P().Class("hint").ID("cancel-hint").Text(t(r.lang, "detail.cancel.hint")),
	)
}

func (h *Handler) reviewSection(r *request, d *detailData) app.UI {
	l := r.lang
	o := &d.rec.Order
	state := store.AttentionState(o)
	var body []app.UI
	if d.review != nil {
		rv := d.review
		p := app.Div().ID("review").Class("review").Body(
			app.P().Text(t(l, "detail.review.by", rv.By, fmtTime(rv.At))),
			noteUI(rv.Note),
		)
		body = append(body, p)
		if rv.State != state && state != "" {
			body = append(body, app.P().Class("alert error").Text(t(l, "detail.review.changed")))
		}
	}
	if state != "" && (d.review == nil || d.review.State != state) {
		body = append(body, reviewForm(r, o.ID, "", d.errField == "note", d.errMsg))
	}
	if len(body) == 0 {
		return nil
	}
	return section("review-section", t(l, "detail.review"), body...)
}

func noteUI(note string) app.UI {
	if note == "" {
		return nil
	}
	return app.P().Class("note").Text(note)
}

// reviewForm marks an order reviewed with a note; from names the page to come back to.
func reviewForm(r *request, orderID, from string, invalid bool, msg string) app.UI {
	id := "note"
	if from != "" {
		id = "note-" + orderID
	}
	ta := app.Textarea().ID(id).Name("note").Attr("maxlength", store.ReviewNoteMax).Attr("rows", 2).
		Aria("describedby", id+"-hint")
	var errEl app.UI
	if invalid {
		ta = ta.Aria("invalid", "true").Aria("describedby", id+"-error "+id+"-hint")
		errEl = app.P().Class("field-error").ID(id + "-error").Text(msg)
	}
	var hidden app.UI
	if from != "" {
		hidden = app.Input().Type("hidden").Name("from").Value(from)
	}
	return app.Form().Class("review-form").Method("post").Action("%s", action(r, orderPath(orderID)+"/review")+merchantQuery(r)).Body(
		csrfInput(r), hidden,
		app.Label().For(id).Text(t(r.lang, "detail.review.note")),
		ta, errEl,
		app.P().Class("hint").ID(id+"-hint").Text(t(r.lang, "detail.review.hint", store.ReviewNoteMax)),
		app.Button().Type("submit").ID("review-"+orderID).Class("secondary").Text(t(r.lang, "detail.review.button")),
	)
}

// merchantQuery keeps an operator's ?merchant= on the attention queue's forms.
func merchantQuery(r *request) string {
	m := string(r.ctx.QueryArgs().Peek("merchant"))
	if m == "" || !store.IsMerchantID(m) {
		return ""
	}
	return "&merchant=" + url.QueryEscape(m)
}

// eventView is what the timeline reads of an event.
type eventView struct {
	CreatedAt time.Time                        `json:"created_at"`
	Order     struct{ Status checkout.Status } `json:"order"`
	Payment   *checkout.Payment                `json:"payment"`
	Note      string                           `json:"note"`
	Previous  *checkout.PreviousAddress        `json:"previous"`
}

func (h *Handler) timeline(r *request, d *detailData) app.UI {
	l := r.lang
	items := make([]app.UI, 0, len(d.events))
	for _, e := range d.events {
		var v eventView
		_ = json.Unmarshal(e.Data, &v) // stored by the store itself; a field it lacks shows empty
		detail := []app.UI{app.Span().Class("ev-type").Text(eventLabel(l, e.Type)), app.Text(" "), statusBadge(l, v.Order.Status)}
		if p := v.Payment; p != nil {
			detail = append(detail, app.Span().Class("ev-pay").Body(app.Text(" "+usdt(p.Amount)+" · "),
				linkOr(h.explorerTx(payNetwork(&d.rec.Order, p), p.TxHash), shortHash(p.TxHash), "mono")))
		}
		if v.Previous != nil {
			detail = append(detail, app.Span().Class("ev-note").Text(" "+t(l, "detail.ev.from", v.Previous.Network.Label(), v.Previous.Address)))
		}
		if v.Note != "" {
			detail = append(detail, app.Span().Class("ev-note").Text(" — "+v.Note))
		}
		items = append(items, app.Li().Body(
			app.Time().Attr("datetime", v.CreatedAt.UTC().Format(time.RFC3339)).Text(fmtTime(v.CreatedAt)),
			app.Div().Body(detail...),
		))
	}
	body := []app.UI{app.Ol().ID("timeline").Class("timeline").Body(items...)}
	if len(d.events) > 0 && len(d.events) < 2 && d.rec.Order.Status.Terminal() {
		body = append(body, app.P().Class("hint").Text(t(l, "detail.timeline.trimmed")))
	}
	return section("timeline-section", t(l, "detail.timeline"), body...)
}

func payNetwork(o *checkout.Order, p *checkout.Payment) checkout.Network {
	if p.Network != "" {
		return p.Network
	}
	return o.Network
}

func eventLabel(lang string, typ checkout.EventType) string {
	k := "detail.ev." + string(typ)
	if _, ok := text["en"][k]; ok {
		return t(lang, k)
	}
	return string(typ)
}

func shortHash(h string) string {
	if len(h) <= 18 {
		return h
	}
	return h[:10] + "…" + h[len(h)-6:]
}

func (h *Handler) paymentsSection(r *request, d *detailData) app.UI {
	l := r.lang
	o := &d.rec.Order
	if len(o.Payments) == 0 {
		return section("payments-section", t(l, "detail.payments"), app.P().Text(t(l, "detail.payments.none")))
	}
	rows := []app.UI{}
	for _, p := range o.Payments {
		conf := strconv.FormatUint(p.Confirmations, 10)
		if p.ConfirmationsRequired > 0 {
			conf += " / " + strconv.FormatUint(p.ConfirmationsRequired, 10)
		}
		st := t(l, "detail.pay."+string(p.Status))
		if p.Late {
			st += " · " + t(l, "detail.pay.late")
		}
		where := app.UI(nil)
		if p.Address != "" {
			where = app.Div().Class("hint").Text(t(l, "detail.pay.to", payNetwork(o, &p).Label(), p.Address))
		}
		rows = append(rows, app.Tr().Body(
			app.Td().Attr("data-label", t(l, "detail.pay.tx")).Body(linkOr(h.explorerTx(payNetwork(o, &p), p.TxHash), p.TxHash, "mono tx"), where),
			app.Td().Attr("data-label", t(l, "detail.pay.amount")).Text(usdt(p.Amount)),
			app.Td().Attr("data-label", t(l, "detail.pay.from")).Class("mono").Text(p.From),
			app.Td().Attr("data-label", t(l, "detail.pay.block")).Text(strconv.FormatUint(p.BlockNumber, 10)),
			app.Td().Attr("data-label", t(l, "detail.pay.conf")).Class("confirmations").Text(conf),
			app.Td().Attr("data-label", t(l, "detail.pay.status")).Text(st),
			app.Td().Attr("data-label", t(l, "detail.pay.seen")).Text(fmtTime(p.FirstSeenAt)),
		))
	}
	head := app.Tr().Body(app.Th().Text(t(l, "detail.pay.tx")), app.Th().Text(t(l, "detail.pay.amount")), app.Th().Text(t(l, "detail.pay.from")),
		app.Th().Text(t(l, "detail.pay.block")), app.Th().Text(t(l, "detail.pay.conf")), app.Th().Text(t(l, "detail.pay.status")),
		app.Th().Text(t(l, "detail.pay.seen")))
	return section("payments-section", t(l, "detail.payments"),
		app.Div().Class("table-wrap").Body(app.Table().ID("payments").Class("stack").Body(app.THead().Body(head), app.TBody().Body(rows...))))
}

func (h *Handler) dustSection(r *request, d *detailData) app.UI {
	l := r.lang
	o := &d.rec.Order
	if o.DustCount == 0 {
		return nil
	}
	items := []app.UI{}
	for _, x := range o.DustRecent {
		items = append(items, app.Li().Body(app.Text(usdt(x.Amount)+" · "), linkOr(h.explorerTx(o.Network, x.TxHash), shortHash(x.TxHash), "mono")))
	}
	return section("dust-section", t(l, "detail.dust"),
		app.P().ID("dust").Text(t(l, "detail.dust.count", o.DustCount, usdt(o.DustAmount))),
		app.Ul().Body(items...))
}

func (h *Handler) previousSection(r *request, d *detailData) app.UI {
	l := r.lang
	o := &d.rec.Order
	if len(o.PreviousAddresses) == 0 {
		return nil
	}
	items := []app.UI{}
	for _, p := range o.PreviousAddresses {
		items = append(items, app.Li().Body(app.Text(p.Network.Label()+" · "), linkOr(h.explorerAddress(p.Network, p.Address), p.Address, "mono"),
			app.Text(" · "+t(l, "detail.prev.until", usdt(p.PayAmount), fmtTime(p.ReplacedAt)))))
	}
	return section("previous-section", t(l, "detail.prev"), app.P().Class("hint").Text(t(l, "detail.prev.hint")), app.Ul().ID("previous").Body(items...))
}

func metadataSection(r *request, o *checkout.Order) app.UI {
	if len(o.Metadata) == 0 {
		return nil
	}
	keys := make([]string, 0, len(o.Metadata))
	for k := range o.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []app.UI
	for _, k := range keys {
		pairs = append(pairs, app.Dt().Class("mono").Text(k), app.Dd().Text(o.Metadata[k]))
	}
	return section("metadata-section", t(r.lang, "detail.metadata"), app.Dl().ID("metadata").Class("facts").Body(pairs...))
}

func (h *Handler) webhookSection(r *request, d *detailData) app.UI {
	l := r.lang
	o := &d.rec.Order
	body := []app.UI{}
	if d.trimmed != nil {
		body = append(body, app.P().Class("hint").Text(t(l, "detail.wh.trimmed", fmtTime(*d.trimmed))))
	}
	if len(d.deliveries) == 0 {
		body = append(body, app.P().Text(t(l, "detail.wh.none")))
	}
	for _, dl := range d.deliveries {
		info := []app.UI{app.Strong().Text(string(dl.Type)), app.Text(" · " + t(l, "detail.wh.st."+string(dl.Status)) + " · " +
			t(l, "detail.wh.attempts", dl.Attempts))}
		if dl.NextAttemptAt != nil {
			info = append(info, app.Text(" · "+t(l, "detail.wh.next", fmtTime(*dl.NextAttemptAt))))
		}
		if dl.DeliveredAt != nil {
			info = append(info, app.Text(" · "+t(l, "detail.wh.delivered", fmtTime(*dl.DeliveredAt))))
		}
		rows := []app.UI{}
		for _, a := range dl.AttemptLog {
			rows = append(rows, attemptRow(l, &a))
		}
		var table app.UI
		if len(rows) > 0 {
			table = app.Div().Class("table-wrap").Body(app.Table().Class("stack attempts").Body(attemptHead(l), app.TBody().Body(rows...)))
		}
		body = append(body, app.Div().Class("delivery").ID("delivery-"+dl.EventID).Body(
			app.P().Body(info...),
			app.P().Class("mono sub").Text(dl.EventID),
			table,
			alertFor(d, "redeliver-"+dl.EventID),
			app.Form().Class("inline").Method("post").Action("%s", action(r, orderPath(o.ID)+"/webhooks/"+url.PathEscape(dl.EventID)+"/redeliver")).Body(
				csrfInput(r), app.Button().Type("submit").Class("secondary redeliver").ID("redeliver-"+dl.EventID).Text(t(l, "detail.wh.redeliver"))),
		))
	}
	// The test event.
	test := []app.UI{app.P().Class("hint").ID("test-hint").Text(t(l, "detail.test.hint"))}
	if d.test != nil {
		test = append(test, app.Div().Class("table-wrap").Body(app.Table().ID("test-result").Class("stack attempts").Body(attemptHead(l),
			app.TBody().Body(attemptRow(l, d.test)))))
	}
	test = append(test, alertFor(d, "test"), app.Form().Class("inline").Method("post").Action("%s", action(r, orderPath(o.ID)+"/webhooks/test")).Body(
		csrfInput(r), app.Button().Type("submit").Class("secondary").ID("send-test").Aria("describedby", "test-hint").Text(t(l, "detail.test.button"))))
	body = append(body, app.H3().Text(t(l, "detail.test")), app.Div().ID("webhook-test").Body(test...))
	return section("webhooks-section", t(l, "detail.webhooks"), body...)
}

func attemptHead(l string) app.UI {
	return app.THead().Body(app.Tr().Body(app.Th().Text(t(l, "detail.at.time")), app.Th().Text(t(l, "detail.at.status")),
		app.Th().Text(t(l, "detail.at.latency")), app.Th().Text(t(l, "detail.at.response"))))
}

func attemptRow(l string, a *checkout.WebhookAttempt) app.UI {
	code := "—"
	if a.StatusCode != 0 {
		code = strconv.Itoa(a.StatusCode)
	}
	resp := a.Response
	if a.Error != "" && (a.StatusCode == 0 || resp == "") {
		resp = a.Error
	}
	return app.Tr().Class("attempt").Body(
		app.Td().Attr("data-label", t(l, "detail.at.time")).Body(app.Text(fmtTime(a.At)), app.Div().Class("hint mono").Text(hostOnly(a.URL))),
		app.Td().Attr("data-label", t(l, "detail.at.status")).Class("code").Text(code),
		app.Td().Attr("data-label", t(l, "detail.at.latency")).Text(strconv.FormatFloat(a.LatencyMS, 'f', 0, 64)+" ms"),
		app.Td().Attr("data-label", t(l, "detail.at.response")).Class("mono excerpt").Text(resp),
	)
}
