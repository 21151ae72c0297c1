// Package nodeproxy serves JSON-RPC over HTTP on loopback in front of a development chain
// (watcher/devchain) and makes it behave like the chain providers the watcher really talks to:
// java-tron's JSON-RPC in TRON mode, and the faults of real endpoints on command. Tests, the
// benchmarks and the standalone command (demo/nodeproxy) use it; the watcher binary never
// links it.
//
// Start it in front of the chain's HTTP URL and point a client at URL():
//
//	chain, _ := devchain.Start(ctx, devchain.Config{})
//	p, _ := nodeproxy.Start(ctx, nodeproxy.Config{Upstream: chain.RPCURL(), TRON: true})
//	defer p.Close()
//	cl, _ := ethclient.Dial(p.URL())
//
// # TRON mode
//
// With Config.TRON the proxy answers as java-tron's JSON-RPC service does:
//   - HTTP POST only (no WebSocket, so no eth_subscribe: a GET or an upgrade is 405, and
//     eth_subscribe over HTTP is -32601 "method not found"). URL() ends in /jsonrpc.
//   - eth_getLogs: min(toBlock, head) − fromBlock > MaxBlockRange (5,000) is -32602
//     "exceed max block range: 5000"; more than MaxResults (10,000) logs is -32005
//     "query returned more than 10000 results"; fromBlock > toBlock is -32602
//     "please verify: fromBlock <= toBlock"; the "finalized" tag is -32602
//     "invalid block range params"; ranges past the head are clipped to it.
//   - The "pending" and "safe" tags are -32602 "TAG pending not supported" / "TAG safe not
//     supported"; a malformed block number is -32602 "invalid block number"; "finalized" in
//     eth_getBlockByNumber is the latest solidified block, head − SolidifyDepth (18).
//   - Blocks (and receipts) carry an all-zero logsBloom.
//   - Every block hash has its height as its first 8 bytes (big-endian), the rest from the
//     dev chain's hash: rewritten the same way in blocks (hash, parentHash), logs,
//     transactions and receipts, and understood by eth_getBlockByHash and eth_getLogs'
//     blockHash. A client that computes a hash from a decoded header gets a mismatch, as on
//     TRON; the dev chain's own hashes are unknown to the proxy.
//   - Business errors are HTTP 200 with an "error" member (with "data": "{}").
//
// Other methods (eth_call, eth_chainId, eth_getTransactionCount…) pass through unchanged.
//
// # Faults
//
// Set replaces the active faults; the methods Refuse, Delay, Lag, StaleHead, RateLimit,
// DropMidResponse and ForkHash add one to the active set, and Heal clears them all. Each is
// safe while requests are in flight (a request uses the faults active when it arrived):
//   - Refuse: the listener is closed and open connections dropped (a client's idle
//     keep-alive connection then fails once, with EOF), so dials fail with "connection
//     refused" until healed (the same port is bound again).
//   - Delay(d): every response is held d (the request's context still ends it).
//   - StaleHead: eth_blockNumber and the "latest" block freeze at the head seen when the
//     fault took effect; numbered queries still reach newer blocks.
//   - Lag(n): the node is n blocks behind: head, tags, blocks, receipts and log ranges are
//     clipped to upstream head − n (later blocks are null, later logs absent).
//   - RateLimit(style): every request is refused in the style of a real limiter
//     (RateLimitTron: HTTP 200 with java-tron's {"Error":"class
//     java.lang.IllegalAccessException : lack of computing resources"} outside the JSON-RPC
//     envelope; RateLimit429: HTTP 429 with Retry-After; RateLimitTronGrid403 and
//     RateLimitTronGrid503: TronGrid's 403 (no key) / 503 (key over quota) with Retry-After).
//     go-ethereum's rpc client reports the java-tron body as an empty JSON-RPC error (code 0,
//     "json-rpc error 0"): JSON member names match case-insensitively, so "Error" fills its
//     "error" member. The others are rpc.HTTPError with the status.
//     Fault.RateLimitQPS > 0 refuses only the requests above that rate.
//   - DropMidResponse: the response's headers and half its body are written, then the
//     connection is closed (the client sees an unexpected EOF).
//   - ForkHash(height): a lying endpoint: the block at height reports another hash, in the
//     block, its child's parentHash and every log, receipt and transaction of it.
//
// Fault.Methods restricts Delay, RateLimit and DropMidResponse to requests carrying one of
// the named methods.
//
// Count(method) and Counts() report the JSON-RPC calls received per method (each call of a
// batch counts, faulted or not; refused connections never arrive); ResetCounts zeroes them.
// Faulted(method) counts only the calls a Delay held, a RateLimit refused or DropMidResponse
// cut, decided with the same snapshot of the faults that served the call: a test switches a
// fault on and waits for Faulted to grow to know a request really met it (a delayed call is
// counted when its hold begins, so a test can act while it is in flight).
package nodeproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config configures Start.
type Config struct {
	// Upstream is the dev chain's HTTP JSON-RPC URL (required).
	Upstream string
	// Listen is the loopback address to serve; default "127.0.0.1:0" (a free port).
	Listen string
	// TRON makes the proxy answer as java-tron's JSON-RPC does (see the package doc).
	TRON bool
	// MaxBlockRange is java-tron's jsonrpc.maxBlockRange for eth_getLogs; default 5000.
	// Negative disables the check. TRON mode only.
	MaxBlockRange int64
	// MaxResults is the most logs one eth_getLogs returns before -32005; default 10000.
	// Negative disables the check. TRON mode only.
	MaxResults int
	// SolidifyDepth is how far the solidified ("finalized") block is below the head;
	// default 18 (19 of 27 super representatives). TRON mode only.
	SolidifyDepth uint64
	// Logger receives the proxy's own messages; default slog.Default().
	Logger *slog.Logger
}

