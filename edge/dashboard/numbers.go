package dashboard

import (
	"context"
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/maxence-charriere/go-app/v9/pkg/app"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// Figures is what the charts and the operator view need from the store: per-merchant daily
// counters (never a scan of orders) and the backlogs and watcher state /metrics reports.
type Figures interface {
	Figures(ctx context.Context, merchantID string, from, to time.Time) ([]store.DayFigures, error)
	FiguresSince(ctx context.Context, merchantID string) (time.Time, error)
	OpenOrders(ctx context.Context, merchantIDs []string) ([]int64, error)
	WatcherState(ctx context.Context, n checkout.Network) (*store.WatcherState, error)
	FeedBacklog(ctx context.Context, n checkout.Network, group string) (*store.FeedBacklog, error)
	WebhookBacklog(ctx context.Context) (int64, error)
}

// numberRanges are the ranges the numbers page offers, in days ending today (UTC).
var numberRanges = []int{7, 30, 90}

func (h *Handler) numbersRoutes(r *router.Router) {
	r.GET(Path+"/numbers", h.wrap(h.numbers, signedIn))
}

// scopedMerchant is the merchant a page shows: a merchant's user its own (naming another is
// not found); an operator the one ?merchant= names, else the first by name. ok false: answer
// 404. ms is every merchant for an operator's selector (nil for a merchant's user).
func (h *Handler) scopedMerchant(r *request) (m *checkout.Merchant, ms []*checkout.Merchant, ok bool, err error) {
	want, ok := scopeID(r)
	if !ok {
		return nil, nil, false, nil
	}
	if !r.cur.User.Operator {
		m, err := h.cfg.Store.Merchant(r.ctx, want)
		if err != nil {
			return nil, nil, false, err
		}
		return m, nil, true, nil
	}
	ms, err = h.cfg.Store.Merchants(r.ctx)
	if err != nil {
		return nil, nil, false, err
	}
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Name != ms[j].Name {
			return ms[i].Name < ms[j].Name
		}
		return ms[i].ID < ms[j].ID
	})
	for _, x := range ms {
		if want == "" || x.ID == want {
			return x, ms, true, nil
		}
	}
	if want == "" { // no merchant yet: an empty page
		return nil, ms, true, nil
	}
	return nil, nil, false, nil
}

// numbersView is the numbers page's data.
type numbersView struct {
	merchant  *checkout.Merchant
	merchants []*checkout.Merchant // an operator's selector
	days      int
	rangeErr  string
	figs      []store.DayFigures
	since     time.Time
}

func (h *Handler) numbers(r *request) error {
	if h.cfg.Store == nil {
		h.notFound(r)
		return nil
	}
	m, ms, ok, err := h.scopedMerchant(r)
	if err != nil {
		return err
	}
	if !ok {
		h.notFound(r)
		return nil
	}
	v := numbersView{merchant: m, merchants: ms, days: numberRanges[0]}
	status := fasthttp.StatusOK
	if raw := string(r.ctx.QueryArgs().Peek("range")); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || !validRange(n) {
			status, v.rangeErr = fasthttp.StatusBadRequest, t(r.lang, "numbers.range.bad")
		} else {
			v.days = n
		}
	}
	if m != nil && v.rangeErr == "" {
		today := time.Now().UTC()
		if v.figs, err = h.cfg.Store.Figures(r.ctx, m.ID, today.AddDate(0, 0, -(v.days-1)), today); err != nil {
			return fmt.Errorf("numbers of %s: %w", m.ID, err)
		}
		if v.since, err = h.cfg.Store.FiguresSince(r.ctx, m.ID); err != nil {
			return err
		}
	}
	h.render(r, status, t(r.lang, "numbers.title"), numbersPage(r, &v))
	return nil
}

func validRange(n int) bool {
	for _, d := range numberRanges {
		if n == d {
			return true
		}
	}
	return false
}

