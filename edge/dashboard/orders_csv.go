package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/export"
	"github.com/mpchat/checkout/edge/listquery"
	"github.com/mpchat/checkout/edge/store"
)

// csvTimeout caps one download: the stream writer runs after the handler returned, on no
// request context of its own (fasthttp), so a stalled client cannot hold it forever.
const csvTimeout = 30 * time.Minute

// ordersCSV: GET /dashboard/orders.csv, the merchant's orders matching the list's filters,
// oldest first, in `edge export --format csv`'s columns (edge/export writes it). It streams
// page by page, never holding the whole file. Each download is in the merchant's audit log
// (who, the range and filters) before anything is sent.
func (h *Handler) ordersCSV(r *request) error {
	m, found, err := h.orderScope(r)
	if err != nil {
		return err
	}
	if !found || m == nil {
		h.notFound(r)
		return nil
	}
	args := r.ctx.QueryArgs()
	q, perr := listquery.Parse(args, orderListOptions)
	if perr == nil && (q.After != "" || q.Before != "") {
		perr = checkout.Invalid(checkout.CodeUnknownParameter, listquery.StartingAfter, "a download has no cursor")
	}
	if perr != nil { // the list page, with the message beside the field
		v := &ordersView{merchant: m, values: map[string]string{}}
		args.VisitAll(func(k, val []byte) { v.values[string(k)] = string(val) })
		if r.cur.User.Operator {
			if v.merchants, err = h.cfg.Merchants.Merchants(r.ctx); err != nil {
				return err
			}
		}
		v.fieldErr, v.errMsg = filterError(r.lang, perr, v.values)
		h.render(r, fasthttp.StatusBadRequest, t(r.lang, "orders.title"), ordersPage(r, v))
		return nil
	}
	eq := export.Query{MerchantID: m.ID, Format: export.CSV, Statuses: q.Statuses, Networks: q.Networks,
		MinAmount: q.MinAmount, MaxAmount: q.MaxAmount, Since: time.Unix(0, 0).UTC()}
	if !q.CreatedFrom.IsZero() {
		eq.Since = q.CreatedFrom
	}
	if !q.CreatedTo.IsZero() {
		eq.Until = q.CreatedTo.Add(time.Second) // the export's bound is exclusive; the form's last second is in
	}
	if err := eq.Validate(); err != nil {
		return fmt.Errorf("orders csv: %w", err)
	}
	u := r.cur.User
	if err := h.cfg.Store.AppendAudit(r.ctx, m.ID, store.AuditEntry{At: time.Now().UTC(), Actor: u.Email, UserID: u.ID,
		Action: "orders.exported", IP: ipText(r), Detail: exportDetail(eq)}); err != nil {
		return fmt.Errorf("orders csv: audit: %w", err)
	}
	name := "orders-" + m.ID + "-" + dayText(eq.Since) + "-to-" + dayText(eq.Until.Add(-time.Second)) + ".csv"
	r.ctx.SetContentType("text/csv; charset=utf-8")
	r.ctx.Response.Header.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	st, log, who := h.cfg.Store, h.cfg.Log, u.Email
	r.ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		// Nothing of the request context here (fasthttp forbids it): the export's own.
		ctx, cancel := context.WithTimeout(context.Background(), csvTimeout)
		defer cancel()
		res, err := export.Run(ctx, st, eq, flushEach{w})
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			// The status is sent already: the client sees a cut file (the log says where).
			log.Warn("dashboard orders csv stopped", "merchant", eq.MerchantID, "user", who, "orders", res.Orders, "cursor", res.Cursor, "err", err)
		}
	})
	return nil
}

// flushEach sends each page export.Run writes (one Write a page) to the client at once.
type flushEach struct{ w *bufio.Writer }

func (f flushEach) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.w.Flush()
	}
	return n, err
}

func dayText(t time.Time) string {
	if t.IsZero() || t.Before(time.Unix(1, 0)) {
		return "any"
	}
	return t.UTC().Format(time.DateOnly)
}

// exportDetail is the audit entry's account of what was downloaded.
func exportDetail(q export.Query) string {
	parts := []string{"csv created " + dayText(q.Since) + ".." + dayText(q.Until.Add(-time.Second))}
	for _, s := range q.Statuses {
		parts = append(parts, "status="+string(s))
	}
	for _, n := range q.Networks {
		parts = append(parts, "network="+string(n))
	}
	if q.MinAmount > 0 {
		parts = append(parts, "amount>="+q.MinAmount.String())
	}
	if q.MaxAmount > 0 {
		parts = append(parts, "amount<="+q.MaxAmount.String())
	}
	return strings.Join(parts, " ")
}

func ipText(r *request) string {
	if !r.ip.IsValid() {
		return ""
	}
	return r.ip.String()
}
