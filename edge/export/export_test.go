package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/export"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// clock is the edge's settable clock: orders get the created_at the test chooses.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// rig is a real edge (api.Server on loopback) and settlement consumers over the test's own
// Redis prefix.
type rig struct {
	t       *testing.T
	ctx     context.Context
	rdb     *redis.Client
	prefix  string
	st      *store.Store
	clock   *clock
	url     string
	settle  map[checkout.Network]*settlement.Consumer
	account uint32
	tx      int
}

func newRig(t *testing.T) *rig {
	t.Helper()
	srv := redistest.Shared(t)
	r := &rig{t: t, ctx: context.Background(), rdb: srv.Client(t), prefix: redistest.Prefix(),
		clock: &clock{t: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}, settle: map[checkout.Network]*settlement.Consumer{}}
	r.st = store.New(r.rdb, r.prefix)
	s := &api.Server{
		Store:  r.st,
		Orders: &orders.Service{Store: r.st, PublicURL: "https://pay.example.test", Now: r.clock.Now},
		Auth:   &auth.Verifier{Keys: r.st, Now: r.clock.Now},
		Log:    slog.New(slog.DiscardHandler),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &fasthttp.Server{Handler: s.Handler()}
	done := make(chan struct{})
	go func() { defer close(done); _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Shutdown(); <-done })
	r.url = "http://" + ln.Addr().String()
	for _, n := range checkout.Networks {
		if err := r.st.EnsureFeedGroup(r.ctx, n, settlement.DefaultGroup); err != nil {
			t.Fatal(err)
		}
		r.settle[n] = &settlement.Consumer{Store: r.st, Network: n, Block: 10 * time.Millisecond,
			Now: r.clock.Now, Log: slog.New(slog.DiscardHandler)}
	}
	return r
}

var accounts struct {
	mu sync.Mutex
	n  uint32
}

// merchant creates a merchant with development xpubs on both networks and returns its client.
func (r *rig) merchant() (string, *client.Client) {
	r.t.Helper()
	accounts.mu.Lock()
	accounts.n++
	account := 300 + accounts.n
	accounts.mu.Unlock()
	m := &checkout.Merchant{ID: ids.Merchant(), Name: "export test", XPubs: map[checkout.Network]string{},
		WebhookSecret: "whsec_test", CreatedAt: r.clock.Now(), OrderTTL: 168 * time.Hour} // open while the clock runs on
	var fps []string
	for _, n := range checkout.Networks {
		x, err := deposit.DevAccountXPub(n, account)
		if err != nil {
			r.t.Fatal(err)
		}
		k, err := deposit.ParseAccountXPub(x)
		if err != nil {
			r.t.Fatal(err)
		}
		m.XPubs[n] = x
		fps = append(fps, k.Fingerprint())
	}
	key := &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_" + ids.Key(), CreatedAt: r.clock.Now()}
	if err := r.st.CreateMerchant(r.ctx, m, key, fps); err != nil {
		r.t.Fatal(err)
	}
	c := client.New(r.url, key.ID, key.Secret)
	c.Now = r.clock.Now
	c.Backoff = func(int) time.Duration { return 0 }
	return m.ID, c
}

// order creates an order through the API at the clock's time.
func (r *rig) order(c *client.Client, n checkout.Network, amount string, metadata map[string]string) *checkout.Order {
	r.t.Helper()
	o, err := c.CreateOrder(r.ctx, &client.OrderParams{Amount: amount, Network: n, Metadata: metadata,
		Description: "export, \"quoted\"\nsecond line"})
	if err != nil {
		r.t.Fatal(err)
	}
	return o
}