// RateLimitStyle is how a rate-limited request is answered.
type RateLimitStyle int

const (
	// NoRateLimit answers every request.
	NoRateLimit RateLimitStyle = iota
	// RateLimitTron is java-tron's limiter: HTTP 200 with TronLimitBody, no JSON-RPC envelope.
	RateLimitTron
	// RateLimit429 is HTTP 429 with Retry-After and a JSON-RPC error body (-32005).
	RateLimit429
	// RateLimitTronGrid403 is TronGrid without an API key: HTTP 403, Retry-After, its body.
	RateLimitTronGrid403
	// RateLimitTronGrid503 is TronGrid with a key over its quota: HTTP 503, Retry-After.
	RateLimitTronGrid503
)

func (s RateLimitStyle) String() string {
	switch s {
	case NoRateLimit:
		return "none"
	case RateLimitTron:
		return "tron"
	case RateLimit429:
		return "429"
	case RateLimitTronGrid403:
		return "trongrid-403"
	case RateLimitTronGrid503:
		return "trongrid-503"
	}
	return fmt.Sprintf("RateLimitStyle(%d)", int(s))
}

// ParseRateLimitStyle parses a style's String form ("tron", "429", "trongrid-403", ...).
func ParseRateLimitStyle(s string) (RateLimitStyle, error) {
	for st := NoRateLimit; st <= RateLimitTronGrid503; st++ {
		if st.String() == s {
			return st, nil
		}
	}
	return 0, fmt.Errorf("unknown rate-limit style %q (want none, tron, 429, trongrid-403 or trongrid-503)", s)
}

// TronLimitBody is what java-tron's rate limiter writes (HTTP 200, followed by a newline).
const TronLimitBody = `{"Error":"class java.lang.IllegalAccessException : lack of computing resources"}`

// TronGridLimitMessage is TronGrid's rate-limit message.
const TronGridLimitMessage = "The key exceeds the frequency limit(15), and the query server is suspended for 30s"

