// Package devchain is the local development chain: go-ethereum's simulated backend (a real
// node, chain id 1337) served over HTTP and WebSocket JSON-RPC on loopback, with a 6-decimal
// USDT-style token deployed and test accounts funded. One instance plays Ethereum, another
// TRON (same JSON-RPC; the TRON address format is applied by our code). Tests and `make demo`
// use it; there is no mock of the chain.
package devchain

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/rpc"

	checkout "github.com/mpchat/checkout"
)

//go:embed token/USDT.abi.json
var tokenABIJSON string

//go:embed token/USDT.bin
var tokenBin string

// TokenABI is the dev token's ABI (a standard ERC20 plus mint).
var TokenABI = mustABI(tokenABIJSON)

func mustABI(s string) abi.ABI {
	a, err := abi.JSON(strings.NewReader(s))
	if err != nil {
		panic("devchain: embedded token ABI is invalid: " + err.Error()) // build-time asset
	}
	return a
}

// ChainID is the simulated backend's chain id.
var ChainID = big.NewInt(1337)

// PayerBalance is what each payer account is minted at start: 1,000,000 USDT.
const PayerBalance = 1_000_000 * checkout.Unit

// Config configures Start.
type Config struct {
	// Listen is the loopback address served for HTTP and WebSocket JSON-RPC (same port).
	// Default "127.0.0.1:0" (a free port).
	Listen string
	// BlockInterval produces a block every interval; 0 produces blocks only on Commit.
	BlockInterval time.Duration
	// Accounts is the number of funded payer accounts; default 10.
	Accounts int
	// Logger receives the chain's own messages (ready, warnings); default slog.Default().
	Logger *slog.Logger
}

// Chain is a running development chain.
type Chain struct {
	backend *simulated.Backend
	client  simulated.Client
	rpcURL  string
	wsURL   string
	payers  []*payer
	token   common.Address
	log     *slog.Logger

	mu     sync.Mutex                // serializes Commit, Fork and sends (nonces)
	want   map[common.Address]uint64 // nonce each sender must reach in the next Commit
	stop   context.CancelFunc
	done   chan struct{}
	closed bool
}

// Start runs a development chain: it starts the node, deploys the token from payer 0 (so its
// address is TokenAddress()), funds the payers with ETH and USDT, and starts the block
// producer if BlockInterval > 0.
func Start(ctx context.Context, cfg Config) (c *Chain, err error) {
	if cfg.Accounts <= 0 {
		cfg.Accounts = 10
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	payers, err := derivePayers(cfg.Accounts)
	if err != nil {
		return nil, err
	}
	alloc := types.GenesisAlloc{}
	eth := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(1e18))
	for _, p := range payers {
		alloc[p.addr] = types.Account{Balance: eth}
	}
	backend, host, port, err := listen(cfg.Listen, alloc)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	c = &Chain{backend: backend, client: backend.Client(), payers: payers, log: cfg.Logger,
		want:   map[common.Address]uint64{},
		rpcURL: "http://" + addr, wsURL: "ws://" + addr}
	defer func() {
		if err != nil {
			_ = backend.Close()
		}
	}()
	if err := c.deploy(ctx); err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(context.Background())
	c.stop, c.done = cancel, make(chan struct{})
	go c.produce(pctx, cfg.BlockInterval, cfg.Logger)
	cfg.Logger.Info("dev chain ready", "rpc", c.rpcURL, "ws", c.wsURL, "token", c.token.Hex(),
		"block_interval", cfg.BlockInterval)
	return c, nil
}

// listen starts the node serving HTTP and WS JSON-RPC on one loopback port. The node cannot
// report the port it bound, so a free port is found by binding it first and released for the
// node: another process may take it in between, so for a requested port 0 a failed start is
// retried on a fresh port.
func listen(addr string, alloc types.GenesisAlloc) (*simulated.Backend, string, int, error) {
	for attempt := 1; ; attempt++ {
		host, port, anyPort, err := resolveListen(addr)
		if err != nil {
			return nil, "", 0, err
		}
		backend, err := newBackend(alloc, func(nc *node.Config, ec *ethconfig.Config) {
			nc.HTTPHost, nc.HTTPPort = host, port
			nc.WSHost, nc.WSPort = host, port
			// txpool too: Fork reads txpool_status, and developers can look at pending transfers.
			nc.HTTPModules = []string{"eth", "net", "web3", "txpool"}
			nc.WSModules = []string{"eth", "net", "web3", "txpool"}
			nc.HTTPVirtualHosts = []string{"*"}
			nc.WSOrigins = []string{"*"}
		})
		if err == nil {
			return backend, host, port, nil
		}
		if !anyPort || attempt == 3 {
			return nil, "", 0, err
		}
	}
}

