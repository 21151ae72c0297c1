package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
)

// indexed creates n orders of merchant mer (ERC20 for even i, TRC20 for odd), order i created
// at t0 + i/2 seconds (so pairs share a second), amount i+1 USDT. Returned oldest first.
func indexed(t *testing.T, st *store.Store, mer string, n int) []*checkout.Order {
	t.Helper()
	var out []*checkout.Order
	for i := range n {
		o := testOrder(ids.Order())
		o.Address = fmt.Sprintf("addr-%s-%d", mer, i)
		o.CreatedAt = t0.Add(time.Duration(i/2) * time.Second)
		o.Amount = checkout.Amount(i+1) * checkout.Unit
		if i%2 == 1 {
			o.Network = checkout.TRC20
		}
		ev := event(ids.Event(), checkout.EventOrderCreated, o, o.CreatedAt)
		if _, _, err := st.CreateOrder(context.Background(), o, mer, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func idsOf(p *store.ListPage) []string {
	var out []string
	for _, r := range p.Records {
		out = append(out, r.Order.ID)
	}
	return out
}

func orderIDs(os []*checkout.Order) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.ID)
	}
	return out
}

func list(t *testing.T, st *store.Store, mer string, q store.ListQuery) *store.ListPage {
	t.Helper()
	p, err := st.ListOrders(context.Background(), mer, q)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestListOrdersPages: newest first, pages that join without gap or repeat (forwards with
// After, backwards with Before, oldest first for export), exact has-more at the boundaries,
// and nothing of another merchant's.
func TestListOrdersPages(t *testing.T) {
	st, _, _ := newStoreClient(t)
	all := indexed(t, st, "mer_a", 23)
	indexed(t, st, "mer_b", 3)
	newest := slices.Clone(orderIDs(all))
	slices.Reverse(newest)

	for _, limit := range []int{1, 5, 10, 23, 100} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var got []string
			q := store.ListQuery{Limit: limit}
			for pages := 0; ; pages++ {
				p := list(t, st, "mer_a", q)
				got = append(got, idsOf(p)...)
				if want := len(got) < len(all); p.More != want {
					t.Fatalf("page %d: more %v after %d of %d", pages, p.More, len(got), len(all))
				}
				if !p.More {
					break
				}
				if p.Next != got[len(got)-1] {
					t.Fatalf("next %s, last %s", p.Next, got[len(got)-1])
				}
				q.After = p.Next
			}
			if !slices.Equal(got, newest) {
				t.Fatalf("pages\n%v\nwant\n%v", got, newest)
			}
		})
	}

	// Backwards from the oldest: the 5 just newer than it, in listing order.
	p := list(t, st, "mer_a", store.ListQuery{Limit: 5, Before: all[0].ID})
	if want := newest[len(newest)-6 : len(newest)-1]; !slices.Equal(idsOf(p), want) || !p.More {
		t.Fatalf("before oldest: %v more %v, want %v", idsOf(p), p.More, want)
	}
	p = list(t, st, "mer_a", store.ListQuery{Limit: 5, Before: all[20].ID})
	if want := newest[:2]; !slices.Equal(idsOf(p), want) || p.More {
		t.Fatalf("before the third newest: %v more %v, want %v", idsOf(p), p.More, want)
	}

	// Oldest first, resumed after the 7th.
	p = list(t, st, "mer_a", store.ListQuery{Oldest: true, Limit: 4, After: all[6].ID})
	if want := orderIDs(all[7:11]); !slices.Equal(idsOf(p), want) || !p.More {
		t.Fatalf("oldest first after #6: %v, want %v", idsOf(p), want)
	}

	// A cursor that is not the merchant's order.
	other := list(t, st, "mer_b", store.ListQuery{Limit: 1}).Records[0].Order.ID
	for _, c := range []string{other, "ord_01JDQ8AAAAAAAAAAAAAAAAAAAA", "nonsense"} {
		if _, err := st.ListOrders(context.Background(), "mer_a", store.ListQuery{After: c}); !isNotFound(err) {
			t.Fatalf("after %q: %v", c, err)
		}
	}
	if p := list(t, st, "mer_b", store.ListQuery{Limit: 100}); len(p.Records) != 3 {
		t.Fatalf("mer_b sees %d orders", len(p.Records))
	}
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, store.ErrNotFound) }

