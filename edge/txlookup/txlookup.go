// Package txlookup answers support's question "what happened to this transaction?" for one
// network: the USDT Transfer logs the transaction's receipt holds (read from the chain's
// JSON-RPC endpoints), and for each log what the gateway knows: whether its address is
// watched, which order (or, in addresses mode, which merchant) the address is bound to, and
// whether the transfer was credited (the order's payments, by tx hash and log index),
// recorded unmatched, parked in the orphans record, or never recorded at all.
//
// It lives in the edge because the order state it reads belongs to the edge's store; the
// chain side is a single eth_getTransactionReceipt through go-ethereum's RPC client, so the
// edge never imports the watcher. It writes nothing.
package txlookup

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/rpcspec"
	"github.com/mpchat/checkout/internal/secreturl"
)

// transferTopic is topic 0 of ERC20 Transfer(address,address,uint256).
var transferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))

// OrphanScan bounds how many of the newest orphan records a lookup searches.
const OrphanScan = 10_000

// ErrNotFound: no endpoint that answered has the transaction (unknown, on another network,
// or not mined yet).
var ErrNotFound = errors.New("transaction not found")

// ParseHash normalises a transaction hash: 64 hex digits, with or without 0x (TRON's
// explorers show them without), to 0x + lowercase, the spelling the feed and orders use.
func ParseHash(s string) (string, error) {
	h := strings.TrimSpace(s)
	h = strings.TrimPrefix(strings.TrimPrefix(h, "0x"), "0X")
	if len(h) != 64 {
		return "", fmt.Errorf("transaction hash %q: want 64 hex digits (with or without 0x), got %d characters", cut(s), len(h))
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("transaction hash %q: not hexadecimal", cut(s))
	}
	return "0x" + strings.ToLower(h), nil
}

