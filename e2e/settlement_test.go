package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
)

func amt(s string) checkout.Amount { a, _ := checkout.ParseAmount(s); return a }

// TestSettlementOnDevChain runs the status rules end to end on both networks: order over the
// API, USDT transfer on a real chain, watcher, feed, settlement, order status.
func TestSettlementOnDevChain(t *testing.T) {
	w := newWorld(t)
	for _, n := range checkout.Networks {
		t.Run(string(n)+"/exact", func(t *testing.T) {
			o := w.order(n, "100")
			w.pay(o, 1, "100")
			w.mine(n, 1)
			got := w.waitFor(o.ID, "CONFIRMING", status(checkout.StatusConfirming))
			if len(got.Payments) != 1 || got.Payments[0].Confirmations != 1 || got.AmountPending != amt("100") {
				t.Errorf("confirming: %+v", got)
			}
			wantFrom := deposit.Format(n, w.chains[n].Payer(1))
			if got.Payments[0].From != wantFrom {
				t.Errorf("from %s, want %s", got.Payments[0].From, wantFrom)
			}
			w.mine(n, required-1)
			got = w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
			if got.AmountPaid != amt("100") || got.AmountPending != 0 || got.PaidAt == nil ||
				got.Payments[0].Status != checkout.PaymentConfirmed {
				t.Errorf("paid: %+v", got)
			}
		})
		t.Run(string(n)+"/within tolerance", func(t *testing.T) {
			o := w.order(n, "100") // default tolerance 1 %: bound 99
			w.pay(o, 2, "99")
			w.mine(n, required)
			w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
		})
		t.Run(string(n)+"/two partials then overpay", func(t *testing.T) {
			o := w.order(n, "50")
			w.pay(o, 3, "20")
			w.mine(n, required)
			got := w.waitFor(o.ID, "partial", func(o *checkout.Order) bool { return o.AmountPaid == amt("20") })
			if got.Status != checkout.StatusPending {
				t.Errorf("after a partial payment: %s, want PENDING (awaiting top-up)", got.Status)
			}
			w.pay(o, 3, "35")
			w.mine(n, required)
			got = w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
			if got.AmountPaid != amt("55") || got.AmountOverpaid != amt("5") || len(got.Payments) != 2 {
				t.Errorf("overpaid: %+v", got)
			}
		})
		t.Run(string(n)+"/underpaid at expiry, then late funds", func(t *testing.T) {
			o := w.order(n, "10")
			w.pay(o, 4, "5")
			w.mine(n, required)
			w.waitFor(o.ID, "partial", func(o *checkout.Order) bool { return o.AmountPaid == amt("5") })
			w.clock.Add(31 * time.Minute)
			if _, err := w.expiry.Tick(w.ctx); err != nil {
				t.Fatal(err)
			}
			w.waitFor(o.ID, "UNDERPAID", status(checkout.StatusUnderpaid))
			w.pay(o, 4, "5")
			w.mine(n, required)
			got := w.waitFor(o.ID, "late funds", func(o *checkout.Order) bool { return o.AmountLate == amt("5") })
			if got.Status != checkout.StatusUnderpaid || got.AmountPaid != amt("10") || !got.Payments[1].Late {
				t.Errorf("late: %+v", got)
			}
		})
		t.Run(string(n)+"/expired with nothing, then paid late", func(t *testing.T) {
			o := w.order(n, "10")
			w.clock.Add(31 * time.Minute)
			if _, err := w.expiry.Tick(w.ctx); err != nil {
				t.Fatal(err)
			}
			w.waitFor(o.ID, "EXPIRED", status(checkout.StatusExpired))
			w.pay(o, 5, "10")
			w.mine(n, required)
			got := w.waitFor(o.ID, "late funds", func(o *checkout.Order) bool { return o.AmountLate == amt("10") })
			if got.Status != checkout.StatusExpired {
				t.Errorf("a late payment changed a terminal status: %s", got.Status)
			}
		})
		t.Run(string(n)+"/blocklisted sender", func(t *testing.T) {
			if err := w.store.Block(w.ctx, n, deposit.Format(n, w.chains[n].Payer(6))); err != nil {
				t.Fatal(err)
			}
			o := w.order(n, "10")
			w.pay(o, 6, "10")
			w.mine(n, required)
			got := w.waitFor(o.ID, "FROZEN", status(checkout.StatusFrozen))
			if got.AmountPaid != amt("10") || got.FrozenReason == "" {
				t.Errorf("frozen: %+v", got)
			}
		})
		t.Run(string(n)+"/unrelated address ignored", func(t *testing.T) {
			o := w.order(n, "10")
			w.chains[n].Pay(w.ctx, 7, w.chains[n].Payer(8), amt("10")) // to a payer, not a deposit address
			w.mine(n, required)
			w.settled(n)
			got, err := w.client.GetOrder(w.ctx, o.ID)
			if err != nil || got.Status != checkout.StatusPending || len(got.Payments) != 0 {
				t.Errorf("order touched by an unrelated transfer: %+v %v", got, err)
			}
			if orphans, _ := w.store.Orphans(w.ctx, 10); len(orphans) != 0 {
				t.Errorf("unrelated transfer recorded: %v", orphans)
			}
		})
	}
}

