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
	"github.com/ethereum/go-ethereum/ethclient"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/watcher/feed"
)

// TransferTopic is topic 0 of ERC20 Transfer(address,address,uint256).
var TransferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))

// Chain is the RPC surface one scan step needs. Node adapts an *ethclient.Client (one node);
// a pool of endpoints (package endpoints) gives each step a Chain of its own (Stepper).
type Chain interface {
	BlockNumber(ctx context.Context) (uint64, error)
	FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error)
	// BlockHash is the hash of the node's canonical block at height n as the node reports it
	// (never computed from a header: TRON's differ), nil when the node has no block there.
	BlockHash(ctx context.Context, n uint64) (*string, error)
	// Finalized is the number of the node's `finalized` block (TRON: the latest solidified).
	Finalized(ctx context.Context) (uint64, error)
}

// Stepper is a Chain source that picks, for each step, what the step reads through (the
// healthiest of several endpoints). Scanner.Chain may implement it.
type Stepper interface {
	Begin(ctx context.Context) (Chain, error)
}

// Verifier is implemented by a step's Chain that can check, before anything is reported, the
// blocks the reports rest on (height → hash as read; "" = the block at that height) against
// other sources. An error makes the step fail: nothing is written, and it is retried.
type Verifier interface {
	Verify(ctx context.Context, blocks map[uint64]string) error
}

// Node is the Chain of one node reached through go-ethereum's client.
func Node(c *ethclient.Client) Chain { return node{c} }

type node struct{ *ethclient.Client }

func (n node) header(ctx context.Context, tag string) (*rpcHeader, error) {
	var b *rpcHeader
	if err := n.Client.Client().CallContext(ctx, &b, "eth_getBlockByNumber", tag, false); err != nil {
		return nil, fmt.Errorf("block %s: %w", tag, err)
	}
	if b == nil || b.Hash == "" {
		return nil, nil
	}
	return b, nil
}

type rpcHeader struct {
	Number *hexutil.Uint64 `json:"number"`
	Hash   string          `json:"hash"`
}

func (n node) BlockHash(ctx context.Context, h uint64) (*string, error) {
	b, err := n.header(ctx, hexutil.EncodeUint64(h))
	if err != nil || b == nil {
		return nil, err
	}
	// Compare in go-ethereum's spelling, which is how logs' hashes are stored.
	x := common.HexToHash(b.Hash).Hex()
	return &x, nil
}

