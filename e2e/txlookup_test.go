package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/txlookup"
	"github.com/mpchat/checkout/watcher/devchain/nodeproxy"
)

// lookupTx runs `edge tx` for network n through rpc.
func (w *world) lookupTx(n checkout.Network, rpc string, args ...string) (stdout, stderr string, code int) {
	w.t.Helper()
	base := []string{"tx", "--network", string(n), "--rpc", rpc, "--token", w.chains[n].Token().Hex(),
		"--redis", w.redisURL(), "--redis-prefix", w.prefix}
	return w.run("edge", append(base, args...)...)
}

// lookupJSON runs `edge tx --json` and decodes its report; the command must succeed.
func (w *world) lookupJSON(n checkout.Network, rpc, hash string) *txlookup.Report {
	w.t.Helper()
	out, errOut, code := w.lookupTx(n, rpc, "--hash", hash, "--json")
	if code != 0 {
		w.t.Fatalf("edge tx %s: exit %d\n%s%s", hash, code, out, errOut)
	}
	var r txlookup.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		w.t.Fatalf("edge tx --json: %v\n%s", err, out)
	}
	return &r
}

// txOf returns the hash of the (only) payment of a settled order.
func txOf(t *testing.T, o *checkout.Order) string {
	t.Helper()
	if len(o.Payments) != 1 {
		t.Fatalf("order %s has %d payments", o.ID, len(o.Payments))
	}
	return o.Payments[0].TxHash
}

