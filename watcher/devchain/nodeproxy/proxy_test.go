package nodeproxy_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/mpchat/checkout/watcher/devchain"
	"github.com/mpchat/checkout/watcher/devchain/nodeproxy"
)

// One chain for the whole package: building thousands of blocks is the slow part. Tests that
// add blocks only ever look at heights relative to what they read.
var (
	chain *devchain.Chain
	// early is the block with three transfers to earlyTo; late is a block with one more, more
	// than 6,000 blocks later.
	early, late uint64
	earlyTo     = common.HexToAddress("0x00000000000000000000000000000000000e0001")
	lateTo      = common.HexToAddress("0x00000000000000000000000000000000000e0002")
)

const backlog = 6100

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	var err error
	chain, err = devchain.Start(ctx, devchain.Config{Logger: quiet()})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dev chain:", err)
		return 1
	}
	defer chain.Close()
	if early, err = pay(ctx, earlyTo, 3); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 0; i < backlog; i++ {
		chain.Commit()
	}
	if late, err = pay(ctx, lateTo, 1); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// pay makes n transfers to `to` in one block and returns its height.
func pay(ctx context.Context, to common.Address, n int) (uint64, error) {
	var last common.Hash
	for i := 0; i < n; i++ {
		h, err := chain.Pay(ctx, i, to, 1_000_000)
		if err != nil {
			return 0, err
		}
		last = h
	}
	chain.Commit()
	r, err := chain.Client().TransactionReceipt(ctx, last)
	if err != nil {
		return 0, fmt.Errorf("receipt: %w", err)
	}
	return r.BlockNumber.Uint64(), nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func start(t *testing.T, cfg nodeproxy.Config) (*nodeproxy.Proxy, *ethclient.Client) {
	t.Helper()
	cfg.Upstream = chain.RPCURL()
	cfg.Logger = quiet()
	p, err := nodeproxy.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	cl, err := ethclient.Dial(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return p, cl
}

func transfers(from, to uint64) ethereum.FilterQuery {
	return ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to),
		Addresses: []common.Address{chain.Token()}, Topics: [][]common.Hash{{devchain.TransferTopic}}}
}

// rpcCode asserts err is a JSON-RPC error with code and message.
func rpcCode(t *testing.T, err error, code int, msg string) {
	t.Helper()
	var re rpc.Error
	if !errors.As(err, &re) {
		t.Fatalf("want JSON-RPC error %d %q, got %v", code, msg, err)
	}
	if re.ErrorCode() != code || re.Error() != msg {
		t.Fatalf("want JSON-RPC error %d %q, got %d %q", code, msg, re.ErrorCode(), re.Error())
	}
}

