package devchain

import (
	"context"
	"io"
	"log/slog"
	"math/big"
	"runtime"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
)

func start(t *testing.T, cfg Config) *Chain {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	c, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestTokenOverJSONRPC(t *testing.T) {
	c := start(t, Config{})
	ctx := context.Background()
	if c.Token() != TokenAddress() {
		t.Fatalf("token at %s, TokenAddress() says %s", c.Token().Hex(), TokenAddress().Hex())
	}
	if c.Payer(0).Hex() != "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" {
		t.Fatalf("payer 0 is %s", c.Payer(0).Hex())
	}
	cl, err := ethclient.Dial(c.RPCURL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	call := func(method string, args ...any) []any {
		data, _ := TokenABI.Pack(method, args...)
		tok := c.Token()
		out, err := cl.CallContract(ctx, ethereum.CallMsg{To: &tok, Data: data}, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := TokenABI.Unpack(method, out)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if d := call("decimals")[0].(uint8); d != 6 {
		t.Errorf("decimals %d", d)
	}
	if s := call("symbol")[0].(string); s != "USDT" {
		t.Errorf("symbol %q", s)
	}
	if s := call("name")[0].(string); s != "Tether USD (dev)" {
		t.Errorf("name %q", s)
	}
	if s := call("totalSupply")[0].(*big.Int); s.Int64() != int64(c.Accounts())*int64(PayerBalance) {
		t.Errorf("total supply %v", s)
	}
	to := common.HexToAddress("0x00000000000000000000000000000000000a11ce")
	h, err := c.Pay(ctx, 1, to, 12_340_000)
	if err != nil {
		t.Fatal(err)
	}
	c.Commit()
	if b, _ := BalanceOf(ctx, cl, c.Token(), to); b.Int64() != 12_340_000 {
		t.Errorf("balance %v", b)
	}
	if b, _ := BalanceOf(ctx, cl, c.Token(), c.Payer(1)); b.Int64() != int64(PayerBalance)-12_340_000 {
		t.Errorf("payer balance %v", b)
	}
	logs, err := cl.FilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{c.Token()},
		Topics: [][]common.Hash{{TransferTopic}, nil, {common.BytesToHash(to.Bytes())}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].TxHash != h || common.BytesToAddress(logs[0].Topics[1].Bytes()) != c.Payer(1) ||
		new(big.Int).SetBytes(logs[0].Data).Int64() != 12_340_000 {
		t.Fatalf("transfer log: %+v", logs)
	}
}

func TestWebSocketHeadsAndBlockProducer(t *testing.T) {
	c := start(t, Config{BlockInterval: 50 * time.Millisecond})
	ws, err := ethclient.Dial(c.WSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	heads := make(chan *types.Header, 16)
	sub, err := ws.SubscribeNewHead(context.Background(), heads)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	select {
	case h := <-heads:
		if h.Number.Sign() <= 0 {
			t.Errorf("head %v", h.Number)
		}
	case err := <-sub.Err():
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("no block produced within 10 s at a 50 ms interval")
	}
}

func TestPayRemoteToTRONAddress(t *testing.T) {
	c := start(t, Config{BlockInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tron := "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
	raw, err := deposit.ParseTRON(tron)
	if err != nil {
		t.Fatal(err)
	}
	amount, _ := checkout.ParseAmount("99.99")
	p, err := PayRemote(ctx, c.RPCURL(), 2, common.Address(raw), common.Address{}, amount, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.BlockNumber == 0 || p.From != c.Payer(2) {
		t.Errorf("payment %+v", p)
	}
	if b, _ := BalanceOf(ctx, c.Client(), c.Token(), common.Address(raw)); b.Int64() != int64(amount) {
		t.Errorf("balance %v", b)
	}
}

// TestForkRemovesLog: a reorg onto a longer side chain without the transfer removes its log,
// for a poller (FilterLogs) and for a WebSocket subscriber (the log again, Removed).
func TestForkRemovesLog(t *testing.T) {
	c := start(t, Config{Logger: quiet()})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, err := ethclient.Dial(c.WSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	to := common.HexToAddress("0x00000000000000000000000000000000000b0b00")
	q := ethereum.FilterQuery{Addresses: []common.Address{c.Token()}, Topics: [][]common.Hash{{TransferTopic}, nil, {common.BytesToHash(to.Bytes())}}}
	logs := make(chan types.Log, 8)
	sub, err := ws.SubscribeFilterLogs(ctx, q, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	parent, err := c.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Pay(ctx, 0, to, 5_000_000)
	if err != nil {
		t.Fatal(err)
	}
	c.Commit()
	if got, _ := c.Client().FilterLogs(ctx, q); len(got) != 1 || got[0].TxHash != h {
		t.Fatalf("before fork: %+v", got)
	}
	if l := nextLog(t, ctx, logs, sub); l.TxHash != h || l.Removed {
		t.Fatalf("first log %+v", l)
	}
	if err := c.Fork(parent.Hash()); err != nil {
		t.Fatal(err)
	}
	c.Commit()
	head := c.Commit()
	hdr, err := c.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Hash() != head || hdr.Number.Uint64() != parent.Number.Uint64()+2 {
		t.Fatalf("head after fork %v at %v, want %s at %v", hdr.Hash(), hdr.Number, head.Hex(), parent.Number.Uint64()+2)
	}
	if got, _ := c.Client().FilterLogs(ctx, q); len(got) != 0 {
		t.Fatalf("after fork: %d logs, want 0", len(got))
	}
	if l := nextLog(t, ctx, logs, sub); l.TxHash != h || !l.Removed {
		t.Fatalf("log after fork %+v, want it removed", l)
	}
	if _, err := c.Client().TransactionReceipt(ctx, h); err == nil {
		t.Error("the dropped transfer still has a receipt")
	}
	// Paying again after the reorg works (the payer's nonce went back with the chain).
	if _, err := c.Pay(ctx, 0, to, 1_000_000); err != nil {
		t.Fatal(err)
	}
	c.Commit()
	if b, _ := BalanceOf(ctx, c.Client(), c.Token(), to); b.Int64() != 1_000_000 {
		t.Errorf("balance after reorg and new payment %v", b)
	}
}

// TestForkWithProducer: Fork and Commit stay consistent while the interval producer runs.
func TestForkWithProducer(t *testing.T) {
	c := start(t, Config{BlockInterval: 5 * time.Millisecond, Logger: quiet()})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	to := common.HexToAddress("0x00000000000000000000000000000000000c0c00")
	q := ethereum.FilterQuery{Addresses: []common.Address{c.Token()}, Topics: [][]common.Hash{{TransferTopic}, nil, {common.BytesToHash(to.Bytes())}}}
	for round := range 5 {
		parent, err := c.Client().HeaderByNumber(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Pay(ctx, round%3, to, 1); err != nil {
			t.Fatal(err)
		}
		c.Commit()
		if got, _ := c.Client().FilterLogs(ctx, q); len(got) != 1 {
			t.Fatalf("round %d before fork: %d logs", round, len(got))
		}
		if err := c.Fork(parent.Hash()); err != nil {
			t.Fatal(err)
		}
		c.Commit()
		if got, _ := c.Client().FilterLogs(ctx, q); len(got) != 0 {
			t.Fatalf("round %d after fork: %d logs", round, len(got))
		}
	}
}

func TestForkErrors(t *testing.T) {
	c := start(t, Config{Logger: quiet()})
	if err := c.Fork(common.HexToHash("0x1234")); err == nil {
		t.Error("fork onto an unknown block succeeded")
	}
	parent := c.Commit()
	if _, err := c.Pay(context.Background(), 0, common.HexToAddress("0x0a"), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Fork(parent); err == nil {
		t.Error("fork with a pending transaction succeeded")
	}
}

func nextLog(t *testing.T, ctx context.Context, logs <-chan types.Log, sub ethereum.Subscription) types.Log {
	t.Helper()
	select {
	case l := <-logs:
		return l
	case err := <-sub.Err():
		t.Fatalf("log subscription: %v", err)
	case <-ctx.Done():
		t.Fatal("no log within the deadline")
	}
	return types.Log{}
}

// TestWebSocketJSONRPC: another client reads the chain over WebSocket: eth_blockNumber,
// eth_getLogs and eth_subscribe("logs").
func TestWebSocketJSONRPC(t *testing.T) {
	c := start(t, Config{Logger: quiet()})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, err := ethclient.Dial(c.WSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	before, err := ws.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logs := make(chan types.Log, 8)
	sub, err := ws.SubscribeFilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{c.Token()}}, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	to := common.HexToAddress("0x00000000000000000000000000000000000d0d00")
	h, err := c.Pay(ctx, 3, to, 42)
	if err != nil {
		t.Fatal(err)
	}
	block := c.Commit()
	if n, err := ws.BlockNumber(ctx); err != nil || n != before+1 {
		t.Fatalf("block number %d (%v), want %d", n, err, before+1)
	}
	l := nextLog(t, ctx, logs, sub)
	if l.TxHash != h || l.BlockHash != block || l.Topics[0] != TransferTopic ||
		common.BytesToAddress(l.Topics[1].Bytes()) != c.Payer(3) || common.BytesToAddress(l.Topics[2].Bytes()) != to ||
		new(big.Int).SetBytes(l.Data).Int64() != 42 {
		t.Fatalf("subscribed log %+v", l)
	}
	got, err := ws.FilterLogs(ctx, ethereum.FilterQuery{BlockHash: &block, Addresses: []common.Address{c.Token()}})
	if err != nil || len(got) != 1 || got[0].TxHash != h {
		t.Fatalf("eth_getLogs over WS: %+v, %v", got, err)
	}
}

// TestCloseLeavesNoGoroutines: Close stops the producer, the node and its servers.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	// go-ethereum starts process-wide workers (the sender cacher) with the first chain: start
	// one before taking the baseline.
	warm, err := Start(context.Background(), Config{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := warm.Close(); err != nil {
		t.Fatal(err)
	}
	base := settledGoroutines(0)

	c, err := Start(context.Background(), Config{BlockInterval: 5 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := ethclient.Dial(c.WSURL())
	if err != nil {
		t.Fatal(err)
	}
	heads := make(chan *types.Header, 16)
	sub, err := ws.SubscribeNewHead(context.Background(), heads)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-heads:
	case err := <-sub.Err():
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("no head")
	}
	if _, err := c.Pay(context.Background(), 0, common.HexToAddress("0x0e"), 1); err != nil {
		t.Fatal(err)
	}
	sub.Unsubscribe()
	ws.Close()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if c.Commit() != (common.Hash{}) {
		t.Error("Commit after Close mined a block")
	}
	if n := settledGoroutines(base); n > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Close, %d before Start:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// settledGoroutines polls the goroutine count until it is at most want (or, for want 0, stops
// changing), with a deadline.
func settledGoroutines(want int) int {
	deadline := time.Now().Add(10 * time.Second)
	last := runtime.NumGoroutine()
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n := runtime.NumGoroutine()
		if (want > 0 && n <= want) || (want == 0 && n == last) {
			return n
		}
		last = n
	}
	return runtime.NumGoroutine()
}

func TestPayRemoteRefusals(t *testing.T) {
	c := start(t, Config{Logger: quiet()})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	to := common.HexToAddress("0x0f")
	for name, tc := range map[string]struct {
		from  int
		token common.Address
	}{
		"negative payer":   {-2, common.Address{}},
		"payer too high":   {MaxAccounts, common.Address{}},
		"token not a code": {0, common.HexToAddress("0xdead")},
	} {
		if _, err := PayRemote(ctx, c.RPCURL(), tc.from, to, tc.token, 1, false); err == nil {
			t.Errorf("%s: paid", name)
		}
	}
	if _, err := PayRemote(ctx, c.RPCURL(), 0, to, common.Address{}, 0, false); err == nil {
		t.Error("zero amount paid")
	}
}

func TestStartRefusesTakenPortAndPublicAddress(t *testing.T) {
	c := start(t, Config{})
	addr := c.RPCURL()[len("http://"):]
	if _, err := Start(context.Background(), Config{Listen: addr}); err == nil {
		t.Error("second chain on a taken port started")
	}
	if _, err := Start(context.Background(), Config{Listen: "0.0.0.0:0"}); err == nil {
		t.Error("dev chain bound a non-loopback address")
	}
}

// TestTransferFromZeroForgesSender: a zero-value transferFrom names any `from` and lands a
// Transfer log on any address without moving a token; a non-zero one without allowance fails.
func TestTransferFromZeroForgesSender(t *testing.T) {
	c := start(t, Config{})
	ctx := context.Background()
	victim := common.HexToAddress("0x00000000000000000000000000000000000b10c5")
	to := common.HexToAddress("0x00000000000000000000000000000000000a11ce")
	h, err := c.TransferFrom(ctx, 2, victim, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Commit()
	rc, err := c.Client().TransactionReceipt(ctx, h)
	if err != nil || rc.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("receipt %+v %v", rc, err)
	}
	if len(rc.Logs) != 1 || rc.Logs[0].Topics[0] != TransferTopic ||
		common.BytesToAddress(rc.Logs[0].Topics[1].Bytes()) != victim ||
		common.BytesToAddress(rc.Logs[0].Topics[2].Bytes()) != to || new(big.Int).SetBytes(rc.Logs[0].Data).Sign() != 0 {
		t.Fatalf("logs %+v", rc.Logs)
	}
	if b, _ := BalanceOf(ctx, c.Client(), c.Token(), to); b.Sign() != 0 {
		t.Errorf("balance moved: %v", b)
	}
	if _, err := c.TransferFrom(ctx, 2, c.Payer(3), to, 1); err == nil {
		t.Error("a non-zero transferFrom without allowance was sent")
	}
	if _, err := c.TransferFrom(ctx, 99, victim, to, 0); err == nil {
		t.Error("unknown sender accepted")
	}
}

// TestResendReincludesAfterFork: the transaction a reorg dropped, sent again, is mined with
// the same hash on the new branch.
func TestResendReincludesAfterFork(t *testing.T) {
	c := start(t, Config{})
	ctx := context.Background()
	to := common.HexToAddress("0x00000000000000000000000000000000000b0b01")
	parent, err := c.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Pay(ctx, 4, to, 2_000_000)
	if err != nil {
		t.Fatal(err)
	}
	c.Commit()
	tx, _, err := c.Client().TransactionByHash(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Fork(parent.Hash()); err != nil {
		t.Fatal(err)
	}
	c.Commit()
	if _, err := c.Client().TransactionReceipt(ctx, h); err == nil {
		t.Fatal("the dropped transfer still has a receipt")
	}
	if err := c.Resend(ctx, tx); err != nil {
		t.Fatal(err)
	}
	c.Commit()
	rc, err := c.Client().TransactionReceipt(ctx, h)
	if err != nil || rc.Status != types.ReceiptStatusSuccessful || rc.BlockNumber.Uint64() <= parent.Number.Uint64()+1 {
		t.Fatalf("re-included receipt %+v %v", rc, err)
	}
	if b, _ := BalanceOf(ctx, c.Client(), c.Token(), to); b.Int64() != 2_000_000 {
		t.Errorf("balance %v", b)
	}
}
