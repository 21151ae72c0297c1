package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/store"
)

// publicSwitch posts the customer's network switch, unauthenticated as the checkout does.
func (e *testEdge) publicSwitch(id, body string) (int, http.Header, map[string]any) {
	e.t.Helper()
	resp, err := http.Post(e.url+"/v1/checkout/"+id+"/network", "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		e.t.Fatalf("switch answer is not JSON: %q", b)
	}
	return resp.StatusCode, resp.Header, v
}

// createSwitchable creates an order on network n with the given allow_network_switch body
// fragment ("" leaves it out) and returns it.
func createSwitchable(t *testing.T, mc *merchant, n checkout.Network, allow string) *checkout.Order {
	t.Helper()
	// A fresh idempotency key: the same signed body twice in one second is a refused replay.
	body := `{"amount":"10","currency":"USDT","network":"` + string(n) + `","idempotency_key":"` + ids.Event() + `"` + allow + `}`
	resp, data, err := mc.client.Do(context.Background(), "POST", "/v1/orders", []byte(body))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v %s", err, data)
	}
	var o checkout.Order
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatal(err)
	}
	return &o
}

func code(t *testing.T, body map[string]any) string {
	t.Helper()
	c, _ := errorOf(t, body)["code"].(string)
	return c
}

// TestCheckoutSwitchNetwork: the customer moves an xpub-mode order to the other network and
// back; each new address is bound to the order and watched, the one left stays bound and
// watched, a switch back reuses the address the order had, and the merchant sees
// order.network_changed events and previous_addresses.
func TestCheckoutSwitchNetwork(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant(both, nil)
	ctx := context.Background()
	o := createSwitchable(t, mc, checkout.ERC20, `,"allow_network_switch":true`)
	if !o.AllowNetworkSwitch || len(o.SwitchNetworks) != 2 {
		t.Fatalf("created: allow %v networks %v", o.AllowNetworkSwitch, o.SwitchNetworks)
	}
	st, _, view := e.publicGet("/v1/checkout/" + o.ID)
	if st != 200 || view["network_choices"] == nil {
		t.Fatalf("checkout view %d %v: want network_choices", st, view)
	}

	st, _, v := e.publicSwitch(o.ID, `{"network":"TRC20"}`)
	if st != 200 || v["network"] != "TRC20" || v["address"] == o.Address || v["pay_amount"] != "10" {
		t.Fatalf("switch: %d %v", st, v)
	}
	trc, _ := v["address"].(string)
	got, err := mc.client.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Network != checkout.TRC20 || got.Address != trc || got.DerivationPath == o.DerivationPath ||
		len(got.PreviousAddresses) != 1 || got.PreviousAddresses[0].Address != o.Address {
		t.Fatalf("merchant view after switch: %s %s %s %+v", got.Network, got.Address, got.DerivationPath, got.PreviousAddresses)
	}
	for n, addr := range map[checkout.Network]string{checkout.ERC20: o.Address, checkout.TRC20: trc} {
		if id, err := e.store.OrderIDByAddress(ctx, n, addr); err != nil || id != o.ID {
			t.Errorf("%s %s bound to %q %v", n, addr, id, err)
		}
		if !e.rdb.SIsMember(ctx, e.prefix+checkout.WatchSet(n), addr).Val() {
			t.Errorf("%s %s not watched", n, addr)
		}
	}
	// The merchant's list filed it under its new network only.
	list, err := e.store.ListOrders(ctx, mc.m.ID, storeQuery(checkout.ERC20))
	if err != nil || len(list.Records) != 0 {
		t.Errorf("ERC20 listing after the switch: %d orders %v", len(list.Records), err)
	}
	list, err = e.store.ListOrders(ctx, mc.m.ID, storeQuery(checkout.TRC20))
	if err != nil || len(list.Records) != 1 {
		t.Errorf("TRC20 listing after the switch: %d orders %v", len(list.Records), err)
	}

	// The same choice again changes nothing (a double click).
	if st, _, v := e.publicSwitch(o.ID, `{"network":"TRC20"}`); st != 200 || v["address"] != trc {
		t.Fatalf("repeat: %d %v", st, v)
	}
	// Back to ERC20: the address the order had, not a new one.
	if st, _, v := e.publicSwitch(o.ID, `{"network":"ERC20"}`); st != 200 || v["address"] != o.Address {
		t.Fatalf("switch back: %d %v, want %s", st, v, o.Address)
	}
	got, _ = mc.client.GetOrder(ctx, o.ID)
	if len(got.PreviousAddresses) != 1 || got.PreviousAddresses[0].Address != trc || got.DerivationPath != o.DerivationPath {
		t.Fatalf("after switching back: previous %+v path %s", got.PreviousAddresses, got.DerivationPath)
	}
	evs, err := e.store.OrderEvents(ctx, o.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []checkout.EventType
	for _, se := range evs {
		types = append(types, se.Type)
	}
	if len(types) != 3 || types[1] != checkout.EventOrderNetworkChanged || types[2] != checkout.EventOrderNetworkChanged {
		t.Fatalf("events %v, want created + two network_changed", types)
	}
	var last checkout.Event
	if err := json.Unmarshal(evs[2].Data, &last); err != nil || last.Previous == nil || last.Previous.Address != trc {
		t.Fatalf("last event previous %+v %v", last.Previous, err)
	}
}

// TestCheckoutSwitchRefusals: each refusal answers its own code and changes nothing.
func TestCheckoutSwitchRefusals(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant(both, nil)
	only := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	ctx := context.Background()
	svc := &orders.Service{Store: e.store}

	plain := createSwitchable(t, mc, checkout.ERC20, "")
	oneNet := createSwitchable(t, only, checkout.ERC20, `,"allow_network_switch":true`)
	received := createSwitchable(t, mc, checkout.ERC20, `,"allow_network_switch":true`)
	if _, err := svc.ApplyTransfer(ctx, received.ID, "1-1", &checkout.Transfer{Kind: checkout.TransferSeen,
		Network: checkout.ERC20, TxHash: "0x01", To: received.Address, From: "0xf", Amount: 10_000_000,
		Confirmations: 1, Required: 12}); err != nil {
		t.Fatal(err)
	}
	canceled := createSwitchable(t, mc, checkout.ERC20, `,"allow_network_switch":true`)
	if _, err := mc.client.CancelOrder(ctx, canceled.ID); err != nil {
		t.Fatal(err)
	}
	expired := createSwitchable(t, mc, checkout.ERC20, `,"allow_network_switch":true`)
	ok := createSwitchable(t, mc, checkout.ERC20, `,"allow_network_switch":true`)

	for _, c := range []struct {
		name, id, body string
		status         int
		code           string
		before         func()
	}{
		{name: "not allowed", id: plain.ID, body: `{"network":"TRC20"}`, status: 409, code: "network_switch_not_allowed"},
		{name: "network the merchant lacks", id: oneNet.ID, body: `{"network":"TRC20"}`, status: 400, code: "network_not_enabled"},
		{name: "something received", id: received.ID, body: `{"network":"TRC20"}`, status: 409, code: "order_not_switchable"},
		{name: "terminal", id: canceled.ID, body: `{"network":"TRC20"}`, status: 409, code: "order_not_switchable"},
		{name: "past expiry", id: expired.ID, body: `{"network":"TRC20"}`, status: 409, code: "order_not_switchable",
			before: func() { e.clock.Add(31 * time.Minute) }},
		{name: "unknown order", id: "ord_01JAAAAAAAAAAAAAAAAAAAAAAA", body: `{"network":"TRC20"}`, status: 404, code: "resource_missing"},
		{name: "no network", id: ok.ID, body: `{}`, status: 400, code: "parameter_missing"},
		{name: "bad network", id: ok.ID, body: `{"network":"BTC"}`, status: 400, code: "invalid_network"},
		{name: "not JSON", id: ok.ID, body: `network=TRC20`, status: 400, code: "invalid_json"},
		{name: "unknown field", id: ok.ID, body: `{"network":"TRC20","address":"x"}`, status: 400, code: "invalid_json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.before != nil {
				c.before()
			}
			var before *checkout.Order
			if orders.ValidOrderID(c.id) {
				if rec, err := e.store.Order(ctx, c.id); err == nil {
					before = &rec.Order
				}
			}
			st, _, v := e.publicSwitch(c.id, c.body)
			if st != c.status || code(t, v) != c.code {
				t.Fatalf("%d %v, want %d %s", st, v, c.status, c.code)
			}
			if before != nil {
				rec, err := e.store.Order(ctx, c.id)
				if err != nil || rec.Order.Network != before.Network || rec.Order.Address != before.Address {
					t.Fatalf("a refused switch changed the order: %+v %v", rec.Order, err)
				}
			}
		})
	}
}