// TestReorgUncredits: a transfer seen (CONFIRMING) and then removed by a reorg before it was
// final goes back; the order never shows PAID for it.
func TestReorgUncredits(t *testing.T) {
	w := newWorld(t)
	for _, n := range checkout.Networks {
		t.Run(string(n), func(t *testing.T) {
			ch := w.chains[n]
			o := w.order(n, "25")
			parent, err := ch.Client().HeaderByNumber(w.ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			w.pay(o, 1, "25")
			w.mine(n, 1)
			w.waitFor(o.ID, "CONFIRMING", status(checkout.StatusConfirming))
			if err := ch.Backend().Fork(parent.Hash()); err != nil {
				t.Fatal(err)
			}
			ch.Backend().Rollback() // the side chain does not carry the transfer
			w.mine(n, required+1)   // longer than the old branch: canonical now
			got := w.waitFor(o.ID, "reverted", func(o *checkout.Order) bool {
				return len(o.Payments) == 1 && o.Payments[0].Status == checkout.PaymentReverted
			})
			if got.Status != checkout.StatusPending || got.AmountPaid != 0 || got.AmountPending != 0 {
				t.Errorf("after reorg: %+v", got)
			}
			w.mine(n, required)
			w.settled(n)
			if got, _ := w.client.GetOrder(w.ctx, o.ID); got.Status == checkout.StatusPaid {
				t.Errorf("PAID for a transfer a reorg removed")
			}
		})
	}
}

// TestRedeliveryReannounces: an observation delivered again (as after a crash between the
// commit and its change hint) changes nothing and announces the order again, so no reader
// (SSE now, webhooks later) misses the change.
func TestRedeliveryReannounces(t *testing.T) {
	w := newWorld(t)
	o := w.order(checkout.ERC20, "3")
	w.pay(o, 1, "3")
	w.mine(checkout.ERC20, required)
	w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
	w.settled(checkout.ERC20)
	feedKey := w.prefix + checkout.FeedStream(checkout.ERC20)
	var confirmed map[string]any
	for _, m := range w.rdb.XRange(w.ctx, feedKey, "-", "+").Val() {
		if strings.Contains(m.Values[checkout.FeedField].(string), `"kind":"confirmed"`) &&
			strings.Contains(m.Values[checkout.FeedField].(string), o.Address) {
			confirmed = m.Values
		}
	}
	if confirmed == nil {
		t.Fatal("no confirmed entry on the feed")
	}
	changesKey := w.prefix + "changes"
	before := w.rdb.XLen(w.ctx, changesKey).Val()
	w.rdb.XAdd(w.ctx, &redis.XAddArgs{Stream: feedKey, Values: confirmed}) // the redelivery
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if w.rdb.XLen(w.ctx, changesKey).Val() > before {
			last := w.rdb.XRevRangeN(w.ctx, changesKey, "+", "-", 1).Val()[0]
			if last.Values["order_id"] != o.ID || last.Values["prev"] != "" {
				t.Fatalf("hint %v", last.Values)
			}
			got, _ := w.client.GetOrder(w.ctx, o.ID)
			if got.AmountPaid != amt("3") || len(got.Payments) != 1 {
				t.Fatalf("redelivery credited again: %+v", got)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the redelivered observation did not announce the order")
}
