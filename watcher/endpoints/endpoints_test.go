package endpoints

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// node is an httptest JSON-RPC server answering as the test scripts it: answer gets the
// method, its params and the request, and writes the HTTP response itself.
type node struct {
	srv    *httptest.Server
	mu     sync.Mutex
	calls  map[string]int
	header http.Header // headers of the last request
}

func newNode(t *testing.T, answer func(w http.ResponseWriter, method string, params []json.RawMessage)) *node {
	n := &node{calls: map[string]int{}}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		n.mu.Lock()
		n.calls[req.Method]++
		n.header = r.Header.Clone()
		n.mu.Unlock()
		answer(w, req.Method, req.Params)
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *node) count(method string) int { n.mu.Lock(); defer n.mu.Unlock(); return n.calls[method] }

func result(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": 1, "result": v})
}

func rpcError(w http.ResponseWriter, code int, msg string) {
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": 1, "error": map[string]any{"code": code, "message": msg}})
}

// chainNode answers eth_blockNumber with head, blocks with hash(n), and logs with one log
// per block in the range.
func chainNode(t *testing.T, head func() uint64, hash func(uint64) string, logs func(w http.ResponseWriter, from, to uint64) bool) *node {
	return newNode(t, func(w http.ResponseWriter, method string, params []json.RawMessage) {
		switch method {
		case "eth_blockNumber":
			result(w, hexutil.EncodeUint64(head()))
		case "eth_getBlockByNumber":
			var tag string
			_ = json.Unmarshal(params[0], &tag)
			n, err := hexutil.DecodeUint64(tag)
			if tag == "finalized" {
				n, err = head()-18, nil
			}
			if err != nil || n > head() {
				result(w, nil)
				return
			}
			result(w, map[string]any{"number": hexutil.EncodeUint64(n), "hash": hash(n)})
		case "eth_getLogs":
			var f struct{ FromBlock, ToBlock string }
			_ = json.Unmarshal(params[0], &f)
			from, _ := hexutil.DecodeUint64(f.FromBlock)
			to, _ := hexutil.DecodeUint64(f.ToBlock)
			if logs != nil && !logs(w, from, to) {
				return
			}
			var out []map[string]any
			for b := from; b <= to; b++ {
				out = append(out, map[string]any{"address": "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c",
					"topics": []string{}, "data": "0x", "blockNumber": hexutil.EncodeUint64(b), "blockHash": hash(b),
					"transactionHash": fmt.Sprintf("0x%064x", b), "logIndex": "0x0", "transactionIndex": "0x0", "removed": false})
			}
			result(w, out)
		default:
			rpcError(w, -32601, "method not found")
		}
	})
}

// tronHash is a TRON-style block hash: its first 8 bytes are the height.
func tronHash(n uint64) string { return fmt.Sprintf("0x%016x%048x", n, 0xabc) }

func fixed(h uint64) func() uint64 { return func() uint64 { return h } }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func pool(t *testing.T, o Options, urls ...string) (*Pool, *clock, *bytes.Buffer) {
	t.Helper()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	var logs bytes.Buffer
	if o.Now == nil {
		o.Now = c.Now
	}
	o.Log = slog.New(slog.NewTextHandler(&logs, nil))
	var cfgs []Config
	for _, u := range urls {
		cfg, err := ParseSpec(u)
		if err != nil {
			t.Fatal(err)
		}
		cfgs = append(cfgs, cfg)
	}
	p, err := New(cfgs, o)
	if err != nil {
		t.Fatal(err)
	}
	return p, c, &logs
}

func rangeQuery(from, to uint64) ethereum.FilterQuery {
	return ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to)}
}

