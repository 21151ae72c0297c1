// Package evm scans an Ethereum-compatible JSON-RPC chain (Ethereum, or TRON's JSON-RPC) for
// USDT Transfer logs to watched deposit addresses and reports them on the network's feed:
// seen while confirming (again as confirmations grow), confirmed once final, removed when a
// reorg drops a log before it was final.
//
// Each step scans from the checkpoint (the last block whose logs are final and reported) to
// the head, in ranges of at most MaxRange blocks. Logs at or below head+1−Required are final;
// the unconfirmed window above is rescanned every step and compared with the persisted
// pending set, which is how reorgs are seen without ever computing a block hash (TRON's
// differ from what go-ethereum would compute; only the hashes the node reports are used).
//
// A pending log that a scan no longer finds is reported removed only when the node shows
// another block at its height: a node whose head steps back (a load-balanced provider
// answering from a lagging node) or whose log answer is incomplete makes the scanner wait,
// never un-credit a transfer that is still canonical, and the checkpoint never goes down.
package evm

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/watcher/feed"
)

// TransferTopic is topic 0 of ERC20 Transfer(address,address,uint256).
var TransferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))

// Chain is the RPC surface the scanner needs; *ethclient.Client satisfies it. Client is the
// raw JSON-RPC client, for the block hashes the node reports (eth_getBlockByNumber) without
// go-ethereum's header decoding, which computes hashes TRON's nodes do not use.
type Chain interface {
	BlockNumber(ctx context.Context) (uint64, error)
	FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error)
	Client() *rpc.Client
}

// Store is the scanner's persisted state; *feed.Feed satisfies it.
type Store interface {
	Load(ctx context.Context) (*feed.State, error)
	Watched(ctx context.Context, addrs []string) ([]bool, error)
	Commit(ctx context.Context, s *feed.Step) error
	Anomaly(ctx context.Context, reason string, detail map[string]any) error
}

// DefaultMaxRange is the largest block range of one eth_getLogs (TRON allows 5,000).
const DefaultMaxRange = 2000

// Scanner scans one network.
type Scanner struct {
	Chain    Chain
	Store    Store
	Network  checkout.Network
	Token    common.Address
	Required uint64 // confirmations that make a transfer final (≥ 1)
	MaxRange uint64 // default DefaultMaxRange
	// StartBlock is where a watcher with no checkpoint starts (its first block scanned);
	// nil starts at the current unconfirmed window.
	StartBlock *uint64
	Now        func() time.Time
	Log        *slog.Logger

	mu       sync.Mutex
	progress Progress
}

// Step runs one scan step and commits it. It returns true when the scanner is at the head
// (the caller may wait for a new block) and false when more catch-up remains.
func (s *Scanner) Step(ctx context.Context) (bool, error) {
	maxRange := s.MaxRange
	if maxRange == 0 {
		maxRange = DefaultMaxRange
	}
	required := max(s.Required, 1)
	head, err := s.Chain.BlockNumber(ctx)
	if err != nil {
		return false, fmt.Errorf("head: %w", err)
	}
	st, err := s.Store.Load(ctx)
	if err != nil {
		return false, err
	}
	if st.Started && head < st.Checkpoint && s.Log != nil {
		// A resynced node, or one of another chain: nothing is scanned until it passes the
		// checkpoint, so say so loudly.
		s.Log.Warn("watcher: node head is behind the checkpoint; waiting for it", "head", head, "checkpoint", st.Checkpoint)
	}
	// finalHead: the highest final block (head+1−required), or -1 when none is.
	finalHead := int64(head) + 1 - int64(required)
	cp := int64(st.Checkpoint)
	if !st.Started {
		cp = finalHead
		if s.StartBlock != nil {
			cp = int64(*s.StartBlock) - 1
		}
		if cp < -1 {
			cp = -1
		}
	}
	step := &feed.Step{Upsert: map[string]checkout.Transfer{}}
	hashes := map[uint64]*string{} // block hashes at heights checked this step (nil: none)
	if cp < finalHead {            // catch up on final blocks, one bounded range per step
		to := min(cp+int64(maxRange), finalHead)
		if err := s.scan(ctx, uint64(cp+1), uint64(to), head, true, st.Pending, step, hashes); err != nil {
			return false, err
		}
		step.Checkpoint = uint64(max(to, 0))
		if to < finalHead {
			return false, s.commit(ctx, step, head, step.Checkpoint, false)
		}
		cp = to
	} else {
		step.Checkpoint = uint64(max(cp, 0))
	}
	if uint64(cp+1) <= head { // the unconfirmed window, rescanned every step
		from := uint64(cp + 1)
		if head-from+1 > maxRange {
			from = head - maxRange + 1
		}
		if err := s.scan(ctx, from, head, head, false, st.Pending, step, hashes); err != nil {
			return false, err
		}
	}
	// Pending logs above the head: the chain got shorter, or (far more often) the node
	// answering is behind. Removed only if the node has another block at that height.
	for _, k := range sortedKeys(st.Pending) {
		p := st.Pending[k]
		if p.BlockNumber > head && !deleted(step, k) {
			if err := s.removeIfReplaced(ctx, step, k, p, hashes); err != nil {
				return false, err
			}
		}
	}
	return true, s.commit(ctx, step, head, max(head, step.Checkpoint), true)
}

