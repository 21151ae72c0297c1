package dashboard_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/dashboard"
	"github.com/mpchat/checkout/edge/export"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
	"github.com/mpchat/checkout/internal/redistest"
)

// ordersEdge is the edge's route table with the whole dashboard (Store and Actions, as
// edge/serve.go wires it), merchants that can take orders on both networks, and the real
// settlement consumer to pay them.
type ordersEdge struct {
	*edge
	rdb     redis.UniversalClient
	prefix  string
	svc     *orders.Service
	account uint32
}

func newOrdersEdge(t *testing.T) *ordersEdge {
	t.Helper()
	rdb := redistest.Shared(t).Client(t)
	prefix := redistest.Prefix()
	st := store.New(rdb, prefix)
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	usvc := &users.Service{Store: st, Params: users.Params{Time: 1, Memory: 8 * 1024, Threads: 1}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	svc := &orders.Service{Store: st, PublicURL: base, Now: c.Now}
	d, err := dashboard.New(dashboard.Config{Users: usvc, Store: st, Actions: svc, Origin: base, Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	s := &api.Server{Store: st, Orders: svc, Auth: &auth.Verifier{Keys: st}, Dev: true, ExtraRoutes: d.Routes}
	hs := &fasthttp.Server{Handler: s.Handler()}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown() })
	for _, n := range checkout.Networks {
		if err := st.EnsureFeedGroup(context.Background(), n, settlement.DefaultGroup); err != nil {
			t.Fatal(err)
		}
	}
	return &ordersEdge{edge: &edge{t: t, url: base, st: st, svc: usvc, clock: c, ctx: context.Background()},
		rdb: rdb, prefix: prefix, svc: svc}
}

// merchant makes a merchant with xpubs on both networks (dev accounts) and a user of it.
func (e *ordersEdge) merchant(name, email string) *checkout.Merchant {
	e.t.Helper()
	m := &checkout.Merchant{ID: ids.Merchant(), Name: name, XPubs: map[checkout.Network]string{}, CreatedAt: e.clock.Now(), RateLimit: 1000}
	var fps []string
	e.account++
	for _, n := range checkout.Networks {
		xpub, err := deposit.DevAccountXPub(n, e.account)
		if err != nil {
			e.t.Fatal(err)
		}
		k, err := deposit.ParseAccountXPub(xpub)
		if err != nil {
			e.t.Fatal(err)
		}
		m.XPubs[n] = xpub
		fps = append(fps, k.Fingerprint())
	}
	if err := e.st.CreateMerchant(e.ctx, m, &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_" + ids.Key()}, fps); err != nil {
		e.t.Fatal(err)
	}
	e.user(m, email, "a long enough password")
	return m
}

// order creates an order as POST /v1/orders does, a second after the previous one.
func (e *ordersEdge) order(m *checkout.Merchant, amount string, n checkout.Network, idem string) *checkout.Order {
	e.t.Helper()
	e.clock.Add(time.Second)
	body := fmt.Sprintf(`{"amount":%q,"currency":"USDT","network":%q}`, amount, n)
	p, err := orders.ParseCreate([]byte(body), idem, orders.Policy{})
	if err != nil {
		e.t.Fatal(err)
	}
	o, _, err := e.svc.Create(e.ctx, m, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// pay has the settlement consumer apply a confirmed transfer of the order's pay amount, as
// the watcher reports it, and returns its tx hash.
func (e *ordersEdge) pay(o *checkout.Order, seed int64) string {
	e.t.Helper()
	hash := common.BigToHash(big.NewInt(seed)).Hex()
	tr := checkout.Transfer{Kind: checkout.TransferConfirmed, Network: o.Network, TxHash: hash, BlockNumber: 100 + uint64(seed),
		BlockHash: common.BigToHash(big.NewInt(1e9 + seed)).Hex(),
		From:      deposit.Format(o.Network, common.BytesToAddress([]byte{0xf0, 0x0d})),
		To:        o.Address, Amount: o.PayAmount, Confirmations: 20, Required: 20, ObservedAt: e.clock.Now()}
	b, err := json.Marshal(&tr)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.rdb.XAdd(e.ctx, &redis.XAddArgs{Stream: e.prefix + checkout.FeedStream(o.Network), Values: []any{checkout.FeedField, b}}).Err(); err != nil {
		e.t.Fatal(err)
	}
	cons := &settlement.Consumer{Store: e.st, Network: o.Network, Block: 50 * time.Millisecond, Now: e.clock.Now}
	if n, err := cons.Poll(e.ctx); err != nil || n != 1 {
		e.t.Fatalf("settle: %d %v", n, err)
	}
	rec, err := e.st.Order(e.ctx, o.ID)
	if err != nil || rec.Order.Status != checkout.StatusPaid {
		e.t.Fatalf("paid order: %v %v", rec, err)
	}
	return hash
}

var rowRE = regexp.MustCompile(`<tr id="row-(ord_[0-9A-Za-z]+)"`)

// rows are the order ids of a list page's table, in order.
func rows(body string) []string {
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func idsOf(os ...*checkout.Order) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.ID)
	}
	return out
}

// TestOrderListFiltersAndLookup: the list is the merchant's orders newest first; each filter
// narrows it as GET /v1/orders does; the lookup finds an order by id, deposit address (any
// case for ERC20), tx hash (with or without 0x) and idempotency key, and never another
// merchant's.
func TestOrderListFiltersAndLookup(t *testing.T) {
	e := newOrdersEdge(t)
	a := e.merchant("Acme Tea", "ops@acme.example")
	b := e.merchant("Other Shop", "ops@other.example")
	o1 := e.order(a, "1", checkout.TRC20, "")
	o2 := e.order(a, "2.5", checkout.ERC20, "")
	e.clock.Add(24 * time.Hour) // the next day (2026-03-02)
	o3 := e.order(a, "10", checkout.TRC20, "cart-77")
	o4 := e.order(a, "5", checkout.TRC20, "")
	tx := e.pay(o4, 4)
	o5 := e.order(a, "3", checkout.ERC20, "")
	if _, err := e.svc.Cancel(e.ctx, a.ID, o5.ID); err != nil {
		t.Fatal(err)
	}
	ob := e.order(b, "2.5", checkout.ERC20, "cart-77")
	cookie := e.login("ops@acme.example", "a long enough password", "")

	all := e.do("GET", "/dashboard/orders", nil, cookie, nil)
	if all.status != 200 || !slices.Equal(rows(all.body), idsOf(o5, o4, o3, o2, o1)) {
		t.Fatalf("list %d %v\n%s", all.status, rows(all.body), all.body)
	}
	for _, want := range []string{`href="/dashboard/orders/` + o4.ID + `?lang=en"`, ">Paid<", "5 USDT", o4.Address[:6] + "…" + o4.Address[len(o4.Address)-4:],
		`title="` + o4.Address + `"`, `<time datetime="2026-03-02T10:00:04Z">2026-03-02 10:00:04</time>`} {
		if !strings.Contains(all.body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	for _, c := range []struct {
		query string
		want  []*checkout.Order
	}{
		{"status=PAID", []*checkout.Order{o4}},
		{"status=CANCELED", []*checkout.Order{o5}},
		{"network=ERC20", []*checkout.Order{o5, o2}},
		{"network=TRC20&status=PENDING", []*checkout.Order{o3, o1}},
		{"amount%5Bgte%5D=2.5&amount%5Blte%5D=5", []*checkout.Order{o5, o4, o2}},
		{"created%5Bgte%5D=2026-03-02", []*checkout.Order{o5, o4, o3}},
		{"created%5Blte%5D=2026-03-01", []*checkout.Order{o2, o1}},
		{"created%5Bgte%5D=2026-03-01&created%5Blte%5D=2026-03-01&network=ERC20", []*checkout.Order{o2}},
		{"status=&network=&created%5Bgte%5D=&amount%5Blte%5D=", []*checkout.Order{o5, o4, o3, o2, o1}}, // an untouched form
		{"status=EXPIRED", nil},
		{"q=" + o2.ID, []*checkout.Order{o2}},
		{"q=" + url.QueryEscape(" "+o2.ID+" "), []*checkout.Order{o2}},
		{"q=" + tx, []*checkout.Order{o4}},
		{"q=" + strings.TrimPrefix(tx, "0x"), []*checkout.Order{o4}},
		{"q=" + o3.Address, []*checkout.Order{o3}},
		{"q=" + strings.ToLower(o2.Address), []*checkout.Order{o2}},
		{"q=cart-77", []*checkout.Order{o3}},
		{"q=" + ob.ID, nil},      // the other merchant's order
		{"q=" + ob.Address, nil}, // and its address
		{"q=nothing-like-it", nil},
	} {
		r := e.do("GET", "/dashboard/orders?"+c.query, nil, cookie, nil)
		if got := rows(r.body); r.status != 200 || !slices.Equal(got, idsOf(c.want...)) {
			t.Errorf("%s: %d %v, want %v", c.query, r.status, got, idsOf(c.want...))
		}
	}
	// The filter form shows what it filters by; the download link carries it.
	r := e.do("GET", "/dashboard/orders?status=PAID&network=TRC20&amount%5Bgte%5D=1", nil, cookie, nil)
	for _, want := range []string{`<option selected value="PAID">`, `<option selected value="TRC20">`, `name="amount[gte]" type="text" value="1"`,
		`href="/dashboard/orders.csv?amount%5Bgte%5D=1&amp;lang=en&amp;network=TRC20&amp;status=PAID"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("filtered page lacks %q", want)
		}
	}
	if r := e.do("GET", "/dashboard/orders?q=nothing-like-it", nil, cookie, nil); !strings.Contains(r.body, "No order of this merchant has that id") {
		t.Errorf("lookup without a match:\n%s", r.body)
	}
}

// TestLookupAfterNetworkSwitch: the address an order held before the customer switched
// network still finds it, as does the new one.
func TestLookupAfterNetworkSwitch(t *testing.T) {
	e := newOrdersEdge(t)
	a := e.merchant("Acme Tea", "ops@acme.example")
	e.clock.Add(time.Second)
	p, err := orders.ParseCreate([]byte(`{"amount":"4","currency":"USDT","network":"TRC20","allow_network_switch":true}`), "", orders.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := e.svc.Create(e.ctx, a, p)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := e.svc.SwitchNetwork(e.ctx, o.ID, checkout.ERC20)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Address == o.Address || sw.Network != checkout.ERC20 {
		t.Fatalf("switched to %s %s", sw.Network, sw.Address)
	}
	cookie := e.login("ops@acme.example", "a long enough password", "")
	for _, q := range []string{o.Address, sw.Address} {
		r := e.do("GET", "/dashboard/orders?q="+url.QueryEscape(q), nil, cookie, nil)
		if got := rows(r.body); !slices.Equal(got, []string{o.ID}) {
			t.Errorf("lookup %s: %v", q, got)
		}
	}
	if r := e.do("GET", "/dashboard/orders?network=ERC20", nil, cookie, nil); !slices.Equal(rows(r.body), []string{o.ID}) {
		t.Errorf("ERC20 after the switch: %v", rows(r.body))
	}
}

// TestOrderListBadFilters: every refused value is a 400 with the message beside its field
// (aria-invalid, aria-describedby naming the message), and no list.
func TestOrderListBadFilters(t *testing.T) {
	e := newOrdersEdge(t)
	a := e.merchant("Acme Tea", "ops@acme.example")
	e.order(a, "1", checkout.TRC20, "")
	cookie := e.login("ops@acme.example", "a long enough password", "")
	for _, c := range []struct {
		query, field, msg string
	}{
		{"status=paid", "f-status", "Choose a status from the list."},
		{"network=BTC", "f-network", "Choose TRC20 or ERC20."},
		{"created%5Bgte%5D=01%2F03%2F2026", "f-from", "Enter a date as YYYY-MM-DD."},
		{"created%5Blte%5D=1772400000", "f-to", "Enter a date as YYYY-MM-DD."},
		{"created%5Bgte%5D=2026-03-02&created%5Blte%5D=2026-03-01", "f-to", "The end date is before the start date."},
		{"amount%5Bgte%5D=-1", "f-min", "Enter an amount in USDT"},
		{"amount%5Blte%5D=1.0000001", "f-max", "Enter an amount in USDT"},
		{"amount%5Bgte%5D=5&amount%5Blte%5D=4", "f-max", "The upper amount is below the lower one."},
		{"q=" + strings.Repeat("x", 256), "q", "That is too long: at most 255 characters."},
	} {
		r := e.do("GET", "/dashboard/orders?"+c.query, nil, cookie, nil)
		tag := regexp.MustCompile(`<[a-z]+ [^>]*id="` + regexp.QuoteMeta(c.field) + `"[^>]*>`).FindString(r.body)
		marked := strings.Contains(tag, `aria-invalid="true"`) && regexp.MustCompile(`aria-describedby="[^"]*`+c.field+`-err"`).MatchString(tag)
		if r.status != 400 || !marked || !strings.Contains(r.body, `id="`+c.field+`-err">`+c.msg) || len(rows(r.body)) != 0 {
			t.Errorf("%s: %d, field %s: %s\n%s", c.query, r.status, c.field, tag, r.body)
		}
	}
	// The other refusals have no field: the message above the form.
	for q, msg := range map[string]string{
		"colour=red":                   "a parameter the order list does not take",
		"status=PAID&status=PENDING":   "a parameter the order list does not take",
		"starting_after=ord_bad":       "That page link is not valid",
		"limit=1000":                   "a parameter the order list does not take",
		"ending_before=" + ids.Order(): "That page link is not valid", // no order of this merchant
	} {
		if r := e.do("GET", "/dashboard/orders?"+q, nil, cookie, nil); r.status != 400 || !strings.Contains(r.body, `role="alert">`+"") || !strings.Contains(r.body, msg) {
			t.Errorf("%s: %d\n%s", q, r.status, r.body)
		}
	}
	// In Chinese too.
	if r := e.do("GET", "/dashboard/orders?lang=zh&network=BTC", nil, cookie, nil); r.status != 400 || !strings.Contains(r.body, "请选择 TRC20 或 ERC20。") {
		t.Errorf("zh: %d", r.status)
	}
}

var hrefRE = regexp.MustCompile(`id="(page-newer|page-older|page-first)"[^>]*href="([^"]+)"|href="([^"]+)"[^>]*id="(page-newer|page-older|page-first)"`)

func links(body string) map[string]string {
	out := map[string]string{}
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		id, href := m[1]+m[4], m[2]+m[3]
		out[id] = strings.ReplaceAll(href, "&amp;", "&")
	}
	return out
}

// TestOrderListPagination: older and newer pages by cursor, filters kept; the newest page has
// no newer link and the oldest no older one.
func TestOrderListPagination(t *testing.T) {
	e := newOrdersEdge(t)
	a := e.merchant("Acme Tea", "ops@acme.example")
	var made []*checkout.Order
	for i := range 12 {
		n := checkout.TRC20
		if i%4 == 3 {
			n = checkout.ERC20
		}
		made = append(made, e.order(a, "1", n, ""))
	}
	slices.Reverse(made) // newest first
	var trc []*checkout.Order
	for _, o := range made {
		if o.Network == checkout.TRC20 {
			trc = append(trc, o)
		}
	}
	cookie := e.login("ops@acme.example", "a long enough password", "")
	r := e.do("GET", "/dashboard/orders?limit=4&network=TRC20", nil, cookie, nil)
	if got := rows(r.body); !slices.Equal(got, idsOf(trc[:4]...)) || links(r.body)["page-newer"] != "" || links(r.body)["page-older"] == "" {
		t.Fatalf("first page %v %v", got, links(r.body))
	}
	var pages [][]string
	for next := links(r.body)["page-older"]; next != ""; next = links(r.body)["page-older"] {
		if !strings.Contains(next, "network=TRC20") || !strings.Contains(next, "limit=4") {
			t.Fatalf("older link drops the filters: %s", next)
		}
		r = e.do("GET", next, nil, cookie, nil)
		pages = append(pages, rows(r.body))
		if len(pages) > 5 {
			t.Fatal("no end")
		}
	}
	if len(pages) != 2 || !slices.Equal(slices.Concat(pages...), idsOf(trc[4:]...)) || strings.Contains(r.body, `<script`) {
		t.Fatalf("older pages %v, want %v", pages, idsOf(trc[4:]...))
	}
	// Back: newer twice from the last page is the first page again, with no newer link.
	r = e.do("GET", links(r.body)["page-newer"], nil, cookie, nil)
	if got := rows(r.body); !slices.Equal(got, pages[0]) {
		t.Fatalf("newer from the last page: %v, want %v", got, pages[0])
	}
	r = e.do("GET", links(r.body)["page-newer"], nil, cookie, nil)
	if got := rows(r.body); !slices.Equal(got, idsOf(trc[:4]...)) || links(r.body)["page-newer"] != "" || links(r.body)["page-older"] == "" {
		t.Fatalf("newer page %v %v", got, links(r.body))
	}
	// All orders, 5 a page: three pages.
	r = e.do("GET", "/dashboard/orders?limit=5", nil, cookie, nil)
	var seen []string
	for {
		seen = append(seen, rows(r.body)...)
		next := links(r.body)["page-older"]
		if next == "" {
			break
		}
		r = e.do("GET", next, nil, cookie, nil)
	}
	if !slices.Equal(seen, idsOf(made...)) {
		t.Fatalf("paged through %v, want %v", seen, idsOf(made...))
	}
}

// TestOrderListScoping: a merchant's user sees its own orders only, and naming another
// merchant, on every route of the list, is a 404 like an unknown one; an operator chooses.
func TestOrderListScoping(t *testing.T) {
	e := newOrdersEdge(t)
	a := e.merchant("Acme Tea", "ops@acme.example")
	b := e.merchant("Other Shop", "ops@other.example")
	e.user(nil, "root@ops.example", "operator long password")
	oa := e.order(a, "1", checkout.TRC20, "")
	ob := e.order(b, "2", checkout.TRC20, "")
	cb := e.login("ops@other.example", "a long enough password", "")
	if r := e.do("GET", "/dashboard/orders", nil, cb, nil); !slices.Equal(rows(r.body), []string{ob.ID}) || strings.Contains(r.body, oa.ID) {
		t.Fatalf("b's list: %v", rows(r.body))
	}
	for _, path := range []string{
		"/dashboard/orders?merchant=" + a.ID, "/dashboard/orders?merchant=" + a.ID + "&q=" + oa.ID,
		"/dashboard/orders?view=rows&merchant=" + a.ID, "/dashboard/orders.csv?merchant=" + a.ID,
		"/dashboard/orders?merchant=mer_nobody", "/dashboard/orders.csv?merchant=mer_nobody",
	} {
		if r := e.do("GET", path, nil, cb, nil); r.status != 404 || len(rows(r.body)) > 0 || strings.Contains(r.body, "Acme") {
			t.Errorf("b: %s: %d", path, r.status)
		}
	}
	if r := e.do("GET", "/dashboard/orders?merchant="+b.ID, nil, cb, nil); r.status != 200 || !slices.Equal(rows(r.body), []string{ob.ID}) {
		t.Errorf("b naming itself: %d", r.status)
	}
	// a's order as b's cursor: refused, nothing of a's shown.
	if r := e.do("GET", "/dashboard/orders?starting_after="+oa.ID, nil, cb, nil); r.status != 400 || strings.Contains(r.body, oa.ID+`"`) && len(rows(r.body)) > 0 {
		t.Errorf("b pages after a's order: %d %v", r.status, rows(r.body))
	}
	// Signed out: the sign-in page, for the CSV and the live rows too.
	for _, path := range []string{"/dashboard/orders", "/dashboard/orders.csv", "/dashboard/orders?view=rows"} {
		if r := e.do("GET", path, nil, "", nil); r.status != 303 || r.header.Get("Location") != "/dashboard/login" {
			t.Errorf("signed out %s: %d", path, r.status)
		}
	}

	op := e.login("root@ops.example", "operator long password", "")
	r := e.do("GET", "/dashboard/orders", nil, op, nil)
	if r.status != 200 || len(rows(r.body)) != 0 || !strings.Contains(r.body, `<option value="`+a.ID+`">Acme Tea (`+a.ID+`)</option>`) {
		t.Fatalf("operator without a merchant: %d\n%s", r.status, r.body)
	}
	r = e.do("GET", "/dashboard/orders?merchant="+a.ID, nil, op, nil)
	if !slices.Equal(rows(r.body), []string{oa.ID}) || !strings.Contains(r.body, `href="/dashboard/orders/`+oa.ID+`?lang=en&amp;merchant=`+a.ID+`"`) {
		t.Fatalf("operator on a: %v\n%s", rows(r.body), r.body)
	}
	if r := e.do("GET", "/dashboard/orders?merchant=mer_nobody", nil, op, nil); r.status != 404 {
		t.Errorf("operator, unknown merchant: %d", r.status)
	}
}

// TestOrderListLive: the newest page carries the live script, allowed by its hash and
// nothing else; its rows fragment shows a new order and a status change; paged and lookup
// pages have no script.
func TestOrderListLive(t *testing.T) {
	e := newOrdersEdge(t)
	a := e.merchant("Acme Tea", "ops@acme.example")
	o1 := e.order(a, "1", checkout.TRC20, "")
	cookie := e.login("ops@acme.example", "a long enough password", "")
	r := e.do("GET", "/dashboard/orders?network=TRC20", nil, cookie, nil)
	m := regexp.MustCompile(`<script>(.+?)</script>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no live script:\n%s", r.body)
	}
	sum := sha256.Sum256([]byte(m[1]))
	csp := r.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || !strings.Contains(csp, "connect-src 'self'") ||
		strings.Contains(csp, "unsafe") || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	live := regexp.MustCompile(`data-live="([^"]+)"`).FindStringSubmatch(r.body)
	if live == nil {
		t.Fatal("no data-live")
	}
	frag := strings.ReplaceAll(live[1], "&amp;", "&")
	if !strings.Contains(frag, "network=TRC20") || !strings.Contains(frag, "view=rows") {
		t.Fatalf("live URL %s", frag)
	}
	f := e.do("GET", frag, nil, cookie, nil)
	if f.status != 200 || !slices.Equal(rows(f.body), []string{o1.ID}) || strings.Contains(f.body, "<html") {
		t.Fatalf("fragment %d %s", f.status, f.body)
	}
	o2 := e.order(a, "2", checkout.TRC20, "")
	e.order(a, "3", checkout.ERC20, "") // filtered out
	if _, err := e.svc.Cancel(e.ctx, a.ID, o1.ID); err != nil {
		t.Fatal(err)
	}
	f = e.do("GET", frag, nil, cookie, nil)
	if !slices.Equal(rows(f.body), []string{o2.ID, o1.ID}) || !strings.Contains(f.body, ">Canceled<") {
		t.Fatalf("fragment after changes: %v\n%s", rows(f.body), f.body)
	}
	for _, path := range []string{"/dashboard/orders?q=" + o1.ID, "/dashboard/orders?starting_after=" + o2.ID, "/dashboard/orders?network=BTC"} {
		r := e.do("GET", path, nil, cookie, nil)
		if strings.Contains(r.body, "<script") || strings.Contains(r.header.Get("Content-Security-Policy"), "script-src") {
			t.Errorf("%s has the live script", path)
		}
	}
	// A fragment of a page that is not the newest is refused.
	if f := e.do("GET", "/dashboard/orders?view=rows&starting_after="+o2.ID, nil, cookie, nil); f.status != 400 {
		t.Errorf("paged fragment: %d", f.status)
	}
}

