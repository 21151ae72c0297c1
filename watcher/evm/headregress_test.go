package evm

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/tyler-smith/go-bip39"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/watcher/devchain"
)

// laggingProxy is a JSON-RPC reverse proxy in front of the dev chain that can answer as a
// node behind the others would (a load-balanced provider sending some calls to a lagging
// node): eth_blockNumber says the stale head, and, when logsToo is set, eth_getLogs drops
// logs above it and eth_getBlockByNumber has no block above it. Every answer that is given
// comes from the real chain.
type laggingProxy struct {
	upstream string
	mu       sync.Mutex
	stale    *uint64
	logsToo  bool
}

func (p *laggingProxy) set(head *uint64, logsToo bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stale, p.logsToo = head, logsToo
}

func (p *laggingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req struct {
		ID     json.RawMessage   `json:"id"`
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
	}
	_ = json.Unmarshal(body, &req) // a batch (array) does not decode: forwarded as is
	p.mu.Lock()
	stale, logsToo := p.stale, p.logsToo
	p.mu.Unlock()
	reply := func(result any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	}
	if stale != nil {
		switch {
		case req.Method == "eth_blockNumber":
			reply(hexutil.EncodeUint64(*stale))
			return
		case logsToo && req.Method == "eth_getBlockByNumber" && len(req.Params) > 0:
			var tag string
			if json.Unmarshal(req.Params[0], &tag) == nil {
				if n, err := hexutil.DecodeUint64(tag); err == nil && n > *stale {
					reply(nil)
					return
				}
			}
		}
	}
	resp, err := http.Post(p.upstream, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if stale != nil && logsToo && req.Method == "eth_getLogs" {
		var res struct {
			JSONRPC string      `json:"jsonrpc"`
			ID      any         `json:"id"`
			Result  []types.Log `json:"result"`
		}
		if json.Unmarshal(out, &res) == nil && res.Result != nil {
			kept := []types.Log{}
			for _, l := range res.Result {
				if l.BlockNumber <= *stale {
					kept = append(kept, l)
				}
			}
			res.Result = kept
			out, _ = json.Marshal(res)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// proxied points the rig's scanners at a lagging proxy in front of its chain.
func (r *rig) proxied() *laggingProxy {
	p := &laggingProxy{upstream: r.chain.RPCURL()}
	srv := httptest.NewServer(p)
	r.t.Cleanup(srv.Close)
	cl, err := ethclient.Dial(srv.URL)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(cl.Close)
	r.cl = cl
	return p
}

func (r *rig) checkpoint() uint64 {
	r.t.Helper()
	cp, err := r.rdb.Get(r.ctx, r.prefix+"watcher:{"+string(r.n)+"}:checkpoint").Uint64()
	if err != nil {
		r.t.Fatal(err)
	}
	return cp
}

// TestHeadRegressionRemovesNothing: a node whose head steps back (below the block of a
// transfer being confirmed, and below the checkpoint), whether or not its log answers lag
// too, makes the scanner wait: no transfer still in the chain is reported removed, the
// checkpoint does not go down, and the transfer confirms once the node catches up.
func TestHeadRegressionRemovesNothing(t *testing.T) {
	for _, logsToo := range []bool{false, true} {
		t.Run("lagging logs "+strconv.FormatBool(logsToo), func(t *testing.T) {
			r := newRig(t, checkout.ERC20)
			proxy := r.proxied()
			s, _ := r.scanner(0)
			to, _ := r.watch(7)
			for i := 0; i < 5; i++ {
				r.chain.Commit()
			}
			r.step(s)
			if _, err := r.chain.Pay(r.ctx, 1, to, 2_000_000); err != nil {
				t.Fatal(err)
			}
			r.chain.Commit()
			r.step(s)
			r.chain.Commit()
			r.step(s)
			if got := kinds(r.feed()); len(got) != 2 || got[1] != "seen:2" {
				t.Fatalf("feed %v, want seen:1 seen:2", got)
			}
			paid := r.feed()[0].BlockNumber
			cp := r.checkpoint()
			// The node answering now is well behind: below the transfer and the checkpoint.
			stale := cp - 2
			proxy.set(&stale, logsToo)
			for i := 0; i < 3; i++ {
				r.step(s)
			}
			// Between the checkpoint and the transfer's block.
			stale = paid - 1
			proxy.set(&stale, logsToo)
			for i := 0; i < 3; i++ {
				r.step(s)
			}
			if got := kinds(r.feed()); len(got) != 2 {
				t.Fatalf("feed %v after the head regression, want nothing new", got)
			}
			if r.checkpoint() < cp {
				t.Fatalf("checkpoint went down from %d to %d", cp, r.checkpoint())
			}
			proxy.set(nil, false)
			for i := 0; i < required; i++ {
				r.chain.Commit()
				r.step(s)
			}
			got := r.feed()
			for _, tr := range got {
				if tr.Kind == checkout.TransferRemoved {
					t.Fatalf("feed %v: a canonical transfer was reported removed", kinds(got))
				}
			}
			if last := got[len(got)-1]; last.Kind != checkout.TransferConfirmed || last.BlockNumber != paid {
				t.Fatalf("feed %v: want the transfer confirmed in block %d", kinds(got), paid)
			}
		})
	}
}

// TestReorgBehindLaggingNodeStillRemoves: the waiting is not a way to miss a reorg: once the
// node shows another block at the transfer's height, the transfer is removed.
func TestReorgBehindLaggingNodeStillRemoves(t *testing.T) {
	r := newRig(t, checkout.ERC20)
	proxy := r.proxied()
	s, _ := r.scanner(0)
	to, _ := r.watch(8)
	parent, _ := r.chain.Client().HeaderByNumber(r.ctx, nil)
	if _, err := r.chain.Pay(r.ctx, 1, to, 5_000_000); err != nil {
		t.Fatal(err)
	}
	r.chain.Commit()
	r.step(s)
	if err := r.chain.Fork(parent.Hash()); err != nil {
		t.Fatal(err)
	}
	// The side chain is shorter for now: the node has no block at the transfer's height.
	r.step(s)
	if got := kinds(r.feed()); len(got) != 1 {
		t.Fatalf("feed %v, want only the sighting while the node has no block there", got)
	}
	stale := parent.Number.Uint64()
	proxy.set(&stale, true)
	r.chain.Commit()
	r.chain.Commit()
	r.step(s)
	if got := kinds(r.feed()); len(got) != 1 {
		t.Fatalf("feed %v, want only the sighting while the node lags", got)
	}
	proxy.set(nil, false)
	r.step(s)
	if got := kinds(r.feed()); len(got) != 2 || got[1][:8] != "removed:" {
		t.Fatalf("feed %v, want seen then removed", got)
	}
}

// mint mints amount base units of the dev token to addr (a Transfer from the zero address),
// sent by the token's owner, payer 0 of the dev mnemonic; it is in the next block.
func mint(t *testing.T, r *rig, to common.Address, amount *big.Int) {
	t.Helper()
	seed := bip39.NewSeed(deposit.DevMnemonic, "")
	k, err := hdkeychain.NewMaster(seed, &chaincfg.MainNetParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint32{hdkeychain.HardenedKeyStart + 44, hdkeychain.HardenedKeyStart + 60, hdkeychain.HardenedKeyStart, 0, 0} {
		if k, err = k.Derive(i); err != nil {
			t.Fatal(err)
		}
	}
	priv, err := k.ECPrivKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.ToECDSA(priv.Serialize())
	if err != nil {
		t.Fatal(err)
	}
	owner := crypto.PubkeyToAddress(key.PublicKey)
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	cl := r.chain.Client()
	nonce, err := cl.PendingNonceAt(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	head, err := cl.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := devchain.TokenABI.Pack("mint", to, amount)
	if err != nil {
		t.Fatal(err)
	}
	token := r.chain.Token()
	tip := big.NewInt(1_000_000_000)
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(devchain.ChainID), &types.DynamicFeeTx{
		ChainID: devchain.ChainID, Nonce: nonce, GasTipCap: tip, Gas: 200_000, To: &token, Data: data,
		GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
}

// TestTransferBound: a transfer of 10^10 USDT (above any order amount, within MaxTransfer)
// is reported on the feed as is; one above MaxTransfer goes to the anomalies stream, never
// the feed.
func TestTransferBound(t *testing.T) {
	r := newRig(t, checkout.ERC20)
	s, _ := r.scanner(0)
	big1, _ := r.watch(9)
	big2, _ := r.watch(10)
	huge := new(big.Int).Mul(big.NewInt(10_000_000_000), big.NewInt(int64(checkout.Unit)))
	over := new(big.Int).Add(big.NewInt(int64(checkout.MaxTransfer)), big.NewInt(1))
	mint(t, r, big1, huge)
	r.chain.Commit()
	mint(t, r, big2, over)
	for i := 0; i < required+2; i++ {
		r.chain.Commit()
	}
	for !r.step(s) {
	}
	var confirmed []checkout.Transfer
	for _, tr := range r.feed() {
		if tr.Kind == checkout.TransferConfirmed {
			confirmed = append(confirmed, tr)
		}
		if tr.Amount > checkout.MaxTransfer || tr.Amount <= 0 {
			t.Errorf("feed carries %s (above the bound)", tr.Amount)
		}
	}
	if len(confirmed) != 1 || confirmed[0].Amount != checkout.Amount(huge.Int64()) {
		t.Fatalf("confirmed %+v, want the 10^10 USDT transfer only", confirmed)
	}
	an, err := r.rdb.XRange(r.ctx, r.prefix+"watcher:{ERC20}:anomalies", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(an) != 1 || an[0].Values["reason"] != "amount out of range" {
		t.Fatalf("anomalies %v, want the transfer above MaxTransfer", an)
	}
	var d map[string]any
	_ = json.Unmarshal([]byte(an[0].Values["detail"].(string)), &d)
	if d["value"] != over.String() {
		t.Errorf("anomaly detail %v, want value %s", d, over)
	}
}
