package dashboard

import (
	"net/url"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/listquery"
	"github.com/mpchat/checkout/edge/store"
)

// ordersView is what the order list page shows.
type ordersView struct {
	merchant  *checkout.Merchant   // nil: an operator who has not chosen one
	merchants []*checkout.Merchant // an operator's chooser
	values    map[string]string    // the request's query, as sent
	query     store.ListQuery      // the listing, when it came from the index
	page      *store.ListPage      // nil for a lookup
	records   []*store.Record
	listed    bool   // records are an answer (else the form was refused or nothing chosen)
	lookup    string // the lookup value, when the page answers one
	fieldErr  map[string]string
	errMsg    string
}

// live: the page is the listing's first page, which the live script keeps current.
func (v *ordersView) live() bool {
	return v.page != nil && v.query.After == "" && v.query.Before == ""
}

// filterKeys are the listing's filters a form and its links carry (not the cursors).
var filterKeys = []string{listquery.Status, listquery.Network, listquery.CreatedGTE, listquery.CreatedLTE,
	listquery.AmountGTE, listquery.AmountLTE, listquery.Limit}

// ordersURL is path with the page's filters, merchant (an operator's) and language, plus set
// (an empty value drops a key).
func ordersURL(r *request, v *ordersView, path string, set map[string]string) string {
	q := url.Values{}
	for _, k := range filterKeys {
		if val := v.values[k]; val != "" {
			q.Set(k, val)
		}
	}
	if r.cur.User.Operator && v.merchant != nil {
		q.Set(paramMerchant, v.merchant.ID)
	}
	q.Set("lang", r.lang)
	for k, val := range set {
		if val == "" {
			q.Del(k)
		} else {
			q.Set(k, val)
		}
	}
	return path + "?" + q.Encode()
}

func ordersPage(r *request, v *ordersView) app.UI {
	body := []app.UI{alert("error", v.errMsg)}
	if r.cur.User.Operator {
		body = append(body, merchantChooser(r, v))
	}
	if v.merchant == nil {
		if len(v.merchants) == 0 {
			body = append(body, app.P().Text(t(r.lang, "home.none")))
		}
		return page(r, t(r.lang, "orders.title"), body...)
	}
	body = append(body, lookupForm(r, v), filterForm(r, v))
	if v.listed {
		body = append(body, ordersTable(r, v), pager(r, v))
	}
	if v.live() {
		body = append(body, app.Script().Text(liveJS))
	}
	return page(r, t(r.lang, "orders.title"), body...)
}

// hidden carries the operator's merchant and the language through a GET form.
func hiddenScope(r *request, v *ordersView) []app.UI {
	out := []app.UI{app.Input().Type("hidden").Name("lang").Value(r.lang)}
	if r.cur.User.Operator && v.merchant != nil {
		out = append(out, app.Input().Type("hidden").Name(paramMerchant).Value(v.merchant.ID))
	}
	return out
}

func merchantChooser(r *request, v *ordersView) app.UI {
	opts := []app.UI{app.Option().Value("").Text(t(r.lang, "orders.merchant.choose"))}
	for _, m := range v.merchants {
		opts = append(opts, app.Option().Value(m.ID).Selected(v.merchant != nil && m.ID == v.merchant.ID).Text(m.Name+" ("+m.ID+")"))
	}
	return app.Form().Class("pick").Method("get").Action("%s", Path+"/orders").Body(
		app.Input().Type("hidden").Name("lang").Value(r.lang),
		app.Label().For("merchant").Text(t(r.lang, "orders.merchant")),
		app.Div().Class("row").Body(
			app.Select().ID("merchant").Name(paramMerchant).Body(opts...),
			app.Button().Type("submit").Class("secondary").Text(t(r.lang, "orders.merchant.show")),
		),
	)
}

func lookupForm(r *request, v *ordersView) app.UI {
	in := app.Input().Type("search").ID("q").Name(paramLookup).MaxLength(300).Value(v.values[paramLookup]).
		Attr("autocomplete", "off").Attr("spellcheck", "false")
	msg := v.fieldErr[paramLookup]
	desc := "q-hint"
	var errEl app.UI
	if msg != "" {
		in = in.Aria("invalid", "true")
		desc += " q-err"
		errEl = app.P().Class("field-error").ID("q-err").Text(msg)
	}
	return app.Form().Class("lookup").Method("get").Action("%s", Path+"/orders").Role("search").Body(append(hiddenScope(r, v),
		app.Label().For("q").Text(t(r.lang, "orders.lookup")),
		app.Div().Class("row").Body(
			in.Aria("describedby", desc),
			app.Button().ID("lookup").Type("submit").Text(t(r.lang, "orders.lookup.button")),
		),
		app.P().Class("hint").ID("q-hint").Text(t(r.lang, "orders.lookup.hint")),
		errEl,
	)...)
}

