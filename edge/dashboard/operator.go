package dashboard

import (
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/fasthttp/router"
	"github.com/maxence-charriere/go-app/v9/pkg/app"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
)

func (h *Handler) operatorRoutes(r *router.Router) {
	r.GET(Path+"/operator", h.wrap(h.operator, signedIn))
}

// operatorView is the operator page's data: the same reads /metrics makes (the settlement
// group's feed backlog, the webhook backlog) plus the merchants and each watcher's Redis state.
type operatorView struct {
	merchants []*checkout.Merchant
	open      []int64
	watchers  []watcherRow
	webhooks  int64
	whErr     bool
	figErrors int64
}

type watcherRow struct {
	state   *store.WatcherState
	backlog *store.FeedBacklog // nil: no feed or group yet
	err     bool               // a read failed (logged)
}

// operator shows the whole deployment; only operator users have it (others: 404).
func (h *Handler) operator(r *request) error {
	if !r.cur.User.Operator || h.cfg.Store == nil {
		h.notFound(r)
		return nil
	}
	st := h.cfg.Store
	ms, err := st.Merchants(r.ctx)
	if err != nil {
		return err
	}
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Name != ms[j].Name {
			return ms[i].Name < ms[j].Name
		}
		return ms[i].ID < ms[j].ID
	})
	idList := make([]string, len(ms))
	for i, m := range ms {
		idList[i] = m.ID
	}
	v := operatorView{merchants: ms, figErrors: store.FigureWriteErrors()}
	if v.open, err = st.OpenOrders(r.ctx, idList); err != nil {
		return err
	}
	for _, n := range checkout.Networks {
		row := watcherRow{}
		if row.state, err = st.WatcherState(r.ctx, n); err != nil {
			h.cfg.Log.Warn("operator view: watcher state", "network", n, "err", err)
			row.err, row.state = true, &store.WatcherState{Network: n}
		}
		b, err := st.FeedBacklog(r.ctx, n, settlement.DefaultGroup)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			h.cfg.Log.Warn("operator view: feed backlog", "network", n, "err", err)
			row.err = true
		default:
			row.backlog = b
		}
		v.watchers = append(v.watchers, row)
	}
	if v.webhooks, err = st.WebhookBacklog(r.ctx); err != nil {
		h.cfg.Log.Warn("operator view: webhook backlog", "err", err)
		v.whErr = true
	}
	h.render(r, fasthttp.StatusOK, t(r.lang, "operator.title"), operatorPage(r, &v, time.Now()))
	return nil
}

func operatorPage(r *request, v *operatorView, now time.Time) app.UI {
	l := r.lang
	// Watchers and settlement, one row per network.
	wrows, hrows := make([][]string, len(v.watchers)), make([][]string, len(v.watchers))
	for i, w := range v.watchers {
		s := w.state
		leader := t(l, "operator.noleader")
		if s.Leader {
			leader = t(l, "operator.leader", s.Instance, duration(l, s.LeaseLeft))
		}
		cp := t(l, "operator.notstarted")
		if s.Started {
			cp = strconv.FormatUint(s.Checkpoint, 10)
		}
		backlog, lag := t(l, "operator.nofeed"), "—"
		if b := w.backlog; b != nil {
			und := strconv.FormatInt(b.Undelivered, 10)
			if b.Undelivered < 0 {
				und = "?"
			}
			backlog = t(l, "operator.backlog", b.Pending, und)
			lag = t(l, "operator.caughtup")
			if !b.Oldest.IsZero() {
				lag = duration(l, max(now.Sub(b.Oldest), 0))
			}
		}
		if w.err {
			backlog = t(l, "operator.readerr")
		}
		wrows[i] = []string{string(s.Network), leader, cp, strconv.FormatInt(s.Pending, 10), backlog, lag}
		hrows[i] = headRow(l, w, now)
	}
	mrows := make([][]string, len(v.merchants))
	for i, m := range v.merchants {
		mrows[i] = []string{m.Name, m.ID, strconv.FormatInt(v.open[i], 10)}
	}
	wh := strconv.FormatInt(v.webhooks, 10)
	if v.whErr {
		wh = t(l, "operator.readerr")
	}
	var merchants app.UI = app.P().Text(t(l, "home.none"))
	if len(mrows) > 0 {
		merchants = table([]string{t(l, "operator.m.name"), t(l, "operator.m.id"), t(l, "operator.m.open")}, mrows, 2)
	}
	return page(r, t(l, "operator.title"),
		app.Section().ID("watchers").Aria("labelledby", "watchers-h").Body(
			app.H2().ID("watchers-h").Text(t(l, "operator.watchers")),
			table([]string{t(l, "operator.w.network"), t(l, "operator.w.leader"), t(l, "operator.w.checkpoint"),
				t(l, "operator.w.pending"), t(l, "operator.w.backlog"), t(l, "operator.w.lag")}, wrows, 6),
			app.H3().Text(t(l, "operator.heads")),
			table([]string{t(l, "operator.w.network"), t(l, "operator.h.reported"), t(l, "operator.h.endpoints"),
				t(l, "operator.h.head"), t(l, "operator.h.behind")}, hrows, 3),
			app.P().Class("hint").Text(t(l, "operator.w.note")),
		),
		app.Section().ID("webhooks").Aria("labelledby", "webhooks-h").Body(
			app.H2().ID("webhooks-h").Text(t(l, "operator.webhooks")),
			app.Dl().Body(
				app.Dt().Text(t(l, "operator.wh.backlog")), app.Dd().ID("webhook-backlog").Text(wh),
				app.Dt().Text(t(l, "operator.fig.errors")), app.Dd().ID("figure-errors").Text(strconv.FormatInt(v.figErrors, 10)),
			),
		),
		app.Section().ID("merchants").Aria("labelledby", "merchants-h").Body(
			app.H2().ID("merchants-h").Text(t(l, "operator.merchants", len(v.merchants))),
			merchants,
		),
	)
}

// headRow is a network's row of what its active watcher last published (its status record):
// when it read the chain head, its RPC endpoints' health, the head, and the blocks between
// the head and the checkpoint it had then. "Not reporting" when there is no record: no
// watcher runs, or the active one's steps fail.
func headRow(l string, w watcherRow, now time.Time) []string {
	s := w.state
	if w.err {
		return []string{string(s.Network), t(l, "operator.readerr"), "—", "—", "—"}
	}
	if !s.Reporting {
		return []string{string(s.Network), t(l, "operator.h.none"), "—", "—", "—"}
	}
	eps := t(l, "operator.h.healthy", s.EndpointsHealthy, s.EndpointsTotal)
	if s.Primary != "" {
		eps = t(l, "operator.h.primary", eps, s.Primary)
	}
	return []string{string(s.Network), t(l, "operator.h.ago", duration(l, max(now.Sub(s.HeadAt), 0))), eps,
		strconv.FormatUint(s.Head, 10), strconv.FormatUint(s.HeadLag, 10)}
}
