package checkout

import "fmt"

// Network is the chain a USDT payment travels on.
type Network string

// The supported networks.
const (
	TRC20 Network = "TRC20" // USDT on TRON
	ERC20 Network = "ERC20" // USDT on Ethereum
)

// Networks lists every supported network.
var Networks = []Network{TRC20, ERC20}

// ParseNetwork accepts exactly "TRC20" or "ERC20".
func ParseNetwork(s string) (Network, error) {
	switch Network(s) {
	case TRC20, ERC20:
		return Network(s), nil
	}
	return "", fmt.Errorf("network must be \"TRC20\" or \"ERC20\", got %q", s)
}

// Label is the customer-facing name ("TRC20 · TRON").
func (n Network) Label() string {
	switch n {
	case TRC20:
		return "TRC20 · TRON"
	case ERC20:
		return "ERC20 · Ethereum"
	}
	return string(n)
}

// CoinType is the BIP44 coin type of the network's deposit addresses (SLIP-44).
func (n Network) CoinType() uint32 {
	if n == TRC20 {
		return 195
	}
	return 60
}

// DefaultConfirmations is how many blocks (the transfer's own included) make a transfer final
// on the network: 19 on TRON (solidified), 12 on Ethereum.
func (n Network) DefaultConfirmations() uint64 {
	if n == TRC20 {
		return 19
	}
	return 12
}

// MainnetUSDT is the USDT contract on the network, in its own format (what the watcher
// watches and a transaction lookup reads when no other token is configured).
func (n Network) MainnetUSDT() string {
	if n == TRC20 {
		return "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
	}
	return "0xdAC17F958D2ee523a2206206994597C13D831ec7"
}
