package settlement_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
)

// recvRig is a merchant in addresses mode on one fresh receive address, with a consumer of the
// feed that counts new unmatched transfers.
type recvRig struct {
	*rig
	m         *checkout.Merchant
	addr      string
	svc       *orders.Service
	c         *settlement.Consumer
	unmatched atomic.Int64
	skew      atomic.Int64 // the consumer's clock: r.now + skew
	txs       int
}

func newRecvRig(t *testing.T) *recvRig {
	t.Helper()
	r := &recvRig{rig: newRig(t)}
	var a [20]byte
	_, _ = rand.Read(a[:])
	r.addr = deposit.Format(net, a)
	r.m = &checkout.Merchant{ID: ids.Merchant(), Name: "recv", CreatedAt: r.now}
	if err := r.st.CreateMerchant(r.ctx, r.m, &checkout.APIKey{ID: ids.Key(), MerchantID: r.m.ID, Secret: "sk"}, nil); err != nil {
		t.Fatal(err)
	}
	cfg := checkout.ReceiveConfig{Mode: checkout.ReceiveAddresses, Addresses: []string{r.addr}}
	if err := r.st.SetReceive(r.ctx, r.m, net, cfg); err != nil {
		t.Fatal(err)
	}
	// Transfers are first seen a second after the orders are created (claims need that).
	r.skew.Store(int64(time.Second))
	later := func() time.Time { return r.now.Add(time.Duration(r.skew.Load())) }
	r.svc = &orders.Service{Store: r.st, Now: func() time.Time { return r.now }, Log: quiet()}
	r.c = &settlement.Consumer{Store: r.st, Network: net, Block: 10 * time.Millisecond, Now: later, Log: quiet(),
		OnUnmatched: func(string, *checkout.Transfer) { r.unmatched.Add(1) }}
	return r
}

// create makes an addresses-mode order of amount (tolerance tol) and returns it.
func (r *recvRig) create(amount string, tol checkout.Tolerance) *checkout.Order {
	r.t.Helper()
	a, err := checkout.ParseAmount(amount)
	if err != nil {
		r.t.Fatal(err)
	}
	o, _, err := r.svc.Create(r.ctx, r.m, &orders.CreateParams{Amount: a, Network: net, Tolerance: tol})
	if err != nil {
		r.t.Fatal(err)
	}
	if o.Address != r.addr {
		r.t.Fatalf("order on %s, want the receive address %s", o.Address, r.addr)
	}
	return o
}

// tx is a fresh transaction hash.
func (r *recvRig) tx() string {
	r.txs++
	return common.BytesToHash([]byte{0xcc, byte(r.txs >> 8), byte(r.txs), r.n}).Hex()
}

// obs is an observation of transfer tx (log 0) of amount to the receive address.
func (r *recvRig) obs(tx string, kind checkout.TransferKind, amount checkout.Amount, block, confs uint64) checkout.Transfer {
	return checkout.Transfer{Kind: kind, Network: net, TxHash: tx, BlockNumber: block,
		BlockHash: common.BytesToHash([]byte{0xb2, byte(block)}).Hex(),
		From:      deposit.Format(net, common.BytesToAddress([]byte{0xf1})), To: r.addr, Amount: amount,
		Confirmations: confs, Required: 3, ObservedAt: r.now}
}

// feed appends the observations and applies everything on the feed.
func (r *recvRig) feed(ts ...checkout.Transfer) {
	r.t.Helper()
	for _, t := range ts {
		r.append(t)
	}
	r.drain()
}