func cut(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Node is one JSON-RPC endpoint the lookup reads from.
type Node struct {
	Name   string // "#index scheme://host": never its path, query or headers
	client *rpc.Client
}

// Dial prepares the endpoints (nothing is sent yet): global headers first, an endpoint's own
// replace a global one of the same name; timeout bounds each call.
func Dial(ctx context.Context, cfgs []rpcspec.Config, global http.Header, timeout time.Duration) ([]Node, error) {
	var out []Node
	for i, c := range cfgs {
		h := global.Clone()
		if h == nil {
			h = http.Header{}
		}
		for k, v := range c.Headers {
			h[k] = v
		}
		name := fmt.Sprintf("#%d %s", i, secreturl.Redact(c.URL))
		cl, err := rpc.DialOptions(ctx, c.URL, rpc.WithHeaders(h), rpc.WithHTTPClient(&http.Client{Timeout: timeout}))
		if err != nil {
			return nil, fmt.Errorf("endpoint %s: %s", name, secreturl.Scrub(err.Error()))
		}
		out = append(out, Node{Name: name, client: cl})
	}
	return out, nil
}

// Close closes the endpoints' clients.
func Close(nodes []Node) {
	for _, n := range nodes {
		n.client.Close()
	}
}

type rpcLog struct {
	Address  common.Address `json:"address"`
	Topics   []common.Hash  `json:"topics"`
	Data     hexutil.Bytes  `json:"data"`
	LogIndex hexutil.Uint   `json:"logIndex"`
}

type rpcReceipt struct {
	BlockNumber hexutil.Uint64  `json:"blockNumber"`
	BlockHash   string          `json:"blockHash"`
	Status      *hexutil.Uint64 `json:"status"`
	Logs        []rpcLog        `json:"logs"`
}

// Report is what the chain and the gateway know of one transaction.
type Report struct {
	Network       checkout.Network `json:"network"`
	TxHash        string           `json:"tx_hash"`
	Endpoint      string           `json:"endpoint"` // the endpoint the receipt was read from
	BlockNumber   uint64           `json:"block_number"`
	BlockHash     string           `json:"block_hash"`
	Succeeded     bool             `json:"succeeded"` // the receipt's status (a failed transaction moves no USDT)
	Head          uint64           `json:"head"`
	Confirmations uint64           `json:"confirmations"` // blocks, its own included, at Head
	Token         string           `json:"token"`
	OtherLogs     int              `json:"other_logs"` // logs that are no USDT Transfer
	Transfers     []Transfer       `json:"transfers"`
}

// The verdicts of a transfer, from the gateway's side.
const (
	Credited    = "credited"     // on the order's payments, confirmed: counted in amount_paid
	Confirming  = "confirming"   // on the order's payments, not final yet
	Reverted    = "reverted"     // on the order's payments, removed by a reorg
	Unmatched   = "unmatched"    // recorded to a merchant's receive address, credited to no order
	Orphan      = "orphan"       // reported, but no order took it: in the orphans record
	NotRecorded = "not_recorded" // to an address of the gateway, but nothing recorded it
	NotOurs     = "not_ours"     // to an address the gateway never handed out or bound
)

// Transfer is one USDT Transfer log of the transaction and the gateway's view of it.
type Transfer struct {
	LogIndex uint            `json:"log_index"`
	From     string          `json:"from"`
	To       string          `json:"to"`
	Amount   checkout.Amount `json:"amount"`
	Watched  bool            `json:"watched"` // the address is in the watch set
	// Binding: "order" (an order's deposit address, xpub mode), "merchant" (a merchant's
	// receive address, addresses mode) or "none".
	Binding    string            `json:"binding"`
	MerchantID string            `json:"merchant_id,omitempty"`
	OrderID    string            `json:"order_id,omitempty"` // the order bound or credited
	Order      *OrderSummary     `json:"order,omitempty"`
	Payment    *checkout.Payment `json:"payment,omitempty"` // the order's payment of this log
	Verdict    string            `json:"verdict"`
	Reason     string            `json:"reason,omitempty"` // the orphan record's reason
	Note       string            `json:"note"`             // what it means, for a person
}

// OrderSummary is the order a transfer concerns, in brief.
type OrderSummary struct {
	Status     checkout.Status `json:"status"`
	Amount     checkout.Amount `json:"amount"`
	PayAmount  checkout.Amount `json:"pay_amount"`
	AmountPaid checkout.Amount `json:"amount_paid"`
	Payments   int             `json:"payments"`
}

// Lookup reads the transaction's receipt (the first endpoint that has it; one that fails is
// skipped) and tells, for each USDT Transfer log of token in it, what the gateway recorded.
// ErrNotFound (wrapped) when no endpoint that answered has it; an error naming the failures
// when none answered.
func Lookup(ctx context.Context, st *store.Store, nodes []Node, n checkout.Network, token [20]byte, txHash string) (*Report, error) {
	rc, node, err := receipt(ctx, nodes, txHash)
	if err != nil {
		return nil, err
	}
	rep := &Report{Network: n, TxHash: txHash, Endpoint: node.Name, BlockNumber: uint64(rc.BlockNumber),
		BlockHash: rc.BlockHash, Succeeded: rc.Status == nil || *rc.Status == 1, Token: deposit.Format(n, token),
		Transfers: []Transfer{}}
	var head hexutil.Uint64
	if err := node.client.CallContext(ctx, &head, "eth_blockNumber"); err != nil {
		return nil, fmt.Errorf("head of %s: %s", node.Name, secreturl.Scrub(err.Error()))
	}
	rep.Head = uint64(head)
	if rep.Head >= rep.BlockNumber {
		rep.Confirmations = rep.Head - rep.BlockNumber + 1
	}
	var orphans []store.Orphan
	orphansRead := false
	for _, l := range rc.Logs {
		if l.Address != common.Address(token) || len(l.Topics) != 3 || l.Topics[0] != transferTopic || len(l.Data) != 32 {
			rep.OtherLogs++
			continue
		}
		t := Transfer{LogIndex: uint(l.LogIndex),
			From: deposit.Format(n, common.BytesToAddress(l.Topics[1].Bytes())),
			To:   deposit.Format(n, common.BytesToAddress(l.Topics[2].Bytes()))}
		if v := new(big.Int).SetBytes(l.Data); v.IsInt64() && v.Int64() <= int64(checkout.MaxTransfer) {
			t.Amount = checkout.Amount(v.Int64())
		} else {
			t.Note = "amount " + v.String() + " is beyond USDT's supply: the watcher never reports it (an anomaly record)"
		}
		if !orphansRead {
			if orphans, err = st.OrphansOfTx(ctx, n, txHash, OrphanScan); err != nil {
				return nil, err
			}
			orphansRead = true
		}
		if err := explain(ctx, st, rep, &t, orphans); err != nil {
			return nil, err
		}
		rep.Transfers = append(rep.Transfers, t)
	}
	return rep, nil
}

func receipt(ctx context.Context, nodes []Node, txHash string) (*rpcReceipt, *Node, error) {
	var failed []string
	answered := 0
	for i := range nodes {
		var rc *rpcReceipt
		if err := nodes[i].client.CallContext(ctx, &rc, "eth_getTransactionReceipt", txHash); err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			failed = append(failed, nodes[i].Name+": "+secreturl.Scrub(err.Error()))
			continue
		}
		answered++
		if rc != nil && rc.BlockHash != "" {
			return rc, &nodes[i], nil
		}
	}
	if answered == 0 {
		return nil, nil, fmt.Errorf("no endpoint answered: %s", strings.Join(failed, "; "))
	}
	err := fmt.Errorf("%w: %s is not a mined transaction on the %d endpoint(s) that answered", ErrNotFound, txHash, answered)
	if len(failed) > 0 {
		err = fmt.Errorf("%w (%d failed: %s)", err, len(failed), strings.Join(failed, "; "))
	}
	return nil, nil, err
}

