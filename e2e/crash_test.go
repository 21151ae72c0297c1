package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/client"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// binaries builds the edge and watcher commands once per test binary.
func binaries(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "mp-e2e-bin-")
		if binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", binDir+"/", "github.com/mpchat/checkout/edge", "github.com/mpchat/checkout/watcher").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

// proc is a command that can be SIGKILLed and started again with the same arguments.
type proc struct {
	t    *testing.T
	bin  string
	args []string
	cmd  *exec.Cmd
	log  *os.File
}

func (p *proc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_, _ = p.cmd.Process.Wait()
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestCrashSafety SIGKILLs the watcher and the edge (separately and together) while payments
// flow, restarts them, and checks that every payment is credited exactly once.
func TestCrashSafety(t *testing.T) {
	st := newStack(t, stackOpts{edgeArgs: []string{"--settle-reclaim-after", "1s", "--expiry-interval", "1h"},
		watcherArgs: []string{"--lease-ttl", "1s"}})
	ctx, chain, edge, watcher, c := context.Background(), st.chain, st.edge, st.watcher, st.client
	var err error

	const n = 20
	orders := make([]*checkout.Order, n)
	for i := range orders {
		if orders[i], err = c.CreateOrder(ctx, &client.OrderParams{Amount: fmt.Sprintf("%d.5", i+1), Network: checkout.ERC20}); err != nil {
			t.Fatal(err)
		}
	}
	for i, o := range orders {
		raw, _ := deposit.ParseEVM(o.Address)
		if _, err := chain.Pay(ctx, i%5, common.Address(raw), o.Amount); err != nil {
			t.Fatal(err)
		}
		chain.Commit()
		time.Sleep(30 * time.Millisecond) // let the processes work, so the kills land mid-flight
		switch i {
		case 5:
			watcher.kill()
			chain.Commit()
			watcher.start()
		case 10:
			edge.kill()
			chain.Commit()
			edge.start()
		case 15:
			watcher.kill()
			edge.kill()
			chain.Commit()
			edge.start()
			watcher.start()
		}
	}
	for i := 0; i < required+1; i++ {
		chain.Commit()
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, o := range orders {
		for {
			got, err := c.GetOrder(ctx, o.ID)
			if err == nil && got.Status == checkout.StatusPaid {
				if got.AmountPaid != o.Amount || len(got.Payments) != 1 || got.AmountPending != 0 {
					t.Errorf("order %s credited wrongly: paid %s of %s, %d payments", o.ID, got.AmountPaid, o.Amount, len(got.Payments))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("order %s never PAID: %+v %v", o.ID, got, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
