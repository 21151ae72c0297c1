// Package endpoints is the watcher's set of JSON-RPC endpoints for one network: several
// providers or nodes, each with its own headers (API keys), scored by errors, latency and
// head lag. Each scan step reads from the healthiest endpoint at the highest head, fails over
// to the next within the step on an error, a timeout or a rate limit, and benches a failing
// endpoint with a jittered backoff (the provider's Retry-After when it gives one).
//
// Nothing it learns from one endpoint is taken on trust where money depends on it: a step
// never reads from an endpoint whose head is behind the highest head another endpoint
// reported recently, and before a transfer is reported the block hashes it rests on are
// compared with every other healthy endpoint that has those blocks; any disagreement makes
// the step wait (logged, and counted in metrics) instead of reporting anything.
//
// The calls are plain JSON-RPC over HTTP into our own structs (TRON's block hashes are not
// what go-ethereum would compute from a header), and the classification of failures follows
// what java-tron and the big providers answer (see Kind).
package endpoints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/mpchat/checkout/internal/secreturl"
	"github.com/mpchat/checkout/watcher/evm"
)

// Options tune a Pool; the zero value gives the documented defaults.
type Options struct {
	// Timeout bounds each call to one endpoint; default DefaultTimeout.
	Timeout time.Duration
	// Quorum is how many endpoints (the one read from included) must report the same block
	// hash before a transfer resting on that block is reported; default 1 (any other healthy
	// endpoint that has the block must agree, but none is required to have it).
	Quorum int
	// HeadWindow: a head reported within this long still counts as "another endpoint's head"
	// after that endpoint fails, so a failover never reads from one that is behind it;
	// default DefaultHeadWindow.
	HeadWindow time.Duration
	// Headers are sent to every endpoint (before each endpoint's own).
	Headers http.Header
	Log     *slog.Logger
	Now     func() time.Time
	// HTTPClient is used for every call; default one with keep-alives and no overall timeout
	// (Timeout bounds each call).
	HTTPClient *http.Client
}

// Defaults of Options.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultHeadWindow = 30 * time.Second
)

// Errors a step waits on (the watcher retries; nothing is reported meanwhile).
var (
	// ErrNoEndpoint: every endpoint failed or is benched.
	ErrNoEndpoint = errors.New("no healthy RPC endpoint")
	// ErrBehind: every endpoint that answers is behind the highest head another reported.
	ErrBehind = errors.New("every answering RPC endpoint is behind the highest head seen")
	// ErrDisagree: two healthy endpoints report different blocks at the same height.
	ErrDisagree = errors.New("RPC endpoints disagree on a block hash")
	// ErrNoQuorum: fewer endpoints than the quorum report a block the step rests on.
	ErrNoQuorum = errors.New("too few RPC endpoints confirm a block")
)

// Wait reasons counted by WaitCounts.
const (
	WaitBehind   = "behind"
	WaitDisagree = "disagree"
	WaitNoQuorum = "no_quorum"
	WaitNone     = "no_endpoint"
)

// Pool is one network's endpoints. Create it with New.
type Pool struct {
	eps  []*Endpoint
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	primary int // index of the endpoint the last step read from, -1 before
	waits   map[string]uint64
}