// Fault is a set of faults; the zero value is a healthy endpoint.
type Fault struct {
	// Refuse closes the listener: connections are refused.
	Refuse bool
	// Delay holds every response this long.
	Delay time.Duration
	// StaleHead freezes eth_blockNumber and the "latest" block.
	StaleHead bool
	// Lag puts the node this many blocks behind the upstream head.
	Lag uint64
	// RateLimit refuses requests in this style.
	RateLimit RateLimitStyle
	// RateLimitQPS, when > 0, refuses only requests beyond this rate (a token bucket with a
	// burst of max(1, QPS)); 0 refuses every request while RateLimit is set.
	RateLimitQPS float64
	// RetryAfter is the Retry-After sent by the 429 and TronGrid styles (whole seconds,
	// rounded up); default 1 s (30 s for RateLimitTronGrid403, as its message says).
	RetryAfter time.Duration
	// DropMidResponse cuts the connection halfway through the response body.
	DropMidResponse bool
	// ForkHeights are heights whose block reports another hash.
	ForkHeights []uint64
	// Methods, if not empty, limits Delay, RateLimit and DropMidResponse to requests with a
	// call of one of these methods.
	Methods []string
}

// state is one immutable snapshot of the active faults.
type state struct {
	fault  Fault
	forked map[uint64]bool
}

// Proxy is a running node proxy.
type Proxy struct {
	cfg      Config
	upstream string
	client   *http.Client
	log      *slog.Logger

	mu     sync.Mutex
	st     *state
	frozen *uint64 // the stale head, captured on first use
	tokens float64 // rate-limit bucket
	filled time.Time
	counts map[string]int
	hit    map[string]int // calls a Delay, RateLimit or DropMidResponse applied to

	lnMu   sync.Mutex // serializes listener changes
	addr   string
	srv    *http.Server
	wg     sync.WaitGroup
	closed bool
}

// Start serves the proxy until Close. ctx bounds only the start.
func Start(ctx context.Context, cfg Config) (*Proxy, error) {
	if cfg.Upstream == "" {
		return nil, errors.New("nodeproxy: no upstream URL")
	}
	if !strings.HasPrefix(cfg.Upstream, "http://") && !strings.HasPrefix(cfg.Upstream, "https://") {
		return nil, fmt.Errorf("nodeproxy: upstream %q is not an HTTP URL", cfg.Upstream)
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.MaxBlockRange == 0 {
		cfg.MaxBlockRange = 5000
	}
	if cfg.MaxResults == 0 {
		cfg.MaxResults = 10000
	}
	if cfg.SolidifyDepth == 0 {
		cfg.SolidifyDepth = 18
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("nodeproxy: listen %q: %w", cfg.Listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("nodeproxy: listen %q: loopback only", cfg.Listen)
	}
	p := &Proxy{cfg: cfg, upstream: cfg.Upstream, log: cfg.Logger, st: &state{},
		counts: map[string]int{}, hit: map[string]int{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}}}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("nodeproxy: listen %s: %w", cfg.Listen, err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	return p, nil
}

func (p *Proxy) serve(ln net.Listener) {
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(p.log.Handler(), slog.LevelDebug)}
	p.srv = srv
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Warn("nodeproxy: serve", "err", err)
		}
	}()
}

// URL is the proxy's JSON-RPC URL (ending in /jsonrpc in TRON mode, as TronGrid's).
func (p *Proxy) URL() string {
	if p.cfg.TRON {
		return "http://" + p.addr + "/jsonrpc"
	}
	return "http://" + p.addr
}

// Addr is the host:port served.
func (p *Proxy) Addr() string { return p.addr }

// Close stops serving and drops open connections.
func (p *Proxy) Close() error {
	p.lnMu.Lock()
	defer p.lnMu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if p.srv != nil {
		_ = p.srv.Close()
		p.srv = nil
	}
	p.wg.Wait()
	p.client.CloseIdleConnections()
	return nil
}