// newBackend turns the simulated backend's panic on a failed start (a taken port) into an error.
func newBackend(alloc types.GenesisAlloc, opt func(*node.Config, *ethconfig.Config)) (b *simulated.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start simulated chain: %v", r)
		}
	}()
	return simulated.NewBackend(alloc, opt), nil
}

// resolveListen checks that listen is a loopback address and picks a free port for port 0
// (anyPort reports that it did).
func resolveListen(listen string) (host string, port int, anyPort bool, err error) {
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, false, fmt.Errorf("listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", 0, false, fmt.Errorf("listen %q: the dev chain serves loopback only", listen)
	}
	// Probe the port (and pick one for :0): a taken port is a clear error here, where the
	// node would only panic.
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return "", 0, false, fmt.Errorf("listen %s: %w", listen, err)
	}
	port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	return host, port, p == "0", nil
}

func (c *Chain) deploy(ctx context.Context) error {
	deployer := c.payers[0]
	bin := common.FromHex(strings.TrimSpace(tokenBin))
	c.mu.Lock()
	defer c.mu.Unlock()
	// A fresh chain: the deployer's nonces are 0, 1, 2… (explicit, not read from the pool).
	if _, err := sendAt(ctx, c.client, deployer, 0, nil, bin, 0); err != nil {
		return fmt.Errorf("deploy token: %w", err)
	}
	c.expect(deployer.addr, 0)
	c.token = crypto.CreateAddress(deployer.addr, 0)
	// The mints' gas estimates need the token deployed.
	if _, missing := c.commitLocked(ctx); missing > 0 {
		return errors.New("deploy token: the transaction was not mined")
	}
	for i, p := range c.payers {
		data, err := TokenABI.Pack("mint", p.addr, big.NewInt(int64(PayerBalance)))
		if err != nil {
			return err
		}
		nonce := uint64(i + 1)
		if _, err := sendAt(ctx, c.client, deployer, nonce, &c.token, data, 0); err != nil {
			return fmt.Errorf("mint: %w", err)
		}
		c.expect(deployer.addr, nonce)
	}
	if _, missing := c.commitLocked(ctx); missing > 0 {
		return errors.New("mint: the transactions were not mined")
	}
	code, err := c.client.CodeAt(ctx, c.token, nil)
	if err != nil || len(code) == 0 {
		return fmt.Errorf("token not deployed at %s: %v", c.token.Hex(), err)
	}
	return nil
}

// produce commits a block every interval until stopped.
func (c *Chain) produce(ctx context.Context, every time.Duration, log *slog.Logger) {
	defer close(c.done)
	if every <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.Commit()
		}
	}
}

// Close stops block production and the node.
func (c *Chain) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.stop()
	<-c.done
	return c.backend.Close()
}

// RPCURL is the HTTP JSON-RPC endpoint.
func (c *Chain) RPCURL() string { return c.rpcURL }

// WSURL is the WebSocket JSON-RPC endpoint (subscriptions).
func (c *Chain) WSURL() string { return c.wsURL }

// Token is the deployed token's address (equal to TokenAddress()).
func (c *Chain) Token() common.Address { return c.token }

// ChainID is the chain id (1337).
func (c *Chain) ChainID() *big.Int { return new(big.Int).Set(ChainID) }

// Payer returns payer i's address; i must be below Accounts().
func (c *Chain) Payer(i int) common.Address { return c.payers[i].addr }

// Backend is the simulated backend, an escape hatch for tests (AdjustTime…). Its Commit and
// Fork bypass the Chain's lock: prefer Chain.Commit and Chain.Fork while a block producer runs.
func (c *Chain) Backend() *simulated.Backend { return c.backend }

// Client is an in-process client of the chain.
func (c *Chain) Client() simulated.Client { return c.client }

// Commit mines a block now and returns the head's hash. Transactions sent with Pay before it
// are in the chain when it returns: the simulated pool now and then promotes the last
// transaction too late for the block being built, and Commit then mines up to three more
// blocks until it is in (so the head may be more than one block higher).
func (c *Chain) Commit() common.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return common.Hash{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, missing := c.commitLocked(ctx)
	if missing > 0 {
		c.log.Warn("dev chain: sent transactions still not mined", "accounts", missing)
	}
	return h
}