// New returns the pool of cfgs (at least one). Global headers come first; an endpoint's own
// headers replace a global one of the same name.
func New(cfgs []Config, o Options) (*Pool, error) {
	if len(cfgs) == 0 {
		return nil, errors.New("no RPC endpoint configured")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Quorum <= 0 {
		o.Quorum = 1
	}
	if o.Quorum > len(cfgs) {
		return nil, fmt.Errorf("quorum %d is more than the %d endpoints", o.Quorum, len(cfgs))
	}
	if o.HeadWindow <= 0 {
		o.HeadWindow = DefaultHeadWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 8
		o.HTTPClient = &http.Client{Transport: t}
	}
	p := &Pool{opts: o, log: o.Log, primary: -1, waits: map[string]uint64{}}
	for i, c := range cfgs {
		if _, err := ParseSpec(c.URL); err != nil {
			return nil, err
		}
		h := http.Header{}
		for k, vs := range o.Headers {
			h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
		}
		for k, vs := range c.Headers {
			h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
		}
		p.eps = append(p.eps, &Endpoint{index: i, name: Name(i, c.URL), host: secreturl.Redact(c.URL), url: c.URL,
			headers: h, hc: o.HTTPClient, timeout: o.Timeout, now: o.Now})
	}
	return p, nil
}

// Endpoints lists the pool's endpoints in configuration order.
func (p *Pool) Endpoints() []*Endpoint { return p.eps }

// Stats is every endpoint's health record.
func (p *Pool) Stats() []Stat {
	now := p.opts.Now()
	out := make([]Stat, len(p.eps))
	for i, e := range p.eps {
		out[i] = e.stat(now)
	}
	return out
}

// Health is how many endpoints are healthy (not benched) of how many, and the name of the one
// the last step read from ("#i scheme://host", as logs and metrics name it: never a path,
// query or header value), "" before the first step.
func (p *Pool) Health() (healthy, total int, primary string) {
	for _, s := range p.Stats() {
		if s.Healthy {
			healthy++
		}
		if s.Primary {
			primary = s.Name
		}
	}
	return healthy, len(p.eps), primary
}

// WaitCounts is how many steps waited, by reason (WaitBehind, WaitDisagree, …).
func (p *Pool) WaitCounts() map[string]uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]uint64, len(p.waits))
	for k, v := range p.waits {
		out[k] = v
	}
	return out
}

func (p *Pool) wait(reason string) {
	p.mu.Lock()
	p.waits[reason]++
	p.mu.Unlock()
}

type headAnswer struct {
	e    *Endpoint
	head uint64
	err  error
}

// heads asks every endpoint that is not benched for its head, concurrently. When all are
// benched it asks the one whose bench ends first (a pool never stops trying).
func (p *Pool) heads(ctx context.Context) []headAnswer {
	now := p.opts.Now()
	var ask []*Endpoint
	for _, e := range p.eps {
		if !e.benched(now) {
			ask = append(ask, e)
		}
	}
	if len(ask) == 0 {
		soonest := p.eps[0]
		for _, e := range p.eps[1:] {
			if e.benchEnd().Before(soonest.benchEnd()) {
				soonest = e
			}
		}
		if soonest.benchEnd().Sub(now) > time.Second {
			return nil
		}
		ask = []*Endpoint{soonest}
	}
	out := make([]headAnswer, len(ask))
	var wg sync.WaitGroup
	for i, e := range ask {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var h hexutil.Uint64
			err := e.Call(ctx, &h, "eth_blockNumber")
			out[i] = headAnswer{e: e, head: uint64(h), err: err}
			if err == nil {
				e.setHead(uint64(h), p.opts.Now())
			}
		}()
	}
	wg.Wait()
	return out
}

func (e *Endpoint) benchEnd() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.benchUntil
}

func (e *Endpoint) setHead(h uint64, at time.Time) {
	e.mu.Lock()
	e.head, e.headAt = h, at
	e.mu.Unlock()
}

func (e *Endpoint) lastHead() (uint64, time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.head, e.headAt
}

// Head is the head of the healthiest endpoint at the highest head (readiness: an error when
// no endpoint answers).
func (p *Pool) Head(ctx context.Context) (uint64, error) {
	v, err := p.Begin(ctx)
	if err != nil {
		return 0, err
	}
	return v.(*View).head, nil
}