// Set replaces the active faults. It fails only when a refusal ends and the port cannot be
// bound again (another process took it), or after Close.
func (p *Proxy) Set(f Fault) error {
	f.ForkHeights = append([]uint64(nil), f.ForkHeights...)
	f.Methods = append([]string(nil), f.Methods...)
	st := &state{fault: f, forked: map[uint64]bool{}}
	for _, h := range f.ForkHeights {
		st.forked[h] = true
	}
	p.mu.Lock()
	old := p.st.fault
	p.st = st
	if !f.StaleHead {
		p.frozen = nil
	}
	if f.RateLimitQPS != old.RateLimitQPS || f.RateLimit != old.RateLimit {
		p.tokens, p.filled = max(1, f.RateLimitQPS), time.Now()
	}
	p.mu.Unlock()
	return p.listen(f.Refuse)
}

// listen closes or reopens the listener to match refuse.
func (p *Proxy) listen(refuse bool) error {
	p.lnMu.Lock()
	defer p.lnMu.Unlock()
	if p.closed {
		return errors.New("nodeproxy: closed")
	}
	switch {
	case refuse && p.srv != nil:
		_ = p.srv.Close() // the listener and every open connection
		p.srv = nil
		p.wg.Wait()
	case !refuse && p.srv == nil:
		// The port was ours a moment ago; a TIME_WAIT socket does not block it (Go sets
		// SO_REUSEADDR), but retry briefly in case the close has not settled.
		var ln net.Listener
		var err error
		for i := 0; i < 50; i++ {
			if ln, err = net.Listen("tcp", p.addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("nodeproxy: listen again on %s: %w", p.addr, err)
		}
		p.serve(ln)
	}
	return nil
}

// Fault returns the active faults.
func (p *Proxy) Fault() Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.fault
}

func (p *Proxy) update(change func(f *Fault)) error {
	f := p.Fault()
	change(&f)
	return p.Set(f)
}

// Refuse refuses connections until Heal (or a Set without Refuse).
func (p *Proxy) Refuse() error { return p.update(func(f *Fault) { f.Refuse = true }) }

// Delay holds every response d.
func (p *Proxy) Delay(d time.Duration) error { return p.update(func(f *Fault) { f.Delay = d }) }

// StaleHead freezes eth_blockNumber (and "latest") at the head seen next.
func (p *Proxy) StaleHead() error { return p.update(func(f *Fault) { f.StaleHead = true }) }

// Lag puts the node n blocks behind the upstream head.
func (p *Proxy) Lag(n uint64) error { return p.update(func(f *Fault) { f.Lag = n }) }

// RateLimit refuses every request in style.
func (p *Proxy) RateLimit(style RateLimitStyle) error {
	return p.update(func(f *Fault) { f.RateLimit = style })
}

// DropMidResponse cuts every response halfway through its body.
func (p *Proxy) DropMidResponse() error { return p.update(func(f *Fault) { f.DropMidResponse = true }) }

// ForkHash makes the block at height report another hash (in blocks, logs and receipts).
func (p *Proxy) ForkHash(height uint64) error {
	return p.update(func(f *Fault) { f.ForkHeights = append(f.ForkHeights, height) })
}

// Heal clears every fault.
func (p *Proxy) Heal() error { return p.Set(Fault{}) }

// Count is the number of calls of method received.
func (p *Proxy) Count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[method]
}

// Counts is a copy of the calls received per method.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// Faulted is the number of calls of method that a Delay held, a RateLimit refused or
// DropMidResponse cut, once for each of those faults a call met (a delayed call counts as its
// hold begins).
func (p *Proxy) Faulted(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hit[method]
}

// ResetCounts zeroes the counts (Count, Counts and Faulted).
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.counts)
	clear(p.hit)
}

// faulted counts calls met by a fault.
func (p *Proxy) faulted(calls []*call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range calls {
		p.hit[c.Method]++
	}
}

