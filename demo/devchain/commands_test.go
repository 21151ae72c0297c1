package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/watcher/devchain"
)

// chainLine is the JSON line `devchain run` prints once ready.
type chainLine struct {
	RPC      string   `json:"rpc"`
	WS       string   `json:"ws"`
	Token    string   `json:"token"`
	TokenHex string   `json:"token_hex"`
	ChainID  int64    `json:"chain_id"`
	Network  string   `json:"network"`
	Payers   []string `json:"payers"`
}

// payLine is the JSON line `devchain pay` prints.
type payLine struct {
	TxHash      string `json:"tx_hash"`
	From        string `json:"from"`
	To          string `json:"to"`
	Amount      string `json:"amount"`
	BlockNumber uint64 `json:"block_number"`
}

// TestCommands runs `devchain run` twice side by side (one playing Ethereum, one TRON) and
// `devchain pay` against them, as the demo and a developer do.
func TestCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the devchain binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "devchain")
	build := exec.CommandContext(ctx, gobin, "build", "-o", bin, "github.com/mpchat/checkout/demo/devchain")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	eth, ethProc := startDevchain(t, ctx, bin, "--listen", "127.0.0.1:0", "--block-time", "100ms", "--accounts", "3")
	tron, tronProc := startDevchain(t, ctx, bin, "--listen", "127.0.0.1:0", "--block-time", "100ms", "--accounts", "3", "--network", "TRC20")
	if eth.RPC == tron.RPC || eth.WS == tron.WS {
		t.Fatalf("both chains on one port: %s %s", eth.RPC, tron.RPC)
	}
	payer0 := "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
	if eth.ChainID != 1337 || eth.Network != "ERC20" || eth.Token != devchain.TokenAddress().Hex() || len(eth.Payers) != 3 || eth.Payers[0] != payer0 {
		t.Errorf("ERC20 devchain run line %+v", eth)
	}
	if tron.Network != "TRC20" || tron.Token != deposit.EncodeTRON(devchain.TokenAddress()) || tron.TokenHex != devchain.TokenAddress().Hex() ||
		len(tron.Payers) != 3 || tron.Payers[0] != deposit.EncodeTRON(common.HexToAddress(payer0)) {
		t.Errorf("TRC20 devchain run line %+v", tron)
	}

	// A payment to a TRON address on the chain playing TRON, waited for.
	to := "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
	var p payLine
	runJSON(t, ctx, bin, nil, &p, "pay", "--rpc", tron.RPC, "--network", "TRC20", "--to", to, "--amount", "99.99", "--from", "1", "--wait")
	if p.From != tron.Payers[1] || p.To != to || p.Amount != "99.99" || p.BlockNumber == 0 || len(p.TxHash) != 66 {
		t.Errorf("pay line %+v", p)
	}
	raw, _ := deposit.ParseTRON(to)
	if b := balance(t, ctx, tron.RPC, common.Address(raw)); b != 99_990_000 {
		t.Errorf("TRON chain balance of %s: %d", to, b)
	}
	if b := balance(t, ctx, eth.RPC, common.Address(raw)); b != 0 {
		t.Errorf("the payment reached the other chain: %d", b)
	}

	// A payment on the chain playing Ethereum, flags from the environment, not waited for:
	// the interval producer includes it.
	recipient := "0x00000000000000000000000000000000000A11cE"
	env := []string{"MP_RPC=" + eth.RPC, "MP_NETWORK=ERC20", "MP_DEVPAY_TO=" + strings.ToLower(recipient), "MP_DEVPAY_AMOUNT=0.5"}
	runJSON(t, ctx, bin, env, &p, "pay")
	if p.BlockNumber != 0 || p.From != payer0 || p.Amount != "0.5" {
		t.Errorf("pay (env) line %+v", p)
	}
	deadline := time.Now().Add(20 * time.Second)
	for balance(t, ctx, eth.RPC, common.HexToAddress(recipient)) != 500_000 {
		if time.Now().After(deadline) {
			t.Fatal("the unwaited payment was not included within 20 s at a 100 ms block time")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Bad input: a clear error and a non-zero exit, nothing sent.
	for name, args := range map[string][]string{
		"0x address for TRC20": {"--network", "TRC20", "--to", recipient, "--amount", "1"},
		"T address for ERC20":  {"--network", "ERC20", "--to", to, "--amount", "1"},
		"bad checksum":         {"--network", "TRC20", "--to", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", "--amount", "1"},
		"bad amount":           {"--network", "TRC20", "--to", to, "--amount", "1.2345678"},
		"no amount":            {"--network", "TRC20", "--to", to},
	} {
		cmd := exec.CommandContext(ctx, bin, append([]string{"pay", "--rpc", tron.RPC}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err == nil || len(out) != 0 || !strings.Contains(stderr.String(), "devchain:") {
			t.Errorf("%s: err %v, stdout %q, stderr %q", name, err, out, stderr.String())
		}
	}
	if b := balance(t, ctx, tron.RPC, common.Address(raw)); b != 99_990_000 {
		t.Errorf("a refused pay moved funds: %d", b)
	}

	for _, proc := range []*devchainProc{ethProc, tronProc} {
		proc.stop(t)
	}
}

type devchainProc struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan error
}

// lockedBuffer is stderr of a running process: written by exec's copier, read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startDevchain starts `devchain run` and returns its JSON line once printed.
func startDevchain(t *testing.T, ctx context.Context, bin string, args ...string) (chainLine, *devchainProc) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"run"}, args...)...)
	p := &devchainProc{cmd: cmd, stderr: new(lockedBuffer), done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		// Owned by the process: it ends when the process closes stdout.
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	var line string
	select {
	case line = <-lines:
	case <-time.After(60 * time.Second):
		t.Fatalf("devchain %v printed nothing within 60 s; stderr:\n%s", args, p.stderr)
	}
	var cl chainLine
	if err := json.Unmarshal([]byte(line), &cl); err != nil {
		t.Fatalf("devchain %v printed %q: %v; stderr:\n%s", args, line, err, p.stderr)
	}
	return cl, p
}

// stop interrupts the process and expects a clean exit.
func (p *devchainProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil || !strings.Contains(p.stderr.String(), "dev chain stopping") {
			t.Errorf("devchain exit after SIGINT: %v; stderr:\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("devchain did not stop within 30 s of SIGINT")
	}
}

// runJSON runs the binary and decodes the one line it prints.
func runJSON(t *testing.T, ctx context.Context, bin string, env []string, v any, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v; stderr:\n%s", args, err, stderr.String())
	}
	if bytes.Count(out, []byte("\n")) != 1 {
		t.Fatalf("%v printed %q, want one line", args, out)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("%v printed %q: %v", args, out, err)
	}
}

func balance(t *testing.T, ctx context.Context, rpcURL string, account common.Address) checkout.Amount {
	t.Helper()
	cl, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	b, err := devchain.BalanceOf(ctx, cl, devchain.TokenAddress(), account)
	if err != nil {
		t.Fatal(err)
	}
	return checkout.Amount(b.Int64())
}
