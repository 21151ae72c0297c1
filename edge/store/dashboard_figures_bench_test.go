package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/internal/redistest"
)

// BenchmarkIndexFigures is the order index step of a create and of its PAID transition, with
// the figures block on and off (the same script, keys and arguments; "0" skips the block):
// the figures' cost per create and transition. It also reports the day key's and the webhook
// guards' MEMORY USAGE.
//
//	go test -run '^$' -bench IndexFigures -benchtime 3000x ./edge/store/
func BenchmarkIndexFigures(b *testing.B) {
	st := New(redistest.Shared(b).Client(b), redistest.Prefix())
	ctx := context.Background()
	day := time.Now().UTC()
	for _, on := range []string{"0", "1"} {
		b.Run("figures="+on, func(b *testing.B) {
			mer := "mer_bench" + on
			for i := 0; b.Loop(); i++ {
				o := &checkout.Order{ID: fmt.Sprintf("ord_01JBENCH%s%017d", on, i), Status: checkout.StatusPending, Network: checkout.ERC20,
					Amount: checkout.Unit, CreatedAt: day}
				for v, status := range []checkout.Status{checkout.StatusPending, checkout.StatusPaid} {
					o.Status = status
					if status == checkout.StatusPaid {
						at := day.Add(time.Duration(i%3600) * time.Second)
						o.PaidAt, o.AmountPaid = &at, o.Amount
					}
					keys, args := st.indexCall(mer, o, int64(v+1))
					args[7+len(checkout.Statuses)-1] = on
					if err := indexScript.Run(ctx, st.rdb, keys, args...).Err(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if on == "1" {
				n, _ := st.rdb.MemoryUsage(ctx, st.k.figDay(mer, figDayName(day))).Result()
				b.ReportMetric(float64(n), "day-key-bytes")
			}
		})
	}
	// The webhook guards: a day's hash of EVT:REV fields, one per attempt.
	for _, attempts := range []int{10, 1000} {
		g := st.k.figWebhookGuard("mer_bench_wh", fmt.Sprint(attempts))
		for i := range attempts {
			st.rdb.HSet(ctx, g, fmt.Sprintf("evt_01JBENCHGUARD%012d:%d", i, 2), 1)
		}
		n, _ := st.rdb.MemoryUsage(ctx, g).Result()
		b.Logf("webhook guard hash, %d attempts: %d B (%.0f B an attempt)", attempts, n, float64(n)/float64(attempts))
	}
}
