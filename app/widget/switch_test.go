package widget

import (
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v9/pkg/app"

	checkout "github.com/mpchat/checkout"
)

// TestNetworkSwitchRender: the network choice is drawn while the order offers it (both
// networks, the current pressed, each with its fee hint, in the page's language) and not
// once it does not (network_choices absent: switching not allowed, or something received).
func TestNetworkSwitchRender(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	v := checkout.CheckoutView{ID: "ord_1", Status: checkout.StatusPending, Amount: 10_000_000, PayAmount: 10_000_000,
		Currency: "USDT", Network: checkout.TRC20, Address: "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE",
		CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute),
		NetworkChoices: []checkout.Network{checkout.TRC20, checkout.ERC20}}
	for _, tc := range []struct {
		name, lang   string
		edit         func(*checkout.CheckoutView)
		want, absent []string
	}{
		{"offered", "en", nil, []string{`id="network-switch"`, `data-switch-network="ERC20"`,
			`class="choice current"`, `data-current="TRC20"`, `id="switch-ERC20"`,
			"Lower network fee", "Higher network fee", "Choose your network"}, []string{`data-switch-network="TRC20"`, "disabled"}},
		{"chinese", "zh", nil, []string{"选择转账网络", "网络手续费较低"}, nil},
		{"not offered", "en", func(v *checkout.CheckoutView) { v.NetworkChoices = nil }, nil, []string{"network-switch"}},
		{"not while paid", "en", func(v *checkout.CheckoutView) { v.Status = checkout.StatusPaid }, nil, []string{"network-switch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := v
			if tc.edit != nil {
				tc.edit(&o)
			}
			html := app.HTMLString(&Checkout{State: State{Order: o, Lang: tc.lang, Now: now}})
			for _, w := range tc.want {
				if !strings.Contains(html, w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(html, a) {
					t.Errorf("has %q", a)
				}
			}
		})
	}
}

// TestNetworkChoicesFollowTheOrder: the view offers the choice only while the order can
// switch: allowed, PENDING and nothing received.
func TestNetworkChoicesFollowTheOrder(t *testing.T) {
	o := checkout.Order{ID: "ord_1", Status: checkout.StatusPending, Network: checkout.ERC20, AllowNetworkSwitch: true,
		SwitchNetworks: []checkout.Network{checkout.TRC20, checkout.ERC20}}
	if got := o.CheckoutView().NetworkChoices; len(got) != 2 || got[0] != checkout.TRC20 {
		t.Fatalf("choices %v, want SwitchNetworks' fixed order", got)
	}
	seen := o
	seen.Payments = []checkout.Payment{{TxHash: "0x1", Status: checkout.PaymentConfirming}}
	notAllowed := o
	notAllowed.AllowNetworkSwitch = false
	one := o
	one.SwitchNetworks = []checkout.Network{checkout.ERC20}
	for name, x := range map[string]checkout.Order{"received": seen, "not allowed": notAllowed, "one network": one} {
		if got := x.CheckoutView().NetworkChoices; got != nil {
			t.Errorf("%s: choices %v", name, got)
		}
	}
}
