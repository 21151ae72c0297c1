package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

// TestFiguresBackfillCmd: `edge figures-backfill` recounts a merchant's orders of the days it
// covers (here one created before the figures existed), and refuses bad flags.
func TestFiguresBackfillCmd(t *testing.T) {
	o := newOperator(t)
	mid := o.must("create", "--name", "Acme Tea", "--dev")["merchant_id"].(string)
	ctx := context.Background()
	rdb := redistest.Shared(t).Client(t)
	st := store.New(rdb, o.redis[3])
	now := time.Now().UTC()
	ord := &checkout.Order{ID: ids.Order(), Status: checkout.StatusPending, Network: checkout.ERC20, Address: "0xbackfill",
		Amount: checkout.Unit, PayAmount: checkout.Unit, Currency: "USDT", CreatedAt: now, ExpiresAt: now.Add(time.Hour), Metadata: map[string]string{}}
	ev := checkout.Event{ID: ids.Event(), Type: checkout.EventOrderCreated, CreatedAt: now, Order: *ord}
	if _, _, err := st.CreateOrder(ctx, ord, mid, &ev); err != nil {
		t.Fatal(err)
	}
	// As an edge before the figures would have left it: no counters.
	if err := rdb.Del(ctx, o.redis[3]+"merchant:{m:"+mid+"}:fig:"+now.Format("20060102"), o.redis[3]+"merchant:{m:"+mid+"}:fig:since").Err(); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := figuresBackfillCmd(ctx, append(args, o.redis...), &out, &errOut)
		return out.String(), err
	}
	out, err := run("--days", "3")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"merchant_id":"`+mid+`"`) || !strings.Contains(out, `"orders":1`) || !strings.Contains(out, `"days":3`) {
		t.Fatalf("printed %s", out)
	}
	f, err := st.Figures(ctx, mid, now, now)
	if err != nil || f[0].Created[checkout.StatusPending] != 1 {
		t.Fatalf("after the backfill: %+v %v", f, err)
	}
	for _, bad := range [][]string{{"--days", "0"}, {"--days", "401"}, {"--merchant", "mer_nope"}, {"extra"}} {
		if _, err := run(bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