func (n node) Finalized(ctx context.Context) (uint64, error) {
	b, err := n.header(ctx, "finalized")
	if err != nil {
		return 0, err
	}
	if b == nil || b.Number == nil {
		return 0, fmt.Errorf("finalized block: the node has none")
	}
	return uint64(*b.Number), nil
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

// Requirement is what makes a transfer final: a number of confirmations (blocks, its own
// included), or the chain's `finalized` block having reached it.
type Requirement struct {
	Blocks    uint64 // confirmations, when not Finalized (≥ 1)
	Finalized bool
}

func (r Requirement) String() string {
	if r.Finalized {
		return "finalized"
	}
	return fmt.Sprint(r.Blocks)
}

// Tier is a stricter requirement for transfers of at least Min.
type Tier struct {
	Min checkout.Amount
	Requirement
}

// Scanner scans one network.
type Scanner struct {
	Chain    Chain
	Store    Store
	Network  checkout.Network
	Token    common.Address
	Required uint64 // confirmations that make a transfer final (≥ 1), unless Finalized
	// Finalized: a transfer is final once the chain's finalized block reaches it (Required
	// is then unused).
	Finalized bool
	// Tiers: transfers of at least a tier's Min need its requirement instead (the tier with
	// the largest Min applies). A tier should be stricter than the base; the checkpoint
	// follows the least advanced of all.
	Tiers    []Tier
	MaxRange uint64 // default DefaultMaxRange
	// StartBlock is where a watcher with no checkpoint starts (its first block scanned);
	// nil starts at the current unconfirmed window.
	StartBlock *uint64
	Now        func() time.Time
	Log        *slog.Logger

	mu       sync.Mutex
	progress Progress
}

// pass is one step's reading of the chain: the Chain it reads through, the head, the
// finalized block (when a requirement needs it) and the blocks its reports rest on.
type pass struct {
	c      Chain
	head   uint64
	at     time.Time // when head was read
	fin    int64     // finalized block, -1 if unknown or none
	blocks map[uint64]string
	hashes map[uint64]*string // block hashes at heights checked this step (nil: none)
	logs   int                // Transfer logs the pass read, to any address (rescan's summary)
}

// claim records that a report rests on block h having hash (""= whatever it has); two
// different hashes at one height within one step are an error (the source changed its mind).
func (p *pass) claim(h uint64, hash string) error {
	if old, ok := p.blocks[h]; ok && old != "" && hash != "" && old != hash {
		return fmt.Errorf("block %d read as %s and as %s within one step", h, old, hash)
	}
	if hash != "" || p.blocks[h] == "" {
		p.blocks[h] = hash
	}
	return nil
}

// requirement is the requirement of a transfer of amount a.
func (s *Scanner) requirement(a checkout.Amount) Requirement {
	r := Requirement{Blocks: max(s.Required, 1), Finalized: s.Finalized}
	var best *Tier
	for i := range s.Tiers {
		if t := &s.Tiers[i]; a >= t.Min && (best == nil || t.Min > best.Min) {
			best = t
		}
	}
	if best != nil {
		r = best.Requirement
		r.Blocks = max(r.Blocks, 1)
	}
	return r
}

// finalHead is the highest block final under r, or -1 when none is.
func (p *pass) finalHead(r Requirement) int64 {
	if r.Finalized {
		return p.fin
	}
	return int64(p.head) + 1 - int64(r.Blocks)
}

// requiredBlocks is r as a confirmation count at this head (for the feed's Required field).
func (p *pass) requiredBlocks(r Requirement) uint64 {
	if !r.Finalized {
		return r.Blocks
	}
	return uint64(max(int64(p.head)-p.fin+1, 1))
}

func (s *Scanner) requirements() []Requirement {
	rs := []Requirement{s.requirement(0)}
	for _, t := range s.Tiers {
		rs = append(rs, s.requirement(t.Min))
	}
	return rs
}

// Step runs one scan step and commits it. It returns true when the scanner is at the head
// (the caller may wait for a new block) and false when more catch-up remains.
func (s *Scanner) Step(ctx context.Context) (bool, error) {
	maxRange := s.MaxRange
	if maxRange == 0 {
		maxRange = DefaultMaxRange
	}
	ps, finalHead, err := s.begin(ctx)
	if err != nil {
		return false, err
	}
	head := ps.head
	st, err := s.Store.Load(ctx)
	if err != nil {
		return false, err
	}
	if st.Started && head < st.Checkpoint && s.Log != nil {
		// A resynced node, or one of another chain: nothing is scanned until it passes the
		// checkpoint, so say so loudly.
		s.Log.Warn("watcher: node head is behind the checkpoint; waiting for it", "head", head, "checkpoint", st.Checkpoint)
	}
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
	if cp < finalHead { // catch up on final blocks, one bounded range per step
		to := min(cp+int64(maxRange), finalHead)
		if err := s.scan(ctx, ps, uint64(cp+1), uint64(to), true, st.Pending, step); err != nil {
			return false, err
		}
		step.Checkpoint = uint64(max(to, 0))
		if to < finalHead {
			return false, s.commit(ctx, ps, step, head, step.Checkpoint, false)
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
		if err := s.scan(ctx, ps, from, head, false, st.Pending, step); err != nil {
			return false, err
		}
	}
	// Pending logs above the head: the chain got shorter, or (far more often) the node
	// answering is behind. Removed only if the node has another block at that height.
	for _, k := range sortedKeys(st.Pending) {
		p := st.Pending[k]
		if p.BlockNumber > head && !deleted(step, k) {
			if err := s.removeIfReplaced(ctx, ps, step, k, p); err != nil {
				return false, err
			}
		}
	}
	return true, s.commit(ctx, ps, step, head, max(head, step.Checkpoint), true)
}

// begin starts a pass: the Chain it reads through (a Stepper's pick), the head, the
// finalized block when a requirement needs it, and finalHead, the highest block final for
// every amount (-1 when none is).
func (s *Scanner) begin(ctx context.Context) (*pass, int64, error) {
	c := s.Chain
	if src, ok := c.(Stepper); ok {
		var err error
		if c, err = src.Begin(ctx); err != nil {
			return nil, 0, fmt.Errorf("rpc: %w", err)
		}
	}
	head, err := c.BlockNumber(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("head: %w", err)
	}
	ps := &pass{c: c, head: head, at: s.now(), fin: -1, blocks: map[uint64]string{}, hashes: map[uint64]*string{}}
	reqs := s.requirements()
	for _, r := range reqs {
		if r.Finalized {
			f, err := c.Finalized(ctx)
			if err != nil {
				return nil, 0, fmt.Errorf("finalized: %w", err)
			}
			ps.fin = int64(min(f, head))
			break
		}
	}
	finalHead := ps.finalHead(reqs[0])
	for _, r := range reqs[1:] {
		finalHead = min(finalHead, ps.finalHead(r))
	}
	return ps, max(finalHead, -1), nil
}

// Progress is where a scanner stood after its last committed step (for metrics).
type Progress struct {
	Head       uint64    // the chain head the step saw
	HeadAt     time.Time // when the step read it
	Scanned    uint64    // highest block scanned: the head once caught up
	Checkpoint uint64    // highest block whose logs are final and reported
	CaughtUp   bool      // the step reached the head
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
func (s *Scanner) commit(ctx context.Context, ps *pass, step *feed.Step, head, scanned uint64, caughtUp bool) error {
	if v, ok := ps.c.(Verifier); ok && len(ps.blocks) > 0 {
		if err := v.Verify(ctx, ps.blocks); err != nil {
			return fmt.Errorf("not reported yet: %w", err)
		}
	}
	if err := s.Store.Commit(ctx, step); err != nil {
		return err
	}
	p := Progress{Head: head, HeadAt: ps.at, Scanned: scanned, Checkpoint: step.Checkpoint, CaughtUp: caughtUp}
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
func (s *Scanner) scan(ctx context.Context, ps *pass, from, to uint64, final bool, pending map[string]checkout.Transfer, step *feed.Step) error {
	logs, err := ps.c.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to),
		Addresses: []common.Address{s.Token}, Topics: [][]common.Hash{{TransferTopic}},
	})
	if err != nil {
		return fmt.Errorf("logs %d-%d: %w", from, to, err)
	}
	ps.logs += len(logs)
	found, err := s.watchedTransfers(ctx, ps, logs)
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
			if err := ps.claim(t.BlockNumber, t.BlockHash); err != nil {
				return err
			}
			// The block that gives the last required confirmation (or the finalized one).
			if r := s.requirement(t.Amount); r.Finalized {
				_ = ps.claim(uint64(max(ps.fin, 0)), "")
			} else {
				_ = ps.claim(t.BlockNumber+r.Blocks-1, "")
			}
			t.Kind = checkout.TransferConfirmed
			step.Emit = append(step.Emit, t)
			if _, ok := pending[k]; ok {
				step.Delete = append(step.Delete, k)
				delete(step.Upsert, k)
			}
		case !wasPending || t.Confirmations > old.Confirmations:
			if err := ps.claim(t.BlockNumber, t.BlockHash); err != nil {
				return err
			}
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
			if err := s.removeIfReplaced(ctx, ps, step, k, p); err != nil {
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
func (s *Scanner) removeIfReplaced(ctx context.Context, ps *pass, step *feed.Step, k string, p checkout.Transfer) error {
	h, ok := ps.hashes[p.BlockNumber]
	if !ok {
		var err error
		if h, err = ps.c.BlockHash(ctx, p.BlockNumber); err != nil {
			return fmt.Errorf("block %d: %w", p.BlockNumber, err)
		}
		ps.hashes[p.BlockNumber] = h
	}
	switch {
	case h == nil:
		s.warn("watcher: pending transfer's block not served by the node (behind?); keeping it", p, "")
	case *h == p.BlockHash:
		s.warn("watcher: pending transfer missing from the node's logs but its block is canonical; keeping it", p, *h)
	default:
		// The removal rests on the other block: verified like any report.
		if err := ps.claim(p.BlockNumber, *h); err != nil {
			return err
		}
		s.remove(step, k, p)
	}
	return nil
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
func (s *Scanner) watchedTransfers(ctx context.Context, ps *pass, logs []types.Log) ([]checkout.Transfer, error) {
	head := ps.head
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
			To: to, ObservedAt: s.now(),
		}
		if l.BlockNumber > head {
			continue // above the step's head (a node that moved on meanwhile): next step
		}
		t.Confirmations = head - l.BlockNumber + 1
		if !v.IsInt64() || v.Int64() > int64(checkout.MaxTransfer) {
			// Above the supply of USDT on either network: keep it for an operator, never put it
			// on the feed (the one bound every reported transfer is within).
			if err := s.Store.Anomaly(ctx, "amount out of range", map[string]any{"tx": t.TxHash, "log_index": t.LogIndex, "to": to, "value": v.String()}); err != nil {
				return nil, err
			}
			continue
		}
		t.Amount = checkout.Amount(v.Int64())
		t.Required = ps.requiredBlocks(s.requirement(t.Amount))
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