// snapshot returns the faults for a request arriving now.
func (p *Proxy) snapshot() *state {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

// limited spends a token of the rate-limit bucket; true when none was left.
func (p *Proxy) limited(f Fault) bool {
	if f.RateLimitQPS <= 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.tokens = min(max(1, f.RateLimitQPS), p.tokens+now.Sub(p.filled).Seconds()*f.RateLimitQPS)
	p.filled = now
	if p.tokens < 1 {
		return true
	}
	p.tokens--
	return false
}

const maxBody = 8 << 20

// ServeHTTP serves one HTTP request: a JSON-RPC call or batch.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		// java-tron's servlet handles POST only, and neither it nor this proxy speaks WebSocket.
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "HTTP method "+r.Method+" is not supported by this URL", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return // the client went away
	}
	if len(body) > maxBody {
		http.Error(w, "Payload Too Large", http.StatusRequestEntityTooLarge)
		return
	}
	calls, batch, perr := parseCalls(body)
	st := p.snapshot()
	f := st.fault
	p.mu.Lock()
	for _, c := range calls {
		p.counts[c.Method]++
	}
	p.mu.Unlock()
	applies := len(f.Methods) == 0
	for _, c := range calls {
		for _, m := range f.Methods {
			applies = applies || c.Method == m
		}
	}
	if applies && f.Delay > 0 {
		p.faulted(calls)
		t := time.NewTimer(f.Delay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if applies && f.RateLimit != NoRateLimit && p.limited(f) {
		p.faulted(calls)
		writeLimited(w, f)
		return
	}
	var out []byte
	if perr != nil {
		out, _ = json.Marshal(&response{JSONRPC: "2.0", ID: json.RawMessage("null"), Error: perr})
	} else {
		h := &handler{p: p, st: st, ctx: r.Context()}
		resps := make([]*response, len(calls))
		for i, c := range calls {
			resps[i] = h.serve(c)
		}
		if batch {
			out, _ = json.Marshal(resps)
		} else {
			out, _ = json.Marshal(resps[0])
		}
	}
	out = append(out, '\n')
	if applies && f.DropMidResponse {
		p.faulted(calls)
		dropMid(w, out)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// writeLimited answers a rate-limited request in f's style.
func writeLimited(w http.ResponseWriter, f Fault) {
	retry := f.RetryAfter
	if retry <= 0 {
		retry = time.Second
		if f.RateLimit == RateLimitTronGrid403 {
			retry = 30 * time.Second
		}
	}
	secs := fmt.Sprint(int64((retry + time.Second - 1) / time.Second))
	switch f.RateLimit {
	case RateLimitTron:
		// java-tron's RateLimiterServlet prints the error outside any JSON-RPC envelope.
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, TronLimitBody+"\n")
	case RateLimit429:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", secs)
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"rate limit exceeded"}}`+"\n")
	case RateLimitTronGrid403, RateLimitTronGrid503:
		code := http.StatusForbidden
		if f.RateLimit == RateLimitTronGrid503 {
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", secs)
		w.WriteHeader(code)
		b, _ := json.Marshal(map[string]any{"Success": false, "Error": TronGridLimitMessage, "StatusCode": code})
		_, _ = w.Write(append(b, '\n'))
	}
}

// dropMid writes the response's headers (with the full Content-Length) and half its body,
// then closes the connection.
func dropMid(w http.ResponseWriter, body []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("nodeproxy: the HTTP server cannot hijack connections") // net/http HTTP/1 always can
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
}

// call is one JSON-RPC request.
type call struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%s (%d)", e.Message, e.Code) }

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// parseCalls reads a call or a batch.
func parseCalls(body []byte) ([]*call, bool, *rpcError) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var calls []*call
		if err := json.Unmarshal(body, &calls); err != nil || len(calls) == 0 {
			return nil, true, &rpcError{Code: -32700, Message: "parse error"}
		}
		for _, c := range calls {
			if c == nil {
				return nil, true, &rpcError{Code: -32600, Message: "invalid request"}
			}
		}
		return calls, true, nil
	}
	var c call
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, false, &rpcError{Code: -32700, Message: "parse error"}
	}
	return []*call{&c}, false, nil
}