// Progress is where a scanner stood after its last committed step (for metrics).
type Progress struct {
	Head       uint64 // the chain head the step saw
	Scanned    uint64 // highest block scanned: the head once caught up
	Checkpoint uint64 // highest block whose logs are final and reported
	CaughtUp   bool   // the step reached the head
	// Seen, Confirmed and Removed count the feed entries the step wrote, by kind.
	Seen, Confirmed, Removed int
}

// Lag is how many blocks the scanner is behind the head it saw (0 when caught up).
func (p Progress) Lag() uint64 {
	if p.Head > p.Scanned {
		return p.Head - p.Scanned
	}
	return 0
}

// Progress returns where the last committed step left the scanner (zero before the first).
func (s *Scanner) Progress() Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.progress
}

// commit commits the step and records the progress it makes.
func (s *Scanner) commit(ctx context.Context, step *feed.Step, head, scanned uint64, caughtUp bool) error {
	if err := s.Store.Commit(ctx, step); err != nil {
		return err
	}
	p := Progress{Head: head, Scanned: scanned, Checkpoint: step.Checkpoint, CaughtUp: caughtUp}
	for _, t := range step.Emit {
		switch t.Kind {
		case checkout.TransferSeen:
			p.Seen++
		case checkout.TransferConfirmed:
			p.Confirmed++
		case checkout.TransferRemoved:
			p.Removed++
		}
	}
	s.mu.Lock()
	s.progress = p
	s.mu.Unlock()
	return nil
}