// TestClassification: every way a provider or java-tron says "not now" or "not like this"
// is an error of the right kind, with the Retry-After it gave, and none reads as an empty
// answer; the error text names the endpoint by index and host only.
func TestClassification(t *testing.T) {
	cases := []struct {
		name   string
		method string
		answer func(w http.ResponseWriter)
		kind   Kind
		retry  time.Duration
		limit  uint64
	}{
		{"429 with Retry-After seconds", "eth_blockNumber", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(429)
		}, RateLimited, 3 * time.Second, 0},
		{"TronGrid 403 with Retry-After", "eth_getLogs", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(403)
			_, _ = w.Write([]byte(`{"Error":"The key exceeds the frequency limit(15), and the query server will be suspended for 7s"}`))
		}, RateLimited, 7 * time.Second, 0},
		{"503 with Retry-After", "eth_blockNumber", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(503)
		}, RateLimited, 2 * time.Second, 0},
		{"403 without Retry-After (bad key)", "eth_blockNumber", func(w http.ResponseWriter) { w.WriteHeader(403) }, Fatal, 0, 0},
		{"401", "eth_blockNumber", func(w http.ResponseWriter) { w.WriteHeader(401) }, Fatal, 0, 0},
		{"503", "eth_blockNumber", func(w http.ResponseWriter) { w.WriteHeader(503) }, Transient, 0, 0},
		{"502", "eth_getLogs", func(w http.ResponseWriter) { w.WriteHeader(502) }, Transient, 0, 0},
		{"java-tron rate limiter: HTTP 200 outside the envelope", "eth_getLogs", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"Error":"lack of computing resources"}`))
		}, RateLimited, 0, 0},
		{"java-tron rate limiter as plain text", "eth_blockNumber", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte("Error: lack of computing resources"))
		}, RateLimited, 0, 0},
		{"exceed max block range", "eth_getLogs", func(w http.ResponseWriter) {
			rpcError(w, -32602, "exceed max block range: 5000")
		}, RangeTooLarge, 0, 5000},
		{"java-tron too many results", "eth_getLogs", func(w http.ResponseWriter) {
			rpcError(w, -32005, "query returned more than 10000 results")
		}, TooManyResults, 0, 0},
		{"-32005 on another method is a limit", "eth_blockNumber", func(w http.ResponseWriter) {
			rpcError(w, -32005, "limit exceeded")
		}, RateLimited, 0, 0},
		{"pending tag rejected", "eth_getBlockByNumber", func(w http.ResponseWriter) {
			rpcError(w, -32602, "TAG pending not supported")
		}, Fatal, 0, 0},
		{"method not found", "eth_getLogs", func(w http.ResponseWriter) { rpcError(w, -32601, "the method does not exist") }, Fatal, 0, 0},
		{"business error with HTTP 200", "eth_getBlockByNumber", func(w http.ResponseWriter) {
			rpcError(w, -32000, "block not found")
		}, Transient, 0, 0},
		{"envelope without result or error", "eth_getLogs", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1}`))
		}, Transient, 0, 0},
		{"HTML page with HTTP 200", "eth_getLogs", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`<html>maintenance</html>`))
		}, Transient, 0, 0},
		{"dropped mid-response", "eth_getLogs", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":[{"address":`))
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, Transient, 0, 0},
		{"undecodable result", "eth_getLogs", func(w http.ResponseWriter) { result(w, "not logs") }, Transient, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := newNode(t, func(w http.ResponseWriter, _ string, _ []json.RawMessage) { c.answer(w) })
			p, _, _ := pool(t, Options{}, n.srv.URL+"/SECRETKEY/jsonrpc?apikey=SECRETKEY|TRON-PRO-API-KEY: SECRETHEADER")
			e := p.Endpoints()[0]
			var out any
			if c.method == "eth_getLogs" {
				var logs []map[string]any
				out = &logs
			}
			err := e.Call(context.Background(), &out, c.method, "0x1")
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if re.Kind != c.kind || re.RetryAfter != c.retry || re.Limit != c.limit {
				t.Fatalf("got kind %s retry %s limit %d, want %s %s %d (%v)", re.Kind, re.RetryAfter, re.Limit, c.kind, c.retry, c.limit, err)
			}
			if s := err.Error(); strings.Contains(s, "SECRET") || !strings.Contains(s, "#0 http://127.0.0.1") {
				t.Fatalf("error text %q", s)
			}
			st := p.Stats()[0]
			if st.Errors[c.kind] != 1 || st.Requests != 1 {
				t.Fatalf("stats %+v", st)
			}
			if healthy := c.kind == RangeTooLarge || c.kind == TooManyResults; st.Healthy != healthy {
				t.Fatalf("healthy = %v after %s", st.Healthy, c.kind)
			}
		})
	}
}

