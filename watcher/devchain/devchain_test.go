package devchain

import (
	"context"
	"math/big"
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
	c, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

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

// TestForkRemovesLog: a reorg onto a longer side chain without the transfer removes its log.
func TestForkRemovesLog(t *testing.T) {
	c := start(t, Config{})
	ctx := context.Background()
	parent, err := c.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	to := common.HexToAddress("0x00000000000000000000000000000000000b0b00")
	if _, err := c.Pay(ctx, 0, to, 5_000_000); err != nil {
		t.Fatal(err)
	}
	c.Commit()
	q := ethereum.FilterQuery{Addresses: []common.Address{c.Token()}, Topics: [][]common.Hash{{TransferTopic}, nil, {common.BytesToHash(to.Bytes())}}}
	if logs, _ := c.Client().FilterLogs(ctx, q); len(logs) != 1 {
		t.Fatalf("before fork: %d logs", len(logs))
	}
	if err := c.Backend().Fork(parent.Hash()); err != nil {
		t.Fatal(err)
	}
	c.Backend().Rollback() // the fork re-queues the transfer; drop it so the side chain lacks it
	c.Commit()
	c.Commit()
	if logs, _ := c.Client().FilterLogs(ctx, q); len(logs) != 0 {
		t.Fatalf("after fork: %d logs, want 0", len(logs))
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