func (r *recvRig) drain() {
	r.t.Helper()
	for {
		n, err := r.c.Poll(r.ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// paymentsOf counts the order's payments of tx: all of them, and those not reverted.
func (r *recvRig) paymentsOf(id, tx string) (all, live int) {
	r.t.Helper()
	for _, p := range r.get(id).Payments {
		if p.TxHash == tx {
			all++
			if p.Status != checkout.PaymentReverted {
				live++
			}
		}
	}
	return all, live
}

func (r *recvRig) listed() []checkout.ReceivedTransfer {
	r.t.Helper()
	l, _, err := r.st.UnmatchedTransfers(r.ctx, r.m.ID, 100, "")
	if err != nil {
		r.t.Fatal(err)
	}
	return l
}

func (r *recvRig) claim(id, tx string) error {
	rec, err := r.svc.Lookup(r.ctx, id)
	if err != nil {
		return err
	}
	_, err = r.svc.Claim(r.ctx, rec, orders.ClaimParams{TxHash: tx})
	return err
}

func codeOf(err error) checkout.Code {
	var ce *checkout.Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

func units(s string) checkout.Amount {
	a, err := checkout.ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// TestReceiveMatching: the feed credits a transfer to a receive address to the order whose
// pay_amount it is, or by tolerance to the one order it can be; every other transfer is left
// unmatched (listed, claimable), never credited to a guess.
func TestReceiveMatching(t *testing.T) {
	tol := checkout.DefaultTolerance // 1 %: an order of 10 is PAID from 9.9
	for _, tc := range []struct {
		name   string
		orders []string // amounts, created in this order (pay_amounts 10, 10.000001, …)
		paid   string
		want   int // index of the order credited, -1 unmatched
	}{
		{"exact first", []string{"10", "10"}, "10", 0},
		{"exact second", []string{"10", "10"}, "10.000001", 1},
		{"exact among other amounts", []string{"9.99", "10", "10.01"}, "10", 1},
		{"short, one order can take it", []string{"10"}, "9.95", 0},
		{"short, one order can take it, others far", []string{"10", "20", "5"}, "9.95", 0},
		{"short, within two orders' tolerance", []string{"10", "10"}, "9.95", -1},
		{"short, within a higher order's tolerance too", []string{"10", "10.05"}, "9.97", -1},
		{"between two pairs: could be an overpayment", []string{"10", "10.000002"}, "10.000001", -1},
		{"short beyond tolerance", []string{"10"}, "9.5", -1},
		{"overpaid", []string{"10", "10"}, "10.5", -1},
		{"no open order", nil, "10", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecvRig(t)
			var os []*checkout.Order
			for _, a := range tc.orders {
				os = append(os, r.create(a, tol))
			}
			tx := r.tx()
			r.feed(r.obs(tx, checkout.TransferSeen, units(tc.paid), 10, 1), r.obs(tx, checkout.TransferConfirmed, units(tc.paid), 10, 3))
			for i, o := range os {
				all, _ := r.paymentsOf(o.ID, tx)
				if want := map[bool]int{true: 1, false: 0}[i == tc.want]; all != want {
					t.Errorf("order %d (pay %s) has %d payments of the transfer, want %d", i, o.PayAmount, all, want)
				}
			}
			l := r.listed()
			if tc.want >= 0 {
				if len(l) != 0 || r.unmatched.Load() != 0 {
					t.Errorf("a matched transfer is listed as unmatched: %+v", l)
				}
				if got := r.get(os[tc.want].ID); units(tc.paid) >= checkout.MinPaid(got.Amount, tol) && got.Status != checkout.StatusPaid {
					t.Errorf("credited order: %s", got.Status)
				}
				return
			}
			if len(l) != 1 || l[0].TxHash != tx || l[0].Status != checkout.TransferUnmatched || l[0].Kind != checkout.TransferConfirmed ||
				l[0].Amount != units(tc.paid) {
				t.Errorf("unmatched list: %+v", l)
			}
			if n := r.unmatched.Load(); n != 1 {
				t.Errorf("told of %d new unmatched transfers, want 1 (two observations of one)", n)
			}
		})
	}
}

// TestReceiveDustNotRecorded: dust matching no pair exactly is not recorded at all (anyone can
// send it); dust that is a pair's exact pay_amount is recorded as that order's.
func TestReceiveDustNotRecorded(t *testing.T) {
	r := newRecvRig(t)
	o := r.create("0.005", 0) // below the API's minimum: only to have an exact dust pair
	noise, exact := r.tx(), r.tx()
	r.feed(r.obs(noise, checkout.TransferConfirmed, units("0.004"), 10, 3), r.obs(exact, checkout.TransferConfirmed, units("0.005"), 10, 3))
	if l := r.listed(); len(l) != 0 || r.unmatched.Load() != 0 {
		t.Fatalf("dust listed: %+v", l)
	}
	if _, err := r.st.ReceivedTransfer(r.ctx, net, r.addr, noise+":0"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("dust recorded: %v", err)
	}
	if rt, err := r.st.ReceivedTransfer(r.ctx, net, r.addr, exact+":0"); err != nil || rt.OrderID != o.ID {
		t.Fatalf("exact dust: %+v %v", rt, err)
	}
}

// TestReceiveLaterObservationsFollowTheCredit: once a transfer is unmatched, an order created
// later with that very pay_amount does not take it from the feed (only the first observation
// matches); once claimed, its later observations — confirmation, a reorg's removal, its
// re-inclusion — go to the order that claimed it.
func TestReceiveLaterObservationsFollowTheCredit(t *testing.T) {
	r := newRecvRig(t)
	a := r.create("10", 0)
	tx := r.tx()
	r.feed(r.obs(tx, checkout.TransferSeen, units("10.5"), 10, 1))
	b := r.create("10.5", 0) // pay_amount 10.5: the transfer's amount
	if b.PayAmount != units("10.5") {
		t.Fatalf("b pays %s", b.PayAmount)
	}
	r.feed(r.obs(tx, checkout.TransferSeen, units("10.5"), 10, 2))
	if all, _ := r.paymentsOf(b.ID, tx); all != 0 {
		t.Fatal("a later order took an unmatched transfer from the feed")
	}
	if err := r.claim(a.ID, tx); err != nil {
		t.Fatal(err)
	}
	r.feed(r.obs(tx, checkout.TransferRemoved, units("10.5"), 10, 0))
	if all, live := r.paymentsOf(a.ID, tx); all != 1 || live != 0 || r.get(a.ID).Status != checkout.StatusPending {
		t.Fatalf("removal not applied to the claimer: %+v", r.get(a.ID).Payments)
	}
	r.feed(r.obs(tx, checkout.TransferSeen, units("10.5"), 12, 1))
	if _, live := r.paymentsOf(a.ID, tx); live != 1 {
		t.Fatalf("re-inclusion not applied to the claimer: %+v", r.get(a.ID).Payments)
	}
	r.feed(r.obs(tx, checkout.TransferConfirmed, units("10.5"), 12, 3))
	if got := r.get(a.ID); got.Status != checkout.StatusPaid || got.AmountOverpaid != units("0.5") {
		t.Fatalf("claimer: %s overpaid %s", got.Status, got.AmountOverpaid)
	}
	if all, _ := r.paymentsOf(b.ID, tx); all != 0 {
		t.Fatal("the other order was credited")
	}
	if err := r.claim(b.ID, tx); codeOf(err) != checkout.CodeTransferCredited {
		t.Fatalf("other order's claim: %v", err)
	}
}

// TestReceiveExactlyOnceInterleaved races, round after round, the feed applying a transfer's
// observations (match, confirmation, reorg removal, re-inclusion) against two orders claiming
// it: whatever the interleaving, the transfer is credited to at most one order, later
// observations reach only that order, and every other claim is refused.
func TestReceiveExactlyOnceInterleaved(t *testing.T) {
	r := newRecvRig(t)
	const rounds = 12
	for round := range rounds {
		// Even rounds: the transfer is order b's exact pay_amount (the feed matches it while a
		// claims it). Odd rounds: it matches no pair, and a and b claim it at once.
		a, b := r.create("7", 0), r.create("8", 0)
		amount := b.PayAmount
		if round%2 == 1 {
			amount = units("9.123456")
		}
		tx := r.tx()
		r.append(r.obs(tx, checkout.TransferSeen, amount, 10, 1))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		claimUntilSeen := func(i int, id string) {
			defer wg.Done()
			for k := 0; k < 200; k++ { // until the transfer is recorded (or a verdict)
				errs[i] = r.claim(id, tx)
				if codeOf(errs[i]) != checkout.CodeClaimRefused {
					return
				}
				time.Sleep(time.Millisecond)
			}
		}
		wg.Add(3)
		go func() { defer wg.Done(); r.drain() }()
		go claimUntilSeen(0, a.ID)
		go claimUntilSeen(1, b.ID)
		wg.Wait()
		r.drain()
		// A reorg removes it; claims race its removal, then its re-inclusion.
		wg.Add(3)
		go func() { defer wg.Done(); r.feed(r.obs(tx, checkout.TransferRemoved, amount, 10, 0)) }()
		go func() { defer wg.Done(); _ = r.claim(a.ID, tx) }()
		go func() { defer wg.Done(); _ = r.claim(b.ID, tx) }()
		wg.Wait()
		for _, o := range []*checkout.Order{a, b} {
			if _, live := r.paymentsOf(o.ID, tx); live != 0 {
				t.Fatalf("round %d: the removed transfer still counts on %s", round, o.ID)
			}
		}
		wg.Add(3)
		go func() { defer wg.Done(); r.feed(r.obs(tx, checkout.TransferSeen, amount, 11, 1)) }()
		go func() { defer wg.Done(); _ = r.claim(a.ID, tx) }()
		go func() { defer wg.Done(); _ = r.claim(b.ID, tx) }()
		wg.Wait()
		r.feed(r.obs(tx, checkout.TransferConfirmed, amount, 11, 3))

		aAll, aLive := r.paymentsOf(a.ID, tx)
		bAll, bLive := r.paymentsOf(b.ID, tx)
		if aAll+bAll != 1 || aLive+bLive != 1 {
			t.Fatalf("round %d: payments of the transfer: a %d (%d live), b %d (%d live); claims %v", round, aAll, aLive, bAll, bLive, errs)
		}
		winner, loser := 0, 1
		if bAll == 1 {
			winner, loser = 1, 0
		}
		if round%2 == 0 && winner != 1 {
			t.Fatalf("round %d: the feed's exact match lost to a claim that could only come after it", round)
		}
		if errs[winner] != nil && round%2 == 1 {
			t.Fatalf("round %d: the winner's claim failed: %v", round, errs[winner])
		}
		if codeOf(errs[loser]) != checkout.CodeTransferCredited {
			t.Fatalf("round %d: the loser's claim: %v", round, errs[loser])
		}
		rt, err := r.st.ReceivedTransfer(r.ctx, net, r.addr, tx+":0")
		if err != nil || rt.Status != checkout.TransferCredited || rt.OrderID != []string{a.ID, b.ID}[winner] {
			t.Fatalf("round %d: record %+v %v", round, rt, err)
		}
	}
	if l := r.listed(); len(l) != 0 {
		t.Fatalf("claimed transfers still listed as unmatched: %d", len(l))
	}
}

// TestReceiveClaimRefusals: a claim names a transfer recorded to the order's address, first
// seen after the order was created, not removed, not another order's; refusals change nothing
// and are recorded as claim.refused events.
func TestReceiveClaimRefusals(t *testing.T) {
	r := newRecvRig(t)
	early := r.tx()
	r.skew.Store(int64(-time.Minute)) // seen before the order exists
	r.feed(r.obs(early, checkout.TransferConfirmed, units("3.3"), 10, 3))
	r.skew.Store(int64(time.Second))
	o := r.create("10", 0)
	removed := r.tx()
	r.feed(r.obs(removed, checkout.TransferSeen, units("4.4"), 10, 1), r.obs(removed, checkout.TransferRemoved, units("4.4"), 10, 0))
	for _, tc := range []struct {
		name, tx string
		code     checkout.Code
	}{
		{"seen before the order", early, checkout.CodeClaimRefused},
		{"removed by a reorg", removed, checkout.CodeClaimRefused},
		{"never seen", r.tx(), checkout.CodeClaimRefused},
		{"not a hash (refused before anything is read)", "0x1234", checkout.CodeClaimRefused},
	} {
		if err := r.claim(o.ID, tc.tx); codeOf(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	got := r.get(o.ID)
	if got.Status != checkout.StatusPending || len(got.Payments) != 0 {
		t.Fatalf("refused claims changed the order: %s %+v", got.Status, got.Payments)
	}
	evs, err := r.st.OrderEvents(r.ctx, o.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, e := range evs {
		if e.Type == checkout.EventClaimRefused {
			refused++
		}
	}
	if refused != 3 {
		t.Fatalf("%d claim.refused events, want 3 (a malformed hash is no claim)", refused)
	}
	// A double claim by the same order is a retry: it answers the order, credited once.
	ok := r.tx()
	r.feed(r.obs(ok, checkout.TransferConfirmed, units("10.2"), 10, 3))
	for i := range 2 {
		if err := r.claim(o.ID, ok); err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
	}
	if all, _ := r.paymentsOf(o.ID, ok); all != 1 || r.get(o.ID).AmountPaid != units("10.2") {
		t.Fatalf("double claim: %+v", r.get(o.ID).Payments)
	}
}

// TestReceiveUnmatchedNotice: an unmatched transfer queues one merchant-level
// transfer.unmatched webhook however many times it is observed (or redelivered), kept for
// the notice retention; a matched transfer queues none.
func TestReceiveUnmatchedNotice(t *testing.T) {
	r := newRecvRig(t)
	o := r.create("10", 0)
	stray, paid := r.tx(), r.tx()
	r.feed(r.obs(stray, checkout.TransferSeen, units("10.5"), 10, 1), r.obs(paid, checkout.TransferSeen, o.PayAmount, 10, 1))
	r.feed(r.obs(stray, checkout.TransferConfirmed, units("10.5"), 10, 3), r.obs(paid, checkout.TransferConfirmed, o.PayAmount, 10, 3))
	id := store.TransferNoticeID(checkout.EventTransferUnmatched, net, stray, 0)
	rec, pend, err := r.st.PendingWebhooks(r.ctx, id)
	if err != nil || rec == nil || rec.MerchantID != r.m.ID || len(pend) != 1 || pend[0].Type != checkout.EventTransferUnmatched {
		t.Fatalf("notice: %+v %+v %v", rec, pend, err)
	}
	var body checkout.WebhookEvent
	if err := json.Unmarshal([]byte(pend[0].Body), &body); err != nil || body.ID != pend[0].EventID || body.Data.Transfer == nil ||
		body.Data.Transfer.TxHash != stray || body.Data.Transfer.Amount != units("10.5") || body.Data.Transfer.Address != r.addr {
		t.Fatalf("body %s: %v", pend[0].Body, err)
	}
	if ttl := r.rdb.PTTL(r.ctx, r.prefix+"notice:{"+id+"}").Val(); ttl < store.NoticeRetention-time.Minute {
		t.Fatalf("notice retention %v", ttl)
	}
	if _, pend, _ := r.st.PendingWebhooks(r.ctx, store.TransferNoticeID(checkout.EventTransferUnmatched, net, paid, 0)); len(pend) != 0 {
		t.Fatal("a matched transfer queued a transfer.unmatched notice")
	}
	due, err := r.st.ClaimDueWebhooks(r.ctx, time.Now().Add(time.Minute), time.Minute, 100)
	notices := 0
	for _, c := range due {
		if store.IsNoticeID(c.OrderID) {
			notices++
			if c.OrderID != id {
				t.Fatalf("scheduled notice %s, want %s", c.OrderID, id)
			}
		}
	}
	if err != nil || notices != 1 {
		t.Fatalf("scheduled: %+v %v", due, err)
	}
}
