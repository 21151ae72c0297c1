package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/watcher/devchain/nodeproxy"
)

// run runs one of the built commands (edge, watcher) and returns its stdout, stderr and exit code.
func (w *world) run(bin string, args ...string) (stdout, stderr string, code int) {
	w.t.Helper()
	path := filepath.Join(binaries(w.t), bin) // built once per test binary
	ctx, cancel := context.WithTimeout(w.ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		w.t.Fatalf("%s %v: %v", bin, args, err)
	}
	return o.String(), e.String(), code
}

// redisURL is the world's Redis as a command-line URL.
func (w *world) redisURL() string {
	return fmt.Sprintf("redis://%s/%d", w.rdb.Options().Addr, w.rdb.Options().DB)
}

// rescan runs `watcher rescan` for network n through rpc (the dev chain's URL unless a proxy's).
func (w *world) rescan(n checkout.Network, rpc string, args ...string) (stdout, stderr string, code int) {
	w.t.Helper()
	base := []string{"rescan", "--network", string(n), "--rpc", rpc, "--token", w.chains[n].Token().Hex(),
		"--redis", w.redisURL(), "--redis-prefix", w.prefix, "--confirmations", strconv.Itoa(required)}
	return w.run("watcher", append(base, args...)...)
}

// checkpoint is the live watcher's checkpoint of n.
func (w *world) checkpoint(n checkout.Network) uint64 {
	w.t.Helper()
	cp, err := w.rdb.Get(w.ctx, w.prefix+"watcher:{"+string(n)+"}:checkpoint").Uint64()
	if err != nil {
		w.t.Fatalf("checkpoint of %s: %v", n, err)
	}
	return cp
}

