package checkout

import (
	"net/url"
	"time"
)

// Currency is the only currency an order may be in.
const Currency = "USDT"

// Order is a merchant's request for a USDT payment and everything received for it. Its JSON
// form is the order object of the merchant API (see docs/api.md, "The order object").
type Order struct {
	ID               string            `json:"id"` // "ord_" + ULID
	Status           Status            `json:"status"`
	Amount           Amount            `json:"amount"`
	Currency         string            `json:"currency"`
	Network          Network           `json:"network"`
	Address          string            `json:"address"`         // deposit address, network format
	PayAmount        Amount            `json:"pay_amount"`      // what the customer must send
	AmountPaid       Amount            `json:"amount_paid"`     // confirmed total, late funds included
	AmountPending    Amount            `json:"amount_pending"`  // seen on chain, not yet confirmed
	AmountOverpaid   Amount            `json:"amount_overpaid"` // confirmed surplus above amount
	AmountLate       Amount            `json:"amount_late"`     // confirmed after a terminal status
	TolerancePercent Tolerance         `json:"tolerance_percent"`
	Description      string            `json:"description"`
	Metadata         map[string]string `json:"metadata"`
	ReturnURL        string            `json:"return_url"`
	WebhookURL       string            `json:"webhook_url"`
	PaymentURL       string            `json:"payment_url"`
	DeepLink         string            `json:"deep_link"` // mpchat://pay?order={id}
	DerivationPath   string            `json:"derivation_path"`
	// ReceiveMode is how the order receives: "xpub" (its own derived address) or "addresses"
	// (one of the merchant's addresses, told apart by pay_amount). Empty on orders created
	// before the field existed: those are xpub orders.
	ReceiveMode  ReceiveMode `json:"receive_mode,omitempty"`
	Payments     []Payment   `json:"payments"`
	CreatedAt    time.Time   `json:"created_at"`
	ExpiresAt    time.Time   `json:"expires_at"`
	PaidAt       *time.Time  `json:"paid_at"`
	FrozenReason string      `json:"frozen_reason,omitempty"`
	// Dust: transfers below the operator's dust threshold (zero-value ones among them, which
	// anyone can send "from" any address). They never change the status, the amounts or the
	// payments and send no webhook; they are only counted here once final, with the last few
	// kept (DustRecent, newest last, bounded), so the record stays small however many arrive.
	DustCount  int64          `json:"dust_count"`
	DustAmount Amount         `json:"dust_amount"`
	DustRecent []DustTransfer `json:"dust_recent,omitempty"`
	// AllowNetworkSwitch: the customer may move the order to another of SwitchNetworks on the
	// checkout while nothing is received (network_switch.go); PreviousAddresses are the
	// deposit addresses it held before such a switch, still watched and bound to it.
	AllowNetworkSwitch bool              `json:"allow_network_switch"`
	SwitchNetworks     []Network         `json:"switch_networks,omitempty"`
	PreviousAddresses  []PreviousAddress `json:"previous_addresses,omitempty"`
}

// DustTransfer is a final transfer to an order's address that was below the dust threshold.
type DustTransfer struct {
	TxHash      string `json:"tx_hash"`
	LogIndex    uint   `json:"log_index"`
	From        string `json:"from"`
	Amount      Amount `json:"amount"`
	BlockNumber uint64 `json:"block_number"`
}

// PaymentStatus is where one on-chain transfer to an order stands.
type PaymentStatus string

// The payment statuses.
const (
	PaymentConfirming PaymentStatus = "confirming" // seen, not yet final
	PaymentConfirmed  PaymentStatus = "confirmed"  // final: counted in amount_paid
	PaymentReverted   PaymentStatus = "reverted"   // removed by a reorg before it was final
)

// Payment is one USDT transfer to an order's deposit address.
type Payment struct {
	TxHash                string        `json:"tx_hash"`
	LogIndex              uint          `json:"log_index"`
	From                  string        `json:"from"`
	Amount                Amount        `json:"amount"`
	BlockNumber           uint64        `json:"block_number"`
	Confirmations         uint64        `json:"confirmations"`
	ConfirmationsRequired uint64        `json:"confirmations_required"`
	Status                PaymentStatus `json:"status"`
	// Late: first seen at or after the order's expiry (or its terminal status). Timeliness is
	// judged by first sighting: a transfer seen before expiry stays on time even if it
	// confirms after it, or is removed by a reorg and re-included after it.
	Late bool `json:"late"`
	// FirstSeenAt is when the edge first saw the transfer (or, for a transaction re-included
	// by a reorg under another log index, the first sighting of that transaction).
	FirstSeenAt time.Time `json:"first_seen_at,omitzero"`
	// RevertedAt is when a reorg removed the transfer, while it stays removed. An on-time
	// transfer removed after the order's expiry holds the order open for the reorg grace
	// window from then, waiting for re-inclusion.
	RevertedAt *time.Time `json:"reverted_at,omitempty"`
	// Network and Address name where the transfer went when that is not the order's current
	// deposit: one of its PreviousAddresses, after a network switch (such a payment is late).
	Network Network `json:"network,omitempty"`
	Address string  `json:"address,omitempty"`
}

