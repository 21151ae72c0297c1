package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/orders"
)

// Addresses mode on the dev chains: the merchant's own watch-only address is shared by many
// orders, each told apart by its pay_amount; what matches no pair is listed and claimed by tx
// hash, and a transfer credits at most one order.

// receiveOn puts the world's merchant in addresses mode on every network, each with one fresh
// receive address, and returns them. Call it before the test's first API request: the edge
// caches merchant settings for a second.
func (w *world) receiveOn() map[checkout.Network]string {
	w.t.Helper()
	ms, err := w.store.Merchants(w.ctx)
	if err != nil || len(ms) != 1 {
		w.t.Fatalf("merchants: %d %v", len(ms), err)
	}
	out := map[checkout.Network]string{}
	for _, n := range checkout.Networks {
		var a [20]byte
		_, _ = rand.Read(a[:])
		out[n] = deposit.Format(n, a)
		cfg := checkout.ReceiveConfig{Mode: checkout.ReceiveAddresses, Addresses: []string{out[n]}}
		if err := w.store.SetReceive(w.ctx, ms[0], n, cfg); err != nil {
			w.t.Fatal(err)
		}
	}
	return out
}

// payTx sends amount from payer `from` to the order's address and returns the tx hash.
func (w *world) payTx(o *checkout.Order, from int, amount checkout.Amount) string {
	w.t.Helper()
	raw, err := deposit.Parse(o.Network, o.Address)
	if err != nil {
		w.t.Fatal(err)
	}
	h, err := w.chains[o.Network].Pay(w.ctx, from, common.Address(raw), amount)
	if err != nil {
		w.t.Fatal(err)
	}
	return h.Hex()
}