// commitLocked mines a block, and more while a transaction sent through the Chain is missing
// (up to three more); it returns the head and the number of accounts still missing one.
func (c *Chain) commitLocked(ctx context.Context) (common.Hash, int) {
	h := c.backend.Commit()
	for extra := 0; ; extra++ {
		for addr, want := range c.want {
			if n, err := c.client.NonceAt(ctx, addr, nil); err == nil && n >= want {
				delete(c.want, addr)
			}
		}
		if len(c.want) == 0 || extra == 3 {
			return h, len(c.want)
		}
		h = c.backend.Commit()
	}
}

// Fork makes the block parent the head, for reorg tests: the blocks after it leave the
// canonical chain (subscribers get their logs again with Removed set), and the transactions
// they carried are dropped, so the side chain lacks them (Pay again to have a transfer
// re-included in another block). The side chain then grows with Commit, or the interval
// producer. Until it does, the head seen over JSON-RPC is parent, lower than before; to make a
// reorg like a real one, where a longer side chain wins, commit one block more than Fork
// dropped:
//
//	parent, _ := c.Client().HeaderByNumber(ctx, nil)
//	c.Pay(ctx, 0, to, amount) // the transfer the reorg will remove
//	c.Commit()                // one block on the old branch
//	c.Fork(parent.Hash())     // back to parent: the transfer is gone
//	c.Commit(); c.Commit()    // a side chain of two blocks, one longer than the old branch
//
// Fork fails while transactions are pending (sent but not in a block): Commit them first.
func (c *Chain) Fork(parent common.Hash) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("fork: chain closed")
	}
	if err := c.backend.Fork(parent); err != nil {
		return fmt.Errorf("fork at %s: %w", parent.Hex(), err)
	}
	clear(c.want) // dropped below
	// The pool re-injects the dropped blocks' transactions on a background reset that the head
	// change triggers; Rollback (Clear) syncs with the pool first, but one sync can be answered
	// just before that reset starts. Clear until the pool is seen empty after a sync that
	// followed the reset.
	for attempt := 0; ; attempt++ {
		c.backend.Rollback()
		n, err := c.pooled()
		if err != nil {
			return fmt.Errorf("fork: %w", err)
		}
		if n == 0 && attempt >= 1 {
			return nil
		}
		if attempt >= 10 {
			return fmt.Errorf("fork: %d transactions stay in the pool", n)
		}
	}
}

// pooled is the number of transactions in the pool (pending and queued).
func (c *Chain) pooled() (int, error) {
	// The simulated client hides its raw RPC client; ask over the served HTTP endpoint.
	rc, err := rpc.DialHTTP(c.rpcURL)
	if err != nil {
		return 0, fmt.Errorf("dial %s: %w", c.rpcURL, err)
	}
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var st map[string]hexutil.Uint
	if err := rc.CallContext(ctx, &st, "txpool_status"); err != nil {
		return 0, fmt.Errorf("txpool_status: %w", err)
	}
	return int(st["pending"] + st["queued"]), nil
}

// Accounts is the number of funded payer accounts (Payer(0) … Payer(Accounts()-1)).
func (c *Chain) Accounts() int { return len(c.payers) }