func filterForm(r *request, v *ordersView) app.UI {
	statuses := [][2]string{{"", t(r.lang, "orders.any")}}
	for _, s := range checkout.Statuses {
		statuses = append(statuses, [2]string{string(s), t(r.lang, "orders.status."+string(s))})
	}
	networks := [][2]string{{"", t(r.lang, "orders.any")}}
	for _, n := range checkout.Networks {
		networks = append(networks, [2]string{string(n), string(n)})
	}
	fields := []app.UI{
		v.selectField("f-status", listquery.Status, t(r.lang, "orders.col.status"), statuses),
		v.selectField("f-network", listquery.Network, t(r.lang, "orders.col.network"), networks),
		v.inputField("f-from", listquery.CreatedGTE, t(r.lang, "orders.from"), app.Input().Type("date")),
		v.inputField("f-to", listquery.CreatedLTE, t(r.lang, "orders.to"), app.Input().Type("date")),
		v.inputField("f-min", listquery.AmountGTE, t(r.lang, "orders.min"), app.Input().Type("text").Attr("inputmode", "decimal").MaxLength(40)),
		v.inputField("f-max", listquery.AmountLTE, t(r.lang, "orders.max"), app.Input().Type("text").Attr("inputmode", "decimal").MaxLength(40)),
	}
	if l := v.values[listquery.Limit]; l != "" {
		fields = append(fields, app.Input().Type("hidden").Name(listquery.Limit).Value(l))
	}
	return app.Form().Class("filters").Method("get").Action("%s", Path+"/orders").Aria("label", t(r.lang, "orders.filters")).Body(
		append(hiddenScope(r, v),
			app.Div().Class("grid").Body(fields...),
			app.P().Class("hint").Text(t(r.lang, "orders.dates.hint")),
			app.Div().Class("row buttons").Body(
				app.Button().ID("filter").Type("submit").Text(t(r.lang, "orders.filter")),
				app.A().ID("clear").Class("button secondary").Href("%s", ordersURL(r, &ordersView{merchant: v.merchant}, Path+"/orders", nil)).Text(t(r.lang, "orders.clear")),
				app.A().ID("csv").Class("button secondary").Href("%s", ordersURL(r, v, Path+"/orders.csv", map[string]string{listquery.Limit: ""})).
					Attr("download", "").Text(t(r.lang, "orders.csv")),
			),
		)...)
}

// inputField is a filter's input with its label, and its error beside it when refused.
func (v *ordersView) inputField(id, name, label string, in app.HTMLInput) app.UI {
	in = in.ID(id).Name(name).Value(v.values[name])
	var errEl app.UI
	if msg := v.fieldErr[name]; msg != "" {
		in = in.Aria("invalid", "true").Aria("describedby", id+"-err")
		errEl = app.P().Class("field-error").ID(id + "-err").Text(msg)
	}
	return app.Div().Class("f").Body(app.Label().For(id).Text(label), in, errEl)
}

func (v *ordersView) selectField(id, name, label string, opts [][2]string) app.UI {
	cur := v.values[name]
	items := make([]app.UI, len(opts))
	for i, o := range opts {
		items[i] = app.Option().Value(o[0]).Selected(o[0] == cur).Text(o[1])
	}
	sel := app.Select().ID(id).Name(name).Body(items...)
	var errEl app.UI
	if msg := v.fieldErr[name]; msg != "" {
		sel = sel.Aria("invalid", "true").Aria("describedby", id+"-err")
		errEl = app.P().Class("field-error").ID(id + "-err").Text(msg)
	}
	return app.Div().Class("f").Body(app.Label().For(id).Text(label), sel, errEl)
}

var orderColumns = []string{"orders.col.created", "orders.col.id", "orders.col.status", "orders.col.network",
	"orders.col.amount", "orders.col.paid", "orders.col.address"}