// pay sends a transfer to the order as the watcher reports it (final when confirmed) and
// applies it with the real settlement consumer.
func (r *rig) pay(o *checkout.Order, amount string, confirmed bool) {
	r.t.Helper()
	a, err := checkout.ParseAmount(amount)
	if err != nil {
		r.t.Fatal(err)
	}
	r.tx++
	kind, confs := checkout.TransferSeen, uint64(1)
	if confirmed {
		kind, confs = checkout.TransferConfirmed, 20
	}
	from := deposit.Format(o.Network, common.BytesToAddress([]byte{0xf0, 0x0d}))
	tr := checkout.Transfer{Kind: kind, Network: o.Network, TxHash: fmt.Sprintf("0x%064x", 0xe0000+r.tx),
		BlockNumber: uint64(100 + r.tx), BlockHash: fmt.Sprintf("0x%064x", 0xb0000+r.tx), From: from, To: o.Address,
		Amount: a, Confirmations: confs, Required: 20, ObservedAt: r.clock.Now()}
	b, err := json.Marshal(&tr)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.rdb.XAdd(r.ctx, &redis.XAddArgs{Stream: r.prefix + checkout.FeedStream(o.Network),
		Values: []any{checkout.FeedField, b}}).Err(); err != nil {
		r.t.Fatal(err)
	}
	if n, err := r.settle[o.Network].Poll(r.ctx); err != nil || n != 1 {
		r.t.Fatalf("settle: applied %d: %v", n, err)
	}
}

// get is GET /v1/orders/{id}: the exact bytes the API answers.
func get(t *testing.T, c *client.Client, id string) []byte {
	t.Helper()
	resp, body, err := c.Do(context.Background(), "GET", "/v1/orders/"+id, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %v %s", id, resp, err, body)
	}
	return body
}