func upstreamHead(t *testing.T) uint64 {
	t.Helper()
	n, err := chain.Client().BlockNumber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTRONLogRange(t *testing.T) {
	_, cl := start(t, nodeproxy.Config{TRON: true})
	ctx := context.Background()
	_, err := cl.FilterLogs(ctx, transfers(early, early+6000))
	rpcCode(t, err, -32602, "exceed max block range: 5000")
	// java-tron compares to − from with the limit: 5,001 blocks pass, 5,002 do not.
	logs, err := cl.FilterLogs(ctx, transfers(early, early+5000))
	if err != nil || len(logs) != 3 {
		t.Fatalf("5,001 blocks: %d logs, %v", len(logs), err)
	}
	_, err = cl.FilterLogs(ctx, transfers(early, early+5001))
	rpcCode(t, err, -32602, "exceed max block range: 5000")
	// The range is measured to the head: a toBlock far in the future counts only up to it.
	head := upstreamHead(t)
	logs, err = cl.FilterLogs(ctx, transfers(head-100, head+1_000_000))
	if err != nil {
		t.Fatalf("range clipped at the head: %v", err)
	}
	for _, l := range logs {
		if l.BlockNumber > head {
			t.Fatalf("log past the head: %d", l.BlockNumber)
		}
	}
	_, err = cl.FilterLogs(ctx, transfers(late, late-1))
	rpcCode(t, err, -32602, "please verify: fromBlock <= toBlock")
	// Configurable.
	_, cl2 := start(t, nodeproxy.Config{TRON: true, MaxBlockRange: 10})
	_, err = cl2.FilterLogs(ctx, transfers(early, early+11))
	rpcCode(t, err, -32602, "exceed max block range: 10")
	// An Ethereum-like proxy has no limit.
	_, plain := start(t, nodeproxy.Config{})
	if logs, err := plain.FilterLogs(ctx, transfers(0, late)); err != nil || len(logs) < 4 {
		t.Fatalf("plain proxy over the whole chain: %d logs, %v", len(logs), err)
	}
}

func TestTRONTooManyResults(t *testing.T) {
	_, cl := start(t, nodeproxy.Config{TRON: true, MaxResults: 2})
	ctx := context.Background()
	_, err := cl.FilterLogs(ctx, transfers(early, early))
	rpcCode(t, err, -32005, "query returned more than 2 results")
	q := transfers(early, early)
	q.Topics = [][]common.Hash{{devchain.TransferTopic}, nil, {common.BytesToHash(earlyTo.Bytes())}}
	q.Addresses = nil
	_, err = cl.FilterLogs(ctx, q)
	rpcCode(t, err, -32005, "query returned more than 2 results")
	// A client that splits gets them all.
	_, cl3 := start(t, nodeproxy.Config{TRON: true, MaxResults: 3})
	if logs, err := cl3.FilterLogs(ctx, transfers(early, early)); err != nil || len(logs) != 3 {
		t.Fatalf("at the limit: %d logs, %v", len(logs), err)
	}
}

func rawCall(t *testing.T, url string, result any, method string, args ...any) error {
	t.Helper()
	c, err := rpc.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.CallContext(context.Background(), result, method, args...)
}

type block struct {
	Number       hexutil.Uint64  `json:"number"`
	Hash         common.Hash     `json:"hash"`
	ParentHash   common.Hash     `json:"parentHash"`
	LogsBloom    hexutil.Bytes   `json:"logsBloom"`
	Transactions json.RawMessage `json:"transactions"`
}

type fullTx struct {
	Hash      common.Hash `json:"hash"`
	BlockHash common.Hash `json:"blockHash"`
}

func TestTRONTags(t *testing.T) {
	p, cl := start(t, nodeproxy.Config{TRON: true})
	ctx := context.Background()
	for _, tag := range []string{"pending", "safe"} {
		var b *block
		err := rawCall(t, p.URL(), &b, "eth_getBlockByNumber", tag, false)
		rpcCode(t, err, -32602, "TAG "+tag+" not supported")
		var logs []any
		err = rawCall(t, p.URL(), &logs, "eth_getLogs", map[string]any{"fromBlock": tag, "toBlock": "latest"})
		rpcCode(t, err, -32602, "TAG "+tag+" not supported")
	}
	var logs []any
	err := rawCall(t, p.URL(), &logs, "eth_getLogs", map[string]any{"fromBlock": "0x1", "toBlock": "finalized"})
	rpcCode(t, err, -32602, "invalid block range params")
	var b *block
	err = rawCall(t, p.URL(), &b, "eth_getBlockByNumber", "0xzz", false)
	rpcCode(t, err, -32602, "invalid block number")

	head := upstreamHead(t)
	if err := rawCall(t, p.URL(), &b, "eth_getBlockByNumber", "finalized", false); err != nil {
		t.Fatal(err)
	}
	if uint64(b.Number) != head-18 {
		t.Fatalf("finalized is %d, want head %d − 18", b.Number, head)
	}
	_, cl5 := start(t, nodeproxy.Config{TRON: true, SolidifyDepth: 5})
	if h, err := cl5.HeaderByNumber(ctx, big.NewInt(int64(rpc.FinalizedBlockNumber))); err != nil || h.Number.Uint64() != head-5 {
		t.Fatalf("finalized with depth 5: %v, %v (head %d)", h, err, head)
	}
	// ethclient's own "latest" still works.
	if h, err := cl.HeaderByNumber(ctx, nil); err != nil || h.Number.Uint64() != head {
		t.Fatalf("latest: %v, %v", h, err)
	}
}

func TestTRONHashes(t *testing.T) {
	p, cl := start(t, nodeproxy.Config{TRON: true})
	ctx := context.Background()
	var b, child *block
	if err := rawCall(t, p.URL(), &b, "eth_getBlockByNumber", hexutil.EncodeUint64(early), true); err != nil {
		t.Fatal(err)
	}
	if binary.BigEndian.Uint64(b.Hash[:8]) != early {
		t.Fatalf("block %d hash %s does not start with its height", early, b.Hash)
	}
	if !bytes.Equal(b.LogsBloom, make([]byte, 256)) {
		t.Fatalf("logsBloom not all zeros: %x", b.LogsBloom)
	}
	var txs []fullTx
	if err := json.Unmarshal(b.Transactions, &txs); err != nil || len(txs) != 3 {
		t.Fatalf("%d transactions, %v", len(txs), err)
	}
	for _, tx := range txs {
		if tx.BlockHash != b.Hash {
			t.Fatalf("transaction's blockHash %s, block's %s", tx.BlockHash, b.Hash)
		}
	}
	if err := rawCall(t, p.URL(), &child, "eth_getBlockByNumber", hexutil.EncodeUint64(early+1), false); err != nil {
		t.Fatal(err)
	}
	if child.ParentHash != b.Hash {
		t.Fatalf("child's parentHash %s, block's hash %s", child.ParentHash, b.Hash)
	}
	logs, err := cl.FilterLogs(ctx, transfers(early, early))
	if err != nil || len(logs) != 3 {
		t.Fatalf("%d logs, %v", len(logs), err)
	}
	for _, l := range logs {
		if l.BlockHash != b.Hash {
			t.Fatalf("log's blockHash %s, block's %s", l.BlockHash, b.Hash)
		}
	}
	r, err := cl.TransactionReceipt(ctx, txs[0].Hash)
	if err != nil || r.BlockHash != b.Hash || r.Logs[0].BlockHash != b.Hash {
		t.Fatalf("receipt: %+v, %v", r, err)
	}
	// A header decoded by go-ethereum hashes to something else, as on TRON.
	hdr, err := cl.HeaderByNumber(ctx, new(big.Int).SetUint64(early))
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Hash() == b.Hash {
		t.Fatal("a locally computed header hash matches the node's: hashes were not rewritten")
	}
	// By hash: the node's own hash finds the block, the dev chain's does not.
	byHash, err := cl.HeaderByHash(ctx, b.Hash)
	if err != nil || byHash.Number.Uint64() != early {
		t.Fatalf("by hash: %v, %v", byHash, err)
	}
	upHdr, _ := chain.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(early))
	if _, err := cl.HeaderByHash(ctx, upHdr.Hash()); !errors.Is(err, ethereum.NotFound) {
		t.Fatalf("the dev chain's hash: %v, want not found", err)
	}
	bh := b.Hash
	logs, err = cl.FilterLogs(ctx, ethereum.FilterQuery{BlockHash: &bh})
	if err != nil || len(logs) != 3 {
		t.Fatalf("logs by block hash: %d, %v", len(logs), err)
	}
	up := upHdr.Hash()
	_, err = cl.FilterLogs(ctx, ethereum.FilterQuery{BlockHash: &up})
	rpcCode(t, err, -32602, "invalid blockHash")
}