func ordersTable(r *request, v *ordersView) app.UI {
	heads := make([]app.UI, len(orderColumns))
	for i, k := range orderColumns {
		heads[i] = app.Th().Scope("col").Text(t(r.lang, k))
	}
	caption := t(r.lang, "orders.caption", v.merchant.Name)
	if v.lookup != "" {
		caption = t(r.lang, "orders.found", v.lookup)
	}
	tbody := app.TBody().ID("orders-rows").Body(orderRows(r, v)...)
	if v.live() {
		tbody = tbody.DataSet("live", ordersURL(r, v, Path+"/orders", map[string]string{paramView: "rows"}))
	}
	var status app.UI
	if v.live() {
		status = app.P().Class("hint live").ID("live").Hidden(true).Text(t(r.lang, "orders.live"))
	}
	var back app.UI
	if v.lookup != "" {
		back = app.P().Body(app.A().ID("all-orders").Href("%s", ordersURL(r, &ordersView{merchant: v.merchant}, Path+"/orders", nil)).Text(t(r.lang, "orders.all")))
	}
	return app.Div().Body(
		back,
		app.Div().Class("table-wrap").Body(app.Table().Class("orders").Body(
			app.Caption().Text(caption),
			app.THead().Body(app.Tr().Body(heads...)),
			tbody,
		)),
		status,
	)
}

// orderRows are the table's rows (also the live fragment).
func orderRows(r *request, v *ordersView) []app.UI {
	if len(v.records) == 0 {
		key := "orders.none"
		if v.lookup != "" {
			key = "orders.notfound"
		}
		return []app.UI{app.Tr().Class("empty").Body(app.Td().ColSpan(len(orderColumns)).Text(t(r.lang, key)))}
	}
	rows := make([]app.UI, len(v.records))
	for i, rec := range v.records {
		o := &rec.Order
		detail := Path + "/orders/" + o.ID + "?lang=" + r.lang
		if r.cur.User.Operator {
			detail += "&" + paramMerchant + "=" + url.QueryEscape(rec.MerchantID)
		}
		cell := func(col int) app.HTMLTd { return app.Td().DataSet("label", t(r.lang, orderColumns[col])) }
		rows[i] = app.Tr().ID("row-"+o.ID).Body(
			cell(0).Body(app.Time().DateTime("%s", o.CreatedAt.UTC().Format(time.RFC3339)).Text(o.CreatedAt.UTC().Format("2006-01-02 15:04:05"))),
			cell(1).Class("mono").Body(app.A().Href("%s", detail).Text(o.ID)),
			cell(2).Body(app.Span().Class("st st-"+strings.ToLower(string(o.Status))).Text(t(r.lang, "orders.status."+string(o.Status)))),
			cell(3).Text(string(o.Network)),
			cell(4).Class("num").Text(o.Amount.String()+" "+o.Currency),
			cell(5).Class("num").Text(o.AmountPaid.String()),
			cell(6).Class("mono").Body(app.Span().Title(o.Address).Text(shortAddress(o.Address))),
		)
	}
	return rows
}

// shortAddress keeps an address's first 6 and last 4 characters, the parts people compare.
func shortAddress(a string) string {
	if len(a) <= 13 {
		return a
	}
	return a[:6] + "…" + a[len(a)-4:]
}

// pager links the pages next to this one: newer (ending_before its first order) and older
// (starting_after its last, or where an amount filter's scan stopped).
func pager(r *request, v *ordersView) app.UI {
	if v.page == nil {
		return nil
	}
	q, p := v.query, v.page
	var newer, older string
	first := ordersURL(r, v, Path+"/orders", nil)
	switch {
	case q.Before != "":
		if len(v.records) == 0 {
			older = first
			break
		}
		if p.More {
			newer = ordersURL(r, v, Path+"/orders", map[string]string{listquery.EndingBefore: v.records[0].Order.ID})
		}
		older = ordersURL(r, v, Path+"/orders", map[string]string{listquery.StartingAfter: v.records[len(v.records)-1].Order.ID})
	default:
		if q.After != "" {
			if len(v.records) > 0 {
				newer = ordersURL(r, v, Path+"/orders", map[string]string{listquery.EndingBefore: v.records[0].Order.ID})
			} else {
				newer = first
			}
		}
		if p.More && p.Next != "" {
			older = ordersURL(r, v, Path+"/orders", map[string]string{listquery.StartingAfter: p.Next})
		}
	}
	if newer == "" && older == "" && q.After == "" && q.Before == "" {
		return nil // one page holds them all
	}
	link := func(id, href, key string) app.UI {
		if href == "" {
			return app.Span().Class("button secondary disabled").Aria("disabled", "true").Text(t(r.lang, key))
		}
		return app.A().ID(id).Class("button secondary").Href("%s", href).Text(t(r.lang, key))
	}
	var firstLink app.UI
	if q.After != "" || q.Before != "" {
		firstLink = app.A().ID("page-first").Href("%s", first).Text(t(r.lang, "orders.page.first"))
	}
	return app.Nav().Class("pager").Aria("label", t(r.lang, "orders.pages")).Body(
		link("page-newer", newer, "orders.page.newer"),
		firstLink,
		link("page-older", older, "orders.page.older"),
	)
}