func (r *rig) export(q export.Query) (string, export.Result) {
	r.t.Helper()
	var b bytes.Buffer
	res, err := export.Run(r.ctx, r.st, q, &b)
	if err != nil {
		r.t.Fatalf("export %+v: %v", q, err)
	}
	return b.String(), res
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// records splits an export into its lines (NDJSON) or its rows, header dropped (CSV), each
// as one string.
func records(t *testing.T, f export.Format, out string) []string {
	t.Helper()
	if f != export.CSV {
		return lines(out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) == 0 || !slices.Equal(rows[0], export.Columns) {
		t.Fatalf("CSV without its header (%v): %q", err, out)
	}
	var rs []string
	for _, row := range rows[1:] {
		rs = append(rs, strings.Join(row, "\x00"))
	}
	return rs
}

func lineIDs(t *testing.T, ls []string) []string {
	t.Helper()
	var out []string
	for _, l := range ls {
		var o struct{ ID string }
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("line is not JSON: %q", l)
		}
		out = append(out, o.ID)
	}
	return out
}

// shop is a merchant with orders an hour apart, in every kind of state, and a second merchant
// whose orders are interleaved in time.
type shop struct {
	merchant, other string
	c, otherC       *client.Client
	orders          []*checkout.Order // the merchant's, oldest first
	otherOrders     []string
	start           time.Time
}

func newShop(r *rig) *shop {
	s := &shop{start: r.clock.Now()}
	s.merchant, s.c = r.merchant()
	s.other, s.otherC = r.merchant()
	meta := map[string]string{"invoice": "INV-1,2", "note": "say \"hi\"\nbye"}
	for i := range 8 {
		n := checkout.Networks[i%2]
		o := r.order(s.c, n, fmt.Sprintf("%d.5", 10+i), meta)
		s.orders = append(s.orders, o)
		oo := r.order(s.otherC, n, "3", nil)
		s.otherOrders = append(s.otherOrders, oo.ID)
		if i == 1 {
			r.pay(oo, "3", true)
		}
		r.clock.Add(time.Hour)
	}
	// Two orders PAID (one in a single transfer, one in two), one CONFIRMING, one CANCELED.
	r.pay(s.orders[1], "11.5", true)
	r.pay(s.orders[3], "5", true)
	r.pay(s.orders[3], "8.5", true)
	r.pay(s.orders[4], "14.5", false)
	r.pay(s.orders[0], "1", false) // seen, then later…
	if _, err := s.c.CancelOrder(r.ctx, s.orders[6].ID); err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (s *shop) ids(from, to int) []string {
	var out []string
	for _, o := range s.orders[from:to] {
		out = append(out, o.ID)
	}
	return out
}

// TestExportLinesAreTheAPIsOrders: every NDJSON line is byte for byte what GET
// /v1/orders/{id} answers, payments included, oldest first across pages, and nothing of
// another merchant's.
func TestExportLinesAreTheAPIsOrders(t *testing.T) {
	r := newRig(t)
	s := newShop(r)
	out, res := r.export(export.Query{MerchantID: s.merchant, Since: s.start.Add(-time.Hour), PageSize: 3})
	ls := lines(out)
	if got, want := lineIDs(t, ls), s.ids(0, 8); !slices.Equal(got, want) {
		t.Fatalf("exported %v, want %v", got, want)
	}
	if res.Orders != 8 || res.Cursor != s.orders[7].ID || res.Torn {
		t.Errorf("result %+v", res)
	}
	paid := 0
	for i, l := range ls {
		if api := get(t, s.c, s.orders[i].ID); l != string(api) {
			t.Errorf("line %d differs from GET /v1/orders/%s:\n%s\n%s", i, s.orders[i].ID, l, api)
		}
		var o checkout.Order
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatal(err)
		}
		if o.Status == checkout.StatusPaid {
			paid++
			if len(o.Payments) == 0 || o.PaidAt == nil {
				t.Errorf("PAID order %s exported without its payments: %s", o.ID, l)
			}
		}
	}
	if paid != 2 {
		t.Errorf("%d PAID orders exported, want 2", paid)
	}
	for _, id := range s.otherOrders {
		if strings.Contains(out, id) {
			t.Errorf("the other merchant's order %s is in the export", id)
		}
	}
	// And the other merchant's export is exactly its own orders.
	out, _ = r.export(export.Query{MerchantID: s.other, Since: s.start})
	if got := lineIDs(t, lines(out)); !slices.Equal(got, s.otherOrders) {
		t.Errorf("other merchant exported %v, want %v", got, s.otherOrders)
	}
}

func TestExportTimeWindowAndFilters(t *testing.T) {
	r := newRig(t)
	s := newShop(r)
	at := func(i int) time.Time { return s.start.Add(time.Duration(i) * time.Hour) }
	for _, c := range []struct {
		name string
		q    export.Query
		want []string
	}{
		{"since is inclusive, until exclusive", export.Query{Since: at(2), Until: at(5)}, s.ids(2, 5)},
		{"open until", export.Query{Since: at(6)}, s.ids(6, 8)},
		{"sub-second since leaves out the order of that second", export.Query{Since: at(2).Add(500 * time.Millisecond), Until: at(5)}, s.ids(3, 5)},
		{"sub-second until keeps the order of that second", export.Query{Since: at(2), Until: at(4).Add(time.Nanosecond)}, s.ids(2, 5)},
		{"a window with nothing", export.Query{Since: at(20), Until: at(21)}, nil},
		{"status", export.Query{Since: at(0), Statuses: []checkout.Status{checkout.StatusPaid}}, []string{s.orders[1].ID, s.orders[3].ID}},
		{"statuses", export.Query{Since: at(0), Statuses: []checkout.Status{checkout.StatusCanceled, checkout.StatusConfirming}},
			[]string{s.orders[0].ID, s.orders[4].ID, s.orders[6].ID}},
		{"network", export.Query{Since: at(0), Networks: []checkout.Network{checkout.Networks[1]}},
			[]string{s.orders[1].ID, s.orders[3].ID, s.orders[5].ID, s.orders[7].ID}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.q.MerchantID, c.q.PageSize = s.merchant, 2
			out, res := r.export(c.q)
			if got := lineIDs(t, lines(out)); !slices.Equal(got, c.want) {
				t.Errorf("exported %v, want %v", got, c.want)
			}
			if res.Orders != len(c.want) {
				t.Errorf("result %+v for %d orders", res, len(c.want))
			}
		})
	}
}