// Pay sends amount of the token from payer `from` to `to`; it is included in the next block.
func (c *Chain) Pay(ctx context.Context, from int, to common.Address, amount checkout.Amount) (common.Hash, error) {
	if from < 0 || from >= len(c.payers) {
		return common.Hash{}, fmt.Errorf("no payer %d (have %d)", from, len(c.payers))
	}
	data, err := transferData(to, amount)
	if err != nil {
		return common.Hash{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return common.Hash{}, errors.New("pay: chain closed")
	}
	tx, err := send(ctx, c.client, c.payers[from], &c.token, data, 0)
	if err != nil {
		return common.Hash{}, err
	}
	c.expect(c.payers[from].addr, tx.Nonce())
	return tx.Hash(), nil
}

// TransferFrom sends the token's transferFrom(from, to, amount) from payer `sender`; it is
// included in the next block. It plays the adversary of the hostile-chain tests: the ERC20
// lets anyone move zero tokens "from" any non-zero address, with no allowance or balance, so a
// Transfer log with a `from` of the sender's choosing lands on any address. A non-zero amount
// needs from's balance and an allowance for sender (or the gas estimate fails: an error here).
func (c *Chain) TransferFrom(ctx context.Context, sender int, from, to common.Address, amount checkout.Amount) (common.Hash, error) {
	if sender < 0 || sender >= len(c.payers) {
		return common.Hash{}, fmt.Errorf("no payer %d (have %d)", sender, len(c.payers))
	}
	if amount < 0 {
		return common.Hash{}, errors.New("transferFrom: amount must not be negative")
	}
	data, err := TokenABI.Pack("transferFrom", from, to, big.NewInt(int64(amount)))
	if err != nil {
		return common.Hash{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return common.Hash{}, errors.New("transferFrom: chain closed")
	}
	tx, err := send(ctx, c.client, c.payers[sender], &c.token, data, 0)
	if err != nil {
		return common.Hash{}, fmt.Errorf("transferFrom: %w", err)
	}
	c.expect(c.payers[sender].addr, tx.Nonce())
	return tx.Hash(), nil
}

// Resend sends an already signed transaction again, for reorg tests: after Fork dropped the
// block that carried it, the same transaction (same hash) is included in the next block.
func (c *Chain) Resend(ctx context.Context, tx *types.Transaction) error {
	from, err := types.Sender(types.LatestSignerForChainID(ChainID), tx)
	if err != nil {
		return fmt.Errorf("resend: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("resend: chain closed")
	}
	if err := c.client.SendTransaction(ctx, tx); err != nil {
		return fmt.Errorf("resend %s: %w", tx.Hash().Hex(), err)
	}
	c.expect(from, tx.Nonce())
	return nil
}

// expect records that the next block must include addr's transaction at nonce.
func (c *Chain) expect(addr common.Address, nonce uint64) {
	if nonce+1 > c.want[addr] {
		c.want[addr] = nonce + 1
	}
}

// chainClient is what sending a transaction needs.
type chainClient interface {
	PendingNonceAt(ctx context.Context, account common.Address) (uint64, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error)
	SendTransaction(ctx context.Context, tx *types.Transaction) error
}

// send signs and sends a transaction from p at its pending nonce. gas 0 estimates it (with a
// 25 % margin): gas costs differ between the simulated chain's fork set and mainnet habits.
// The pool may not count a just-sent transaction in the pending nonce yet, so a "nonce too
// low" or underpriced-replacement answer is retried with the next nonce.
func send(ctx context.Context, cl chainClient, p *payer, to *common.Address, data []byte, gas uint64) (*types.Transaction, error) {
	nonce, err := cl.PendingNonceAt(ctx, p.addr)
	if err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	for attempt := 0; ; attempt++ {
		tx, err := sendAt(ctx, cl, p, nonce, to, data, gas)
		if err == nil || attempt >= 20 || !nonceTaken(err) {
			return tx, err
		}
		nonce++
	}
}

func nonceTaken(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "nonce too low") || strings.Contains(msg, "replacement transaction underpriced") ||
		strings.Contains(msg, "already known")
}

func sendAt(ctx context.Context, cl chainClient, p *payer, nonce uint64, to *common.Address, data []byte, gas uint64) (*types.Transaction, error) {
	if gas == 0 {
		est, err := cl.EstimateGas(ctx, ethereum.CallMsg{From: p.addr, To: to, Data: data})
		if err != nil {
			return nil, fmt.Errorf("estimate gas: %w", err)
		}
		gas = est + est/4
	}
	head, err := cl.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	tip := big.NewInt(1_000_000_000)
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	tx, err := types.SignNewTx(p.key, types.LatestSignerForChainID(ChainID), &types.DynamicFeeTx{
		ChainID: ChainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: to, Data: data,
	})
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if err := cl.SendTransaction(ctx, tx); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	return tx, nil
}

func transferData(to common.Address, amount checkout.Amount) ([]byte, error) {
	if amount <= 0 {
		return nil, errors.New("amount must be positive")
	}
	return TokenABI.Pack("transfer", to, big.NewInt(int64(amount)))
}

// TransferTopic is topic 0 of the ERC20 Transfer event.
var TransferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))

// BalanceOf reads an account's token balance in base units.
func BalanceOf(ctx context.Context, cl ethereum.ContractCaller, token, account common.Address) (*big.Int, error) {
	data, err := TokenABI.Pack("balanceOf", account)
	if err != nil {
		return nil, err
	}
	out, err := cl.CallContract(ctx, ethereum.CallMsg{To: &token, Data: data}, nil)
	if err != nil {
		return nil, fmt.Errorf("balanceOf: %w", err)
	}
	return new(big.Int).SetBytes(out), nil
}