// TestTxLookup: `edge tx` on the real dev chain and Redis, for each thing support may be
// asked about: a payment credited to its order (ERC20; and TRC20 through a node answering as
// java-tron, with the hash as TRON's explorers spell it, without 0x), a transfer to a
// merchant's receive address matching no order, one parked in the orphans record, one the
// watcher never reported (its address out of the watch set), one to an address that is none of
// the gateway's, an unknown hash (exit 3) and malformed ones (exit 1).
func TestTxLookup(t *testing.T) {
	w := newWorld(t)
	rpc := map[checkout.Network]string{checkout.ERC20: w.chains[checkout.ERC20].RPCURL()}
	tron, err := nodeproxy.Start(w.ctx, nodeproxy.Config{Upstream: w.chains[checkout.TRC20].RPCURL(), TRON: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tron.Close() })
	rpc[checkout.TRC20] = tron.URL()

	// Credited, on both networks.
	paid := map[checkout.Network]*checkout.Order{}
	for _, n := range checkout.Networks {
		o := w.order(n, "7.25")
		w.pay(o, 1, "7.25")
		w.mine(n, required)
		paid[n] = w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
	}

	// Unmatched: a merchant in addresses mode, paid an amount no order reserved.
	n := checkout.ERC20
	recv := deposit.Format(n, common.HexToAddress("0x00000000000000000000000000000000000c0ffe"))
	m := &checkout.Merchant{ID: ids.Merchant(), Name: "addresses", CreatedAt: time.Now(), RateLimit: 1000}
	if err := w.store.CreateMerchant(w.ctx, m, &checkout.APIKey{ID: ids.Key(), MerchantID: m.ID, Secret: "sk_addr"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.store.SetReceive(w.ctx, m, n, checkout.ReceiveConfig{Mode: checkout.ReceiveAddresses, Addresses: []string{recv}}); err != nil {
		t.Fatal(err)
	}
	unmatchedTx, err := w.chains[n].Pay(w.ctx, 2, common.HexToAddress("0x00000000000000000000000000000000000c0ffe"), amt("3.5"))
	if err != nil {
		t.Fatal(err)
	}
	// Not ours: to an address the gateway never handed out.
	strangerTx, err := w.chains[n].Pay(w.ctx, 3, common.HexToAddress("0x00000000000000000000000000000000000000ee"), amt("1"))
	if err != nil {
		t.Fatal(err)
	}
	// Orphan: watched, but bound to no order (an order whose create never finished).
	orphanAddr := common.HexToAddress("0x00000000000000000000000000000000000000dd")
	if err := w.rdb.SAdd(w.ctx, w.prefix+checkout.WatchSet(n), deposit.Format(n, orphanAddr)).Err(); err != nil {
		t.Fatal(err)
	}
	orphanTx, err := w.chains[n].Pay(w.ctx, 4, orphanAddr, amt("2"))
	if err != nil {
		t.Fatal(err)
	}
	// Not recorded: an order whose address fell out of the watch set before it was paid.
	lost := w.order(n, "9")
	w.rdb.SRem(w.ctx, w.prefix+checkout.WatchSet(n), lost.Address)
	raw, _ := deposit.Parse(n, lost.Address)
	lostTx, err := w.chains[n].Pay(w.ctx, 5, common.Address(raw), amt("9"))
	if err != nil {
		t.Fatal(err)
	}
	w.mine(n, required)
	w.settled(n)

	t.Run("orphan", func(t *testing.T) {
		r := w.lookupJSON(n, rpc[n], orphanTx.Hex())
		if len(r.Transfers) != 1 {
			t.Fatalf("report %+v", r)
		}
		if tr := r.Transfers[0]; tr.Verdict != txlookup.Orphan || tr.Reason != "no order for address" || tr.Binding != "none" || !tr.Watched {
			t.Errorf("transfer %+v", tr)
		}
	})
	t.Run("not recorded", func(t *testing.T) {
		r := w.lookupJSON(n, rpc[n], lostTx.Hex())
		if len(r.Transfers) != 1 {
			t.Fatalf("report %+v", r)
		}
		tr := r.Transfers[0]
		if tr.Verdict != txlookup.NotRecorded || tr.Binding != "order" || tr.OrderID != lost.ID || tr.Watched ||
			tr.Payment != nil || tr.Order == nil || tr.Order.Status != checkout.StatusPending || !strings.Contains(tr.Note, "not in the watch set") {
			t.Errorf("transfer %+v", tr)
		}
	})
	t.Run("credited", func(t *testing.T) {
		o := paid[checkout.ERC20]
		hash := txOf(t, o)
		out, errOut, code := w.lookupTx(checkout.ERC20, rpc[checkout.ERC20], "--hash", hash)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		t.Log(out)
		for _, want := range []string{"ERC20 transaction " + hash, "7.25 USDT from ", "deposit address of order " + o.ID + ", watched",
			"verdict: CREDITED: credited to order " + o.ID + " (PAID, amount_paid 7.25)"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		r := w.lookupJSON(checkout.ERC20, rpc[checkout.ERC20], hash)
		if len(r.Transfers) != 1 || r.Confirmations < required {
			t.Fatalf("report %+v", r)
		}
		tr := r.Transfers[0]
		if tr.Verdict != txlookup.Credited || tr.OrderID != o.ID || tr.Binding != "order" || !tr.Watched ||
			tr.To != o.Address || tr.Amount != amt("7.25") || tr.Payment == nil || tr.Payment.TxHash != hash ||
			tr.Payment.LogIndex != tr.LogIndex || tr.Order == nil || tr.Order.Status != checkout.StatusPaid {
			t.Errorf("transfer %+v", tr)
		}
	})
	t.Run("credited TRC20 without 0x", func(t *testing.T) {
		o := paid[checkout.TRC20]
		hash := txOf(t, o)
		r := w.lookupJSON(checkout.TRC20, rpc[checkout.TRC20], strings.TrimPrefix(hash, "0x"))
		if r.TxHash != hash || len(r.Transfers) != 1 {
			t.Fatalf("report %+v", r)
		}
		if tr := r.Transfers[0]; tr.Verdict != txlookup.Credited || tr.OrderID != o.ID || tr.To != o.Address || !strings.HasPrefix(tr.From, "T") {
			t.Errorf("transfer %+v", tr)
		}
	})
	t.Run("unmatched", func(t *testing.T) {
		r := w.lookupJSON(n, rpc[n], unmatchedTx.Hex())
		if len(r.Transfers) != 1 {
			t.Fatalf("report %+v", r)
		}
		if tr := r.Transfers[0]; tr.Verdict != txlookup.Unmatched || tr.Binding != "merchant" || tr.MerchantID != m.ID ||
			tr.OrderID != "" || tr.To != recv || !tr.Watched {
			t.Errorf("transfer %+v", tr)
		}
		out, _, code := w.lookupTx(n, rpc[n], "--hash", unmatchedTx.Hex())
		if code != 0 || !strings.Contains(out, "receive address of merchant "+m.ID) || !strings.Contains(out, "verdict: UNMATCHED") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("not ours", func(t *testing.T) {
		r := w.lookupJSON(n, rpc[n], strangerTx.Hex())
		if len(r.Transfers) != 1 {
			t.Fatalf("report %+v", r)
		}
		if tr := r.Transfers[0]; tr.Verdict != txlookup.NotOurs || tr.Binding != "none" || tr.Watched {
			t.Errorf("transfer %+v", tr)
		}
	})
	t.Run("unknown hash", func(t *testing.T) {
		hash := "0x" + strings.Repeat("ab", 32)
		out, errOut, code := w.lookupTx(n, rpc[n], "--hash", hash)
		if code != 3 || !strings.Contains(errOut, "transaction not found") || !strings.Contains(errOut, hash) || out != "" {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 3 and a not-found message", code, out, errOut)
		}
	})
	for _, c := range []struct{ name, hash, want string }{
		{"short", "0x1234", "want 64 hex digits"},
		{"not hex", "0x" + strings.Repeat("zz", 32), "not hexadecimal"},
		{"missing", "", "--hash is required"},
	} {
		t.Run("malformed/"+c.name, func(t *testing.T) {
			out, errOut, code := w.lookupTx(n, rpc[n], "--hash", c.hash)
			if code != 1 || !strings.Contains(errOut, c.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, out, errOut, c.want)
			}
		})
	}
}
