package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
)

// The customer's network switch on the dev chains: the order is paid on the network it was
// switched to, and what is still sent to the address it left is recorded on the order as
// late funds, never lost, in both receive modes.

// switchableOrder creates an order that lets its customer switch network.
func (w *world) switchableOrder(n checkout.Network, amount string) *checkout.Order {
	w.t.Helper()
	allow := true
	o, err := w.client.CreateOrder(w.ctx, &client.OrderParams{Amount: amount, Network: n, AllowNetworkSwitch: &allow})
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// switchNetwork is the checkout's click: the public switch endpoint. It returns the order as
// the merchant then reads it.
func (w *world) switchNetwork(id string, to checkout.Network) *checkout.Order {
	w.t.Helper()
	resp, err := http.Post(w.edgeURL+"/v1/checkout/"+id+"/network", "application/json",
		bytes.NewReader([]byte(`{"network":"`+string(to)+`"}`)))
	if err != nil {
		w.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		w.t.Fatalf("switch %s to %s: %d %s", id, to, resp.StatusCode, b)
	}
	var v checkout.CheckoutView
	if err := json.Unmarshal(b, &v); err != nil || v.Network != to {
		w.t.Fatalf("switch answer %s (%v)", b, err)
	}
	o, err := w.client.GetOrder(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// payTo sends amount on network n to addr, as a customer who kept the old address would.
func (w *world) payTo(n checkout.Network, addr string, amount string) {
	w.t.Helper()
	w.pay(&checkout.Order{Network: n, Address: addr}, 1, amount)
}

// lateOn finds the order's late payment on network n.
func lateOn(o *checkout.Order, n checkout.Network) *checkout.Payment {
	for i := range o.Payments {
		if p := &o.Payments[i]; p.Late && p.Network == n {
			return p
		}
	}
	return nil
}

// TestNetworkSwitchPaidOnNewNetwork (xpub mode): switched from ERC20 to TRC20, the order is
// PAID by a transfer to its new TRON address; a transfer that still goes to the Ethereum
// address it left, before and after that, is credited as late funds on the order.
func TestNetworkSwitchPaidOnNewNetwork(t *testing.T) {
	w := newWorld(t)
	o := w.switchableOrder(checkout.ERC20, "10")
	old := o.Address
	o = w.switchNetwork(o.ID, checkout.TRC20)
	if o.Address == old || o.Network != checkout.TRC20 || len(o.PreviousAddresses) != 1 || o.PreviousAddresses[0].Address != old {
		t.Fatalf("after switch: %s %s previous %+v", o.Network, o.Address, o.PreviousAddresses)
	}

	// The full amount sent to the address left: recorded, late, and it settles nothing.
	w.payTo(checkout.ERC20, old, "10")
	w.mine(checkout.ERC20, required)
	got := w.waitFor(o.ID, "late funds on the old address", func(o *checkout.Order) bool { return o.AmountLate == 10_000_000 })
	if got.Status != checkout.StatusPending || got.AmountPaid != 10_000_000 {
		t.Fatalf("after funds to the old address: %s paid %s late %s", got.Status, got.AmountPaid, got.AmountLate)
	}
	if p := lateOn(got, checkout.ERC20); p == nil || p.Address != old || p.Status != checkout.PaymentConfirmed {
		t.Fatalf("late payment on the old address not recorded: %+v", got.Payments)
	}

	// Paid on the new network.
	w.pay(o, 0, "10")
	w.mine(checkout.TRC20, required)
	got = w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
	if got.AmountLate != 10_000_000 || got.AmountPaid != 20_000_000 {
		t.Fatalf("paid: amount_paid %s amount_late %s", got.AmountPaid, got.AmountLate)
	}
	// After PAID, another transfer to the old address is late funds too.
	w.payTo(checkout.ERC20, old, "2")
	w.mine(checkout.ERC20, required)
	got = w.waitFor(o.ID, "second late payment", func(o *checkout.Order) bool { return o.AmountLate == 12_000_000 })
	if got.Status != checkout.StatusPaid {
		t.Fatalf("status %s", got.Status)
	}
	types := eventTypes(t, w, o.ID)
	for _, want := range []checkout.EventType{checkout.EventOrderNetworkChanged, checkout.EventPaymentLate, checkout.EventPaymentConfirmed} {
		if !containsType(types, want) {
			t.Errorf("events %v lack %s", types, want)
		}
	}
	w.settled(checkout.ERC20)
	if n, _ := w.rdb.XLen(w.ctx, w.prefix+"orphans").Result(); n != 0 {
		t.Errorf("%d orphans: a transfer to the old address was not credited to the order", n)
	}

	// Refused once something was received.
	resp, err := http.Post(w.edgeURL+"/v1/checkout/"+o.ID+"/network", "application/json", bytes.NewReader([]byte(`{"network":"ERC20"}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 409 {
		t.Fatalf("switch of a paid order: %d", resp.StatusCode)
	}
}

// TestNetworkSwitchAddressesMode: a merchant whose TRC20 is in addresses mode. An ERC20 order
// switched to TRC20 reserves a pair on the merchant's address and is PAID by its pay_amount;
// a TRC20 order switched away to ERC20 keeps its reservation, so its exact pay_amount sent to
// the merchant's address is still matched to it, as late funds.
func TestNetworkSwitchAddressesMode(t *testing.T) {
	w := newWorld(t)
	var raw [20]byte
	_, _ = rand.Read(raw[:])
	recv := deposit.EncodeTRON(raw)
	ms, err := w.store.Merchants(w.ctx) // the world's one merchant, read before the edge caches it
	if err != nil || len(ms) != 1 {
		t.Fatalf("merchants %d %v", len(ms), err)
	}
	m := ms[0]
	if err := w.store.SetReceive(w.ctx, m, checkout.TRC20, checkout.ReceiveConfig{Mode: checkout.ReceiveAddresses,
		Addresses: []string{recv}}); err != nil {
		t.Fatal(err)
	}

	onto := w.switchNetwork(w.switchableOrder(checkout.ERC20, "7").ID, checkout.TRC20)
	if onto.Address != recv || onto.PayAmount != 7_000_000 {
		t.Fatalf("switched onto addresses mode: %s pay %s", onto.Address, onto.PayAmount)
	}
	away := w.switchableOrder(checkout.TRC20, "7")
	if away.Address != recv || away.PayAmount != 7_000_001 {
		t.Fatalf("addresses-mode order: %s pay %s", away.Address, away.PayAmount)
	}
	away = w.switchNetwork(away.ID, checkout.ERC20)
	if n, err := w.store.Reservations(w.ctx, checkout.TRC20, recv); err != nil || n != 2 {
		t.Fatalf("reservations after switching away: %d %v (the left one must stay)", n, err)
	}

	w.pay(onto, 0, "7")
	w.payTo(checkout.TRC20, recv, "7.000001") // the pair the other order left
	w.mine(checkout.TRC20, required)
	w.waitFor(onto.ID, "PAID", status(checkout.StatusPaid))
	got := w.waitFor(away.ID, "late funds on its old pair", func(o *checkout.Order) bool { return o.AmountLate == 7_000_001 })
	if got.Status != checkout.StatusPending || lateOn(got, checkout.TRC20) == nil {
		t.Fatalf("order that switched away: %s payments %+v", got.Status, got.Payments)
	}
	w.pay(away, 0, "7")
	w.mine(checkout.ERC20, required)
	w.waitFor(away.ID, "PAID on ERC20", status(checkout.StatusPaid))
}

func eventTypes(t *testing.T, w *world, id string) []checkout.EventType {
	t.Helper()
	evs, err := w.store.OrderEvents(w.ctx, id, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []checkout.EventType
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func containsType(ts []checkout.EventType, t checkout.EventType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}