// unmatchedListed waits until GET /v1/transfers?status=unmatched lists tx and returns it.
func (w *world) unmatchedListed(tx string) checkout.ReceivedTransfer {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, body, err := w.client.Do(w.ctx, "GET", "/v1/transfers?status=unmatched&limit=100", nil)
		if err != nil || resp.StatusCode != 200 {
			w.t.Fatalf("list transfers: %v %s", err, body)
		}
		var l struct {
			Data []checkout.ReceivedTransfer `json:"data"`
		}
		if err := json.Unmarshal(body, &l); err != nil {
			w.t.Fatal(err)
		}
		for _, r := range l.Data {
			if r.TxHash == tx {
				return r
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("transfer %s never listed as unmatched", tx)
	return checkout.ReceivedTransfer{}
}

// isListed reports whether tx is on the unmatched list now.
func (w *world) isListed(tx string) bool {
	w.t.Helper()
	_, body, err := w.client.Do(w.ctx, "GET", "/v1/transfers?status=unmatched&limit=100", nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return bytes.Contains(body, []byte(tx))
}

// claim posts a merchant claim (body extra appended to the JSON object) and returns the HTTP
// status with the decoded body.
func (w *world) claim(id, tx, extra string) (int, map[string]any) {
	w.t.Helper()
	resp, body, err := w.client.Do(w.ctx, "POST", "/v1/orders/"+id+"/claim", []byte(`{"tx_hash":"`+tx+`"`+extra+`}`))
	if err != nil {
		w.t.Fatal(err)
	}
	return resp.StatusCode, decode(w.t, body)
}

// publicClaim posts the customer's claim from the checkout (no credentials).
func (w *world) publicClaim(id, tx string) (int, map[string]any) {
	w.t.Helper()
	resp, err := http.Post(w.edgeURL+"/v1/checkout/"+id+"/claim", "application/json",
		bytes.NewReader([]byte(`{"tx_hash":"`+tx+`"}`)))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, decode(w.t, buf.Bytes())
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return m
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// TestReceiveAddressesConcurrent: 200 orders at one amount created at once on one receive
// address get 200 distinct pay_amounts (the 200 smallest offsets), and each payment, sent in
// blocks of 50, settles its own order and no other.
func TestReceiveAddressesConcurrent(t *testing.T) {
	w := newWorld(t)
	const n = 200
	addrs := w.receiveOn()
	for _, net := range checkout.Networks {
		t.Run(string(net), func(t *testing.T) {
			addr := addrs[net]
			os := make([]*checkout.Order, n)
			var wg sync.WaitGroup
			errs := make(chan error, n)
			sem := make(chan struct{}, 32)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					o, err := w.client.CreateOrder(w.ctx, &client.OrderParams{Amount: "10", Network: net})
					if err != nil {
						errs <- err
						return
					}
					os[i] = o
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			pays := map[checkout.Amount]*checkout.Order{}
			for _, o := range os {
				if o.Address != addr || o.Amount != amt("10") {
					t.Fatalf("order on %s of %s", o.Address, o.Amount)
				}
				if prev := pays[o.PayAmount]; prev != nil {
					t.Fatalf("pay_amount %s given to %s and %s", o.PayAmount, prev.ID, o.ID)
				}
				pays[o.PayAmount] = o
			}
			for k := range checkout.Amount(n) {
				if pays[amt("10")+k] == nil {
					t.Fatalf("offset %d skipped", k)
				}
			}
			// Pay in a shuffled order (the map), 50 transfers a block.
			txOf := map[string]string{}
			i := 0
			for _, o := range pays {
				txOf[o.ID] = w.payTx(o, i%w.chains[net].Accounts(), o.PayAmount)
				if i++; i%50 == 0 {
					w.mine(net, 1)
				}
			}
			w.mine(net, required)
			for _, o := range os {
				got := w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
				if got.AmountPaid != o.PayAmount || len(got.Payments) != 1 || got.Payments[0].TxHash != txOf[o.ID] {
					t.Fatalf("order %s (pay %s): paid %s payments %+v, want its own tx %s", o.ID, o.PayAmount, got.AmountPaid, got.Payments, txOf[o.ID])
				}
			}
			if w.isListed("0x") {
				t.Fatal("a transfer of the batch was left unmatched")
			}
		})
	}
}

// TestReceiveAddressesFlows, on each network: an exact payment; a short one credited by
// tolerance where only one order can take it and left unmatched where two could; an
// underpayment topped up,
// both claimed by the customer from the checkout; an overpayment, unmatched then claimed by the
// merchant; claims of another order's transfer and second claims refused; a payment after
// expiry, within the late window, recorded as that order's late funds; after the window, the
// pair is free again.
func TestReceiveAddressesFlows(t *testing.T) {
	w := newWorld(t)
	release := &orders.Service{Store: w.store, Now: w.clock.Now}
	w.receiveOn()
	for _, net := range checkout.Networks {
		t.Run(string(net), func(t *testing.T) {
			exact := w.order(net, "12")
			short := w.order(net, "20")
			over := w.order(net, "10")
			other := w.order(net, "10")
			late := w.order(net, "13")
			tol := w.order(net, "30") // the only order whose 1 % band (29.7 … 30) holds 29.8

			// Exact: matched by pay_amount.
			exactTx := w.payTx(exact, 1, exact.PayAmount)
			// The customer of `short` sends 7.3 (no pair), the one of `over` 10.5 (no pair).
			shortTx := w.payTx(short, 2, amt("7.3"))
			overTx := w.payTx(over, 3, amt("10.5"))
			// Tolerance where it cannot mis-attribute: 29.8 can only be tol's; 9.95 lies in
			// both over's and other's bands (10 and 10.000001, PAID from 9.9): nobody's.
			tolTx := w.payTx(tol, 5, amt("29.8"))
			ambiguousTx := w.payTx(over, 6, amt("9.95"))
			w.mine(net, 1)
			if got := w.waitFor(exact.ID, "CONFIRMING", status(checkout.StatusConfirming)); got.AmountPending != exact.PayAmount {
				t.Fatalf("exact: pending %s", got.AmountPending)
			}
			if r := w.unmatchedListed(shortTx); r.Amount != amt("7.3") || r.Address != short.Address || r.Status != checkout.TransferUnmatched {
				t.Fatalf("unmatched record: %+v", r)
			}
			w.unmatchedListed(overTx)
			w.unmatchedListed(ambiguousTx)
			if w.isListed(tolTx) {
				t.Fatal("a transfer only one order can take was left unmatched")
			}

			// The customer claims from the checkout: a customer-safe answer, the order CONFIRMING.
			code, body := w.publicClaim(short.ID, shortTx)
			if code != 200 || body["status"] != string(checkout.StatusConfirming) || body["metadata"] != nil {
				t.Fatalf("public claim: %d %v", code, body)
			}
			// The merchant claims the overpayment for its order.
			code, body = w.claim(over.ID, overTx, "")
			pays, _ := body["payments"].([]any)
			if code != 200 || body["id"] != over.ID || len(pays) != 1 {
				t.Fatalf("merchant claim: %d %v", code, body)
			}
			logIndex := pays[0].(map[string]any)["log_index"]
			// Nobody else can have them; a second claim by the same order credits nothing more.
			if code, body := w.claim(other.ID, overTx, ""); code != 409 || errCode(body) != string(checkout.CodeTransferCredited) {
				t.Fatalf("other order's claim: %d %v", code, body)
			}
			if code, body := w.publicClaim(other.ID, shortTx); code != 409 || errCode(body) != string(checkout.CodeTransferCredited) {
				t.Fatalf("other order's public claim: %d %v", code, body)
			}
			if code, body := w.claim(exact.ID, exactTx, ""); code != 200 {
				t.Fatalf("claim of a matched transfer by its own order (a no-op): %d %v", code, body)
			}
			if code, body := w.claim(over.ID, overTx, fmt.Sprintf(`,"log_index":%v`, logIndex)); code != 200 {
				t.Fatalf("second claim by the same order: %d %v", code, body)
			}
			if w.isListed(shortTx) || w.isListed(overTx) {
				t.Fatal("claimed transfers still listed")
			}
			w.mine(net, required)
			if got := w.waitFor(exact.ID, "PAID", status(checkout.StatusPaid)); got.AmountPaid != exact.PayAmount || len(got.Payments) != 1 {
				t.Fatalf("exact: paid %s payments %d", got.AmountPaid, len(got.Payments))
			}
			got := w.waitFor(over.ID, "PAID", status(checkout.StatusPaid))
			if got.AmountPaid != amt("10.5") || got.AmountOverpaid != amt("0.5") || len(got.Payments) != 1 {
				t.Fatalf("overpaid: paid %s overpaid %s payments %d", got.AmountPaid, got.AmountOverpaid, len(got.Payments))
			}
			if got := w.waitFor(tol.ID, "PAID", status(checkout.StatusPaid)); got.AmountPaid != amt("29.8") || got.Payments[0].TxHash != tolTx {
				t.Fatalf("tolerance: paid %s payments %+v", got.AmountPaid, got.Payments)
			}
			got = w.waitFor(short.ID, "partly paid", func(o *checkout.Order) bool { return o.AmountPaid == amt("7.3") })
			if got.Status != checkout.StatusPending {
				t.Fatalf("underpaid: %s", got.Status)
			}

			// The top-up (12.7) matches no pair either; the customer claims it too.
			topTx := w.payTx(short, 2, amt("12.7"))
			w.mine(net, 1)
			w.unmatchedListed(topTx)
			if code, body := w.publicClaim(short.ID, topTx); code != 200 {
				t.Fatalf("top-up claim: %d %v", code, body)
			}
			w.mine(net, required)
			got = w.waitFor(short.ID, "PAID", status(checkout.StatusPaid))
			if got.AmountPaid != amt("20") || len(got.Payments) != 2 {
				t.Fatalf("topped up: paid %s payments %d", got.AmountPaid, len(got.Payments))
			}
			if o, _ := w.client.GetOrder(w.ctx, other.ID); o.Status != checkout.StatusPending || len(o.Payments) != 0 {
				t.Fatalf("the other order was credited: %s %+v", o.Status, o.Payments)
			}
			evs := w.eventTypes(short.ID)
			accepted := 0
			for _, e := range evs {
				if e == checkout.EventClaimAccepted {
					accepted++
				}
			}
			if accepted != 2 {
				t.Fatalf("short's events: %v", evs)
			}

			// Late: expired with nothing, then its exact pay_amount arrives within the window.
			w.clock.Add(31 * time.Minute)
			w.tick()
			w.waitFor(late.ID, "EXPIRED", status(checkout.StatusExpired))
			w.waitFor(other.ID, "EXPIRED", status(checkout.StatusExpired))
			if _, err := release.ReleaseDue(w.ctx, 1000); err != nil { // inside the window: nothing freed
				t.Fatal(err)
			}
			lateTx := w.payTx(late, 4, late.PayAmount)
			w.mine(net, required+1)
			got = w.waitFor(late.ID, "late funds", func(o *checkout.Order) bool { return o.AmountLate == late.PayAmount })
			if got.Status != checkout.StatusExpired || len(got.Payments) != 1 || !got.Payments[0].Late || got.Payments[0].TxHash != lateTx {
				t.Fatalf("late: %s payments %+v", got.Status, got.Payments)
			}

			// After the window every pair is released: the same pay_amount paid again matches
			// no order, and a new order may take the pair.
			w.clock.Add(checkout.DefaultLateWindow + time.Hour)
			if _, err := release.ReleaseDue(w.ctx, 1000); err != nil {
				t.Fatal(err)
			}
			if n, err := w.store.Reservations(w.ctx, net, late.Address); err != nil || n != 0 {
				t.Fatalf("reservations after the window: %d %v", n, err)
			}
			again := w.payTx(late, 4, late.PayAmount)
			w.mine(net, required)
			w.unmatchedListed(again)
			if o := w.order(net, "13"); o.PayAmount != amt("13") {
				t.Fatalf("released pair not reused: %s", o.PayAmount)
			}
		})
	}
}

// TestReceiveAddressesReorgClaimed: a claimed transfer that a reorg removes is un-credited from
// the order it credited (and only that order); re-included, it counts for that order again,
// and another order still cannot claim it.
func TestReceiveAddressesReorgClaimed(t *testing.T) {
	w := newWorld(t)
	w.receiveOn()
	for _, net := range checkout.Networks {
		t.Run(string(net), func(t *testing.T) {
			ch := w.chains[net]
			o := w.order(net, "25")
			rival := w.order(net, "25.5") // 25.5 is the rival's exact pay_amount
			parent, err := ch.Client().HeaderByNumber(w.ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := deposit.Parse(net, o.Address)
			h, err := ch.Pay(w.ctx, 1, common.Address(raw), amt("25.6")) // no pair
			if err != nil {
				t.Fatal(err)
			}
			w.mine(net, 1)
			tx, _, err := ch.Client().TransactionByHash(w.ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			w.unmatchedListed(h.Hex())
			if code, body := w.claim(o.ID, h.Hex(), ""); code != 200 || body["status"] != string(checkout.StatusConfirming) {
				t.Fatalf("claim: %d %v", code, body)
			}
			old, err := ch.Client().HeaderByNumber(w.ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := ch.Fork(parent.Hash()); err != nil {
				t.Fatal(err)
			}
			w.mine(net, int(old.Number.Uint64()-parent.Number.Uint64())+1)
			got := w.waitFor(o.ID, "reverted", func(o *checkout.Order) bool {
				return len(o.Payments) == 1 && o.Payments[0].Status == checkout.PaymentReverted
			})
			if got.Status != checkout.StatusPending || got.AmountPending != 0 || got.AmountPaid != 0 {
				t.Fatalf("after the reorg: %s pending %s paid %s", got.Status, got.AmountPending, got.AmountPaid)
			}
			if code, body := w.claim(rival.ID, h.Hex(), ""); code != 409 || errCode(body) != string(checkout.CodeTransferCredited) {
				t.Fatalf("rival's claim of the removed transfer: %d %v", code, body)
			}
			if err := ch.Resend(w.ctx, tx); err != nil {
				t.Fatal(err)
			}
			w.mine(net, required)
			got = w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
			if got.AmountPaid != amt("25.6") || len(got.Payments) != 1 || got.Payments[0].TxHash != h.Hex() {
				t.Fatalf("re-included: paid %s payments %+v", got.AmountPaid, got.Payments)
			}
			w.settled(net)
			if r, _ := w.client.GetOrder(w.ctx, rival.ID); len(r.Payments) != 0 || r.Status != checkout.StatusPending {
				t.Fatalf("rival credited: %s %+v", r.Status, r.Payments)
			}
		})
	}
}