// Begin asks every healthy endpoint for its head and returns the view one scan step reads
// through: the healthiest endpoint at the highest head (recent heads of endpoints that
// failed since count too), with the others at that head as its failovers. ErrBehind when
// every answering endpoint is behind; ErrNoEndpoint when none answers.
func (p *Pool) Begin(ctx context.Context) (evm.Chain, error) {
	answers := p.heads(ctx)
	now := p.opts.Now()
	var best uint64
	var ok []headAnswer
	var lastErr error
	for _, a := range answers {
		if a.err != nil {
			lastErr = a.err
			continue
		}
		ok = append(ok, a)
		best = max(best, a.head)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if len(ok) == 0 {
		p.wait(WaitNone)
		if lastErr != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoEndpoint, lastErr)
		}
		return nil, fmt.Errorf("%w: all benched", ErrNoEndpoint)
	}
	// The highest head any endpoint reported lately, also those that failed this round.
	known, from := best, ""
	for _, e := range p.eps {
		if h, at := e.lastHead(); !at.IsZero() && now.Sub(at) <= p.opts.HeadWindow && h > known {
			known, from = h, e.name
		}
	}
	for _, e := range p.eps {
		h, at := e.lastHead()
		e.mu.Lock()
		if !at.IsZero() && known >= h {
			e.lag = known - h
		}
		e.mu.Unlock()
	}
	var cands []*Endpoint
	for _, a := range ok {
		if a.head >= known {
			cands = append(cands, a.e)
		}
	}
	if len(cands) == 0 {
		p.wait(WaitBehind)
		p.log.Warn("watcher: every answering RPC endpoint is behind another's head; waiting", "head", best, "highest_seen", known, "seen_on", from)
		return nil, fmt.Errorf("%w: best answering head %d, %s reported %d", ErrBehind, best, from, known)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score() < cands[j].score() })
	// Stay with the current primary unless it is clearly worse (no flapping on noise).
	p.mu.Lock()
	cur := p.primary
	p.mu.Unlock()
	for i, e := range cands {
		if e.index == cur && e.score() <= 2*cands[0].score()+50 {
			cands[0], cands[i] = cands[i], cands[0]
			break
		}
	}
	p.setPrimary(cands[0])
	return &View{pool: p, head: known, cands: cands}, nil
}

func (p *Pool) setPrimary(e *Endpoint) {
	p.mu.Lock()
	old := p.primary
	p.primary = e.index
	p.mu.Unlock()
	for _, x := range p.eps {
		x.mu.Lock()
		x.primary = x == e
		x.mu.Unlock()
	}
	if old != e.index {
		p.log.Info("watcher: reading from RPC endpoint", "endpoint", e.name, "previous", p.nameOf(old))
	}
}

func (p *Pool) nameOf(i int) string {
	if i < 0 || i >= len(p.eps) {
		return ""
	}
	return p.eps[i].name
}

// View is what one scan step reads through: a fixed head, the endpoint read from, and the
// failovers at that head. It satisfies evm.Chain and evm.Verifier.
type View struct {
	pool  *Pool
	head  uint64
	cands []*Endpoint // healthiest first; all at head or above
	// read records which endpoint answered each block range read this step: after a
	// failover, the blocks read before it are checked against the endpoint failed over to.
	read []readFrom
}

// readFrom is a block range (inclusive) and the endpoint that answered it.
type readFrom struct {
	from, to uint64
	e        *Endpoint
}

// answered records that the read endpoint answered for blocks [from, to].
func (v *View) answered(from, to uint64) {
	v.read = append(v.read, readFrom{from: from, to: to, e: v.cands[0]})
}

// source is the endpoint whose answer block h was last read from this step (the read
// endpoint if none).
func (v *View) source(h uint64) *Endpoint {
	for i := len(v.read) - 1; i >= 0; i-- {
		if r := v.read[i]; r.from <= h && h <= r.to {
			return r.e
		}
	}
	return v.cands[0]
}

// Primary is the endpoint the view reads from first.
func (v *View) Primary() *Endpoint { return v.cands[0] }

// BlockNumber is the step's head.
func (v *View) BlockNumber(context.Context) (uint64, error) { return v.head, nil }

// call asks the read endpoint and, when it fails (error, timeout, rate limit), the next
// candidate at the step's head, which becomes the read endpoint for the rest of the step.
// A range refusal is returned as is: the caller splits the range.
func (v *View) call(ctx context.Context, out any, method string, params ...any) error {
	for {
		e := v.cands[0]
		err := e.Call(ctx, out, method, params...)
		k := KindOf(err)
		if err == nil || k == RangeTooLarge || k == TooManyResults || ctx.Err() != nil || len(v.cands) == 1 {
			return err
		}
		v.pool.log.Warn("watcher: RPC endpoint failed; failing over", "endpoint", e.name, "kind", k, "err", err, "to", v.cands[1].name)
		v.cands = v.cands[1:]
		v.pool.setPrimary(v.cands[0])
	}
}