// numbersPage lays out the range form and the four charts, each with its table.
func numbersPage(r *request, v *numbersView) app.UI {
	body := []app.UI{rangeForm(r, v)}
	if v.merchant == nil && v.rangeErr == "" {
		body = append(body, app.P().Text(t(r.lang, "home.none")))
	}
	if v.figs != nil {
		body = append(body,
			app.P().Class("hint").ID("numbers-note").Text(numbersNote(r, v)),
			app.Div().Class("charts").Body(
				volumeChart(r, v.figs), statusChart(r, v.figs), timeToPaidChart(r, v.figs), webhookChart(r, v.figs)))
	}
	return page(r, t(r.lang, "numbers.title"), body...)
}

func numbersNote(r *request, v *numbersView) string {
	note := t(r.lang, "numbers.note")
	if !v.since.IsZero() {
		note += " " + t(r.lang, "numbers.since", v.since.Format("2006-01-02 15:04"))
	}
	return note
}

// rangeForm is a GET form: the merchant (for an operator) and the range.
func rangeForm(r *request, v *numbersView) app.UI {
	var fields []app.UI
	fields = append(fields, app.Input().Type("hidden").Name("lang").Value(r.lang))
	if v.merchants != nil {
		opts := make([]app.UI, len(v.merchants))
		for i, m := range v.merchants {
			o := app.Option().Value(m.ID).Text(m.Name + " (" + m.ID + ")")
			if v.merchant != nil && m.ID == v.merchant.ID {
				o = o.Selected(true)
			}
			opts[i] = o
		}
		fields = append(fields, app.Div().Class("field").Body(
			app.Label().For("merchant").Text(t(r.lang, "numbers.merchant")),
			app.Select().ID("merchant").Name("merchant").Body(opts...)))
	}
	opts := make([]app.UI, len(numberRanges))
	for i, d := range numberRanges {
		o := app.Option().Value(strconv.Itoa(d)).Text(t(r.lang, "numbers.range.days", d))
		if d == v.days {
			o = o.Selected(true)
		}
		opts[i] = o
	}
	sel := app.Select().ID("range").Name("range").Body(opts...)
	var errEl app.UI
	if v.rangeErr != "" {
		sel = sel.Aria("invalid", "true").Aria("describedby", "range-error")
		errEl = app.P().Class("field-error").ID("range-error").Text(v.rangeErr)
	}
	fields = append(fields,
		app.Div().Class("field").Body(app.Label().For("range").Text(t(r.lang, "numbers.range")), sel, errEl),
		app.Div().Class("field").Body(app.Button().Type("submit").Text(t(r.lang, "numbers.show"))))
	return app.Form().Class("numbers-form").Method("get").Action("%s", Path+"/numbers").Body(fields...)
}

// chartFigure is one chart: a heading, a one-line summary, the drawing (role img, labelled by
// the summary) and its numbers as a table.
func chartFigure(id, title, summary, svg string, table app.UI, r *request) app.UI {
	return app.Section().Class("chart").ID(id).Aria("labelledby", id+"-h").Body(
		app.H2().ID(id+"-h").Text(title),
		app.P().Class("summary").ID(id+"-s").Text(summary),
		app.Raw(svg),
		app.Details().Body(app.Summary().Text(t(r.lang, "numbers.table")), table),
	)
}

func dayLabel(d time.Time) string { return d.Format("01-02") }

// table writes rows under head, each row's first cell its header; cells from column numFrom
// on are numbers (aligned right).
func table(head []string, rows [][]string, numFrom int) app.UI {
	ths := make([]app.UI, len(head))
	for i, h := range head {
		ths[i] = app.Th().Scope("col").Text(h)
	}
	trs := make([]app.UI, len(rows))
	for i, row := range rows {
		tds := make([]app.UI, len(row))
		for j, c := range row {
			switch {
			case j == 0:
				tds[j] = app.Th().Scope("row").Text(c)
			case j >= numFrom:
				tds[j] = app.Td().Class("num").Text(c)
			default:
				tds[j] = app.Td().Text(c)
			}
		}
		trs[i] = app.Tr().Body(tds...)
	}
	return app.Div().Class("table-wrap").Body(app.Table().Body(app.THead().Body(app.Tr().Body(ths...)), app.TBody().Body(trs...)))
}