// TestHeaders: global headers go to every endpoint, an endpoint's own only to it and win
// over a global one of the same name.
func TestHeaders(t *testing.T) {
	a := chainNode(t, fixed(10), tronHash, nil)
	b := chainNode(t, fixed(10), tronHash, nil)
	p, _, _ := pool(t, Options{Headers: http.Header{"Tron-Pro-Api-Key": {"global"}, "X-Team": {"t"}}},
		a.srv.URL+"|TRON-PRO-API-KEY: own-a", b.srv.URL)
	if _, err := p.Begin(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := a.header.Get("TRON-PRO-API-KEY"); got != "own-a" || a.header.Get("X-Team") != "t" {
		t.Fatalf("endpoint a got %q", a.header)
	}
	if got := b.header.Get("TRON-PRO-API-KEY"); got != "global" {
		t.Fatalf("endpoint b got %q", got)
	}
}

func TestParseSpec(t *testing.T) {
	for _, bad := range []string{"", "ftp://h/x", "/path", "https://h/|NoColon", "https://h/|Bad Name: v"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
	_, err := ParseSpec("https://h.example/KEY|X-Api-Key")
	if err == nil || strings.Contains(err.Error(), "KEY") && !strings.Contains(err.Error(), "X-Api-Key") {
		t.Errorf("error %v", err)
	}
	if _, err := ParseSpec("https://user:SECRET@h/x|Header: a\r\nSECRET"); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %v", err)
	}
	got := SplitList("https://a/x|H: 1, https://b/y\nhttps://c/z ,")
	if len(got) != 3 || got[0] != "https://a/x|H: 1" || got[2] != "https://c/z" {
		t.Errorf("SplitList = %q", got)
	}
}

// TestFailoverWithinStep: the primary rate-limits eth_getLogs mid-step; the step's view reads
// from the next endpoint at the same head at once, and the primary is benched for its
// Retry-After.
func TestFailoverWithinStep(t *testing.T) {
	a := chainNode(t, fixed(100), tronHash, func(w http.ResponseWriter, _, _ uint64) bool {
		w.Header().Set("Retry-After", "20")
		w.WriteHeader(429)
		return false
	})
	b := chainNode(t, fixed(100), tronHash, nil)
	p, clk, _ := pool(t, Options{}, a.srv.URL, b.srv.URL)
	c, err := p.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v := c.(*View)
	if v.Primary().Index() != 0 {
		t.Fatalf("primary %s", v.Primary().Name())
	}
	logs, err := v.FilterLogs(context.Background(), rangeQuery(90, 99))
	if err != nil || len(logs) != 10 {
		t.Fatalf("logs %d, %v", len(logs), err)
	}
	if v.Primary().Index() != 1 || a.count("eth_getLogs") != 1 || b.count("eth_getLogs") != 1 {
		t.Fatalf("primary %s; calls a %d b %d", v.Primary().Name(), a.count("eth_getLogs"), b.count("eth_getLogs"))
	}
	st := p.Stats()
	if st[0].Healthy || st[0].Errors[RateLimited] != 1 || !st[1].Primary {
		t.Fatalf("stats %+v", st)
	}
	// Benched for the Retry-After: the next steps do not ask it; after it they do again.
	if _, err := p.Begin(context.Background()); err != nil || a.count("eth_blockNumber") != 1 {
		t.Fatalf("a asked %d times while benched (%v)", a.count("eth_blockNumber"), err)
	}
	clk.Add(21 * time.Second)
	if _, err := p.Begin(context.Background()); err != nil || a.count("eth_blockNumber") != 2 {
		t.Fatalf("a asked %d times after its Retry-After (%v)", a.count("eth_blockNumber"), err)
	}
}

// TestBackoffGrows: consecutive failures bench longer each time, with jitter, up to a cap.
func TestBackoffGrows(t *testing.T) {
	prev := time.Duration(0)
	for n := 1; n <= 5; n++ {
		d := benchFor(Transient, n, 0)
		lo, hi := transientBase<<(n-1)*4/5, transientBase<<(n-1)*6/5
		if d < lo || d > hi || d <= prev*4/5 {
			t.Fatalf("bench %d: %s not in [%s, %s]", n, d, lo, hi)
		}
		prev = d
	}
	if d := benchFor(Transient, 60, 0); d > transientMax*6/5 {
		t.Fatalf("uncapped: %s", d)
	}
	if d := benchFor(RateLimited, 1, 4*time.Second); d < 4*time.Second || d > 4*time.Second+250*time.Millisecond {
		t.Fatalf("Retry-After 4s benched %s", d)
	}
	if d := benchFor(RateLimited, 1, time.Hour); d > limitedMax+250*time.Millisecond {
		t.Fatalf("Retry-After not capped: %s", d)
	}
}

// TestSplitRange: a node refusing ranges over its limit (java-tron's "exceed max block range:
// N" when to−from > N) or with too many results gets smaller ranges; every block's logs come
// back once, in order.
func TestSplitRange(t *testing.T) {
	a := chainNode(t, fixed(1000), tronHash, func(w http.ResponseWriter, from, to uint64) bool {
		switch {
		case to-from > 7:
			rpcError(w, -32602, "exceed max block range: 7")
			return false
		case to-from+1 > 3 && from >= 20:
			rpcError(w, -32005, "query returned more than 10000 results")
			return false
		}
		return true
	})
	p, _, _ := pool(t, Options{}, a.srv.URL)
	c, err := p.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	logs, err := c.FilterLogs(context.Background(), rangeQuery(0, 40))
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 41 {
		t.Fatalf("%d logs", len(logs))
	}
	for i, l := range logs {
		if l.BlockNumber != uint64(i) {
			t.Fatalf("log %d is of block %d", i, l.BlockNumber)
		}
	}
	if !p.Stats()[0].Healthy {
		t.Fatal("range refusals benched the endpoint")
	}
	// A single block with too many results cannot be split: an error, never "no logs".
	b := chainNode(t, fixed(1000), tronHash, func(w http.ResponseWriter, _, _ uint64) bool {
		rpcError(w, -32005, "query returned more than 10000 results")
		return false
	})
	p2, _, _ := pool(t, Options{}, b.srv.URL)
	c2, _ := p2.Begin(context.Background())
	if logs, err := c2.FilterLogs(context.Background(), rangeQuery(5, 6)); err == nil || KindOf(err) != TooManyResults {
		t.Fatalf("logs %v err %v", logs, err)
	}
}

// TestNeverReadBehind: with one endpoint 50 blocks behind, the step reads from the other;
// when that one dies, the lagging one is not read from while the dead one's head is recent
// (the step waits), and is after the head window, at its own head.
func TestNeverReadBehind(t *testing.T) {
	var mu sync.Mutex
	dead := false
	a := chainNode(t, fixed(1000), tronHash, nil)
	ahead := a.srv.Config.Handler
	a.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		d := dead
		mu.Unlock()
		if d {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		ahead.ServeHTTP(w, r)
	})
	b := chainNode(t, fixed(950), tronHash, nil)
	p, clk, logs := pool(t, Options{}, b.srv.URL, a.srv.URL)
	c, err := p.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := c.BlockNumber(context.Background()); h != 1000 || c.(*View).Primary().Index() != 1 {
		t.Fatalf("head %d from %s", h, c.(*View).Primary().Name())
	}
	if st := p.Stats(); st[0].Lag != 50 || st[1].Lag != 0 {
		t.Fatalf("lags %d %d", st[0].Lag, st[1].Lag)
	}
	mu.Lock()
	dead = true
	mu.Unlock()
	clk.Add(time.Second)
	if _, err := p.Begin(context.Background()); !errors.Is(err, ErrBehind) {
		t.Fatalf("err %v, want ErrBehind", err)
	}
	if p.WaitCounts()[WaitBehind] != 1 || !strings.Contains(logs.String(), "behind") {
		t.Fatalf("waits %v; log %s", p.WaitCounts(), logs)
	}
	clk.Add(DefaultHeadWindow)
	c, err = p.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := c.BlockNumber(context.Background()); h != 950 {
		t.Fatalf("head %d", h)
	}
}