// MinPaid is the confirmed total that settles the order as PAID.
func (o *Order) MinPaid() Amount { return MinPaid(o.Amount, o.TolerancePercent) }

// DeepLink is the MPChat app link that opens the payment natively.
func DeepLink(orderID string) string { return "mpchat://pay?order=" + url.QueryEscape(orderID) }

// CheckoutView is the customer-safe view of an order: what the checkout widget and the public
// event stream show. It never carries metadata, webhook_url or other merchant-private fields.
type CheckoutView struct {
	ID            string `json:"id"`
	Status        Status `json:"status"`
	Amount        Amount `json:"amount"`
	PayAmount     Amount `json:"pay_amount"`
	AmountPaid    Amount `json:"amount_paid"`
	AmountPending Amount `json:"amount_pending"`
	// AmountOverpaid is the confirmed surplus above amount; AmountLate what was confirmed
	// after the order reached a terminal status (late funds): the checkout names both.
	AmountOverpaid Amount  `json:"amount_overpaid"`
	AmountLate     Amount  `json:"amount_late"`
	Currency       string  `json:"currency"`
	Network        Network `json:"network"`
	Address        string  `json:"address"`
	// ReceiveMode "addresses": the address is shared by the merchant's orders and pay_amount
	// alone tells them apart, so the customer must send it exactly (or claim by tx hash).
	ReceiveMode ReceiveMode       `json:"receive_mode,omitempty"`
	Description string            `json:"description"`
	ReturnURL   string            `json:"return_url"`
	DeepLink    string            `json:"deep_link"`
	Payments    []CheckoutPayment `json:"payments"`
	CreatedAt   time.Time         `json:"created_at"`
	ExpiresAt   time.Time         `json:"expires_at"`
	PaidAt      *time.Time        `json:"paid_at"`
	// Merchant is who the customer pays and how to reach them. The public order read and the
	// checkout page fill it from the merchant's record; event-stream messages leave it out
	// (it does not change with the order).
	Merchant *CheckoutMerchant `json:"merchant,omitempty"`
	// NetworkChoices are the networks the customer may switch the order between, present only
	// while it can switch (Order.NetworkChoices).
	NetworkChoices []Network `json:"network_choices,omitempty"`
}

// CheckoutMerchant is the customer-facing part of a merchant: its name, logo and support
// contact (operator-set, see Merchant).
type CheckoutMerchant struct {
	Name         string `json:"name"`
	LogoURL      string `json:"logo_url,omitempty"`
	SupportURL   string `json:"support_url,omitempty"`
	SupportEmail string `json:"support_email,omitempty"`
}

// CheckoutMerchant returns the customer-facing part of the merchant.
func (m *Merchant) CheckoutMerchant() *CheckoutMerchant {
	return &CheckoutMerchant{Name: m.Name, LogoURL: m.LogoURL, SupportURL: m.SupportURL, SupportEmail: m.SupportEmail}
}

// CheckoutPayment is the customer-safe view of a payment.
type CheckoutPayment struct {
	TxHash                string        `json:"tx_hash"`
	Amount                Amount        `json:"amount"`
	Confirmations         uint64        `json:"confirmations"`
	ConfirmationsRequired uint64        `json:"confirmations_required"`
	Status                PaymentStatus `json:"status"`
	// Late: the transfer was first seen after the order's expiry or terminal status.
	Late bool `json:"late,omitempty"`
}

// CheckoutView returns the customer-safe view of the order.
func (o *Order) CheckoutView() CheckoutView {
	v := CheckoutView{
		ID: o.ID, Status: o.Status, Amount: o.Amount, PayAmount: o.PayAmount,
		AmountPaid: o.AmountPaid, AmountPending: o.AmountPending, AmountOverpaid: o.AmountOverpaid,
		AmountLate: o.AmountLate, Currency: o.Currency,
		Network: o.Network, Address: o.Address, ReceiveMode: o.ReceiveMode, Description: o.Description,
		ReturnURL: o.ReturnURL, DeepLink: o.DeepLink, CreatedAt: o.CreatedAt,
		ExpiresAt: o.ExpiresAt, PaidAt: o.PaidAt, Payments: []CheckoutPayment{},
		NetworkChoices: o.NetworkChoices(),
	}
	for _, p := range o.Payments {
		v.Payments = append(v.Payments, CheckoutPayment{
			TxHash: p.TxHash, Amount: p.Amount, Confirmations: p.Confirmations,
			ConfirmationsRequired: p.ConfirmationsRequired, Status: p.Status, Late: p.Late,
		})
	}
	return v
}
