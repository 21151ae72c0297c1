package checkout

import "time"

// ReceiveMode is how a merchant receives payments on one network.
type ReceiveMode string

// The receive modes. Neither holds a private key.
const (
	// ReceiveXPub: a fresh deposit address per order, derived from the merchant's account
	// xpub. Each payment is told apart by its address; on TRON every fresh address costs
	// activation, energy and a sweep.
	ReceiveXPub ReceiveMode = "xpub"
	// ReceiveAddresses: the merchant's own watch-only addresses, shared by orders; each order
	// reserves a unique (address, pay_amount) pair, pay_amount being the amount plus the
	// smallest free offset of 0.000001 steps up to the merchant's cap.
	ReceiveAddresses ReceiveMode = "addresses"
)

// Defaults of ReceiveConfig.
const (
	// DefaultMaxOffset caps what addresses mode adds to an amount to make it unique: 0.01 USDT.
	DefaultMaxOffset = Unit / 100
	// DefaultLateWindow is how long a reservation outlives its order's terminal status, so
	// late funds of the exact pay_amount still find their order.
	DefaultLateWindow = 24 * time.Hour
	// MaxReceiveAddresses bounds the addresses one merchant network lists.
	MaxReceiveAddresses = 100
)

// ReceiveConfig is a merchant's receive mode for one network (Merchant.Receive).
type ReceiveConfig struct {
	Mode ReceiveMode `json:"mode"`
	// Addresses are the watch-only receive addresses of addresses mode (network format).
	Addresses []string `json:"addresses,omitempty"`
	// MaxOffset caps pay_amount − amount; 0 = DefaultMaxOffset.
	MaxOffset Amount `json:"max_offset,omitempty"`
	// LateWindow: how long a pair stays reserved after its order is final; 0 = DefaultLateWindow.
	LateWindow time.Duration `json:"late_window,omitempty"`
}

// Offset is the configured offset cap.
func (c ReceiveConfig) Offset() Amount {
	if c.MaxOffset <= 0 {
		return DefaultMaxOffset
	}
	return c.MaxOffset
}

// Window is the configured late-funds window.
func (c ReceiveConfig) Window() time.Duration {
	if c.LateWindow <= 0 {
		return DefaultLateWindow
	}
	return c.LateWindow
}

// ReceiveFor returns the merchant's receive settings for n: xpub mode unless the operator
// chose addresses mode for it.
func (m *Merchant) ReceiveFor(n Network) ReceiveConfig {
	if c, ok := m.Receive[n]; ok && c.Mode == ReceiveAddresses && len(c.Addresses) > 0 {
		return c
	}
	return ReceiveConfig{Mode: ReceiveXPub}
}

// TransferStatus is where a transfer to a merchant's receive address stands.
type TransferStatus string

// The transfer statuses.
const (
	TransferUnmatched TransferStatus = "unmatched" // credited to no order: claim or attach it
	TransferCredited  TransferStatus = "credited"  // credited to order_id
)

// ReceivedTransfer is a transfer the watcher reported to a merchant's receive address (addresses
// mode), as GET /v1/transfers lists it.
type ReceivedTransfer struct {
	Status        TransferStatus `json:"status"`
	OrderID       string         `json:"order_id,omitempty"`
	Network       Network        `json:"network"`
	Address       string         `json:"address"`
	TxHash        string         `json:"tx_hash"`
	LogIndex      uint           `json:"log_index"`
	From          string         `json:"from"`
	Amount        Amount         `json:"amount"`
	BlockNumber   uint64         `json:"block_number"`
	Confirmations uint64         `json:"confirmations"`
	Kind          TransferKind   `json:"kind"` // the last observation: seen, confirmed or removed
	FirstSeenAt   time.Time      `json:"first_seen_at"`
}
