package checkout

import "time"

// Network switching: a merchant may let the customer move an order to another network on the
// checkout page (Order.AllowNetworkSwitch), while nothing at all has been received. The order
// then gets an address on the other network and keeps the one it had in PreviousAddresses:
// still watched and bound to the order, so a transfer that arrives there anyway is credited
// to the order as late funds (Payment.Late, amount_late), never lost.

// PreviousAddress is a deposit address an order held before the customer switched network.
type PreviousAddress struct {
	Network        Network   `json:"network"`
	Address        string    `json:"address"`
	PayAmount      Amount    `json:"pay_amount"`
	DerivationPath string    `json:"derivation_path,omitempty"`
	ReplacedAt     time.Time `json:"replaced_at"` // when the order moved off it
}

// Deposit is where an order is paid: its network, address, the amount to send there and, in
// xpub mode, the address's derivation path.
type Deposit struct {
	Network        Network
	Address        string
	PayAmount      Amount
	DerivationPath string
}

// SwitchRefusal says why an order cannot switch network now (Order.SwitchRefusal).
type SwitchRefusal string

// The refusals. Each maps to one API error code (edge/orders).
const (
	SwitchNotAllowed SwitchRefusal = "not_allowed" // the merchant did not allow it on this order
	SwitchReceived   SwitchRefusal = "received"    // a transfer was seen (confirmed or not)
	SwitchClosed     SwitchRefusal = "closed"      // the order is terminal, or past its expiry
)

// SwitchRefusal reports why the order cannot move to another network at now, or "" when it
// can: switching must be allowed on the order, the order PENDING and not yet expired, and
// nothing received at all (no payment whether confirming, confirmed or reverted; dust is no
// payment and does not count).
func (o *Order) SwitchRefusal(now time.Time) SwitchRefusal {
	switch {
	case !o.AllowNetworkSwitch:
		return SwitchNotAllowed
	case o.received():
		return SwitchReceived
	case o.Status != StatusPending || !now.Before(o.ExpiresAt):
		return SwitchClosed
	}
	return ""
}

func (o *Order) received() bool {
	return len(o.Payments) > 0 || o.AmountPaid > 0 || o.AmountPending > 0
}

// Mode is how the deposit receives: a derived address has a path, a merchant's own address
// none. Empty for xpub, as on orders created before the field existed.
func (d Deposit) Mode() ReceiveMode {
	if d.DerivationPath == "" {
		return ReceiveAddresses
	}
	return ""
}

// Deposit is the order's current deposit.
func (o *Order) Deposit() Deposit {
	return Deposit{Network: o.Network, Address: o.Address, PayAmount: o.PayAmount, DerivationPath: o.DerivationPath}
}

// Previous returns the address the order held on network n before a switch, if any.
func (o *Order) Previous(n Network) (PreviousAddress, bool) {
	for _, p := range o.PreviousAddresses {
		if p.Network == n {
			return p, true
		}
	}
	return PreviousAddress{}, false
}

// HeldBefore reports whether addr on n is one of the order's previous addresses.
func (o *Order) HeldBefore(n Network, addr string) bool {
	p, ok := o.Previous(n)
	return ok && p.Address == addr
}

// SwitchTo moves the order to deposit d at now: the current deposit joins PreviousAddresses
// and d, if it was one of them (a switch back), leaves it, so the list holds at most one
// address per network. It returns the change to record: order.network_changed with the
// address left behind.
func (o *Order) SwitchTo(d Deposit, now time.Time) Change {
	old := PreviousAddress{Network: o.Network, Address: o.Address, PayAmount: o.PayAmount,
		DerivationPath: o.DerivationPath, ReplacedAt: now.UTC().Truncate(time.Second)}
	kept := make([]PreviousAddress, 0, len(o.PreviousAddresses)+1)
	for _, p := range o.PreviousAddresses {
		if p.Network != d.Network && p.Network != old.Network {
			kept = append(kept, p)
		}
	}
	o.PreviousAddresses = append(kept, old)
	o.Network, o.Address, o.PayAmount, o.DerivationPath = d.Network, d.Address, d.PayAmount, d.DerivationPath
	o.ReceiveMode = d.Mode()
	return Change{Type: EventOrderNetworkChanged, Previous: &old}
}

// NetworkChoices are the networks the checkout offers the customer while the order can switch,
// none otherwise. Their order is fixed (SwitchNetworks'), so a choice never moves under the
// customer's finger when the order switches.
func (o *Order) NetworkChoices() []Network {
	if !o.AllowNetworkSwitch || o.received() || o.Status != StatusPending || len(o.SwitchNetworks) < 2 {
		return nil
	}
	return append([]Network(nil), o.SwitchNetworks...)
}