// TestLiveSlots: a session has at most a few live refreshes in flight.
func TestLiveSlots(t *testing.T) {
	const s = "session-hash-for-test"
	n := 0
	for dashboard.TakeLiveSlot(s) {
		n++
		if n > 100 {
			t.Fatal("unbounded")
		}
	}
	if n != dashboard.MaxLiveRequests || !dashboard.TakeLiveSlot("another session") {
		t.Fatalf("%d slots", n)
	}
	dashboard.ReleaseLiveSlot(s)
	if !dashboard.TakeLiveSlot(s) {
		t.Fatal("a released slot is not free")
	}
}

// TestOrdersCSV: the download is `edge export --format csv` of the same filters (same
// columns, same rows), and lands in the merchant's audit log with who and what range.
func TestOrdersCSV(t *testing.T) {
	e := newOrdersEdge(t)
	a := e.merchant("Acme Tea", "ops@acme.example")
	b := e.merchant("Other Shop", "ops@other.example")
	o1 := e.order(a, "1", checkout.TRC20, "")
	e.clock.Add(24 * time.Hour)
	o2 := e.order(a, "2", checkout.TRC20, "")
	e.pay(o2, 7)
	o3 := e.order(a, "3", checkout.ERC20, "")
	e.clock.Add(24 * time.Hour)
	e.order(a, "4", checkout.TRC20, "")
	e.order(b, "5", checkout.TRC20, "")
	cookie := e.login("ops@acme.example", "a long enough password", "")

	r := e.do("GET", "/dashboard/orders.csv?created%5Bgte%5D=2026-03-02&created%5Blte%5D=2026-03-02&amount%5Blte%5D=3", nil, cookie, nil)
	if r.status != 200 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		r.header.Get("Content-Disposition") != `attachment; filename="orders-`+a.ID+`-2026-03-02-to-2026-03-02.csv"` {
		t.Fatalf("csv %d %v\n%s", r.status, r.header, r.body)
	}
	recs, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], export.Columns) || len(recs) != 3 || recs[1][0] != o2.ID || recs[2][0] != o3.ID || recs[1][4] != "PAID" {
		t.Fatalf("csv rows %v", recs)
	}
	var want bytes.Buffer
	if _, err := export.Run(e.ctx, e.st, export.Query{MerchantID: a.ID, Format: export.CSV, Since: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		Until: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), MaxAmount: 3_000_000}, &want); err != nil {
		t.Fatal(err)
	}
	if r.body != want.String() {
		t.Fatalf("csv differs from the export:\n%s\nwant\n%s", r.body, want.String())
	}
	// The file is streamed (chunked), not sent with a length computed from a whole body.
	req, _ := http.NewRequest("GET", e.url+"/dashboard/orders.csv", nil)
	req.Header.Set("Cookie", dashboard.CookieName+"="+cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.ContentLength != -1 || !slices.Equal(res.TransferEncoding, []string{"chunked"}) {
		t.Fatalf("csv response %d length %d %v", res.StatusCode, res.ContentLength, res.TransferEncoding)
	}
	// No range: everything of a's, oldest first.
	r = e.do("GET", "/dashboard/orders.csv?network=TRC20", nil, cookie, nil)
	recs, _ = csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if len(recs) != 4 || recs[1][0] != o1.ID || recs[2][0] != o2.ID {
		t.Fatalf("all TRC20: %v", recs)
	}
	log, err := e.st.Audit(e.ctx, a.ID, 5)
	if err != nil {
		t.Fatal(err)
	}
	if log[0].Action != "orders.exported" || log[0].Actor != "ops@acme.example" || log[0].IP != "127.0.0.1" || log[0].Detail != "csv created any..any network=TRC20" ||
		log[1].Detail != "csv created any..any" || log[2].Detail != "csv created 2026-03-02..2026-03-02 amount<=3" {
		t.Fatalf("audit %+v", log[:3])
	}
	// A bad filter: the form with its message, no file, nothing audited.
	r = e.do("GET", "/dashboard/orders.csv?created%5Bgte%5D=yesterday", nil, cookie, nil)
	if r.status != 400 || !strings.Contains(r.body, `id="f-from-err">Enter a date`) || strings.Contains(r.header.Get("Content-Type"), "csv") {
		t.Fatalf("bad csv filter: %d", r.status)
	}
	if again, _ := e.st.Audit(e.ctx, a.ID, 5); len(again) != len(log) || again[0].ID != log[0].ID {
		t.Fatalf("refused download audited: %+v", again[0])
	}
}