// TestCheckoutSwitchRateLimited: the public endpoint is limited per order (a burst of
// DefaultSwitchOrderLimit), answering 429 with Retry-After.
func TestCheckoutSwitchRateLimited(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant(both, nil)
	o := createSwitchable(t, mc, checkout.ERC20, `,"allow_network_switch":true`)
	nets := []string{"TRC20", "ERC20"}
	for i := range 6 {
		if st, _, v := e.publicSwitch(o.ID, `{"network":"`+nets[i%2]+`"}`); st != 200 {
			t.Fatalf("switch %d: %d %v", i, st, v)
		}
	}
	st, h, v := e.publicSwitch(o.ID, `{"network":"TRC20"}`)
	if st != 429 || code(t, v) != "rate_limited" || h.Get("Retry-After") == "" {
		t.Fatalf("7th switch: %d %v (Retry-After %q)", st, v, h.Get("Retry-After"))
	}
}

// TestSwitchDefaultFromMerchant: the merchant's default applies when the request says
// nothing, and the request's own value wins.
func TestSwitchDefaultFromMerchant(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant(both, func(m *checkout.Merchant) { m.AllowNetworkSwitch = true })
	if o := createSwitchable(t, mc, checkout.TRC20, ""); !o.AllowNetworkSwitch {
		t.Fatal("merchant default not applied")
	}
	if o := createSwitchable(t, mc, checkout.TRC20, `,"allow_network_switch":false`); o.AllowNetworkSwitch {
		t.Fatal("request's false did not win over the merchant default")
	}
	if st, _, v := mc.raw(t, "POST", "/v1/orders", `{"amount":"1","currency":"USDT","network":"TRC20","allow_network_switch":"yes"}`); st != 400 || code(t, v) != "invalid_type" {
		t.Fatalf("a string allow_network_switch: %d %v", st, v)
	}
}