func TestTRONHTTPOnly(t *testing.T) {
	p, _ := start(t, nodeproxy.Config{TRON: true})
	ws := "ws://" + p.Addr() + "/jsonrpc"
	if c, err := rpc.Dial(ws); err == nil {
		c.Close()
		t.Fatal("WebSocket dial succeeded")
	}
	var id string
	err := rawCall(t, p.URL(), &id, "eth_subscribe", "newHeads")
	rpcCode(t, err, -32601, "method not found")
	// The error object carries data, as java-tron's does, and the status is 200.
	res, body := post(t, p.URL(), `{"jsonrpc":"2.0","id":7,"method":"eth_getBlockByNumber","params":["pending",false]}`)
	if res.StatusCode != 200 || !strings.Contains(body, `"data":"{}"`) || !strings.Contains(body, `"id":7`) {
		t.Fatalf("HTTP %d %s", res.StatusCode, body)
	}
}

func post(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestRateLimitStyles(t *testing.T) {
	p, cl := start(t, nodeproxy.Config{TRON: true})
	ctx := context.Background()
	req := `{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}`
	for _, tc := range []struct {
		style  nodeproxy.RateLimitStyle
		status int
		body   string
		retry  string
	}{
		{nodeproxy.RateLimitTron, 200, nodeproxy.TronLimitBody + "\n", ""},
		{nodeproxy.RateLimit429, 429, `{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"rate limit exceeded"}}` + "\n", "1"},
		{nodeproxy.RateLimitTronGrid403, 403, `{"Error":"` + nodeproxy.TronGridLimitMessage + `","StatusCode":403,"Success":false}` + "\n", "30"},
		{nodeproxy.RateLimitTronGrid503, 503, `{"Error":"` + nodeproxy.TronGridLimitMessage + `","StatusCode":503,"Success":false}` + "\n", "1"},
	} {
		t.Run(tc.style.String(), func(t *testing.T) {
			if err := p.Set(nodeproxy.Fault{RateLimit: tc.style}); err != nil {
				t.Fatal(err)
			}
			res, body := post(t, p.URL(), req)
			if res.StatusCode != tc.status || body != tc.body || res.Header.Get("Retry-After") != tc.retry {
				t.Fatalf("HTTP %d Retry-After %q %q", res.StatusCode, res.Header.Get("Retry-After"), body)
			}
			_, err := cl.BlockNumber(ctx)
			if tc.status == 200 {
				// Outside the JSON-RPC envelope, and HTTP 200: go-ethereum 1.17 matches "Error" to
				// its "error" member (JSON field names are case-insensitive) and reports an empty
				// JSON-RPC error, code 0 ("json-rpc error 0"), nothing saying "rate limit".
				var re rpc.Error
				var he rpc.HTTPError
				if !errors.As(err, &re) || re.ErrorCode() != 0 || errors.As(err, &he) {
					t.Fatalf("client error %v, want an empty JSON-RPC error", err)
				}
				return
			}
			var he rpc.HTTPError
			if !errors.As(err, &he) || he.StatusCode != tc.status {
				t.Fatalf("client error %v, want HTTP %d", err, tc.status)
			}
		})
	}
	if err := p.Set(nodeproxy.Fault{RateLimit: nodeproxy.RateLimit429, RetryAfter: 2500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if res, _ := post(t, p.URL(), req); res.Header.Get("Retry-After") != "3" {
		t.Fatalf("Retry-After %q, want 3", res.Header.Get("Retry-After"))
	}
	// A budget: with a tiny rate, the first request passes and the next is refused.
	if err := p.Set(nodeproxy.Fault{RateLimit: nodeproxy.RateLimit429, RateLimitQPS: 0.001}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.BlockNumber(ctx); err != nil {
		t.Fatalf("first request within the budget: %v", err)
	}
	var he rpc.HTTPError
	if _, err := cl.BlockNumber(ctx); !errors.As(err, &he) || he.StatusCode != 429 {
		t.Fatalf("second request: %v, want 429", err)
	}
	// Only the named methods.
	if err := p.Set(nodeproxy.Fault{RateLimit: nodeproxy.RateLimitTron, Methods: []string{"eth_getLogs"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.BlockNumber(ctx); err != nil {
		t.Fatalf("eth_blockNumber not limited: %v", err)
	}
	var re rpc.Error
	if _, err := cl.FilterLogs(ctx, transfers(early, early)); !errors.As(err, &re) || re.ErrorCode() != 0 {
		t.Fatalf("eth_getLogs: %v", err)
	}
	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.BlockNumber(ctx); err != nil {
		t.Fatalf("healed: %v", err)
	}
}

func TestRefuse(t *testing.T) {
	p, cl := start(t, nodeproxy.Config{})
	ctx := context.Background()
	if _, err := cl.BlockNumber(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Refuse(); err != nil {
		t.Fatal(err)
	}
	// The client's idle keep-alive connection was dropped: a call on it may fail with EOF
	// (as when a real node goes down); the next dial is refused.
	_, err := cl.BlockNumber(ctx)
	if err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
		_, err = cl.BlockNumber(ctx)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refused: %v, want connection refused", err)
	}
	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	if n, err := cl.BlockNumber(ctx); err != nil || n != upstreamHead(t) {
		t.Fatalf("healed: %d, %v", n, err)
	}
}

func TestDelay(t *testing.T) {
	p, cl := start(t, nodeproxy.Config{})
	if err := p.Delay(time.Hour); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := cl.BlockNumber(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delayed: %v, want the client's deadline", err)
	}
	if p.Count("eth_blockNumber") != 1 {
		t.Fatalf("count %d", p.Count("eth_blockNumber"))
	}
	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.BlockNumber(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStaleHead(t *testing.T) {
	for _, tron := range []bool{false, true} {
		t.Run(fmt.Sprint("tron=", tron), func(t *testing.T) {
			p, cl := start(t, nodeproxy.Config{TRON: tron})
			ctx := context.Background()
			if err := p.StaleHead(); err != nil {
				t.Fatal(err)
			}
			frozen, err := cl.BlockNumber(ctx)
			if err != nil {
				t.Fatal(err)
			}
			chain.Commit()
			chain.Commit()
			if n, err := cl.BlockNumber(ctx); err != nil || n != frozen {
				t.Fatalf("head %d, %v; want frozen at %d", n, err, frozen)
			}
			if h, err := cl.HeaderByNumber(ctx, nil); err != nil || h.Number.Uint64() != frozen {
				t.Fatalf("latest: %v, %v", h, err)
			}
			// Numbered queries still reach the newer blocks.
			if h, err := cl.HeaderByNumber(ctx, new(big.Int).SetUint64(frozen+2)); err != nil || h.Number.Uint64() != frozen+2 {
				t.Fatalf("block %d: %v, %v", frozen+2, h, err)
			}
			if err := p.Heal(); err != nil {
				t.Fatal(err)
			}
			if n, _ := cl.BlockNumber(ctx); n != frozen+2 {
				t.Fatalf("healed head %d, want %d", n, frozen+2)
			}
		})
	}
}

func TestLag(t *testing.T) {
	for i, tron := range []bool{false, true} {
		t.Run(fmt.Sprint("tron=", tron), func(t *testing.T) {
			p, cl := start(t, nodeproxy.Config{TRON: tron})
			ctx := context.Background()
			to := common.BigToAddress(big.NewInt(int64(0xe1a90 + i)))
			at, err := pay(ctx, to, 1)
			if err != nil {
				t.Fatal(err)
			}
			chain.Commit()
			head := upstreamHead(t) // at + 1 (or more)
			if err := p.Lag(head - at + 1); err != nil {
				t.Fatal(err)
			}
			if n, err := cl.BlockNumber(ctx); err != nil || n != at-1 {
				t.Fatalf("head %d, %v; want %d", n, err, at-1)
			}
			if _, err := cl.HeaderByNumber(ctx, new(big.Int).SetUint64(at)); !errors.Is(err, ethereum.NotFound) {
				t.Fatalf("block past the lagging head: %v, want not found", err)
			}
			q := transfers(at-10, at+10)
			q.Topics = [][]common.Hash{{devchain.TransferTopic}, nil, {common.BytesToHash(to.Bytes())}}
			if logs, err := cl.FilterLogs(ctx, q); err != nil || len(logs) != 0 {
				t.Fatalf("logs past the lagging head: %d, %v", len(logs), err)
			}
			var tx common.Hash
			if logs, _ := chain.Client().FilterLogs(ctx, q); len(logs) == 1 {
				tx = logs[0].TxHash
			}
			if _, err := cl.TransactionReceipt(ctx, tx); !errors.Is(err, ethereum.NotFound) {
				t.Fatalf("receipt past the lagging head: %v", err)
			}
			if err := p.Lag(0); err != nil {
				t.Fatal(err)
			}
			q.ToBlock = new(big.Int).SetUint64(head) // an Ethereum node refuses a range past its head
			if logs, err := cl.FilterLogs(ctx, q); err != nil || len(logs) != 1 {
				t.Fatalf("caught up: %d logs, %v", len(logs), err)
			}
		})
	}
}

func TestDropMidResponse(t *testing.T) {
	p, cl := start(t, nodeproxy.Config{TRON: true})
	ctx := context.Background()
	if err := p.Set(nodeproxy.Fault{DropMidResponse: true, Methods: []string{"eth_getLogs"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.BlockNumber(ctx); err != nil {
		t.Fatalf("eth_blockNumber is not dropped: %v", err)
	}
	_, err := cl.FilterLogs(ctx, transfers(early, early))
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("dropped response: %v, want unexpected EOF", err)
	}
	if err := p.Heal(); err != nil {
		t.Fatal(err)
	}
	if logs, err := cl.FilterLogs(ctx, transfers(early, early)); err != nil || len(logs) != 3 {
		t.Fatalf("healed: %d, %v", len(logs), err)
	}
}

func TestForkHash(t *testing.T) {
	for _, tron := range []bool{false, true} {
		t.Run(fmt.Sprint("tron=", tron), func(t *testing.T) {
			p, cl := start(t, nodeproxy.Config{TRON: tron})
			var honest, lying, child block
			if err := rawCall(t, p.URL(), &honest, "eth_getBlockByNumber", hexutil.EncodeUint64(early), false); err != nil {
				t.Fatal(err)
			}
			if err := p.ForkHash(early); err != nil {
				t.Fatal(err)
			}
			if err := rawCall(t, p.URL(), &lying, "eth_getBlockByNumber", hexutil.EncodeUint64(early), false); err != nil {
				t.Fatal(err)
			}
			if lying.Hash == honest.Hash || lying.Number != honest.Number {
				t.Fatalf("forked block %d: hash %s, honest %s", lying.Number, lying.Hash, honest.Hash)
			}
			if tron && binary.BigEndian.Uint64(lying.Hash[:8]) != early {
				t.Fatalf("forged TRON hash %s lost its height prefix", lying.Hash)
			}
			if err := rawCall(t, p.URL(), &child, "eth_getBlockByNumber", hexutil.EncodeUint64(early+1), false); err != nil {
				t.Fatal(err)
			}
			if child.ParentHash != lying.Hash {
				t.Fatalf("child's parentHash %s, forged hash %s", child.ParentHash, lying.Hash)
			}
			ctx := context.Background()
			logs, err := cl.FilterLogs(ctx, transfers(early, early))
			if err != nil || len(logs) != 3 || logs[0].BlockHash != lying.Hash {
				t.Fatalf("logs: %v, %v", logs, err)
			}
			if h, err := cl.HeaderByHash(ctx, lying.Hash); err != nil || h.Number.Uint64() != early {
				t.Fatalf("by forged hash: %v, %v", h, err)
			}
			if _, err := cl.HeaderByHash(ctx, honest.Hash); !errors.Is(err, ethereum.NotFound) {
				t.Fatalf("by the honest hash: %v, want not found", err)
			}
			if err := p.Heal(); err != nil {
				t.Fatal(err)
			}
			if logs, _ := cl.FilterLogs(ctx, transfers(early, early)); len(logs) != 3 || logs[0].BlockHash != honest.Hash {
				t.Fatalf("healed logs: %v", logs)
			}
		})
	}
}

func TestCounts(t *testing.T) {
	p, cl := start(t, nodeproxy.Config{TRON: true})
	ctx := context.Background()
	_, _ = cl.BlockNumber(ctx)
	_, _ = cl.FilterLogs(ctx, transfers(early, early))
	_, _ = cl.FilterLogs(ctx, transfers(early, early+6000)) // refused, still counted
	rc, _ := rpc.Dial(p.URL())
	defer rc.Close()
	var a, b hexutil.Uint64
	if err := rc.BatchCallContext(ctx, []rpc.BatchElem{
		{Method: "eth_blockNumber", Result: &a}, {Method: "eth_chainId", Result: &b},
	}); err != nil {
		t.Fatal(err)
	}
	if a == 0 || b != 1337 {
		t.Fatalf("batch: %d %d", a, b)
	}
	want := map[string]int{"eth_blockNumber": 2, "eth_getLogs": 2, "eth_chainId": 1}
	if got := p.Counts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	p.ResetCounts()
	if p.Count("eth_getLogs") != 0 {
		t.Fatal("not reset")
	}
}

// TestFaultsChangeInFlight changes faults while clients call (run with -race).
func TestFaultsChangeInFlight(t *testing.T) {
	p, cl := start(t, nodeproxy.Config{TRON: true})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, _ = cl.BlockNumber(ctx)
				_, _ = cl.FilterLogs(ctx, transfers(early, early+10))
			}
		}()
	}
	faults := []nodeproxy.Fault{
		{Lag: 3}, {StaleHead: true}, {RateLimit: nodeproxy.RateLimitTron}, {DropMidResponse: true},
		{ForkHeights: []uint64{early}}, {Delay: time.Millisecond}, {Refuse: true}, {},
	}
	for round := 0; round < 3; round++ {
		for _, f := range faults {
			if err := p.Set(f); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond) // let some calls land under this fault
		}
	}
	cancel()
	wg.Wait()
	if logs, err := cl.FilterLogs(context.Background(), transfers(early, early)); err != nil || len(logs) != 3 {
		t.Fatalf("after the storm: %d, %v", len(logs), err)
	}
}

// TestFaulted: Faulted counts the calls a fault met, a delayed one while it is held, and no
// call a fault spared.
func TestFaulted(t *testing.T) {
	p, cl := start(t, nodeproxy.Config{TRON: true})
	ctx := context.Background()
	if err := p.Set(nodeproxy.Fault{Delay: 300 * time.Millisecond, Methods: []string{"eth_getLogs"}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := cl.FilterLogs(ctx, transfers(early, early))
		done <- err
	}()
	if _, err := cl.BlockNumber(ctx); err != nil { // spared: another method
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Faulted("eth_getLogs") == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("the delayed call ended (%v) before Faulted showed it", err)
	default:
	}
	if p.Faulted("eth_getLogs") != 1 || p.Faulted("eth_blockNumber") != 0 {
		t.Fatalf("while held: %d getLogs, %d blockNumber faulted", p.Faulted("eth_getLogs"), p.Faulted("eth_blockNumber"))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, f := range []nodeproxy.Fault{{RateLimit: nodeproxy.RateLimitTron}, {DropMidResponse: true}} {
		p.ResetCounts()
		if err := p.Set(f); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.BlockNumber(ctx); err == nil {
			t.Fatalf("%+v: the call was answered", f)
		}
		if got := p.Faulted("eth_blockNumber"); got != 1 {
			t.Fatalf("%+v: Faulted %d, want 1", f, got)
		}
	}
	if err := p.Set(nodeproxy.Fault{RateLimit: nodeproxy.RateLimit429, RateLimitQPS: 1000}); err != nil {
		t.Fatal(err)
	}
	p.ResetCounts()
	if _, err := cl.BlockNumber(ctx); err != nil || p.Faulted("eth_blockNumber") != 0 {
		t.Fatalf("a call within the rate: %v, Faulted %d", err, p.Faulted("eth_blockNumber"))
	}
}
