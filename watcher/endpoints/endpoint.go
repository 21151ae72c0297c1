package endpoints

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpchat/checkout/internal/secreturl"
)

// maxBody bounds one answer (eth_getLogs of 10,000 logs is a few MB).
const maxBody = 128 << 20

// Endpoint is one JSON-RPC endpoint with its health record. Its methods are safe for
// concurrent use.
type Endpoint struct {
	index   int
	name    string // "#i scheme://host"
	host    string // scheme://host
	url     string
	headers http.Header
	hc      *http.Client
	timeout time.Duration
	now     func() time.Time

	requests atomic.Uint64
	errs     [5]atomic.Uint64 // by kindIndex, one per Kinds entry

	mu          sync.Mutex
	latency     time.Duration // moving average of answered calls
	failScore   float64       // decays on success, grows on failure
	failures    int           // consecutive failures that bench
	benchUntil  time.Time
	lastKind    Kind
	head        uint64
	headAt      time.Time // when head was reported
	lag         uint64    // blocks behind the best head, at the last head round
	rangeLimit  uint64    // largest eth_getLogs block count the node accepted to be told, 0 = unknown
	primary     bool
	lastFailure string
}

// Index is the endpoint's position in the configuration (from 0).
func (e *Endpoint) Index() int { return e.index }

// Name is "#i scheme://host", the only way the endpoint is ever named.
func (e *Endpoint) Name() string { return e.name }