// explain fills in what the gateway recorded of transfer t.
func explain(ctx context.Context, st *store.Store, rep *Report, t *Transfer, orphans []store.Orphan) error {
	n := rep.Network
	var err error
	if t.Watched, err = st.IsWatched(ctx, n, t.To); err != nil {
		return err
	}
	var orphan *store.Orphan
	for i := range orphans {
		if orphans[i].Transfer.LogIndex == t.LogIndex {
			orphan = &orphans[i]
			break
		}
	}
	bound, err := st.OrderIDByAddress(ctx, n, t.To)
	switch {
	case errors.Is(err, store.ErrNotFound):
		t.Binding = "none"
	case err != nil:
		return err
	case store.IsMerchantID(bound):
		t.Binding, t.MerchantID = "merchant", bound
	default:
		t.Binding, t.OrderID = "order", bound
	}
	if t.Binding == "merchant" {
		rec, err := st.ReceivedTransfer(ctx, n, t.To, fmt.Sprintf("%s:%d", rep.TxHash, t.LogIndex))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case rec.Status == checkout.TransferUnmatched:
			t.Verdict = Unmatched
			t.Note = "recorded to the merchant's receive address, credited to no order (no reservation matched " +
				t.Amount.String() + " USDT); the merchant can claim it by tx hash"
			return nil
		default:
			t.OrderID = rec.OrderID
		}
	}
	if t.OrderID != "" {
		r, err := st.Order(ctx, t.OrderID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if r != nil {
			o := &r.Order
			t.Order = &OrderSummary{Status: o.Status, Amount: o.Amount, PayAmount: o.PayAmount, AmountPaid: o.AmountPaid, Payments: len(o.Payments)}
			if t.MerchantID == "" {
				t.MerchantID = r.MerchantID
			}
			for i := range o.Payments {
				if p := o.Payments[i]; p.TxHash == rep.TxHash && p.LogIndex == t.LogIndex {
					t.Payment = &p
					break
				}
			}
		}
	}
	switch {
	case t.Payment != nil && t.Payment.Status == checkout.PaymentConfirmed:
		t.Verdict = Credited
		t.Note = fmt.Sprintf("credited to order %s (%s, amount_paid %s)", t.OrderID, t.Order.Status, t.Order.AmountPaid)
		if t.Payment.Late {
			t.Note += "; late funds: first seen after the order's expiry or terminal status"
		}
	case t.Payment != nil && t.Payment.Status == checkout.PaymentConfirming:
		t.Verdict = Confirming
		t.Note = fmt.Sprintf("on order %s, waiting for confirmations (%d of %d when last reported)", t.OrderID,
			t.Payment.Confirmations, t.Payment.ConfirmationsRequired)
	case t.Payment != nil:
		t.Verdict = Reverted
		t.Note = fmt.Sprintf("on order %s, removed by a reorg", t.OrderID)
	case orphan != nil:
		t.Verdict, t.Reason = Orphan, orphan.Reason
		t.Note = "reported by the watcher, taken by no order: in the orphans record (" + orphan.Reason + ")"
	case t.Binding == "none":
		t.Verdict = NotOurs
		t.Note = "the address is no deposit address of an order and no merchant's receive address here"
		if t.Watched {
			t.Note = "the address is watched but bound to no order or merchant (an order whose create did not finish)"
		}
	default:
		t.Verdict = NotRecorded
		switch {
		case !t.Watched:
			t.Note = "the address is not in the watch set, so the watcher did not report it; add it back, then rescan its block"
		default:
			t.Note = fmt.Sprintf("nothing recorded it: the watcher has not reported it (%d confirmations now); "+
				"if the watcher's checkpoint is past block %d, it missed it: rescan that block (watcher rescan)", rep.Confirmations, rep.BlockNumber)
		}
	}
	return nil
}