// TestSwitchToAddressesMode: switching onto a network in addresses mode reserves a pair on
// one of the merchant's addresses.
func TestSwitchToAddressesMode(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	addr := tronAddress()
	mc := e.addressesMerchant(0, addr)
	o := createSwitchable(t, mc, checkout.ERC20, `,"allow_network_switch":true`)
	st, _, v := e.publicSwitch(o.ID, `{"network":"TRC20"}`)
	if st != 200 || v["address"] != addr || v["pay_amount"] != "10" {
		t.Fatalf("switch to addresses mode: %d %v", st, v)
	}
	if n, err := e.store.Reservations(context.Background(), checkout.TRC20, addr); err != nil || n != 1 {
		t.Fatalf("reservations on %s: %d %v", addr, n, err)
	}
	// A second order at the same amount gets the next pay_amount on that address.
	o2 := createSwitchable(t, mc, checkout.ERC20, `,"allow_network_switch":true`)
	if st, _, v := e.publicSwitch(o2.ID, `{"network":"TRC20"}`); st != 200 || v["pay_amount"] != "10.000001" {
		t.Fatalf("second switch: %d %v", st, v)
	}
}

// publicGet reads a public endpoint.
func (e *testEdge) publicGet(path string) (int, http.Header, map[string]any) {
	e.t.Helper()
	resp, err := http.Get(e.url + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		e.t.Fatalf("%s: answer is not JSON: %q", path, b)
	}
	return resp.StatusCode, resp.Header, v
}

func storeQuery(n checkout.Network) store.ListQuery {
	return store.ListQuery{Networks: []checkout.Network{n}, Limit: 10}
}