// The drawings share one coordinate system: 320 × 150 user units. The stylesheet sizes their
// text in those units per screen width (14 on a phone, where a chart is about 260 px wide:
// about 11 px; 10 on wide screens, where it is about 480 px wide: about 15 px).
const (
	chartW, chartH         = 320.0, 150.0
	padL, padR, padT, padB = 4.0, 4.0, 16.0, 18.0
)

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// svgOpen starts a chart drawing labelled by the element labelID (its summary).
func svgOpen(b *strings.Builder, labelID string) {
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 150" role="img" aria-labelledby="` + labelID + `" focusable="false">`)
}

func svgText(b *strings.Builder, x, y float64, anchor, cls, s string) {
	b.WriteString(`<text x="` + f1(x) + `" y="` + f1(y) + `" text-anchor="` + anchor + `" class="` + cls + `">` + html.EscapeString(s) + `</text>`)
}

// columns draws one bar per value, heights scaled to full (0: to the largest value), the
// top's label at the top left, and the first and last labels under the axis.
func columns(labelID string, vals []float64, full float64, top string, first, last string) string {
	var b strings.Builder
	svgOpen(&b, labelID)
	maxV := full
	for _, v := range vals {
		if full == 0 {
			maxV = max(maxV, v)
		}
	}
	plotW, plotH := chartW-padL-padR, chartH-padT-padB
	base := padT + plotH
	b.WriteString(`<line class="axis" x1="` + f1(padL) + `" y1="` + f1(base) + `" x2="` + f1(chartW-padR) + `" y2="` + f1(base) + `"/>`)
	if n := len(vals); n > 0 && maxV > 0 {
		step := plotW / float64(n)
		gap := min(step*0.2, 2)
		for i, v := range vals {
			if v <= 0 {
				continue
			}
			hgt := max(plotH*min(v/maxV, 1), 1)
			b.WriteString(`<rect class="bar" x="` + f1(padL+float64(i)*step+gap/2) + `" y="` + f1(base-hgt) +
				`" width="` + f1(step-gap) + `" height="` + f1(hgt) + `"/>`)
		}
	}
	svgText(&b, padL, 12, "start", "lbl", top)
	svgText(&b, padL, chartH-4, "start", "lbl", first)
	svgText(&b, chartW-padR, chartH-4, "end", "lbl", last)
	b.WriteString(`</svg>`)
	return b.String()
}

func volumeChart(r *request, figs []store.DayFigures) app.UI {
	vals := make([]float64, len(figs))
	var total checkout.Amount
	var paid int64
	var best store.DayFigures
	rows := make([][]string, len(figs))
	for i, d := range figs {
		vals[i] = float64(d.PaidAmount)
		total += d.PaidAmount
		paid += d.Paid
		if d.PaidAmount > best.PaidAmount {
			best = d
		}
		rows[i] = []string{d.Day.Format("2006-01-02"), d.PaidAmount.String(), strconv.FormatInt(d.Paid, 10)}
	}
	summary := t(r.lang, "numbers.volume.summary", total.String(), paid)
	if best.PaidAmount > 0 {
		summary += " " + t(r.lang, "numbers.volume.best", best.PaidAmount.String(), best.Day.Format("2006-01-02"))
	}
	svg := columns("volume-s", vals, 0, t(r.lang, "numbers.volume.max", best.PaidAmount.String()), dayLabel(figs[0].Day), dayLabel(figs[len(figs)-1].Day))
	return chartFigure("volume", t(r.lang, "numbers.volume"), summary, svg,
		table([]string{t(r.lang, "numbers.day"), t(r.lang, "numbers.volume.col"), t(r.lang, "numbers.paid.col")}, rows, 1), r)
}