type filterArg struct {
	Address   []common.Address `json:"address,omitempty"`
	Topics    [][]common.Hash  `json:"topics,omitempty"`
	FromBlock string           `json:"fromBlock"`
	ToBlock   string           `json:"toBlock"`
}

// FilterLogs is eth_getLogs over [q.FromBlock, q.ToBlock] (both required), split into
// ranges the node accepts: a range refused as too large or as having too many results is
// halved (or cut to the limit the node names) and retried.
func (v *View) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if q.FromBlock == nil || q.ToBlock == nil || q.BlockHash != nil {
		return nil, errors.New("filter logs: a block range is required")
	}
	return v.logs(ctx, q, q.FromBlock.Uint64(), q.ToBlock.Uint64(), 0)
}

func (v *View) logs(ctx context.Context, q ethereum.FilterQuery, from, to uint64, depth int) ([]types.Log, error) {
	if limit := v.cands[0].limit(); limit > 0 && to-from+1 > limit {
		return v.split(ctx, q, from, to, from+limit-1, depth)
	}
	var logs []types.Log
	err := v.call(ctx, &logs, "eth_getLogs", filterArg{Address: q.Addresses, Topics: q.Topics,
		FromBlock: hexutil.EncodeUint64(from), ToBlock: hexutil.EncodeUint64(to)})
	if err == nil {
		v.answered(from, to)
		if logs == nil {
			logs = []types.Log{} // "[]" and "null" alike mean none here: the call answered
		}
		return logs, nil
	}
	var e *Error
	if !errors.As(err, &e) || (e.Kind != RangeTooLarge && e.Kind != TooManyResults) {
		return nil, err
	}
	if from == to || depth > 40 {
		return nil, fmt.Errorf("logs of block %d-%d cannot be split further: %w", from, to, err)
	}
	mid := from + (to-from)/2
	if e.Kind == RangeTooLarge && e.Limit > 0 && e.Limit < to-from {
		// java-tron refuses to−from > limit: limit+1 blocks pass; keep one block of margin.
		v.cands[0].setLimit(e.Limit)
		mid = from + e.Limit - 1
	}
	return v.split(ctx, q, from, to, mid, depth)
}

func (v *View) split(ctx context.Context, q ethereum.FilterQuery, from, to, mid uint64, depth int) ([]types.Log, error) {
	a, err := v.logs(ctx, q, from, mid, depth+1)
	if err != nil {
		return nil, err
	}
	b, err := v.logs(ctx, q, mid+1, to, depth+1)
	if err != nil {
		return nil, err
	}
	return append(a, b...), nil
}

func (e *Endpoint) limit() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rangeLimit
}

func (e *Endpoint) setLimit(n uint64) {
	e.mu.Lock()
	e.rangeLimit = n
	e.mu.Unlock()
}

type blockHeader struct {
	Number *hexutil.Uint64 `json:"number"`
	Hash   string          `json:"hash"`
}

func blockAt(ctx context.Context, call func(context.Context, any, string, ...any) error, tag string) (*blockHeader, error) {
	var b *blockHeader
	if err := call(ctx, &b, "eth_getBlockByNumber", tag, false); err != nil {
		return nil, err
	}
	if b == nil || b.Hash == "" {
		return nil, nil
	}
	b.Hash = common.HexToHash(b.Hash).Hex() // go-ethereum's spelling, as logs' hashes are stored
	return b, nil
}

// BlockHash is the hash of the read endpoint's block at n, as it reports it; nil when it has none.
func (v *View) BlockHash(ctx context.Context, n uint64) (*string, error) {
	b, err := blockAt(ctx, v.call, hexutil.EncodeUint64(n))
	if err != nil || b == nil {
		return nil, err
	}
	v.answered(n, n)
	return &b.Hash, nil
}

// Finalized is the read endpoint's `finalized` block number (TRON: the latest solidified
// block), never above the step's head.
func (v *View) Finalized(ctx context.Context) (uint64, error) {
	b, err := blockAt(ctx, v.call, "finalized")
	if err != nil {
		return 0, fmt.Errorf("finalized block: %w", err)
	}
	if b == nil || b.Number == nil {
		return 0, errors.New("finalized block: the node has none")
	}
	return min(uint64(*b.Number), v.head), nil
}

