package checkout

import (
	"strconv"
	"strings"
	"time"
)

// TransferKind says what a watcher observed about a transfer log.
type TransferKind string

// The kinds of transfer observation, in the order a transfer normally goes through them.
const (
	// TransferSeen: the log is in the canonical chain with fewer than Required confirmations.
	// Sent again whenever its confirmation count grows.
	TransferSeen TransferKind = "seen"
	// TransferConfirmed: the log has Required confirmations; final.
	TransferConfirmed TransferKind = "confirmed"
	// TransferRemoved: a reorg removed a log previously reported as seen (never one confirmed).
	TransferRemoved TransferKind = "removed"
)

// Transfer is one USDT Transfer log to a watched deposit address, as a watcher reports it on
// the network's feed stream (FeedStream). Watchers may report the same observation more than
// once (after a crash); consumers dedupe on Key and Kind.
type Transfer struct {
	Kind          TransferKind `json:"kind"`
	Network       Network      `json:"network"`
	TxHash        string       `json:"tx_hash"` // 0x + 64 lowercase hex
	LogIndex      uint         `json:"log_index"`
	BlockNumber   uint64       `json:"block_number"`
	BlockHash     string       `json:"block_hash"`
	From          string       `json:"from"` // network format: T… base58check or EIP-55 0x…
	To            string       `json:"to"`   // network format, as in the watch set
	Amount        Amount       `json:"amount"`
	Confirmations uint64       `json:"confirmations"` // blocks including its own
	Required      uint64       `json:"required"`      // confirmations that make it final
	ObservedAt    time.Time    `json:"observed_at"`
}

// Key identifies the transfer across observations: network, tx hash and log index.
func (t *Transfer) Key() string {
	return string(t.Network) + ":" + t.TxHash + ":" + strconv.FormatUint(uint64(t.LogIndex), 10)
}

// Redis keys shared by the watchers and the edge (each deployment prefixes them with its own
// key prefix, MP_REDIS_PREFIX). The hash tag keeps a network's keys in one Cluster slot.

// FeedStream is the stream a network's watcher appends Transfers to, one JSON object in the
// field FeedField per entry. The edge reads it with a consumer group.
func FeedStream(n Network) string { return "feed:{" + string(n) + "}" }

// FeedField is the stream entry field holding the Transfer JSON.
const FeedField = "transfer"

// WatchSet is the Redis set of deposit addresses (network format) the network's watcher reports
// transfers to. The edge adds an order's address before the order exists, so no payment to an
// address it handed out can go unreported.
func WatchSet(n Network) string { return "watch:{" + string(n) + "}" }

// ParseTxHash reads a transaction hash as people paste it: TRON explorers and wallets show 64
// hex digits without the 0x that Ethereum tools and this API use, and copies often carry
// spaces or upper case. It returns the hash as 0x + 64 lowercase hex digits, or false.
func ParseTxHash(s string) (string, bool) {
	s = strings.ToLower(strings.Join(strings.Fields(s), ""))
	s = strings.TrimPrefix(s, "0x")
	if len(s) != 64 {
		return "", false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return "0x" + s, true
}