// statusChart draws one horizontal bar per status: the orders created in the range, by the
// status they are in now.
func statusChart(r *request, figs []store.DayFigures) app.UI {
	counts := map[checkout.Status]int64{}
	var total, maxC int64
	for _, d := range figs {
		for st, n := range d.Created {
			counts[st] += max(n, 0)
		}
	}
	for _, st := range checkout.Statuses {
		total += counts[st]
		maxC = max(maxC, counts[st])
	}
	var b strings.Builder
	svgOpen(&b, "status-s")
	rowH := (chartH - 4) / float64(len(checkout.Statuses))
	labelW, numW := 92.0, 46.0
	rows := make([][]string, 0, len(checkout.Statuses))
	for i, st := range checkout.Statuses {
		y := 2 + float64(i)*rowH
		name := statusName(r.lang, st)
		svgText(&b, 0, y+rowH*0.72, "start", "lbl", name)
		if n := counts[st]; n > 0 && maxC > 0 {
			w := max((chartW-labelW-numW)*float64(n)/float64(maxC), 1)
			b.WriteString(`<rect class="bar st-` + strings.ToLower(string(st)) + `" x="` + f1(labelW) + `" y="` + f1(y+rowH*0.18) +
				`" width="` + f1(w) + `" height="` + f1(rowH*0.64) + `"/>`)
		}
		svgText(&b, chartW, y+rowH*0.72, "end", "val", strconv.FormatInt(counts[st], 10))
		rows = append(rows, []string{name, strconv.FormatInt(counts[st], 10)})
	}
	b.WriteString(`</svg>`)
	summary := t(r.lang, "numbers.status.summary", total)
	if total > 0 {
		summary += " " + t(r.lang, "numbers.status.paidshare", pct(counts[checkout.StatusPaid], total))
	}
	return chartFigure("status", t(r.lang, "numbers.status"), summary, b.String(),
		table([]string{t(r.lang, "numbers.status.col"), t(r.lang, "numbers.orders.col")}, rows, 1), r)
}

func statusName(lang string, st checkout.Status) string {
	return t(lang, "numbers.st."+strings.ToLower(string(st)))
}