// TestVerify: a block one healthy endpoint reports with another hash makes the step wait;
// one that has no block there does not vote; the quorum counts agreeing endpoints.
func TestVerify(t *testing.T) {
	forked := func(n uint64) string {
		if n >= 95 {
			return fmt.Sprintf("0x%016x%048x", n, 0xf0f)
		}
		return tronHash(n)
	}
	a := chainNode(t, fixed(100), tronHash, nil)
	b := chainNode(t, fixed(100), forked, nil)
	lag := chainNode(t, fixed(90), tronHash, nil)
	ctx := context.Background()

	p, _, logs := pool(t, Options{}, a.srv.URL, b.srv.URL)
	c, _ := p.Begin(ctx)
	v := c.(*View)
	if err := v.Verify(ctx, map[uint64]string{90: tronHash(90), 94: ""}); err != nil {
		t.Fatalf("agreeing blocks: %v", err)
	}
	err := v.Verify(ctx, map[uint64]string{96: v.mustHash(t, 96)})
	if !errors.Is(err, ErrDisagree) || p.WaitCounts()[WaitDisagree] != 1 || !strings.Contains(logs.String(), "disagree") {
		t.Fatalf("forked block: %v; waits %v", err, p.WaitCounts())
	}

	p2, _, _ := pool(t, Options{Quorum: 2}, a.srv.URL, lag.srv.URL)
	c2, _ := p2.Begin(ctx)
	if err := c2.(*View).Verify(ctx, map[uint64]string{80: tronHash(80)}); err != nil {
		t.Fatalf("both have it: %v", err)
	}
	if err := c2.(*View).Verify(ctx, map[uint64]string{98: tronHash(98)}); !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("only one has it, quorum 2: %v", err)
	}
	p3, _, _ := pool(t, Options{}, a.srv.URL, lag.srv.URL)
	c3, _ := p3.Begin(ctx)
	if err := c3.(*View).Verify(ctx, map[uint64]string{98: tronHash(98)}); err != nil {
		t.Fatalf("the lagging one does not vote: %v", err)
	}
}