// TestExportResumes: resuming after any line's cursor yields exactly the lines after it, and
// an export cut short (context ended, or a write failing mid-line) resumed from the cursor it
// reports gives the whole export: no duplicate, no gap.
func TestExportResumes(t *testing.T) {
	r := newRig(t)
	s := newShop(r)
	for _, f := range []export.Format{export.NDJSON, export.CSV} {
		t.Run(string(f), func(t *testing.T) {
			q := export.Query{MerchantID: s.merchant, Since: s.start, Format: f, PageSize: 3}
			full, _ := r.export(q)
			all := records(t, f, full)
			if len(all) != 8 {
				t.Fatalf("%d records, want 8", len(all))
			}
			// Cursors from the CSV's id column work as well as the NDJSON's.
			for k, id := range s.ids(0, 8) {
				q.After = id
				rest, res := r.export(q)
				if got := records(t, f, rest); !slices.Equal(got, all[k+1:]) {
					t.Errorf("after %s (record %d): %d records, want the %d after it", id, k, len(got), len(all)-k-1)
				}
				if res.Orders != 7-k {
					t.Errorf("after record %d: result %+v", k, res)
				}
			}
		})
	}

	t.Run("context ends", func(t *testing.T) {
		q := export.Query{MerchantID: s.merchant, Since: s.start, PageSize: 3}
		full, _ := r.export(q)
		ctx, cancel := context.WithCancel(r.ctx)
		defer cancel()
		var first bytes.Buffer
		w := writerFunc(func(p []byte) (int, error) { cancel(); return first.Write(p) }) // interrupted after page 1
		res, err := export.Run(ctx, r.st, q, w)
		if !errors.Is(err, context.Canceled) || res.Orders != 3 || res.Cursor != s.orders[2].ID || res.Torn {
			t.Fatalf("interrupted export: %+v %v", res, err)
		}
		q.After = res.Cursor
		rest, _ := r.export(q)
		if first.String()+rest != full {
			t.Errorf("interrupted + resumed export differs from the whole:\n%s%s\nvs\n%s", first.String(), rest, full)
		}
	})

	t.Run("write fails mid-line", func(t *testing.T) {
		for _, f := range []export.Format{export.NDJSON, export.CSV} {
			q := export.Query{MerchantID: s.merchant, Since: s.start, PageSize: 3, Format: f}
			full, _ := r.export(q)
			cut := strings.Index(full, s.orders[4].ID) + 5 // inside the fifth order's line
			var got bytes.Buffer
			w := &limitedWriter{w: &got, n: cut}
			res, err := export.Run(r.ctx, r.st, q, w)
			if err == nil || res.Cursor != s.orders[3].ID || res.Orders != 4 || !res.Torn || got.Len() != cut {
				t.Fatalf("%s: failed export: %+v %v", f, res, err)
			}
			// The operator's continuation: cut the torn row, resume after the cursor.
			kept := got.String()[:res.Bytes]
			if !strings.HasSuffix(kept, "\n") || strings.Contains(kept, s.orders[4].ID) {
				t.Fatalf("%s: the whole part ends mid-line: %q", f, kept)
			}
			q.After = res.Cursor
			rest, _ := r.export(q)
			if f == export.CSV {
				rest = rest[strings.Index(rest, "\n")+1:] // the second file's header
			}
			if kept+rest != full {
				t.Errorf("%s: cut + resumed export differs from the whole:\n%s%s\nvs\n%s", f, kept, rest, full)
			}
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// limitedWriter takes n bytes, then fails (a full disk, a closed pipe).
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) <= l.n {
		l.n -= len(p)
		return l.w.Write(p)
	}
	n, _ := l.w.Write(p[:l.n])
	l.n = 0
	return n, errors.New("no space left on device")
}

// TestExportCSV: the CSV parses back with encoding/csv under the documented header, one row
// per order, each field what the API's order object says.
func TestExportCSV(t *testing.T) {
	r := newRig(t)
	s := newShop(r)
	out, res := r.export(export.Query{MerchantID: s.merchant, Since: s.start, Format: export.CSV, PageSize: 3})
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, out)
	}
	if !slices.Equal(rows[0], export.Columns) {
		t.Fatalf("header %v, want %v", rows[0], export.Columns)
	}
	if len(rows) != 9 || res.Orders != 8 {
		t.Fatalf("%d rows (result %+v), want header + 8", len(rows), res)
	}
	for i, row := range rows[1:] {
		col := map[string]string{}
		for j, c := range export.Columns {
			col[c] = row[j]
		}
		var api map[string]json.RawMessage
		if err := json.Unmarshal(get(t, s.c, s.orders[i].ID), &api); err != nil {
			t.Fatal(err)
		}
		for _, c := range export.Columns {
			want := ""
			switch c {
			case "tx_hashes":
				var ps []checkout.Payment
				_ = json.Unmarshal(api["payments"], &ps)
				var hs []string
				for _, p := range ps {
					if p.Status == checkout.PaymentConfirmed && !slices.Contains(hs, p.TxHash) {
						hs = append(hs, p.TxHash)
					}
				}
				want = strings.Join(hs, ";")
			case "payments", "metadata":
				var b bytes.Buffer
				if err := json.Compact(&b, api[c]); err != nil {
					t.Fatal(err)
				}
				want = b.String()
			default:
				raw, ok := api[c]
				if !ok {
					continue // frozen_reason: omitted while empty
				}
				if string(raw) != "null" {
					if err := json.Unmarshal(raw, &want); err != nil {
						t.Fatalf("%s: %s is not a string", c, raw)
					}
				}
			}
			if col[c] != want {
				t.Errorf("order %d column %s = %q, the API says %q", i, c, col[c], want)
			}
		}
		if i == 3 && strings.Count(col["tx_hashes"], ";") != 1 {
			t.Errorf("order paid in two transfers: tx_hashes %q", col["tx_hashes"])
		}
		if _, err := time.Parse(time.RFC3339, col["created_at"]); err != nil || !strings.HasSuffix(col["created_at"], "Z") {
			t.Errorf("created_at %q is not RFC 3339 UTC", col["created_at"])
		}
	}
	// An empty window is the header alone.
	out, _ = r.export(export.Query{MerchantID: s.merchant, Since: s.start.Add(100 * time.Hour), Format: export.CSV})
	if out != strings.Join(export.Columns, ",")+"\n" {
		t.Errorf("empty CSV export: %q", out)
	}
}