func pct(n, of int64) string {
	if of == 0 {
		return "—"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "%"
}

// Median is the median of a time-to-PAID histogram: the bucket holding the middle order, and
// an estimate inside it (linear interpolation), so the true median is within [Low, High).
// High is zero for the last, open bucket. OK false when the histogram is empty.
type Median struct {
	Estimate, Low, High time.Duration
	N                   int64
	OK                  bool
}

// MedianOf reads the median out of a histogram over store.TimeToPaidBounds.
func MedianOf(hist []int64) Median {
	var n int64
	for _, c := range hist {
		n += c
	}
	if n == 0 {
		return Median{}
	}
	rank := float64(n) / 2 // the middle, between orders for an even count
	var cum int64
	for i, c := range hist {
		if c == 0 || float64(cum+c) < rank {
			cum += c
			continue
		}
		lo, hi := bucketBounds(i)
		m := Median{Low: lo, High: hi, N: n, OK: true}
		if hi == 0 {
			m.Estimate = lo
		} else {
			m.Estimate = lo + time.Duration(float64(hi-lo)*(rank-float64(cum))/float64(c))
		}
		return m
	}
	return Median{}
}

func bucketBounds(i int) (lo, hi time.Duration) {
	if i > 0 {
		lo = store.TimeToPaidBounds[i-1]
	}
	if i < len(store.TimeToPaidBounds) {
		hi = store.TimeToPaidBounds[i]
	}
	return lo, hi
}

// duration writes d for people: 45 s, 2 min 10 s, 1 h 30 min.
func duration(lang string, d time.Duration) string {
	d = d.Round(time.Second)
	s := int(d / time.Second)
	switch {
	case s < 60:
		return t(lang, "numbers.dur.s", s)
	case s < 3600:
		if s%60 == 0 {
			return t(lang, "numbers.dur.m", s/60)
		}
		return t(lang, "numbers.dur.ms", s/60, s%60)
	default:
		if (s/60)%60 == 0 {
			return t(lang, "numbers.dur.h", s/3600)
		}
		return t(lang, "numbers.dur.hm", s/3600, (s/60)%60)
	}
}

func bucketName(lang string, i int) string {
	lo, hi := bucketBounds(i)
	if hi == 0 {
		return t(lang, "numbers.ttp.over", duration(lang, lo))
	}
	return duration(lang, lo) + " – " + duration(lang, hi)
}

func timeToPaidChart(r *request, figs []store.DayFigures) app.UI {
	hist := make([]int64, store.TimeToPaidBuckets)
	for _, d := range figs {
		for i, c := range d.TimeToPaid {
			if i < len(hist) {
				hist[i] += c
			}
		}
	}
	med := MedianOf(hist)
	summary := t(r.lang, "numbers.ttp.none")
	switch {
	case med.OK && med.High == 0:
		summary = t(r.lang, "numbers.ttp.summary.over", duration(r.lang, med.Low), med.N)
	case med.OK:
		summary = t(r.lang, "numbers.ttp.summary", duration(r.lang, med.Estimate), duration(r.lang, med.Low), duration(r.lang, med.High), med.N)
	}
	vals := make([]float64, len(hist))
	var top int64
	rows := make([][]string, 0, len(hist))
	for i, c := range hist {
		vals[i] = float64(c)
		top = max(top, c)
		if c > 0 {
			rows = append(rows, []string{bucketName(r.lang, i), strconv.FormatInt(c, 10)})
		}
	}
	svg := columns("ttp-s", vals, 0, t(r.lang, "numbers.ttp.max", top), "0", t(r.lang, "numbers.ttp.over", duration(r.lang, store.TimeToPaidBounds[len(store.TimeToPaidBounds)-1])))
	return chartFigure("ttp", t(r.lang, "numbers.ttp"), summary, svg,
		table([]string{t(r.lang, "numbers.ttp.col"), t(r.lang, "numbers.orders.col")}, rows, 1), r)
}

func webhookChart(r *request, figs []store.DayFigures) app.UI {
	var att, ok, gave int64
	vals := make([]float64, len(figs))
	rows := make([][]string, len(figs))
	for i, d := range figs {
		att, ok, gave = att+d.WebhookAttempts, ok+d.WebhookOK, gave+d.WebhookGaveUp
		if d.WebhookAttempts > 0 {
			vals[i] = float64(d.WebhookOK) / float64(d.WebhookAttempts)
		}
		rows[i] = []string{d.Day.Format("2006-01-02"), strconv.FormatInt(d.WebhookAttempts, 10), strconv.FormatInt(d.WebhookOK, 10),
			pct(d.WebhookOK, d.WebhookAttempts), strconv.FormatInt(d.WebhookGaveUp, 10)}
	}
	summary := t(r.lang, "numbers.wh.none")
	if att > 0 {
		summary = t(r.lang, "numbers.wh.summary", pct(ok, att), att, gave)
	}
	// Each day's rate against a fixed 100% top, not the best day's.
	svg := columns("webhooks-s", vals, 1, "100%", dayLabel(figs[0].Day), dayLabel(figs[len(figs)-1].Day))
	return chartFigure("webhooks", t(r.lang, "numbers.wh"), summary, svg,
		table([]string{t(r.lang, "numbers.day"), t(r.lang, "numbers.wh.att"), t(r.lang, "numbers.wh.ok"), t(r.lang, "numbers.wh.rate"), t(r.lang, "numbers.wh.gave")}, rows, 1), r)
}
