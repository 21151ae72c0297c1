package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/redistest"
)

// holdProxy is a TCP proxy in front of Redis that can hold Redis's replies: commands still
// reach Redis and run, their answers do not come back. An edge behind it that is SIGKILLed
// while held has read feed entries (XREADGROUP ran, they are pending to its consumer) that it
// never applied nor acknowledged: a crash between the read and the acknowledgement.
type holdProxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	held     bool
	release  chan struct{} // closed when the hold ends
	conns    []net.Conn
}

func startHoldProxy(t *testing.T, upstream string) *holdProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{ln: ln, upstream: upstream, release: make(chan struct{})}
	close(p.release)
	done := make(chan struct{})
	go func() { defer close(done); p.serve() }()
	t.Cleanup(func() {
		ln.Close()
		p.hold(false)
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		<-done
	})
	return p
}

func (p *holdProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(u, c); u.Close(); c.Close() }()
		go func() {
			defer c.Close()
			buf := make([]byte, 32<<10)
			for {
				n, err := u.Read(buf)
				if n > 0 {
					p.wait()
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// wait blocks while replies are held.
func (p *holdProxy) wait() {
	p.mu.Lock()
	ch := p.release
	p.mu.Unlock()
	<-ch
}

func (p *holdProxy) hold(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.held {
		return
	}
	p.held = on
	if on {
		p.release = make(chan struct{})
	} else {
		close(p.release)
	}
}

func (p *holdProxy) url() string { return "redis://" + p.ln.Addr().String() }

// feedEntries decodes the ERC20 feed, with each entry's id.
func feedEntries(t *testing.T, rdb *redis.Client, prefix string) (ids []string, ts []checkout.Transfer) {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), prefix+checkout.FeedStream(checkout.ERC20), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		var tr checkout.Transfer
		if err := json.Unmarshal([]byte(fmt.Sprint(m.Values[checkout.FeedField])), &tr); err != nil {
			t.Fatal(err)
		}
		ids, ts = append(ids, m.ID), append(ts, tr)
	}
	return ids, ts
}

// TestKilledConsumerThenReorg: the edge is SIGKILLed holding a transfer's sighting (read from
// the feed, not applied, not acknowledged); a reorg then removes the transfer and the watcher
// reports it; the restarted edge (a new consumer) applies the removal first and reclaims the
// stale sighting later. The order must end with no confirming payment of a transfer that is
// not on chain: PENDING, nothing pending, free to expire.
func TestKilledConsumerThenReorg(t *testing.T) {
	srv := redistest.Shared(t)
	prefix := redistest.Prefix()
	proxy := startHoldProxy(t, srv.Addr)
	st := newStack(t, stackOpts{
		redisArgs:        []string{"--redis", proxy.url(), "--redis-prefix", prefix},
		watcherRedisArgs: []string{"--redis", srv.URL, "--redis-prefix", prefix},
		// Reclaimed after 5 s: the restarted edge reads the removal before it takes over the
		// sighting (the order that used to leave a phantom payment).
		edgeArgs:    []string{"--settle-reclaim-after", "5s"},
		watcherArgs: []string{"--lease-ttl", "1s"},
	})
	ctx, chain := context.Background(), st.chain
	rdb := srv.Client(t)
	o, err := st.client.CreateOrder(ctx, &client.OrderParams{Amount: "12.5", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := deposit.ParseEVM(o.Address)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := chain.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The edge's Redis replies are held: it reads the sighting and never gets to apply it.
	proxy.hold(true)
	tx, err := chain.Pay(ctx, 1, common.Address(raw), o.Amount)
	if err != nil {
		t.Fatal(err)
	}
	chain.Commit()
	eventually(t, "the edge to hold the sighting unacknowledged", func() string {
		ids, ts := feedEntries(t, rdb, prefix)
		pend, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: prefix + checkout.FeedStream(checkout.ERC20),
			Group: "settlement", Start: "-", End: "+", Count: 100}).Result()
		if err != nil {
			return err.Error()
		}
		for _, p := range pend {
			for i, id := range ids {
				if id == p.ID && ts[i].Kind == checkout.TransferSeen && ts[i].TxHash == tx.Hex() {
					return ""
				}
			}
		}
		return fmt.Sprintf("feed %d entries, %d pending", len(ids), len(pend))
	})
	st.edge.kill()

	// The reorg: the transfer's block is replaced by a longer side chain without it.
	if err := chain.Fork(parent.Hash()); err != nil {
		t.Fatal(err)
	}
	chain.Commit()
	chain.Commit()
	eventually(t, "the watcher to report the removal", func() string {
		_, ts := feedEntries(t, rdb, prefix)
		for _, tr := range ts {
			if tr.Kind == checkout.TransferRemoved && tr.TxHash == tx.Hex() {
				return ""
			}
		}
		return fmt.Sprintf("%d feed entries, none a removal", len(ts))
	})
	if n, err := chain.Client().TransactionReceipt(ctx, tx); err == nil {
		t.Fatalf("the transfer is still on chain after the reorg: %+v", n)
	}

	proxy.hold(false)
	st.edge.start()
	eventually(t, "the restarted edge to settle every feed entry", func() string {
		groups, err := rdb.XInfoGroups(ctx, prefix+checkout.FeedStream(checkout.ERC20)).Result()
		if err != nil {
			return err.Error()
		}
		for _, g := range groups {
			if g.Name == "settlement" && (g.Pending != 0 || g.Lag != 0) {
				return fmt.Sprintf("%d pending, %d undelivered", g.Pending, g.Lag)
			}
		}
		return ""
	})
	got, err := st.client.GetOrder(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got.Payments {
		if p.Status == checkout.PaymentConfirming {
			t.Fatalf("order %s keeps a confirming payment of a transfer the reorg removed: %+v", got.Status, p)
		}
	}
	if got.Status != checkout.StatusPending || got.AmountPending != 0 || got.AmountPaid != 0 {
		t.Fatalf("order %s, pending %s, paid %s: want PENDING with nothing received", got.Status, got.AmountPending, got.AmountPaid)
	}
}
