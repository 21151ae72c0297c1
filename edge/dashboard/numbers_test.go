package dashboard_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/dashboard"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/feed"
)

// newFullEdge is newEdge with the dashboard's Store and Actions set, as the edge serves it.
func newFullEdge(t *testing.T) *edge {
	t.Helper()
	rdb, prefix := redistest.Shared(t).Client(t), redistest.Prefix()
	st := store.New(rdb, prefix)
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	svc := &users.Service{Store: st, Now: c.Now, Params: users.Params{Time: 1, Memory: 8 * 1024, Threads: 1}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	svcOrders := &orders.Service{Store: st, PublicURL: base}
	d, err := dashboard.New(dashboard.Config{Users: svc, Store: st, Actions: svcOrders, Origin: base, Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	s := &api.Server{Store: st, Orders: svcOrders, Auth: &auth.Verifier{Keys: st}, Dev: true, ExtraRoutes: d.Routes}
	hs := &fasthttp.Server{Handler: s.Handler()}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown() })
	return &edge{t: t, url: base, st: st, svc: svc, clock: c, ctx: context.Background(),
		feed: func(n checkout.Network) *feed.Feed { return feed.New(rdb, prefix, n) }}
}

// order makes an order of m created at created and takes it to status through the store's
// commit and index steps, as edge/orders does (PAID: paid in full after ttp).
func (e *edge) order(m *checkout.Merchant, created time.Time, amount checkout.Amount, status checkout.Status, ttp time.Duration) *checkout.Order {
	e.t.Helper()
	o := &checkout.Order{ID: ids.Order(), Status: checkout.StatusPending, Network: checkout.ERC20, Address: "0xnum" + ids.Event(),
		Amount: amount, PayAmount: amount, Currency: "USDT", CreatedAt: created, ExpiresAt: created.Add(time.Hour), Metadata: map[string]string{}}
	ev := checkout.Event{ID: ids.Event(), Type: checkout.EventOrderCreated, CreatedAt: created, Order: *o}
	if _, _, err := e.st.CreateOrder(e.ctx, o, m.ID, &ev); err != nil {
		e.t.Fatal(err)
	}
	if status == checkout.StatusPending {
		return o
	}
	rec, err := e.st.Order(e.ctx, o.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	rec.Order.Status = status
	var events []checkout.Event
	if status == checkout.StatusPaid {
		at := created.Add(ttp)
		rec.Order.PaidAt, rec.Order.AmountPaid = &at, amount
		events = append(events, checkout.Event{ID: ids.Event(), Type: checkout.EventPaymentConfirmed, CreatedAt: at, Order: rec.Order})
	}
	if _, err := e.st.CommitOrder(e.ctx, rec, events); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.IndexOrder(e.ctx, m.ID, &rec.Order, rec.Version); err != nil {
		e.t.Fatal(err)
	}
	return &rec.Order
}

// deliver records one webhook attempt of each pending delivery of the order (2xx when ok).
func (e *edge) deliver(id string, ok bool) {
	e.t.Helper()
	_, pend, err := e.st.PendingWebhooks(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := range pend {
		d := &pend[i]
		d.Attempts++
		a := &checkout.WebhookAttempt{At: time.Now().UTC(), StatusCode: 500, Error: "HTTP 500"}
		if ok {
			a.StatusCode, a.Error = 200, ""
			at := a.At
			d.Status, d.DeliveredAt = checkout.DeliveryDelivered, &at
		}
		if err := e.st.SaveDelivery(e.ctx, id, d, a); err != nil {
			e.t.Fatal(err)
		}
	}
}

func mustContain(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("%s lacks %q\n%s", what, w, body)
		}
	}
}

// TestNumbersMatchOrders: the numbers page shows what the merchant's orders are (volume,
// statuses, median time to PAID, webhook rate), never another merchant's; a merchant's user
// naming another merchant gets 404, as on the operator view; an operator sees either; a range
// not offered is refused beside its field.
func TestNumbersMatchOrders(t *testing.T) {
	e := newFullEdge(t)
	a, _ := e.merchant("Acme Tea")
	b, _ := e.merchant("Bolt Coffee")
	now := time.Now().UTC().Add(-time.Hour)
	if now.Day() != time.Now().UTC().Day() {
		now = time.Now().UTC() // just past midnight: keep every order today
	}
	paid := e.order(a, now, 12_500_000, checkout.StatusPaid, 100*time.Second)
	e.order(a, now, 3*checkout.Unit, checkout.StatusExpired, 0)
	e.order(a, now, 4*checkout.Unit, checkout.StatusPending, 0)
	e.order(b, now, 987*checkout.Unit, checkout.StatusPaid, 10*time.Minute)
	e.deliver(paid.ID, false)
	e.deliver(paid.ID, true)

	e.user(a, "ops@acme.example", "tea leaves and honey")
	e.user(b, "ops@bolt.example", "coffee beans and milk")
	e.user(nil, "root@ops.example", "operators see it all")
	ca := e.login("ops@acme.example", "tea leaves and honey", "")
	cb := e.login("ops@bolt.example", "coffee beans and milk", "")
	co := e.login("root@ops.example", "operators see it all", "")

	r := e.do("GET", "/dashboard/numbers?range=30", nil, ca, nil)
	if r.status != 200 {
		t.Fatalf("numbers: %d\n%s", r.status, r.body)
	}
	checkHeaders(t, r)
	mustContain(t, "merchant A's numbers", r.body,
		"12.5 USDT paid in 1 orders.", "3 orders created in this range, by their status now.", "33.3% of them are paid.",
		"Median about 1 min 45 s (between 1 min 30 s and 2 min), over 1 paid orders.",
		"50.0% of 2 webhook attempts were answered 2xx; 0 deliveries were given up.",
		`<option selected value="30">`, "<svg", `role="img"`, `aria-labelledby="volume-s"`,
		"<th scope=\"row\">"+now.Format("2006-01-02")+"</th><td class=\"num\">12.5</td><td class=\"num\">1</td>")
	for _, st := range []string{"Pending", "Paid", "Expired"} {
		mustContain(t, "status table", r.body, `<th scope="row">`+st+`</th><td class="num">1</td>`)
	}
	if strings.Contains(r.body, "987") || strings.Contains(r.body, b.ID) || strings.Contains(r.body, "Bolt") {
		t.Fatalf("merchant A's page shows merchant B's figures\n%s", r.body)
	}
	if strings.Contains(r.body, `name="merchant"`) {
		t.Fatal("a merchant's user is offered a merchant selector")
	}

	// Another merchant, named or through the operator view: 404 (nothing tells it exists).
	for _, path := range []string{"/dashboard/numbers?merchant=" + b.ID, "/dashboard/numbers?merchant=mer_nope", "/dashboard/operator"} {
		if r := e.do("GET", path, nil, ca, nil); r.status != 404 || strings.Contains(r.body, "987") {
			t.Fatalf("%s as merchant A: %d", path, r.status)
		}
	}
	if r := e.do("GET", "/dashboard/numbers?merchant="+a.ID, nil, ca, nil); r.status != 200 {
		t.Fatalf("own merchant named: %d", r.status)
	}
	// B sees its own only.
	r = e.do("GET", "/dashboard/numbers", nil, cb, nil)
	mustContain(t, "merchant B's numbers", r.body, "987 USDT paid in 1 orders.", "Median about 12 min 30 s (between 10 min and 15 min)", `<option selected value="7">`)
	if strings.Contains(r.body, "12.5") {
		t.Fatal("merchant B sees merchant A's volume")
	}

	// A range not offered: 400, the message beside the field, nothing else drawn.
	r = e.do("GET", "/dashboard/numbers?range=365", nil, ca, nil)
	if r.status != 400 {
		t.Fatalf("bad range: %d", r.status)
	}
	mustContain(t, "bad range", r.body, `aria-invalid="true"`, `aria-describedby="range-error"`, `id="range-error"`, "Choose one of the ranges offered")
	if strings.Contains(r.body, "<svg") {
		t.Fatal("charts drawn for a refused range")
	}

	// The operator picks a merchant; an unknown one is 404.
	r = e.do("GET", "/dashboard/numbers?merchant="+b.ID, nil, co, nil)
	mustContain(t, "operator's numbers of B", r.body, "987 USDT paid in 1 orders.", `<option selected value="`+b.ID+`">`, `name="merchant"`)
	if r := e.do("GET", "/dashboard/numbers?merchant=mer_nope", nil, co, nil); r.status != 404 {
		t.Fatalf("operator, unknown merchant: %d", r.status)
	}

	// The operator view: every merchant with its open orders, watchers, backlogs.
	r = e.do("GET", "/dashboard/operator", nil, co, nil)
	if r.status != 200 {
		t.Fatalf("operator view: %d\n%s", r.status, r.body)
	}
	checkHeaders(t, r)
	mustContain(t, "operator view", r.body,
		`<th scope="row">Acme Tea</th><td>`+a.ID+`</td><td class="num">1</td>`,
		`<th scope="row">Bolt Coffee</th><td>`+b.ID+`</td><td class="num">0</td>`,
		`<th scope="row">TRC20</th><td>none: no watcher holds the lease</td><td>not started</td>`,
		"Orders with deliveries waiting", `id="webhook-backlog">2</dd>`) // both PAID orders' commits scheduled them; no dispatcher ran

	// Not signed in: to the sign-in page.
	for _, path := range []string{"/dashboard/numbers", "/dashboard/operator"} {
		if r := e.do("GET", path, nil, "", nil); r.status != 303 || !strings.HasPrefix(r.header.Get("Location"), "/dashboard/login") {
			t.Fatalf("%s signed out: %d %q", path, r.status, r.header.Get("Location"))
		}
	}
}

// TestMedianOf: the median is read from the histogram within the bucket holding the middle
// order, and the open last bucket says only "more than".
func TestMedianOf(t *testing.T) {
	hist := make([]int64, store.TimeToPaidBuckets)
	if m := dashboard.MedianOf(hist); m.OK {
		t.Fatalf("empty: %+v", m)
	}
	// 3 orders under 15 s, 1 in [60 s, 90 s): the middle (rank 2 of 4) is in the first bucket.
	hist[0], hist[4] = 3, 1
	m := dashboard.MedianOf(hist)
	if !m.OK || m.Low != 0 || m.High != 15*time.Second || m.Estimate != 10*time.Second || m.N != 4 {
		t.Fatalf("median %+v", m)
	}
	hist = make([]int64, store.TimeToPaidBuckets)
	hist[len(hist)-1] = 2
	if m := dashboard.MedianOf(hist); !m.OK || m.High != 0 || m.Low != 24*time.Hour {
		t.Fatalf("open bucket: %+v", m)
	}
}