// TestListOrdersFilters: network, created range (inclusive, second precision), amount range
// (filtered while paging, within the scan budget, resumable from Next).
func TestListOrdersFilters(t *testing.T) {
	st, _, _ := newStoreClient(t)
	all := indexed(t, st, "mer_f", 20) // created t0..t0+9s, two a second
	pick := func(keep func(i int, o *checkout.Order) bool) []string {
		var out []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(i, all[i]) {
				out = append(out, all[i].ID)
			}
		}
		return out
	}
	cases := []struct {
		name string
		q    store.ListQuery
		want []string
	}{
		{"TRC20", store.ListQuery{Networks: []checkout.Network{checkout.TRC20}},
			pick(func(i int, _ *checkout.Order) bool { return i%2 == 1 })},
		{"created t0+2s..t0+4s", store.ListQuery{CreatedFrom: t0.Add(2 * time.Second), CreatedTo: t0.Add(4 * time.Second)},
			pick(func(i int, _ *checkout.Order) bool { return i >= 4 && i <= 9 })},
		{"created from t0+9s", store.ListQuery{CreatedFrom: t0.Add(9 * time.Second)},
			pick(func(i int, _ *checkout.Order) bool { return i >= 18 })},
		{"created to t0", store.ListQuery{CreatedTo: t0.Add(999 * time.Millisecond)},
			pick(func(i int, _ *checkout.Order) bool { return i <= 1 })},
		{"amount 3..6 ERC20", store.ListQuery{MinAmount: 3 * checkout.Unit, MaxAmount: 6 * checkout.Unit, Networks: []checkout.Network{checkout.ERC20}},
			pick(func(i int, o *checkout.Order) bool {
				return i%2 == 0 && o.Amount >= 3*checkout.Unit && o.Amount <= 6*checkout.Unit
			})},
		{"amount from 15", store.ListQuery{MinAmount: 15 * checkout.Unit},
			pick(func(_ int, o *checkout.Order) bool { return o.Amount >= 15*checkout.Unit })},
		{"PAID", store.ListQuery{Statuses: []checkout.Status{checkout.StatusPaid}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.q.Limit = 100
			if got := idsOf(list(t, st, "mer_f", c.q)); !slices.Equal(got, c.want) {
				t.Fatalf("got\n%v\nwant\n%v", got, c.want)
			}
		})
	}

	// With a scan budget of 3, a filter that matches the oldest two only gives empty pages with
	// More and a Next to resume from, until the matches come.
	q := store.ListQuery{MaxAmount: 2 * checkout.Unit, ScanBudget: 3, Limit: 10}
	var got []string
	calls := 0
	for ; calls < 20; calls++ {
		p := list(t, st, "mer_f", q)
		got = append(got, idsOf(p)...)
		if !p.More {
			break
		}
		if p.Next == "" {
			t.Fatal("more without next")
		}
		q.After = p.Next
	}
	if want := []string{all[1].ID, all[0].ID}; !slices.Equal(got, want) || calls < 5 {
		t.Fatalf("budgeted scan: %v in %d calls, want %v", got, calls+1, want)
	}
}