// scan reads [from, to] and turns logs to watched addresses into observations. final says
// the whole range is final. Pending entries in the range that are no longer found are removed.
func (s *Scanner) scan(ctx context.Context, from, to, head uint64, final bool, pending map[string]checkout.Transfer, step *feed.Step, hashes map[uint64]*string) error {
	logs, err := s.Chain.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to),
		Addresses: []common.Address{s.Token}, Topics: [][]common.Hash{{TransferTopic}},
	})
	if err != nil {
		return fmt.Errorf("logs %d-%d: %w", from, to, err)
	}
	found, err := s.watchedTransfers(ctx, logs, head)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, t := range found {
		k := t.Key()
		seen[k] = true
		old, wasPending := pending[k]
		if wasPending && old.BlockHash != t.BlockHash {
			s.remove(step, k, old) // re-mined elsewhere: drop the old sighting first
			wasPending = false
		}
		switch {
		case final || t.Confirmations >= t.Required:
			t.Kind = checkout.TransferConfirmed
			step.Emit = append(step.Emit, t)
			if _, ok := pending[k]; ok {
				step.Delete = append(step.Delete, k)
				delete(step.Upsert, k)
			}
		case !wasPending || t.Confirmations > old.Confirmations:
			t.Kind = checkout.TransferSeen
			step.Emit = append(step.Emit, t)
			step.Upsert[k] = t
		}
	}
	// Pending logs in this range that the answer lacks: removed by a reorg, if the block
	// they were in is really gone.
	for _, k := range sortedKeys(pending) {
		p := pending[k]
		if p.BlockNumber >= from && p.BlockNumber <= to && !seen[k] && !deleted(step, k) {
			if err := s.removeIfReplaced(ctx, step, k, p, hashes); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeIfReplaced reports the pending log p removed if the node's canonical block at its
// height has another hash. If the node has no block there (it is behind, or the chain is
// shorter for now) or still has the same block (its log answer was incomplete), the log stays
// pending and is checked again next step: removing it would un-credit a transfer that may
// well be canonical, and a real reorg is reported as soon as the node shows the other block.
func (s *Scanner) removeIfReplaced(ctx context.Context, step *feed.Step, k string, p checkout.Transfer, hashes map[uint64]*string) error {
	h, ok := hashes[p.BlockNumber]
	if !ok {
		var err error
		if h, err = s.blockHash(ctx, p.BlockNumber); err != nil {
			return err
		}
		hashes[p.BlockNumber] = h
	}
	switch {
	case h == nil:
		s.warn("watcher: pending transfer's block not served by the node (behind?); keeping it", p, "")
	case *h == p.BlockHash:
		s.warn("watcher: pending transfer missing from the node's logs but its block is canonical; keeping it", p, *h)
	default:
		s.remove(step, k, p)
	}
	return nil
}

// blockHash is the hash of the node's canonical block at height n, as the node reports it;
// nil when the node has no block there.
func (s *Scanner) blockHash(ctx context.Context, n uint64) (*string, error) {
	var b *struct {
		Hash string `json:"hash"`
	}
	if err := s.Chain.Client().CallContext(ctx, &b, "eth_getBlockByNumber", hexutil.EncodeUint64(n), false); err != nil {
		return nil, fmt.Errorf("block %d: %w", n, err)
	}
	if b == nil || b.Hash == "" {
		return nil, nil
	}
	// Compare in go-ethereum's spelling, which is how logs' hashes are stored.
	h := common.HexToHash(b.Hash).Hex()
	return &h, nil
}

func (s *Scanner) warn(msg string, p checkout.Transfer, canonical string) {
	if s.Log != nil {
		s.Log.Warn(msg, "tx", p.TxHash, "log_index", p.LogIndex, "block", p.BlockNumber,
			"block_hash", p.BlockHash, "canonical_hash", canonical)
	}
}

func sortedKeys(m map[string]checkout.Transfer) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *Scanner) remove(step *feed.Step, k string, p checkout.Transfer) {
	p.Kind = checkout.TransferRemoved
	p.ObservedAt = s.now()
	step.Emit = append(step.Emit, p)
	step.Delete = append(step.Delete, k)
	delete(step.Upsert, k)
}

func deleted(step *feed.Step, k string) bool {
	for _, d := range step.Delete {
		if d == k {
			return true
		}
	}
	return false
}

// watchedTransfers decodes Transfer logs and keeps those to watched addresses, in chain order.
func (s *Scanner) watchedTransfers(ctx context.Context, logs []types.Log, head uint64) ([]checkout.Transfer, error) {
	var cands []checkout.Transfer
	var addrs []string
	for _, l := range logs {
		if l.Removed || len(l.Topics) != 3 || len(l.Data) != 32 {
			continue // not a standard Transfer (or a removal notice from a subscription)
		}
		to := deposit.Format(s.Network, common.BytesToAddress(l.Topics[2].Bytes()))
		v := new(big.Int).SetBytes(l.Data)
		t := checkout.Transfer{
			Network: s.Network, TxHash: l.TxHash.Hex(), LogIndex: l.Index, BlockNumber: l.BlockNumber,
			BlockHash: l.BlockHash.Hex(), From: deposit.Format(s.Network, common.BytesToAddress(l.Topics[1].Bytes())),
			To: to, Confirmations: head - l.BlockNumber + 1, Required: max(s.Required, 1), ObservedAt: s.now(),
		}
		if !v.IsInt64() || v.Int64() > int64(checkout.MaxTransfer) {
			// Above the supply of USDT on either network: keep it for an operator, never put it
			// on the feed (the one bound every reported transfer is within).
			if err := s.Store.Anomaly(ctx, "amount out of range", map[string]any{"tx": t.TxHash, "log_index": t.LogIndex, "to": to, "value": v.String()}); err != nil {
				return nil, err
			}
			continue
		}
		t.Amount = checkout.Amount(v.Int64())
		cands = append(cands, t)
		addrs = append(addrs, to)
	}
	ok, err := s.Store.Watched(ctx, addrs)
	if err != nil {
		return nil, err
	}
	out := cands[:0]
	for i, t := range cands {
		if ok[i] {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *Scanner) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}