// waitCheckpoint waits until the live watcher of n has block b behind its checkpoint.
func (w *world) waitCheckpoint(n checkout.Network, b uint64) {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cp, err := w.rdb.Get(w.ctx, w.prefix+"watcher:{"+string(n)+"}:checkpoint").Uint64(); err == nil && cp >= b {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("%s checkpoint never reached block %d", n, b)
}

// payBlock pays the order and mines the block, returning its number.
func (w *world) payBlock(o *checkout.Order, from int, amount string) uint64 {
	w.t.Helper()
	raw, err := deposit.Parse(o.Network, o.Address)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.send(o.Network, from, common.Address(raw), amount)
}

// send transfers amount from payer `from` to addr, mines the block and returns its number.
func (w *world) send(n checkout.Network, from int, to common.Address, amount string) uint64 {
	w.t.Helper()
	tx, err := w.chains[n].Pay(w.ctx, from, to, amt(amount))
	if err != nil {
		w.t.Fatal(err)
	}
	w.chains[n].Commit()
	rc, err := w.chains[n].Client().TransactionReceipt(w.ctx, tx)
	if err != nil {
		w.t.Fatalf("receipt of %s: %v", tx.Hex(), err)
	}
	return rc.BlockNumber.Uint64()
}

// orderState is what a rescan must leave alone: the order, its events and its webhooks.
type orderState struct {
	Order    json.RawMessage
	Events   []string
	Webhooks []string
}

func (w *world) orderState(id string) orderState {
	w.t.Helper()
	o, err := w.client.GetOrder(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	doc, _ := json.Marshal(o)
	evs, err := w.store.OrderEvents(w.ctx, id, "", 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	whs, err := w.store.Webhooks(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	s := orderState{Order: doc}
	for _, e := range evs {
		s.Events = append(s.Events, e.ID+" "+string(e.Type))
	}
	for _, d := range whs {
		s.Webhooks = append(s.Webhooks, d.EventID+" "+string(d.Type))
	}
	return s
}

var summaryRE = regexp.MustCompile(`(\d+) blocks read, (\d+) USDT transfer logs, (\d+) to watched addresses, (\d+) feed entries`)

// summary parses rescan's summary line: blocks, logs, found, written.
func summary(t *testing.T, stdout string) [4]int {
	t.Helper()
	m := summaryRE.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no summary in rescan's output:\n%s", stdout)
	}
	var out [4]int
	for i := range out {
		out[i], _ = strconv.Atoi(m[i+1])
	}
	return out
}

// TestRescanCreditsNothingTwice: an order paid and PAID through the live watcher, then the
// range holding its payment rescanned (twice): the rescan finds and writes the transfer
// again, the real settlement consumer applies the entries, and the order's document,
// payments, events and webhooks are exactly as before. The checkpoint never goes back.
func TestRescanCreditsNothingTwice(t *testing.T) {
	w := newWorld(t)
	n := checkout.ERC20
	o, err := w.client.CreateOrder(w.ctx, &client.OrderParams{Amount: "12.5", Network: n, WebhookURL: "https://merchant.example/hooks"})
	if err != nil {
		t.Fatal(err)
	}
	b := w.payBlock(o, 1, "12.5")
	w.mine(n, required)
	paid := w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
	if len(paid.Payments) != 1 {
		t.Fatalf("payments %+v", paid.Payments)
	}
	w.waitCheckpoint(n, b)
	w.settled(n)
	before := w.orderState(o.ID)
	if len(before.Webhooks) == 0 {
		t.Fatalf("the paid order queued no webhook: %+v", before)
	}
	feedKey := w.prefix + checkout.FeedStream(n)
	for round := 1; round <= 2; round++ {
		cp := w.checkpoint(n)
		feedLen := w.rdb.XLen(w.ctx, feedKey).Val()
		out, errOut, code := w.rescan(n, w.chains[n].RPCURL(), "--from", "0", "--to", strconv.FormatUint(cp, 10))
		if code != 0 {
			t.Fatalf("round %d: rescan exit %d:\n%s%s", round, code, out, errOut)
		}
		got := summary(t, out)
		if got[0] != int(cp)+1 || got[2] != 1 || got[3] != 1 {
			t.Errorf("round %d: summary %v (blocks, logs, found, written), want %d blocks, 1 found, 1 written:\n%s", round, got, cp+1, out)
		}
		if n := w.rdb.XLen(w.ctx, feedKey).Val(); n != feedLen+1 {
			t.Errorf("round %d: the feed grew by %d entries, want 1", round, n-feedLen)
		}
		if !strings.Contains(errOut, `"msg":"watcher rescan done"`) && !strings.Contains(errOut, "watcher rescan done") {
			t.Errorf("round %d: no structured log of the rescan:\n%s", round, errOut)
		}
		w.settled(n)
		if after := w.orderState(o.ID); !reflect.DeepEqual(after, before) {
			t.Errorf("round %d: the rescan changed the order:\nbefore %s\n       %v\n       %v\nafter  %s\n       %v\n       %v",
				round, before.Order, before.Events, before.Webhooks, after.Order, after.Events, after.Webhooks)
		}
		if now := w.checkpoint(n); now < cp {
			t.Errorf("round %d: checkpoint went back from %d to %d", round, cp, now)
		}
	}
}

// TestRescanFindsAMissedTransfer: a payment the live watcher passed without reporting (its
// address was not in the watch set at the time) is credited once by a rescan after the
// address is watched again, and not again by a second rescan. On TRON, through a proxy that
// answers as java-tron does with tiny limits, so the rescan's reads must be split on both
// refusals (range too large, -32005 too many results) to see every log.
func TestRescanFindsAMissedTransfer(t *testing.T) {
	w := newWorld(t)
	n := checkout.TRC20
	proxy, err := nodeproxy.Start(w.ctx, nodeproxy.Config{Upstream: w.chains[n].RPCURL(), TRON: true, MaxBlockRange: 2, MaxResults: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })

	o := w.order(n, "30")
	watchSet := w.prefix + checkout.WatchSet(n)
	if removed := w.rdb.SRem(w.ctx, watchSet, o.Address).Val(); removed != 1 {
		t.Fatalf("the order's address %s was not watched", o.Address)
	}
	first := w.send(n, 2, common.HexToAddress("0x00000000000000000000000000000000000000aa"), "1") // a neighbour's log
	b := w.payBlock(o, 1, "30")
	last := w.send(n, 3, common.HexToAddress("0x00000000000000000000000000000000000000bb"), "2")
	w.mine(n, required+1)
	w.waitCheckpoint(n, last+1)
	w.settled(n)
	if got := w.orderState(o.ID); len(got.Events) != 1 {
		t.Fatalf("the live watcher reported the unwatched payment: %v", got.Events)
	}
	if err := w.rdb.SAdd(w.ctx, watchSet, o.Address).Err(); err != nil {
		t.Fatal(err)
	}

	// From the neighbour's block: the dev chain's own setup blocks hold several logs each,
	// more than one -32005 answer allows, as a real node's busy blocks would.
	from, to := strconv.FormatUint(first, 10), strconv.FormatUint(last+1, 10)
	out, errOut, code := w.rescan(n, proxy.URL(), "--from", from, "--to", to)
	if code != 0 {
		t.Fatalf("rescan exit %d:\n%s%s", code, out, errOut)
	}
	if got := summary(t, out); got[0] != int(last-first)+2 || got[1] != 3 || got[2] != 1 || got[3] != 1 {
		t.Errorf("summary %v (blocks, logs, found, written), want %d blocks, 3 logs, 1 found, 1 written:\n%s", got, last-first+2, out)
	}
	if c := proxy.Count("eth_getLogs"); c < 4 {
		t.Errorf("%d eth_getLogs calls: the refusals were not split", c)
	}
	paid := w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
	if len(paid.Payments) != 1 || paid.Payments[0].BlockNumber != b || paid.AmountPaid != amt("30") {
		t.Fatalf("paid order %+v", paid)
	}
	w.settled(n)
	before := w.orderState(o.ID)
	if out, errOut, code := w.rescan(n, proxy.URL(), "--from", from, "--to", to); code != 0 || summary(t, out)[3] != 1 {
		t.Fatalf("second rescan exit %d:\n%s%s", code, out, errOut)
	}
	w.settled(n)
	if after := w.orderState(o.ID); !reflect.DeepEqual(after, before) {
		t.Errorf("the second rescan changed the order:\nbefore %s %v\nafter  %s %v", before.Order, before.Events, after.Order, after.Events)
	}
}

// TestRescanRefusesBadInput: each refusal is a clear error, exit 1, and nothing written.
func TestRescanRefusesBadInput(t *testing.T) {
	w := newWorld(t)
	n := checkout.ERC20
	w.mine(n, required+2)
	w.settled(n) // the checkpoint stands still from here
	cp := w.checkpoint(n)
	feedKey := w.prefix + checkout.FeedStream(n)
	feedLen := w.rdb.XLen(w.ctx, feedKey).Val()
	rpc := w.chains[n].RPCURL()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"from after to", []string{"--from", "5", "--to", "4"}, "--from 5 is after --to 4"},
		{"no range", []string{"--from", "1"}, "--from and --to are required"},
		{"range too long", []string{"--from", "0", "--to", "50000"}, "more than 50000: check the range, or pass --force"},
		{"above the checkpoint", []string{"--from", "0", "--to", strconv.FormatUint(cp+1, 10)}, "past the live watcher's checkpoint " + strconv.FormatUint(cp, 10)},
		{"forced past the checkpoint", []string{"--from", "0", "--to", "60000", "--force"}, "past the live watcher's checkpoint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := w.rescan(n, rpc, c.args...)
			if code != 1 || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q (stdout %q)", code, errOut, c.want, out)
			}
		})
	}
	t.Run("unknown network", func(t *testing.T) {
		_, errOut, code := w.run("watcher", "rescan", "--network", "BTC", "--rpc", rpc, "--from", "0", "--to", "1")
		if code != 1 || !strings.Contains(errOut, "--network") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("TRON range cap", func(t *testing.T) {
		_, errOut, code := w.run("watcher", "rescan", "--network", "TRC20", "--rpc", rpc, "--max-range", "5001", "--from", "0", "--to", "1")
		if code != 1 || !strings.Contains(errOut, "at most 5,000 blocks") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("no checkpoint yet", func(t *testing.T) {
		_, errOut, code := w.run("watcher", "rescan", "--network", "ERC20", "--rpc", rpc, "--token", w.chains[n].Token().Hex(),
			"--redis", w.redisURL(), "--redis-prefix", w.prefix+"fresh:", "--from", "0", "--to", "1")
		if code != 1 || !strings.Contains(errOut, "no checkpoint") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	if got := w.rdb.XLen(w.ctx, feedKey).Val(); got != feedLen {
		t.Errorf("a refused rescan wrote %d feed entries", got-feedLen)
	}
	if now := w.checkpoint(n); now < cp {
		t.Errorf("checkpoint went back from %d to %d", cp, now)
	}
}
