package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
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

// ordersDashboard is the edge's route table with the whole dashboard, as dashboardEdge
// builds it, but with merchants that take orders on both networks (each with its API client
// and a dashboard user) and the settlement consumer that credits transfers from the feed.
type ordersDashboard struct {
	base   string
	st     *store.Store
	rdb    redis.UniversalClient
	prefix string
	users  *users.Service
	n      uint32
}

type ordersMerchant struct {
	*checkout.Merchant
	api   *client.Client
	email string
}

func newOrdersDashboard(t *testing.T) *ordersDashboard {
	t.Helper()
	rdb := redistest.Shared(t).Client(t)
	prefix := redistest.Prefix()
	st := store.New(rdb, prefix)
	usvc := &users.Service{Store: st, Params: users.Params{Time: 1, Memory: 8 * 1024, Threads: 1}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	svc := &orders.Service{Store: st, PublicURL: base}
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
	return &ordersDashboard{base: base, st: st, rdb: rdb, prefix: prefix, users: usvc}
}

const ordersPW = "oolong and jasmine"

func (e *ordersDashboard) merchant(t *testing.T, name, email string) *ordersMerchant {
	t.Helper()
	ctx := context.Background()
	e.n++
	m := &checkout.Merchant{ID: ids.Merchant(), Name: name, XPubs: map[checkout.Network]string{}, CreatedAt: time.Now(), RateLimit: 1000}
	var fps []string
	for _, n := range checkout.Networks {
		xpub, err := deposit.DevAccountXPub(n, 40+e.n)
		if err != nil {
			t.Fatal(err)
		}
		k, err := deposit.ParseAccountXPub(xpub)
		if err != nil {
			t.Fatal(err)
		}
		m.XPubs[n], fps = xpub, append(fps, k.Fingerprint())
	}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_" + ids.Key()}
	if err := e.st.CreateMerchant(ctx, m, key, fps); err != nil {
		t.Fatal(err)
	}
	c, err := e.users.CreateUser(ctx, users.CreateParams{Email: email, MerchantID: m.ID}, users.OperatorActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.users.SetPassword(ctx, c.Token, ordersPW, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	return &ordersMerchant{Merchant: m, api: client.New(e.base, key.ID, key.Secret), email: email}
}

// pay credits the order's pay amount as a confirmed transfer: the entry a watcher writes to
// the network's feed, applied by the real settlement consumer. It returns the tx hash.
func (e *ordersDashboard) pay(t *testing.T, o *checkout.Order, seed int64) string {
	t.Helper()
	ctx := context.Background()
	hash := common.BigToHash(big.NewInt(seed)).Hex()
	tr := checkout.Transfer{Kind: checkout.TransferConfirmed, Network: o.Network, TxHash: hash, BlockNumber: 100 + uint64(seed),
		BlockHash: common.BigToHash(big.NewInt(1e9 + seed)).Hex(), From: deposit.Format(o.Network, common.BytesToAddress([]byte{0xbe, 0xef})),
		To: o.Address, Amount: o.PayAmount, Confirmations: 20, Required: 20, ObservedAt: time.Now().UTC()}
	b, _ := json.Marshal(&tr)
	if err := e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: e.prefix + checkout.FeedStream(o.Network), Values: []any{checkout.FeedField, b}}).Err(); err != nil {
		t.Fatal(err)
	}
	cons := &settlement.Consumer{Store: e.st, Network: o.Network, Block: 50 * time.Millisecond}
	if n, err := cons.Poll(ctx); err != nil || n != 1 {
		t.Fatalf("settle: %d %v", n, err)
	}
	return hash
}

// TestDashboardOrders drives the order list in Chromium: sign in, see the merchant's orders,
// an order created through the API and then canceled appears and changes without a reload,
// filter by network, look up by order id and by tx hash, download the CSV (its rows are the
// API's orders), and a second merchant's session sees none of it and is refused the first
// merchant's list and CSV. Screenshots at 1280 and 360 px go to artifacts/.
func TestDashboardOrders(t *testing.T) {
	e := newOrdersDashboard(t)
	a := e.merchant(t, "Acme Tea 茶", "ops@acme.example")
	b := e.merchant(t, "Other Shop", "ops@other.example")
	ctx := context.Background()
	create := func(m *ordersMerchant, amount string, n checkout.Network) *checkout.Order {
		t.Helper()
		o, err := m.api.CreateOrder(ctx, &client.OrderParams{Amount: amount, Currency: "USDT", Network: n})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	o1 := create(a, "12.5", checkout.TRC20)
	o2 := create(a, "30", checkout.ERC20)
	o3 := create(a, "7.25", checkout.TRC20)
	tx := e.pay(t, o3, 33)
	ob := create(b, "99", checkout.TRC20)

	tab := newTab(t, newBrowser(t))
	shot := func(name string, width int64) {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		if wide, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); wide > int(width) {
			t.Errorf("%s: page is %d px wide on a %d px screen", name, wide, width)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		saveArtifact(t, fmt.Sprintf("dashboard-%s-%d.png", name, width), png)
	}
	rowIDs := func() []string {
		t.Helper()
		ids, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#orders-rows tr[id]")).map(r => r.id.slice(4))`))
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	signIn := func(email string) {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.Navigate(e.base+"/dashboard/login"), chromedp.WaitVisible("#email"),
			chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", ordersPW+"\r")); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "signed in", `location.pathname === "/dashboard"`, 10*time.Second)
	}
	ids := func(os ...*checkout.Order) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.ID)
		}
		return out
	}

	// Sign in and open the list from the navigation.
	signIn(a.email)
	if err := chromedp.Do(tab, chromedp.Click(`nav a[href^="/dashboard/orders"]`), chromedp.WaitVisible("#orders-rows")); err != nil {
		t.Fatal(err)
	}
	if got := rowIDs(); !slices.Equal(got, ids(o3, o2, o1)) {
		t.Fatalf("list %v, want %v", got, ids(o3, o2, o1))
	}
	if st, _ := chromedp.Run(tab, chromedp.Text("#row-"+o3.ID+" .st")); st != "Paid" {
		t.Fatalf("o3's status %q", st)
	}

	// Live: an order made through the API appears, then its cancel shows, with no reload (a
	// marker set on this document survives).
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`window.sameDocument = true`)); err != nil {
		t.Fatal(err)
	}
	o4 := create(a, "45", checkout.TRC20)
	poll(t, tab, "the new order", `!!document.getElementById("row-`+o4.ID+`") && window.sameDocument === true`, 20*time.Second)
	if got := rowIDs(); !slices.Equal(got, ids(o4, o3, o2, o1)) {
		t.Fatalf("live list %v", got)
	}
	poll(t, tab, "the live note", `!document.getElementById("live").hidden`, 5*time.Second)
	shot("orders", 1280)
	shot("orders", 360)
	if _, err := a.api.CancelOrder(ctx, o4.ID); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "the cancel", `document.querySelector("#row-`+o4.ID+` .st").textContent === "Canceled" && window.sameDocument === true`, 20*time.Second)

	// Filter with the keyboard: ERC20, then Enter on the button.
	if err := chromedp.Do(tab, chromedp.SetValue("#f-network", "ERC20"), chromedp.Focus("#filter"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "filtered", `location.search.includes("network=ERC20")`, 10*time.Second)
	if got := rowIDs(); !slices.Equal(got, ids(o2)) {
		t.Fatalf("ERC20 %v", got)
	}
	// A bad amount: the message beside the field.
	if err := chromedp.Do(tab, chromedp.SendKeys("#f-min", "1.2345678"), chromedp.Focus("#filter"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "the amount's message", `!!document.getElementById("f-min-err") && document.getElementById("f-min").getAttribute("aria-invalid") === "true"`, 10*time.Second)
	shot("orders-error", 360)

	// Lookups: by order id, then by tx hash.
	for _, c := range []struct{ q, want string }{{o1.ID, o1.ID}, {tx, o3.ID}} {
		if err := chromedp.Do(tab, chromedp.Navigate(e.base+"/dashboard/orders"), chromedp.WaitVisible("#q"),
			chromedp.SendKeys("#q", c.q+"\r")); err != nil {
			t.Fatal(err)
		}
		poll(t, tab, "lookup "+c.q, `location.search.includes("q=")`, 10*time.Second)
		if got := rowIDs(); !slices.Equal(got, []string{c.want}) {
			t.Fatalf("lookup %s: %v", c.q, got)
		}
	}
	shot("orders-lookup", 1280)

	// The CSV of TRC20 orders, downloaded by the page's own link (the browser's session):
	// its rows are the API's TRC20 orders, oldest first, with the API's fields.
	if err := chromedp.Do(tab, chromedp.Navigate(e.base+"/dashboard/orders?network=TRC20"), chromedp.WaitVisible("#csv")); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(tab, chromedp.Evaluate[string](`fetch(document.getElementById("csv").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, body)
	}
	list, err := a.api.ListOrders(ctx, &client.ListParams{Network: checkout.TRC20, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], export.Columns) || len(rows)-1 != len(list.Data) {
		t.Fatalf("csv %d rows, API %d:\n%s", len(rows)-1, len(list.Data), body)
	}
	col := func(name string) int { return slices.Index(export.Columns, name) }
	for i, o := range list.Data { // the API is newest first, the CSV oldest first
		row := rows[len(rows)-1-i]
		if row[col("id")] != o.ID || row[col("status")] != string(o.Status) || row[col("amount")] != o.Amount.String() ||
			row[col("amount_paid")] != o.AmountPaid.String() || row[col("address")] != o.Address || row[col("network")] != "TRC20" {
			t.Errorf("csv row %v, API order %s %s %s %s", row, o.ID, o.Status, o.Amount, o.AmountPaid)
		}
	}
	if got := rows[len(rows)-1-slices.IndexFunc(list.Data, func(o checkout.Order) bool { return o.ID == o3.ID })][col("tx_hashes")]; got != tx {
		t.Errorf("o3's tx_hashes %q, want %s", got, tx)
	}
	if log, err := e.st.Audit(ctx, a.ID, 1); err != nil || log[0].Action != "orders.exported" || log[0].Actor != a.email {
		t.Fatalf("audit %+v %v", log, err)
	}

	// The second merchant: sign out, sign in as it.
	if err := chromedp.Do(tab, chromedp.Navigate(e.base+"/dashboard"), chromedp.WaitVisible("#signout"), chromedp.Click("#signout")); err != nil {
		t.Fatal(err)
	}
	poll(t, tab, "signed out", `location.pathname === "/dashboard/login"`, 10*time.Second)
	signIn(b.email)
	if err := chromedp.Do(tab, chromedp.Navigate(e.base+"/dashboard/orders"), chromedp.WaitVisible("#orders-rows")); err != nil {
		t.Fatal(err)
	}
	if got := rowIDs(); !slices.Equal(got, ids(ob)) {
		t.Fatalf("b's list %v", got)
	}
	if html, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.innerHTML`)); strings.Contains(html, o1.ID) || strings.Contains(html, "Acme") {
		t.Fatal("b's list shows a's orders")
	}
	for _, path := range []string{"/dashboard/orders?merchant=" + a.ID, "/dashboard/orders.csv?merchant=" + a.ID,
		"/dashboard/orders?view=rows&merchant=" + a.ID, "/dashboard/orders?q=" + o1.ID} {
		got, err := chromedp.Run(tab, chromedp.Evaluate[string](`fetch(`+jsString(path)+`).then(r => r.status + " " + r.headers.get("Content-Type")).catch(e => String(e))`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		want := "404 text/html; charset=utf-8"
		if strings.Contains(path, "q=") {
			want = "200 text/html; charset=utf-8" // b's own lookup: nothing found
		}
		if got != want {
			t.Errorf("b fetches %s: %s", path, got)
		}
	}
	if err := chromedp.Do(tab, chromedp.Navigate(e.base+"/dashboard/orders?q="+o1.ID), chromedp.WaitVisible("#orders-rows")); err != nil {
		t.Fatal(err)
	}
	if got := rowIDs(); len(got) != 0 {
		t.Fatalf("b finds a's order: %v", got)
	}
}