// Host is scheme://host[:port].
func (e *Endpoint) Host() string { return e.host }

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      int    `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Call makes one JSON-RPC call and decodes its result into out. A failure is an *Error with
// its Kind (or the context's error when ctx ended); the endpoint's health record is updated
// either way.
func (e *Endpoint) Call(ctx context.Context, out any, method string, params ...any) error {
	if params == nil {
		params = []any{}
	}
	start := e.now()
	err := e.call(ctx, out, method, params)
	if ctx.Err() != nil && err != nil {
		return ctx.Err() // our own deadline or shutdown: not the endpoint's fault
	}
	e.record(start, err)
	return err
}

func (e *Endpoint) call(ctx context.Context, out any, method string, params []any) error {
	e.requests.Add(1)
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", ID: 1, Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("encode %s: %w", method, err)
	}
	fail := func(k Kind, status int, msg string) *Error {
		return &Error{Endpoint: e.name, Method: method, Kind: k, HTTPStatus: status, Msg: msg}
	}
	cctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return fail(Fatal, 0, "bad request") // the URL was checked at start: not reached
	}
	for k, vs := range e.headers {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.hc.Do(req)
	if err != nil {
		if cctx.Err() != nil && ctx.Err() == nil {
			return fail(Transient, 0, fmt.Sprintf("no answer within %s", e.timeout))
		}
		return fail(Transient, 0, transportMessage(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fail(Transient, resp.StatusCode, "answer cut off: "+transportMessage(err))
	}
	if len(raw) > maxBody {
		return fail(TooManyResults, resp.StatusCode, "answer larger than 128 MiB")
	}
	if resp.StatusCode != http.StatusOK {
		ra := parseRetryAfter(resp.Header.Get("Retry-After"), e.now())
		f := fail(classifyHTTP(resp.StatusCode, ra), resp.StatusCode, http.StatusText(resp.StatusCode))
		f.RetryAfter = ra
		return f
	}
	var r rpcResponse
	if err := json.Unmarshal(raw, &r); err != nil || (r.Error == nil && r.Result == nil) {
		if bytes.Contains(bytes.ToLower(raw), []byte(lackOfResources)) {
			f := fail(RateLimited, resp.StatusCode, lackOfResources)
			f.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), e.now())
			return f
		}
		return fail(Transient, resp.StatusCode, "not a JSON-RPC answer")
	}
	if r.Error != nil {
		k, limit := classifyRPC(method, r.Error.Code, r.Error.Message)
		f := fail(k, resp.StatusCode, cut(secreturl.Scrub(r.Error.Message)))
		f.Code, f.Limit = r.Error.Code, limit
		return f
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return fail(Transient, resp.StatusCode, "undecodable result: "+cut(err.Error()))
	}
	return nil
}

// transportMessage is a transport error without the URL net/http quotes in it.
func transportMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return cut(secreturl.Scrub(err.Error()))
}

func cut(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// Backoff bounds.
const (
	transientBase = 500 * time.Millisecond
	transientMax  = 15 * time.Second
	limitedBase   = time.Second
	limitedMax    = 60 * time.Second
	fatalBase     = 30 * time.Second
	fatalMax      = 5 * time.Minute
)

// record updates the health record after a call that started at start.
func (e *Endpoint) record(start time.Time, err error) {
	now := e.now()
	k := KindOf(err)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil || k == RangeTooLarge || k == TooManyResults {
		// An answer (a range refusal is a healthy node applying its limits).
		d := now.Sub(start)
		if e.latency == 0 {
			e.latency = d
		} else {
			e.latency = (e.latency*4 + d) / 5
		}
		e.failScore *= 0.8
		e.failures = 0
		if k != "" {
			e.errs[kindIndex(k)].Add(1)
		}
		return
	}
	if k == "" {
		return // not an endpoint failure (encoding)
	}
	e.errs[kindIndex(k)].Add(1)
	e.failScore += 1
	e.failures++
	e.lastKind = k
	var ra time.Duration
	var ee *Error
	if errors.As(err, &ee) {
		ra = ee.RetryAfter
		e.lastFailure = ee.Error()
	}
	e.benchUntil = now.Add(benchFor(k, e.failures, ra))
}

// benchFor is how long an endpoint is left alone after its n-th consecutive failure of kind k:
// exponential with ±20 % jitter (so several watchers do not come back at once), or the
// provider's Retry-After (capped at limitedMax) when it gave one.
func benchFor(k Kind, n int, retryAfter time.Duration) time.Duration {
	base, ceil := transientBase, transientMax
	switch k {
	case RateLimited:
		base, ceil = limitedBase, limitedMax
	case Fatal:
		base, ceil = fatalBase, fatalMax
	}
	if retryAfter > 0 {
		return min(retryAfter, limitedMax) + time.Duration(rand.Int64N(int64(250*time.Millisecond)))
	}
	d := base
	for i := 1; i < n && d < ceil; i++ {
		d *= 2
	}
	d = min(d, ceil)
	return d - d/5 + time.Duration(rand.Int64N(int64(d*2/5)+1))
}

func kindIndex(k Kind) int {
	for i, x := range Kinds {
		if x == k {
			return i
		}
	}
	return len(Kinds) - 1
}

// benched reports whether the endpoint is left alone at now.
func (e *Endpoint) benched(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return now.Before(e.benchUntil)
}

// score orders healthy endpoints: lower is better (recent failures weigh as 250 ms each).
func (e *Endpoint) score() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return float64(e.latency.Milliseconds()) + 250*e.failScore
}

// Stat is an endpoint's health record, for metrics and logs.
type Stat struct {
	Index    int
	Name     string // "#i scheme://host"
	Host     string // scheme://host
	Requests uint64
	Errors   map[Kind]uint64
	Latency  time.Duration // moving average
	Head     uint64        // last head it reported
	Lag      uint64        // blocks behind the best head at the last round
	Healthy  bool          // not benched
	Primary  bool          // the one the last step read from
	LastKind Kind          // kind of its last failure
}

func (e *Endpoint) stat(now time.Time) Stat {
	s := Stat{Index: e.index, Name: e.name, Host: e.host, Requests: e.requests.Load(), Errors: map[Kind]uint64{}}
	for i, k := range Kinds {
		s.Errors[k] = e.errs[i].Load()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.Latency, s.Head, s.Lag, s.Healthy, s.Primary, s.LastKind = e.latency, e.head, e.lag, !now.Before(e.benchUntil), e.primary, e.lastKind
	return s
}

// hasHeader reports whether the endpoint sends header name (tests).
func (e *Endpoint) hasHeader(name string) bool { return e.headers.Get(name) != "" }
