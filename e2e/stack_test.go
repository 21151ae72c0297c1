package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mpchat/checkout/edge/client"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
)

// stack is a dev chain with the real edge and watcher commands on one Redis, and a merchant
// made by the operator command: what the subprocess tests (crashes, webhooks, operator
// endpoints, Redis Cluster) run against.
type stack struct {
	chain    *devchain.Chain
	edge     *proc
	watcher  *proc
	addr     string // the edge's listen address
	client   *client.Client
	merchant struct {
		KeyID         string `json:"key_id"`
		Secret        string `json:"secret"`
		WebhookSecret string `json:"webhook_secret"`
	}
}

// stackOpts adds to the commands' flags.
type stackOpts struct {
	redisArgs    []string // default: the package's test Redis under a fresh prefix
	merchantArgs []string // more `edge merchant create --dev` flags
	edgeArgs     []string // more `edge serve --dev --listen …` flags
	watcherArgs  []string // more `watcher run --network ERC20 …` flags
}

// newStack starts the chain, creates the merchant and starts both commands; everything stops
// when the test ends, and the commands' output is logged if it failed.
func newStack(t *testing.T, o stackOpts) *stack {
	t.Helper()
	bin := binaries(t)
	if o.redisArgs == nil {
		o.redisArgs = []string{"--redis", redistest.Shared(t).URL, "--redis-prefix", redistest.Prefix()}
	}
	chain, err := devchain.Start(context.Background(), devchain.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Close() })
	logf, err := os.Create(filepath.Join(t.TempDir(), "procs.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("process output:\n%s", b)
		}
	})
	s := &stack{chain: chain, addr: freeAddr(t)}
	args := append(append([]string{"merchant", "create", "--dev", "--name", t.Name()}, o.merchantArgs...), o.redisArgs...)
	out, err := exec.Command(filepath.Join(bin, "edge"), args...).Output()
	if err != nil {
		t.Fatalf("edge merchant create: %v", err)
	}
	if err := json.Unmarshal(out, &s.merchant); err != nil {
		t.Fatal(err)
	}
	s.edge = &proc{t: t, bin: filepath.Join(bin, "edge"), log: logf,
		// Metrics on a free loopback port of its own (their default port would be shared by
		// every edge on the machine); edgeArgs may name another.
		args: append(append([]string{"serve", "--dev", "--listen", s.addr, "--metrics-listen", "127.0.0.1:0"}, o.edgeArgs...), o.redisArgs...)}
	s.watcher = &proc{t: t, bin: filepath.Join(bin, "watcher"), log: logf,
		args: append(append([]string{"run", "--network", "ERC20", "--rpc", chain.RPCURL(), "--token", chain.Token().Hex(),
			"--start-block", "0", "--poll-interval", "20ms", "--confirmations", fmt.Sprint(required)}, o.watcherArgs...), o.redisArgs...)}
	s.edge.start()
	s.watcher.start()
	t.Cleanup(s.edge.kill)
	t.Cleanup(s.watcher.kill)
	s.client = client.New("http://"+s.addr, s.merchant.KeyID, s.merchant.Secret)
	s.client.Backoff = func(int) time.Duration { return 200 * time.Millisecond }
	s.client.MaxRetries = 30 // the edge is starting, or down at times
	return s
}