func (v *View) mustHash(t *testing.T, n uint64) string {
	h, err := v.BlockHash(context.Background(), n)
	if err != nil || h == nil {
		t.Fatalf("hash %d: %v", n, err)
	}
	return *h
}

// TestFinalized: `finalized` (TRON: the latest solidified block) is read from the endpoint
// and never above the step's head.
func TestFinalized(t *testing.T) {
	a := chainNode(t, fixed(100), tronHash, nil)
	p, _, _ := pool(t, Options{}, a.srv.URL)
	c, _ := p.Begin(context.Background())
	if f, err := c.Finalized(context.Background()); err != nil || f != 82 {
		t.Fatalf("finalized %d %v", f, err)
	}
}

// TestVerifyAfterFailover: blocks a step read from one endpoint that then failed are checked
// against the endpoint it failed over to (which did not report them), so a lying endpoint
// cannot have its blocks waved through by failing right after answering.
func TestVerifyAfterFailover(t *testing.T) {
	forked := func(n uint64) string {
		if n == 96 {
			return fmt.Sprintf("0x%016x%048x", n, 0xf0f)
		}
		return tronHash(n)
	}
	var mu sync.Mutex
	calls := 0
	liar := chainNode(t, fixed(100), forked, func(w http.ResponseWriter, _, _ uint64) bool {
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 1 {
			return true // the first answer, with block 96 forked
		}
		w.WriteHeader(http.StatusBadGateway)
		return false
	})
	honest := chainNode(t, fixed(100), tronHash, nil)
	p, _, _ := pool(t, Options{}, liar.srv.URL, honest.srv.URL)
	ctx := context.Background()
	c, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v := c.(*View)
	logs, err := v.FilterLogs(ctx, rangeQuery(90, 97))
	if err != nil || len(logs) != 8 || v.Primary().Index() != 0 {
		t.Fatalf("logs %d from %s: %v", len(logs), v.Primary().Name(), err)
	}
	if _, err := v.FilterLogs(ctx, rangeQuery(98, 100)); err != nil || v.Primary().Index() != 1 {
		t.Fatalf("failover: primary %s, %v", v.Primary().Name(), err)
	}
	blocks := map[uint64]string{logs[6].BlockNumber: logs[6].BlockHash.Hex(), 99: ""}
	if err := v.Verify(ctx, blocks); !errors.Is(err, ErrDisagree) {
		t.Fatalf("the liar's block 96, read before it failed: %v, want %v", err, ErrDisagree)
	}
	if err := v.Verify(ctx, map[uint64]string{logs[5].BlockNumber: logs[5].BlockHash.Hex()}); err != nil {
		t.Fatalf("an honest block the liar reported: %v", err)
	}
}
