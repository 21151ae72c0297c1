package e2e

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
)

// The adversary of these tests is anyone on chain: they can send any token transfer to any
// address, among them a zero-value transferFrom(from, to, 0) naming any `from` (the ERC20
// allows it with no allowance or balance), and short reorgs happen.

// hostileOrder creates an order with a webhook URL, so every webhook event is queued in its
// outbox (no dispatcher runs here: the deliveries stay listed as pending).
func (w *world) hostileOrder(n checkout.Network, amount string) *checkout.Order {
	w.t.Helper()
	o, err := w.client.CreateOrder(w.ctx, &client.OrderParams{Amount: amount, Network: n,
		WebhookURL: "https://merchant.example/hooks"})
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

func depositAddr(t *testing.T, o *checkout.Order) common.Address {
	t.Helper()
	raw, err := deposit.Parse(o.Network, o.Address)
	if err != nil {
		t.Fatal(err)
	}
	return common.Address(raw)
}

// eventTypes lists the types in the order's event stream, oldest first.
func (w *world) eventTypes(id string) []checkout.EventType {
	w.t.Helper()
	evs, err := w.store.OrderEvents(w.ctx, id, "", 10_000)
	if err != nil {
		w.t.Fatal(err)
	}
	out := make([]checkout.EventType, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

// webhookTypes lists the order's webhook deliveries by type, through the SDK.
func (w *world) webhookTypes(id string) []checkout.EventType {
	w.t.Helper()
	ds, err := w.client.ListWebhooks(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	out := make([]checkout.EventType, len(ds))
	for i, d := range ds {
		out[i] = d.Type
	}
	return out
}

func sameTypes(a []checkout.EventType, b ...checkout.EventType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (w *world) tick() {
	w.t.Helper()
	if _, err := w.expiry.Tick(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

// TestHostileZeroAndDustTransfers: zero-value and dust transfers, "from" a blocklisted address
// and from anyone, change no status, add no payment and queue no webhook; the customer's real
// payment afterwards makes the order PAID.
func TestHostileZeroAndDustTransfers(t *testing.T) {
	w := newWorld(t)
	for _, n := range checkout.Networks {
		t.Run(string(n), func(t *testing.T) {
			ch := w.chains[n]
			blocked := ch.Payer(6)
			if err := w.store.Block(w.ctx, n, deposit.Format(n, blocked)); err != nil {
				t.Fatal(err)
			}
			o := w.hostileOrder(n, "10")
			to := depositAddr(t, o)
			stranger := common.HexToAddress("0x000000000000000000000000000000000000dEaD")
			for _, from := range []common.Address{blocked, stranger} {
				if _, err := ch.TransferFrom(w.ctx, 2, from, to, 0); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ch.Pay(w.ctx, 6, to, amt("0.005")); err != nil { // real dust, blocklisted sender
				t.Fatal(err)
			}
			if _, err := ch.Pay(w.ctx, 3, to, amt("0.009999")); err != nil { // real dust, anyone
				t.Fatal(err)
			}
			w.mine(n, required+1)
			w.settled(n)
			got, err := w.client.GetOrder(w.ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != checkout.StatusPending || len(got.Payments) != 0 || got.AmountPaid != 0 || got.AmountPending != 0 {
				t.Fatalf("noise changed the order: %s payments %d paid %s pending %s", got.Status, len(got.Payments), got.AmountPaid, got.AmountPending)
			}
			if got.DustCount != 4 || got.DustAmount != amt("0.014999") || len(got.DustRecent) != 4 {
				t.Errorf("dust record: count %d amount %s recent %d", got.DustCount, got.DustAmount, len(got.DustRecent))
			}
			if evs := w.eventTypes(o.ID); !sameTypes(evs, checkout.EventOrderCreated) {
				t.Errorf("events after noise: %v", evs)
			}
			if whs := w.webhookTypes(o.ID); len(whs) != 0 {
				t.Errorf("webhooks after noise: %v", whs)
			}

			w.pay(o, 1, "10")
			w.mine(n, required)
			got = w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
			if got.AmountPaid != amt("10") || got.AmountLate != 0 || len(got.Payments) != 1 {
				t.Errorf("paid: paid %s late %s payments %d", got.AmountPaid, got.AmountLate, len(got.Payments))
			}
			// Detected first, unless the watcher (polling) first saw it already final.
			if whs := w.webhookTypes(o.ID); !sameTypes(whs, checkout.EventPaymentDetected, checkout.EventPaymentConfirmed) &&
				!sameTypes(whs, checkout.EventPaymentConfirmed) {
				t.Errorf("webhooks: %v", whs)
			}
		})
	}
}

// TestHostileBlocklistedFundsFreeze: the blocklist still freezes on funds: after a zero-value
// transfer "from" it, a blocklisted sender's real payment turns the order FROZEN (counted, not
// late).
func TestHostileBlocklistedFundsFreeze(t *testing.T) {
	w := newWorld(t)
	for _, n := range checkout.Networks {
		t.Run(string(n), func(t *testing.T) {
			ch := w.chains[n]
			blocked := ch.Payer(7)
			if err := w.store.Block(w.ctx, n, deposit.Format(n, blocked)); err != nil {
				t.Fatal(err)
			}
			o := w.hostileOrder(n, "10")
			if _, err := ch.TransferFrom(w.ctx, 2, blocked, depositAddr(t, o), 0); err != nil {
				t.Fatal(err)
			}
			w.mine(n, required)
			w.settled(n)
			w.pay(o, 7, "10")
			w.mine(n, required)
			got := w.waitFor(o.ID, "FROZEN", func(o *checkout.Order) bool { return o.AmountPaid == amt("10") })
			if got.Status != checkout.StatusFrozen || got.FrozenReason == "" || got.AmountLate != 0 || len(got.Payments) != 1 {
				t.Errorf("frozen: %s reason %q late %s payments %d", got.Status, got.FrozenReason, got.AmountLate, len(got.Payments))
			}
			if whs := w.webhookTypes(o.ID); !sameTypes(whs, checkout.EventPaymentDetected, checkout.EventOrderFrozen) &&
				!sameTypes(whs, checkout.EventOrderFrozen) {
				t.Errorf("webhooks: %v", whs)
			}
		})
	}
}

// TestHostileDustSpam: many zero-value transfers keep the order's stored size bounded (no
// payments, no events) and a dust transfer still confirming at expiry does not hold it open.
func TestHostileDustSpam(t *testing.T) {
	w := newWorld(t)
	for _, n := range checkout.Networks {
		t.Run(string(n), func(t *testing.T) {
			ch := w.chains[n]
			o := w.hostileOrder(n, "10")
			to := depositAddr(t, o)
			docKey := w.prefix + "order:{" + o.ID + "}"
			before := w.rdb.HStrLen(w.ctx, docKey, "doc").Val()
			for i := 0; i < 40; i++ {
				from := common.BigToAddress(big.NewInt(int64(0x5000 + i))) // anyone, as the spammer likes
				if _, err := ch.TransferFrom(w.ctx, 2+i%4, from, to, 0); err != nil {
					t.Fatal(err)
				}
				if i%8 == 7 {
					w.mine(n, 1)
				}
			}
			w.mine(n, required)
			w.settled(n)
			// One more, seen but not final when the order expires.
			if _, err := ch.TransferFrom(w.ctx, 2, ch.Payer(9), to, 0); err != nil {
				t.Fatal(err)
			}
			w.mine(n, 1)
			w.settled(n)
			after := w.rdb.HStrLen(w.ctx, docKey, "doc").Val()
			if after > before+2048 {
				t.Errorf("40 zero transfers grew the stored order from %d to %d bytes", before, after)
			}
			if evs, _ := w.store.OrderEvents(w.ctx, o.ID, "", 100); len(evs) != 1 {
				n := len(evs)
				t.Errorf("%d events after the spam, want 1 (order.created)", n)
			}
			if whs := w.webhookTypes(o.ID); len(whs) != 0 {
				t.Errorf("webhooks after the spam: %v", whs)
			}
			got, err := w.client.GetOrder(w.ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != checkout.StatusPending || len(got.Payments) != 0 || got.DustCount != 40 || len(got.DustRecent) != checkout.MaxDustRecent {
				t.Errorf("after the spam: %s payments %d dust %d recent %d", got.Status, len(got.Payments), got.DustCount, len(got.DustRecent))
			}
			w.clock.Add(31 * time.Minute)
			w.tick()
			w.waitFor(o.ID, "EXPIRED", status(checkout.StatusExpired))
		})
	}
}

// reorgAfterExpiry brings an order to CONFIRMING, lets it expire (the worker waits for the
// transfer), then forks the transfer's block away on a longer side chain. It returns the order
// (CONFIRMING, its payment reverted) and the transfer's signed transaction.
func (w *world) reorgAfterExpiry(t *testing.T, n checkout.Network) (*checkout.Order, *types.Transaction) {
	t.Helper()
	ch := w.chains[n]
	o := w.hostileOrder(n, "25")
	parent, err := ch.Client().HeaderByNumber(w.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ch.Pay(w.ctx, 1, depositAddr(t, o), amt("25"))
	if err != nil {
		t.Fatal(err)
	}
	w.mine(n, 1)
	tx, _, err := ch.Client().TransactionByHash(w.ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(o.ID, "CONFIRMING", status(checkout.StatusConfirming))
	w.clock.Add(31 * time.Minute)
	w.tick()
	if got, _ := w.client.GetOrder(w.ctx, o.ID); got.Status != checkout.StatusConfirming {
		t.Fatalf("a confirming order at expiry became %s", got.Status)
	}
	old, err := ch.Client().HeaderByNumber(w.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Fork(parent.Hash()); err != nil {
		t.Fatal(err)
	}
	w.mine(n, int(old.Number.Uint64()-parent.Number.Uint64())+1) // longer than the old branch
	got := w.waitFor(o.ID, "reverted", func(o *checkout.Order) bool {
		return len(o.Payments) == 1 && o.Payments[0].Status == checkout.PaymentReverted
	})
	if got.Status != checkout.StatusConfirming || got.Payments[0].RevertedAt == nil {
		t.Fatalf("a removal after expiry finalised the order: %s (reverted_at %v)", got.Status, got.Payments[0].RevertedAt)
	}
	return got, tx
}

// TestHostileReorgAfterExpiryReincluded: an on-time transfer a one-block reorg removes after
// expiry, re-mined later, pays the order (not late funds).
func TestHostileReorgAfterExpiryReincluded(t *testing.T) {
	w := newWorld(t)
	for _, n := range checkout.Networks {
		t.Run(string(n), func(t *testing.T) {
			o, tx := w.reorgAfterExpiry(t, n)
			w.clock.Add(2 * time.Minute) // within the grace window
			w.tick()
			if got, _ := w.client.GetOrder(w.ctx, o.ID); got.Status != checkout.StatusConfirming {
				t.Fatalf("finalised within the grace window: %s", got.Status)
			}
			if err := w.chains[n].Resend(w.ctx, tx); err != nil {
				t.Fatal(err)
			}
			w.mine(n, required)
			got := w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
			if got.AmountPaid != amt("25") || got.AmountLate != 0 || len(got.Payments) != 1 || got.Payments[0].Late ||
				got.Payments[0].TxHash != tx.Hash().Hex() {
				t.Errorf("re-included: paid %s late %s payments %+v", got.AmountPaid, got.AmountLate, got.Payments)
			}
			// The re-inclusion may be seen first, or only once final (the watcher polls).
			whs := w.webhookTypes(o.ID)
			if len(whs) < 3 || !sameTypes(whs[:2], checkout.EventPaymentDetected, checkout.EventPaymentReverted) ||
				whs[len(whs)-1] != checkout.EventPaymentConfirmed ||
				(len(whs) == 4 && whs[2] != checkout.EventPaymentDetected) || len(whs) > 4 {
				t.Errorf("webhooks: %v", whs)
			}
		})
	}
}

// TestHostileReorgAfterExpiryGrace: with no re-inclusion, the order is finalised EXPIRED by
// the expiry worker only once the grace window after the removal has passed.
func TestHostileReorgAfterExpiryGrace(t *testing.T) {
	w := newWorld(t)
	for _, n := range checkout.Networks {
		t.Run(string(n), func(t *testing.T) {
			o, _ := w.reorgAfterExpiry(t, n)
			w.mine(n, required)
			w.settled(n)
			w.clock.Add(checkout.DefaultReorgGrace - time.Second)
			w.tick()
			if got, _ := w.client.GetOrder(w.ctx, o.ID); got.Status != checkout.StatusConfirming {
				t.Fatalf("finalised before the grace window ended: %s", got.Status)
			}
			w.clock.Add(2 * time.Second)
			w.tick()
			got := w.waitFor(o.ID, "EXPIRED", status(checkout.StatusExpired))
			if got.AmountPaid != 0 || got.AmountPending != 0 {
				t.Errorf("expired: %+v", got)
			}
		})
	}
}
