package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/internal/redistest"
	"github.com/mpchat/checkout/watcher/devchain"
)

// stack is a dev chain per network with the real edge and watcher commands on one Redis, and
// a merchant made by the operator command: what the subprocess tests (crashes, webhooks,
// operator endpoints, Redis Cluster) run against. By default it is one ERC20 chain, one edge
// and one watcher; stackOpts asks for more networks, edge replicas and standby watchers.
type stack struct {
	chain    *devchain.Chain // chains[networks[0]]
	edge     *proc           // edges[0]
	watcher  *proc           // watchers[networks[0]][0]
	addr     string          // edges[0]'s listen address
	client   *client.Client  // of edges[0]
	merchant struct {
		KeyID         string `json:"key_id"`
		Secret        string `json:"secret"`
		WebhookSecret string `json:"webhook_secret"`
	}

	networks []checkout.Network
	chains   map[checkout.Network]*devchain.Chain
	edges    []*proc
	addrs    []string // edges[i]'s listen address
	watchers map[checkout.Network][]*proc
	// watcherOps[w] is watcher w's operator address (GET /readyz), with stackOpts.watcherOps.
	watcherOps map[*proc]string
}

// stackOpts adds to the commands' flags.
type stackOpts struct {
	redisArgs    []string // default: the package's test Redis under a fresh prefix
	merchantArgs []string // more `edge merchant create --dev` flags
	edgeArgs     []string // more `edge serve --dev --listen …` flags
	watcherArgs  []string // more `watcher run --network … --rpc …` flags
	// watcherRedisArgs, if set, replace redisArgs for the watchers (e.g. the edge reaches
	// Redis through a proxy the test controls and the watchers do not).
	watcherRedisArgs []string

	networks      []checkout.Network // one chain and watcher set per network; default ERC20
	edges         int                // edge replicas; default 1
	watchers      int                // watchers per network, one active and the others standing by; default 1
	watcherOps    bool               // give every watcher an operator listener (--listen)
	blockInterval time.Duration      // the chains produce a block this often; default 0: only on Commit
}

// newStack starts the chains, creates the merchant and starts the commands; everything stops
// when the test ends, and the commands' output is logged if it failed.
func newStack(t *testing.T, o stackOpts) *stack {
	t.Helper()
	bin := binaries(t)
	if o.redisArgs == nil {
		o.redisArgs = []string{"--redis", redistest.Shared(t).URL, "--redis-prefix", redistest.Prefix()}
	}
	if len(o.networks) == 0 {
		o.networks = []checkout.Network{checkout.ERC20}
	}
	o.edges, o.watchers = max(o.edges, 1), max(o.watchers, 1)
	logs := &procLogs{dir: t.TempDir()}
	t.Cleanup(func() {
		if t.Failed() {
			logs.dump(t)
		} else if os.Getenv(keepLogsEnv) != "" {
			logs.keep(t)
		}
	})
	s := &stack{networks: o.networks, chains: map[checkout.Network]*devchain.Chain{},
		watchers: map[checkout.Network][]*proc{}, watcherOps: map[*proc]string{}}
	if o.watcherRedisArgs == nil {
		o.watcherRedisArgs = o.redisArgs
	}
	for _, n := range o.networks {
		chain, err := devchain.Start(context.Background(), devchain.Config{BlockInterval: o.blockInterval})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { chain.Close() })
		s.chains[n] = chain
	}
	s.chain = s.chains[o.networks[0]]

	args := append(append([]string{"merchant", "create", "--dev", "--name", t.Name()}, o.merchantArgs...), o.redisArgs...)
	out, err := exec.Command(filepath.Join(bin, "edge"), args...).Output()
	if err != nil {
		t.Fatalf("edge merchant create: %v", err)
	}
	if err := json.Unmarshal(out, &s.merchant); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < o.edges; i++ {
		addr := freeAddr(t)
		p := &proc{t: t, name: fmt.Sprintf("edge-%d", i), bin: filepath.Join(bin, "edge"), log: logs.file(t, fmt.Sprintf("edge-%d", i)),
			// Metrics on a free loopback port of its own (their default port would be shared by
			// every edge on the machine); edgeArgs may name another.
			args: append(append([]string{"serve", "--dev", "--listen", addr, "--metrics-listen", "127.0.0.1:0"}, o.edgeArgs...), o.redisArgs...)}
		s.edges, s.addrs = append(s.edges, p), append(s.addrs, addr)
	}
	for _, n := range o.networks {
		chain := s.chains[n]
		for i := 0; i < o.watchers; i++ {
			name := fmt.Sprintf("watcher-%s-%d", n, i)
			args := []string{"run", "--network", string(n), "--rpc", chain.RPCURL(), "--token", chain.Token().Hex(),
				"--start-block", "0", "--poll-interval", "20ms", "--confirmations", fmt.Sprint(required)}
			var ops string
			if o.watcherOps {
				ops = freeAddr(t)
				args = append(args, "--listen", ops)
			}
			p := &proc{t: t, name: name, bin: filepath.Join(bin, "watcher"), log: logs.file(t, name),
				args: append(append(args, o.watcherArgs...), o.watcherRedisArgs...)}
			s.watchers[n] = append(s.watchers[n], p)
			if ops != "" {
				s.watcherOps[p] = ops
			}
		}
	}
	s.edge, s.addr, s.watcher = s.edges[0], s.addrs[0], s.watchers[o.networks[0]][0]
	for _, p := range s.edges {
		p.start()
		t.Cleanup(p.kill)
	}
	for _, n := range o.networks {
		for _, p := range s.watchers[n] {
			p.start()
			t.Cleanup(p.kill)
		}
	}
	s.client = client.New("http://"+s.addr, s.merchant.KeyID, s.merchant.Secret)
	s.client.Backoff = func(int) time.Duration { return 200 * time.Millisecond }
	s.client.MaxRetries = 30 // the edge is starting, or down at times
	return s
}

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
	name string
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

// procLogs keeps one output file per process, shown when the test fails.
type procLogs struct {
	dir   string
	mu    sync.Mutex
	files []*os.File
}

func (l *procLogs) file(t *testing.T, name string) *os.File {
	f, err := os.Create(filepath.Join(l.dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	l.files = append(l.files, f)
	l.mu.Unlock()
	return f
}

// keepLogsEnv, when set, keeps the processes' output of a test that passed too.
const keepLogsEnv = "MP_E2E_KEEP_LOGS"

// keep copies every output file to a directory that outlives the test, and names it.
func (l *procLogs) keep(t *testing.T) string {
	dir, err := os.MkdirTemp("", "mp-e2e-logs-")
	if err != nil {
		t.Logf("keep process output: %v", err)
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.files {
		b, _ := os.ReadFile(f.Name())
		_ = os.WriteFile(filepath.Join(dir, filepath.Base(f.Name())), b, 0o644)
	}
	t.Logf("process output kept in %s", dir)
	return dir
}

// dumpLimit is how much of one process's output a failed test shows; the whole of each file
// is copied to a directory that outlives the test.
const dumpLimit = 64 << 10

func (l *procLogs) dump(t *testing.T) {
	l.keep(t)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.files {
		b, _ := os.ReadFile(f.Name())
		if len(b) > dumpLimit {
			cut := bytes.IndexByte(b[len(b)-dumpLimit:], '\n')
			b = append([]byte("…\n"), b[len(b)-dumpLimit+cut+1:]...)
		}
		t.Logf("output of %s:\n%s", filepath.Base(f.Name()), b)
	}
}
