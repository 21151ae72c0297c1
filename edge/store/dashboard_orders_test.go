package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
)

// TestPutOrders: orders stored in bulk are listed, filtered, loaded and found by tx hash and
// address as created ones are.
func TestPutOrders(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	mer := ids.Merchant()
	var put []*checkout.Order
	for i := range 5 {
		o := testOrder(ids.Order())
		o.Address = fmt.Sprintf("addr-bulk-%d", i)
		o.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		if i == 3 {
			o.Status = checkout.StatusPaid
			o.Payments = []checkout.Payment{{TxHash: "0x" + fmt.Sprintf("%064x", 77), Amount: o.Amount, Status: checkout.PaymentConfirmed}}
		}
		put = append(put, o)
	}
	if err := st.PutOrders(ctx, mer, put); err != nil {
		t.Fatal(err)
	}
	want := orderIDs(put)
	slices.Reverse(want)
	if got := idsOf(list(t, st, mer, store.ListQuery{})); !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	if got := idsOf(list(t, st, mer, store.ListQuery{Statuses: []checkout.Status{checkout.StatusPaid}})); !slices.Equal(got, []string{put[3].ID}) {
		t.Fatalf("PAID: %v", got)
	}
	if got, err := st.OrderIDsByTx(ctx, mer, fmt.Sprintf("%064x", 77)); err != nil || !slices.Equal(got, []string{put[3].ID}) {
		t.Fatalf("by tx: %v %v", got, err)
	}
	if got, err := st.OrderIDByAddress(ctx, put[1].Network, put[1].Address); err != nil || got != put[1].ID {
		t.Fatalf("by address: %q %v", got, err)
	}
	if r, err := st.Order(ctx, put[2].ID); err != nil || r.MerchantID != mer || r.Version != 1 || r.Order.Amount != put[2].Amount {
		t.Fatalf("order: %+v %v", r, err)
	}
}