// TestIndexFollowsStatus: IndexOrder moves an order between status lists; an older version
// arriving late changes nothing; an entry a crash left stale (committed, not indexed) is not
// listed under its old status and is refiled by the listing that found it; an entry whose
// order was never written is skipped.
func TestIndexFollowsStatus(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	all := indexed(t, st, "mer_s", 3)
	pending := []checkout.Status{checkout.StatusPending}
	paid := []checkout.Status{checkout.StatusPaid}
	statusList := func(s []checkout.Status) []string {
		return idsOf(list(t, st, "mer_s", store.ListQuery{Statuses: s, Limit: 100}))
	}

	// all[0]: PENDING → CONFIRMING (v2) → PAID (v3), indexed out of order.
	rec, err := st.Order(ctx, all[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	rec.Order.Status = checkout.StatusConfirming
	rec.Order.Payments = []checkout.Payment{{TxHash: "0x" + fmt.Sprintf("%064x", 77), Amount: 1}}
	if _, err := st.CommitOrder(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	confirming := rec.Order
	rec.Order.Status = checkout.StatusPaid
	if _, err := st.CommitOrder(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.IndexOrder(ctx, "mer_s", &rec.Order, rec.Version); err != nil {
		t.Fatal(err)
	}
	if err := st.IndexOrder(ctx, "mer_s", &confirming, rec.Version-1); err != nil {
		t.Fatal(err)
	}
	if got := statusList(paid); !slices.Equal(got, []string{all[0].ID}) {
		t.Fatalf("PAID: %v", got)
	}
	if got := statusList([]checkout.Status{checkout.StatusConfirming}); len(got) != 0 {
		t.Fatalf("a late older version moved the order back: CONFIRMING %v", got)
	}
	if got := statusList(pending); !slices.Equal(got, []string{all[2].ID, all[1].ID}) {
		t.Fatalf("PENDING: %v", got)
	}
	// The tx lookup, and a cancel's index.
	if got, err := st.OrderIDsByTx(ctx, "mer_s", "0x"+fmt.Sprintf("%064X", 77)); err != nil || !slices.Equal(got, []string{all[0].ID}) {
		t.Fatalf("by tx: %v %v", got, err)
	}

	// all[1] committed CANCELED with no index step (the process died in between).
	rec, err = st.Order(ctx, all[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	rec.Order.Status = checkout.StatusCanceled
	if _, err := st.CommitOrder(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	if got := statusList(pending); !slices.Equal(got, []string{all[2].ID}) {
		t.Fatalf("PENDING with a stale entry: %v", got)
	}
	if got := statusList([]checkout.Status{checkout.StatusCanceled}); !slices.Equal(got, []string{all[1].ID}) {
		t.Fatalf("the listing did not refile the stale entry: CANCELED %v", got)
	}
	// Unfiltered, every order once, as it stands.
	p := list(t, st, "mer_s", store.ListQuery{})
	if got := idsOf(p); !slices.Equal(got, []string{all[2].ID, all[1].ID, all[0].ID}) {
		t.Fatalf("all: %v", got)
	}

	// An entry filed by a create that died before writing its order.
	ghost := testOrder(ids.Order())
	ghost.CreatedAt = t0.Add(time.Hour)
	if err := st.IndexOrder(ctx, "mer_s", ghost, 1); err != nil {
		t.Fatal(err)
	}
	if got := idsOf(list(t, st, "mer_s", store.ListQuery{Limit: 1})); !slices.Equal(got, []string{all[2].ID}) {
		t.Fatalf("a never-written order listed: %v", got)
	}
}

// TestCreateOrderIndexIsIdempotent: a create replayed after the order moved on does not file
// it back under PENDING.
func TestCreateOrderIndexIsIdempotent(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	o := indexed(t, st, "mer_r", 1)[0]
	rec, _ := st.Order(ctx, o.ID)
	rec.Order.Status = checkout.StatusExpired
	if _, err := st.CommitOrder(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.IndexOrder(ctx, "mer_r", &rec.Order, rec.Version); err != nil {
		t.Fatal(err)
	}
	ev := event(ids.Event(), checkout.EventOrderCreated, o, o.CreatedAt)
	if _, created, err := st.CreateOrder(ctx, o, "mer_r", &ev); err != nil || created {
		t.Fatalf("replay: %v %v", created, err)
	}
	if got := idsOf(list(t, st, "mer_r", store.ListQuery{Statuses: []checkout.Status{checkout.StatusPending}})); len(got) != 0 {
		t.Fatalf("PENDING after a replayed create: %v", got)
	}
	if got := idsOf(list(t, st, "mer_r", store.ListQuery{Statuses: []checkout.Status{checkout.StatusExpired}})); len(got) != 1 {
		t.Fatalf("EXPIRED: %v", got)
	}
}

// TestIndexStatusRecords: the status record holds "version:STATUS"; one written in the
// earlier form ("version:STATUS:created-at") is read the same, so an order filed before
// moves on exactly as one filed now. A cursor names only the merchant's own orders.
func TestIndexStatusRecords(t *testing.T) {
	st, rdb, prefix := newStoreClient(t)
	ctx := context.Background()
	o := indexed(t, st, "mer_v", 1)[0]
	ulid := strings.TrimPrefix(o.ID, "ord_")
	records := prefix + "merchant:{m:mer_v}:orders:st"
	if v, _ := rdb.HGet(ctx, records, ulid).Result(); v != "1:PENDING" {
		t.Fatalf("status record %q", v)
	}
	// As an earlier version filed it.
	if err := rdb.HSet(ctx, records, ulid, fmt.Sprintf("1:PENDING:%08x", o.CreatedAt.Unix())).Err(); err != nil {
		t.Fatal(err)
	}
	rec, _ := st.Order(ctx, o.ID)
	rec.Order.Status = checkout.StatusPaid
	if _, err := st.CommitOrder(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	pending, paid := []checkout.Status{checkout.StatusPending}, []checkout.Status{checkout.StatusPaid}
	for _, ver := range []int64{rec.Version, rec.Version - 1} { // the later version, then a late older one
		r := rec.Order
		if ver < rec.Version {
			r.Status = checkout.StatusPending
		}
		if err := st.IndexOrder(ctx, "mer_v", &r, ver); err != nil {
			t.Fatal(err)
		}
		if v, _ := rdb.HGet(ctx, records, ulid).Result(); v != fmt.Sprintf("%d:PAID", rec.Version) {
			t.Fatalf("status record %q after indexing version %d", v, ver)
		}
		for _, l := range []string{"PENDING", "PAID"} {
			n, _ := rdb.ZCard(ctx, prefix+"merchant:{m:mer_v}:orders:"+l+":"+string(o.Network)).Result()
			if want := map[string]int64{"PENDING": 0, "PAID": 1}[l]; n != want {
				t.Fatalf("%s list holds %d after indexing version %d", l, n, ver)
			}
		}
	}
	if got := idsOf(list(t, st, "mer_v", store.ListQuery{Statuses: paid})); !slices.Equal(got, []string{o.ID}) {
		t.Fatalf("PAID: %v", got)
	}
	if got := idsOf(list(t, st, "mer_v", store.ListQuery{Statuses: pending})); len(got) != 0 {
		t.Fatalf("PENDING: %v", got)
	}
	// Cursors: the merchant's own order pages; another merchant's is not found.
	if _, err := st.ListOrders(ctx, "mer_v", store.ListQuery{After: o.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ListOrders(ctx, "mer_other", store.ListQuery{After: o.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another merchant's order as a cursor: %v", err)
	}
}