// Verify checks the blocks a step's reports rest on (height → hash as the step read it; "" =
// ask the read endpoint) against every endpoint that is not benched other than the one the
// hash was read from (after a failover within the step, the endpoint failed over to is asked
// about the blocks read before it): an endpoint that has another block at one of those
// heights makes the step wait (ErrDisagree); one that has no block there yet does not vote;
// fewer agreeing endpoints than the quorum is ErrNoQuorum.
func (v *View) Verify(ctx context.Context, blocks map[uint64]string) error {
	heights := make([]uint64, 0, len(blocks))
	for h := range blocks {
		heights = append(heights, h)
	}
	sort.Slice(heights, func(i, j int) bool { return heights[i] < heights[j] })
	now := v.pool.opts.Now()
	for _, h := range heights {
		want, primary := blocks[h], v.source(h)
		if want == "" {
			b, err := blockAt(ctx, v.call, hexutil.EncodeUint64(h))
			if err != nil {
				return fmt.Errorf("verify block %d: %w", h, err)
			}
			if b == nil {
				return fmt.Errorf("verify block %d: %w: the endpoint read from has none", h, ErrNoQuorum)
			}
			want, primary = b.Hash, v.cands[0]
		}
		agree := 1
		for _, e := range v.pool.eps {
			if e == primary || e.benched(now) {
				continue
			}
			b, err := blockAt(ctx, e.Call, hexutil.EncodeUint64(h))
			if err != nil || b == nil {
				continue // failed (benched by its record) or behind: no vote
			}
			if !strings.EqualFold(b.Hash, want) {
				v.pool.wait(WaitDisagree)
				v.pool.log.Warn("watcher: RPC endpoints disagree on a block; waiting", "block", h,
					"endpoint", primary.name, "hash", want, "other", e.name, "other_hash", b.Hash)
				return fmt.Errorf("%w: block %d is %s on %s, %s on %s", ErrDisagree, h, want, primary.name, b.Hash, e.name)
			}
			agree++
		}
		if agree < v.pool.opts.Quorum {
			v.pool.wait(WaitNoQuorum)
			v.pool.log.Warn("watcher: too few RPC endpoints have a block a report rests on; waiting", "block", h, "agree", agree, "quorum", v.pool.opts.Quorum)
			return fmt.Errorf("%w: block %d on %d of %d required", ErrNoQuorum, h, agree, v.pool.opts.Quorum)
		}
	}
	return nil
}

// Receipt is the read endpoint's receipt of a transaction (its logs), nil if it has none.
func (v *View) Receipt(ctx context.Context, tx common.Hash) (*Receipt, error) {
	var r *Receipt
	if err := v.call(ctx, &r, "eth_getTransactionReceipt", tx.Hex()); err != nil {
		return nil, err
	}
	return r, nil
}

// Receipt is the part of a transaction receipt a lookup shows.
type Receipt struct {
	BlockNumber hexutil.Uint64 `json:"blockNumber"`
	BlockHash   string         `json:"blockHash"`
	Status      hexutil.Uint64 `json:"status"`
	Logs        []types.Log    `json:"logs"`
}

var (
	_ evm.Chain    = (*View)(nil)
	_ evm.Verifier = (*View)(nil)
	_ evm.Stepper  = (*Pool)(nil)
)

// BlockNumber is Head: the Pool is an evm.Chain for callers outside a scan step (the
// scanner itself reads through Begin's view).
func (p *Pool) BlockNumber(ctx context.Context) (uint64, error) { return p.Head(ctx) }

// FilterLogs reads through a fresh view (see Begin).
func (p *Pool) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	v, err := p.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return v.FilterLogs(ctx, q)
}

// BlockHash reads through a fresh view (see Begin).
func (p *Pool) BlockHash(ctx context.Context, n uint64) (*string, error) {
	v, err := p.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return v.BlockHash(ctx, n)
}

// Finalized reads through a fresh view (see Begin).
func (p *Pool) Finalized(ctx context.Context) (uint64, error) {
	v, err := p.Begin(ctx)
	if err != nil {
		return 0, err
	}
	return v.Finalized(ctx)
}

var _ evm.Chain = (*Pool)(nil)