// TestExportRefusesBeforeWriting: a bad query, an unknown merchant or another merchant's
// cursor is an *InvalidError and nothing reaches the writer.
func TestExportRefusesBeforeWriting(t *testing.T) {
	r := newRig(t)
	s := newShop(r)
	for _, c := range []struct {
		name, param string
		q           export.Query
	}{
		{"no merchant", "merchant", export.Query{Since: s.start}},
		{"unknown merchant", "merchant", export.Query{MerchantID: "mer_nosuchmerchant", Since: s.start}},
		{"no since", "since", export.Query{MerchantID: s.merchant}},
		{"since after until", "until", export.Query{MerchantID: s.merchant, Since: s.start, Until: s.start.Add(-time.Second)}},
		{"since equals until", "until", export.Query{MerchantID: s.merchant, Since: s.start, Until: s.start}},
		{"unknown status", "status", export.Query{MerchantID: s.merchant, Since: s.start, Statuses: []checkout.Status{"LOST"}}},
		{"unknown format", "format", export.Query{MerchantID: s.merchant, Since: s.start, Format: "xml"}},
		{"another merchant's cursor", "after", export.Query{MerchantID: s.merchant, Since: s.start, After: s.otherOrders[2]}},
		{"no such order", "after", export.Query{MerchantID: s.merchant, Since: s.start, After: "ord_01JZZZZZZZZZZZZZZZZZZZZZZZ"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range []export.Format{export.NDJSON, export.CSV} {
				if c.q.Format == "" {
					c.q.Format = f
				}
				wrote := false
				w := writerFunc(func(p []byte) (int, error) { wrote = true; return len(p), nil })
				_, err := export.Run(r.ctx, r.st, c.q, w)
				var inv *export.InvalidError
				if !errors.As(err, &inv) || inv.Param != c.param {
					t.Errorf("%s: %v, want an invalid %s", f, err, c.param)
				}
				if wrote {
					t.Errorf("%s: something was written", f)
				}
			}
		})
	}
}

// TestExportNeedsOnlyTheOrderRecord: retention trims a finished order's event history and
// webhook records but keeps its document; the export reads nothing else, so a trimmed order
// exports exactly as before.
func TestExportNeedsOnlyTheOrderRecord(t *testing.T) {
	r := newRig(t)
	s := newShop(r)
	q := export.Query{MerchantID: s.merchant, Since: s.start}
	before, _ := r.export(q)
	trimmed := 0
	for _, o := range s.orders {
		key := r.prefix + "order:{" + o.ID + "}" // the order's hash (edge/store/keys.go)
		fields, err := r.rdb.HKeys(r.ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fields {
			if f != "doc" && f != "merchant" && f != "ver" {
				if err := r.rdb.HDel(r.ctx, key, f).Err(); err != nil {
					t.Fatal(err)
				}
				trimmed++
			}
		}
	}
	if trimmed < len(s.orders) {
		t.Fatalf("only %d fields trimmed: the order layout changed?", trimmed)
	}
	if after, _ := r.export(q); after != before {
		t.Errorf("export after trimming events differs:\n%s\nvs\n%s", after, before)
	}
}
