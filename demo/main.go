// Command demo runs the whole product locally for a newcomer: its own Redis (port 6390, data in
// .demo/, never the Redis on 6379), two development chains (one playing Ethereum, one TRON),
// a watcher for each, and the edge in dev mode; it creates a demo merchant and prints what to
// open and paste. It checks every port it needs before starting anything and names the
// DEMO_FLAGS that avoid a taken one. Ctrl-C stops everything and exits 0; every run starts
// from fresh chains and data.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/demo/shop"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/watcher/devchain"
)

type config struct {
	dir        string
	redisPort  int
	edgeAddr   string
	metrics    string
	shopAddr   string
	webDir     string
	ethRPC     string
	tronRPC    string
	ethWatcher string
	trxWatcher string
	blockTime  time.Duration
	confirms   int
	installApt bool
	nodeProxy  bool
}

func main() {
	var c config
	flag.StringVar(&c.dir, "dir", ".demo", "working directory for data, binaries and logs")
	flag.IntVar(&c.redisPort, "redis-port", 6390, "port of the demo's own Redis")
	flag.StringVar(&c.edgeAddr, "edge", "127.0.0.1:8080", "edge listen address")
	flag.StringVar(&c.metrics, "metrics", "127.0.0.1:0", "the edge's private metrics listener (GET /metrics); :0 = a free port, shown in logs/edge.log")
	flag.StringVar(&c.shopAddr, "shop", "127.0.0.1:8081", "demo shop listen address (a second origin)")
	flag.StringVar(&c.webDir, "web-dir", "public/web", "the checkout's built wasm assets (make wasm)")
	flag.StringVar(&c.ethRPC, "eth-rpc", "127.0.0.1:8545", "listen address of the Ethereum dev chain")
	flag.StringVar(&c.tronRPC, "tron-rpc", "127.0.0.1:8546", "listen address of the TRON dev chain")
	flag.StringVar(&c.ethWatcher, "erc20-watcher", "127.0.0.1:9101", "the ERC20 watcher's operator listener (GET /healthz, /readyz, /metrics)")
	flag.StringVar(&c.trxWatcher, "trc20-watcher", "127.0.0.1:9102", "the TRC20 watcher's operator listener (GET /healthz, /readyz, /metrics)")
	flag.DurationVar(&c.blockTime, "block-time", time.Second, "dev chain block interval")
	flag.IntVar(&c.confirms, "confirmations", 3, "confirmations the dev watchers require")
	flag.BoolVar(&c.installApt, "install", true, "install redis-server with apt-get when missing")
	flag.BoolVar(&c.nodeProxy, "nodeproxy", false, "put a node proxy (demo/nodeproxy; TRON mode for TRC20) between each dev chain and its watcher, with a control API to inject faults")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	giveBack := takeTerminal()
	code := 0
	if err := checkPorts(c); err != nil {
		fmt.Fprint(os.Stderr, err)
		code = 1
	} else {
		d := &demo{cfg: c, log: log}
		err := d.run(ctx)
		d.stopAll()
		// Ctrl-C during start-up interrupts a build or a wait: that is a stop, not a failure.
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			code = 1
		} else {
			log.Info("stopped; every process the demo started has ended")
		}
	}
	stop()
	giveBack()
	os.Exit(code)
}

// portFlag is one address the demo listens on and the flag that sets it.
type portFlag struct {
	flag string
	addr string
	// value is the flag's value for addr (--redis-port takes a port alone).
	value func(addr string) string
}

// checkPorts tries every address the demo will listen on before anything starts: a second
// `make demo`, or anything else on one of its ports, otherwise shows up as a child that dies
// in its log. The error names each taken port and a DEMO_FLAGS with free ones.
func checkPorts(c config) error {
	hostPort := func(a string) string { return a }
	portOnly := func(a string) string { _, p, _ := net.SplitHostPort(a); return p }
	ports := []portFlag{
		{"redis-port", fmt.Sprintf("127.0.0.1:%d", c.redisPort), portOnly},
		{"eth-rpc", c.ethRPC, hostPort},
		{"tron-rpc", c.tronRPC, hostPort},
		{"erc20-watcher", c.ethWatcher, hostPort},
		{"trc20-watcher", c.trxWatcher, hostPort},
		{"edge", c.edgeAddr, hostPort},
		{"metrics", c.metrics, hostPort},
		{"shop", c.shopAddr, hostPort},
	}
	used := map[string]bool{}
	for _, p := range ports {
		used[p.addr] = true
	}
	var msg strings.Builder
	fix := map[string]string{}
	for _, p := range ports {
		host, port, err := net.SplitHostPort(p.addr)
		if err != nil {
			fmt.Fprintf(&msg, "demo: --%s %q: %v\n", p.flag, p.addr, err)
			continue
		}
		if port == "0" {
			continue // the system picks a free one
		}
		if err := tryListen(p.addr); err == nil {
			continue
		}
		fmt.Fprintf(&msg, "demo: port %s (--%s %s) is already in use: another `make demo`, or something else listens there\n",
			port, p.flag, p.value(p.addr))
		if free := freeNear(host, port, used); free != "" {
			used[free] = true
			fix[p.flag] = p.value(free)
		}
	}
	if msg.Len() == 0 {
		return nil
	}
	msg.WriteString("Nothing was started. Stop what listens there, or run the demo on other ports:\n")
	if len(fix) > 0 {
		// Keep the flags already given, with the taken ports replaced.
		var args []string
		flag.Visit(func(f *flag.Flag) {
			if _, replaced := fix[f.Name]; replaced {
				return
			}
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				args = append(args, "--"+f.Name+"="+f.Value.String()) // a bool takes no separate value
			} else {
				args = append(args, "--"+f.Name+" "+f.Value.String())
			}
		})
		for _, p := range ports {
			if v, ok := fix[p.flag]; ok {
				args = append(args, "--"+p.flag+" "+v)
			}
		}
		fmt.Fprintf(&msg, "  make demo DEMO_FLAGS='%s'\n", strings.Join(args, " "))
	}
	return errors.New(msg.String())
}

func tryListen(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// freeNear returns host:port for the first free port above port that no other demo address
// uses, or "" when the next hundred are all taken.
func freeNear(host, port string, used map[string]bool) string {
	var n int
	if _, err := fmt.Sscan(port, &n); err != nil {
		return ""
	}
	for p := n + 1; p <= n+100 && p < 65536; p++ {
		a := net.JoinHostPort(host, fmt.Sprint(p))
		if !used[a] && tryListen(a) == nil {
			return a
		}
	}
	return ""
}

type demo struct {
	cfg   config
	log   *slog.Logger
	mu    sync.Mutex
	procs []*proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func (d *demo) run(ctx context.Context) error {
	abs, err := filepath.Abs(d.cfg.dir)
	if err != nil {
		return err
	}
	d.cfg.dir = abs
	// The dev chains start from block 0 every run, so the Redis state of an earlier run
	// (watcher checkpoints past the new chains' heads, orders on addresses of chains that are
	// gone) would be wrong: every run starts fresh.
	for _, stale := range []string{"redis", "merchant.json"} {
		if err := os.RemoveAll(filepath.Join(abs, stale)); err != nil {
			return err
		}
	}
	for _, sub := range []string{"bin", "redis", "logs"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return err
		}
	}
	if err := d.ensureRedisInstalled(ctx); err != nil {
		return err
	}
	d.log.Info("building edge, watcher and devchain")
	pkgs := []string{"./edge", "./watcher", "./demo/devchain"}
	if d.cfg.nodeProxy {
		pkgs = append(pkgs, "./demo/nodeproxy")
	}
	build := exec.CommandContext(ctx, "go", append([]string{"build", "-o", filepath.Join(abs, "bin") + "/"}, pkgs...)...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	redisURL := fmt.Sprintf("redis://127.0.0.1:%d/0", d.cfg.redisPort)
	if _, err := d.start(ctx, "redis", "redis-server", "--port", fmt.Sprint(d.cfg.redisPort), "--bind", "127.0.0.1",
		"--dir", filepath.Join(abs, "redis"), "--appendonly", "no", "--save", ""); err != nil {
		return err
	}
	if err := waitTCP(ctx, fmt.Sprintf("127.0.0.1:%d", d.cfg.redisPort)); err != nil {
		return fmt.Errorf("redis did not start (is port %d taken?): %w", d.cfg.redisPort, err)
	}
	bin := func(name string) string { return filepath.Join(abs, "bin", name) }
	chains := map[string]chainInfo{}
	for _, n := range []struct{ network, listen string }{{"ERC20", d.cfg.ethRPC}, {"TRC20", d.cfg.tronRPC}} {
		line, err := d.startJSON(ctx, "devchain-"+n.network, bin("devchain"), "run", "--listen", n.listen,
			"--block-time", d.cfg.blockTime.String(), "--network", n.network)
		if err != nil {
			return err
		}
		var ci chainInfo
		if err := json.Unmarshal(line, &ci); err != nil {
			return fmt.Errorf("devchain %s printed %q: %w", n.network, line, err)
		}
		chains[n.network] = ci
	}
	proxies := map[string]proxyInfo{}
	if d.cfg.nodeProxy {
		for _, n := range []string{"ERC20", "TRC20"} {
			pi, err := d.startProxy(ctx, bin("nodeproxy"), n, chains[n].RPC)
			if err != nil {
				return err
			}
			proxies[n] = pi
		}
	}
	watchers := map[string]string{"ERC20": d.cfg.ethWatcher, "TRC20": d.cfg.trxWatcher}
	for _, n := range []string{"ERC20", "TRC20"} {
		rpcArgs := []string{"--rpc", chains[n].RPC, "--ws", chains[n].WS}
		if pi, ok := proxies[n]; ok {
			rpcArgs = []string{"--rpc", pi.URL}
			if n == "ERC20" {
				rpcArgs = append(rpcArgs, "--ws", chains[n].WS) // TRON's JSON-RPC has no WebSocket
			}
		}
		args := append([]string{"run", "--network", n}, rpcArgs...)
		args = append(args, "--token", chains[n].Token, "--redis", redisURL,
			"--confirmations", fmt.Sprint(d.cfg.confirms), "--start-block", "0", "--listen", watchers[n])
		if _, err := d.start(ctx, "watcher-"+n, bin("watcher"), args...); err != nil {
			return err
		}
	}
	for _, n := range []string{"ERC20", "TRC20"} {
		if err := waitHTTP(ctx, "http://"+watchers[n]+"/healthz"); err != nil {
			return fmt.Errorf("watcher %s did not answer /healthz (see %s): %w", n, filepath.Join(abs, "logs", "watcher-"+n+".log"), err)
		}
	}
	publicURL := "http://" + d.cfg.edgeAddr
	shopURL := "http://" + d.cfg.shopAddr
	shopLn, err := net.Listen("tcp", d.cfg.shopAddr)
	if err != nil {
		return fmt.Errorf("demo shop: %w", err)
	}
	defer shopLn.Close()
	if _, err := d.start(ctx, "edge", bin("edge"), "serve", "--dev", "--listen", d.cfg.edgeAddr,
		"--redis", redisURL, "--public-url", publicURL, "--metrics-listen", d.cfg.metrics,
		// The demo shop's webhook endpoint is on loopback: development only.
		"--webhook-allow-private", "--web-dir", d.cfg.webDir,
		// The checkout's DEV ONLY control pays through the shop's dev-chain payer.
		"--dev-pay-url", shopURL+"/dev/pay",
		// The checkout's QR codes name the dev chain's token and chain id, so a wallet pointed
		// at the dev chain can pay by scanning.
		"--erc20-token", chains["ERC20"].Token, "--erc20-chain-id", fmt.Sprint(chains["ERC20"].ChainID)); err != nil {
		return err
	}
	if err := waitHTTP(ctx, publicURL+"/readyz"); err != nil {
		return fmt.Errorf("edge did not become ready: %w", err)
	}
	m, err := d.merchant(ctx, bin("edge"), redisURL, shopURL)
	if err != nil {
		return err
	}
	api := client.New(publicURL, m.KeyID, m.Secret)
	sh := &shop.Shop{BaseURL: shopURL, EdgeURL: publicURL, API: api, WebhookSecret: m.WebhookSecret,
		Payer: &devPayer{chains: chains}, Log: d.log}
	hs := &http.Server{Handler: sh.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(shopLn) }()
	defer hs.Close()
	d.printWelcome(publicURL, shopURL, redisURL, m, chains)
	if len(proxies) > 0 {
		fmt.Printf(`  node proxies (the watchers read through them; faults: docs/operating.md#nodeproxy)
    ERC20 %s  control %s
    TRC20 %s  control %s (TRON mode)
  e.g. curl -X PUT %s/fault -d '{"Lag": 20}'   then   curl -X PUT %s/fault -d '{}'

`, proxies["ERC20"].URL, proxies["ERC20"].Control, proxies["TRC20"].URL, proxies["TRC20"].Control,
			proxies["TRC20"].Control, proxies["TRC20"].Control)
	}
	<-ctx.Done()
	d.log.Info("stopping")
	return nil
}

type chainInfo struct {
	RPC      string   `json:"rpc"`
	WS       string   `json:"ws"`
	Token    string   `json:"token"`     // in the network's address format
	TokenHex string   `json:"token_hex"` // 0x…
	ChainID  int64    `json:"chain_id"`
	Payers   []string `json:"payers"`
}

// proxyInfo is a running node proxy: its JSON-RPC URL and its control API.
type proxyInfo struct{ URL, Control string }

// startProxy runs demo/nodeproxy in front of a dev chain (TRON mode for TRC20) on free
// loopback ports. It prints its URL, then its control address, which lands in its log.
func (d *demo) startProxy(ctx context.Context, bin, network, upstream string) (proxyInfo, error) {
	name := "nodeproxy-" + network
	args := []string{"--upstream", upstream, "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0"}
	if network == "TRC20" {
		args = append(args, "--tron")
	}
	line, err := d.startJSON(ctx, name, bin, args...)
	if err != nil {
		return proxyInfo{}, err
	}
	pi := proxyInfo{URL: strings.TrimSpace(string(line))}
	logPath := filepath.Join(d.cfg.dir, "logs", name+".log")
	deadline := time.Now().Add(15 * time.Second)
	for pi.Control == "" {
		b, _ := os.ReadFile(logPath)
		for _, l := range strings.Split(string(b), "\n") {
			if c, ok := strings.CutPrefix(strings.TrimSpace(l), "control "); ok {
				pi.Control = c
			}
		}
		if pi.Control != "" {
			break
		}
		if time.Now().After(deadline) {
			return proxyInfo{}, fmt.Errorf("%s printed no control address (see %s)", name, logPath)
		}
		select {
		case <-ctx.Done():
			return proxyInfo{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return pi, nil
}

type merchantInfo struct {
	MerchantID    string `json:"merchant_id"`
	KeyID         string `json:"key_id"`
	Secret        string `json:"secret"`
	WebhookSecret string `json:"webhook_secret"`
}

// merchant creates the demo merchant and keeps its credentials in .demo/merchant.json.
func (d *demo) merchant(ctx context.Context, edgeBin, redisURL, shopURL string) (*merchantInfo, error) {
	path := filepath.Join(d.cfg.dir, "merchant.json")
	var m merchantInfo
	u, err := url.Parse(shopURL)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, edgeBin, "merchant", "create", "--dev", "--name", "Demo Shop", "--redis", redisURL,
		"--webhook-url", shopURL+"/webhooks", "--embed-origin", shopURL, "--return-host", u.Hostname())
	cmd.Stderr = io.Discard // the dev warning is repeated in the welcome text
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("create demo merchant: %w", err)
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("create demo merchant: %w", err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return nil, err
	}
	return &m, nil
}

func (d *demo) printWelcome(publicURL, shopURL, redisURL string, m *merchantInfo, chains map[string]chainInfo) {
	fmt.Printf(`
MP Checkout is running (dev mode; Ctrl-C stops everything)

  Open the demo shop:  %s

  Buy the coffee, then press the checkout's DEV ONLY "Pay on the dev chain" button (or pay
  the shown address with the devchain pay command below): the checkout turns CONFIRMING,
  then PAID, sends you back to the shop, which checks the order with its server and shows
  the payment.confirmed webhook it received and verified.

  edge        %s
  shop        %s (its own origin: creates orders server-side, embeds embed.js, receives webhooks)
  Redis       127.0.0.1:%d (the demo's own, fresh each run; files in %s)
  dev chains  ERC20 %s   TRC20 %s
  watchers    ERC20 http://%s/healthz  TRC20 http://%s/healthz  (and /readyz, /metrics)
  merchant    %s  key %s  (credentials in %s/merchant.json; DEVELOPMENT xpubs — dev chain only)

Merchant commands act on the Redis they are given: the demo's is %s, so
  MP_REDIS=%s go run ./edge merchant list      (or --redis %s)

Or use the API yourself (signed with the demo key):

  KEY_ID=%s SECRET=%s BASE=%s
  BODY='{"amount":"99.99","currency":"USDT","network":"TRC20","description":"Demo order"}'
  TS=$(date +%%s)
  BODY_HASH=$(printf '%%s' "$BODY" | openssl dgst -sha256 -hex | sed 's/^.* //')
  SIG=$(printf '%%s\n%%s\n%%s\n%%s' "$TS" POST /v1/orders "$BODY_HASH" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')
  curl -sS -X POST "$BASE/v1/orders" -H "Authorization: Bearer $KEY_ID:$TS:$SIG" -H 'Content-Type: application/json' -d "$BODY"

  %s/bin/devchain pay --rpc %s --network TRC20 --to ADDRESS --amount 99.99 --wait
`, shopURL, publicURL, shopURL, d.cfg.redisPort, filepath.Join(d.cfg.dir, "redis"), chains["ERC20"].RPC, chains["TRC20"].RPC,
		d.cfg.ethWatcher, d.cfg.trxWatcher, m.MerchantID, m.KeyID, d.cfg.dir, redisURL, redisURL, redisURL, m.KeyID, m.Secret, publicURL, d.cfg.dir, chains["TRC20"].RPC)
}

// devPayer pays orders on the demo's dev chains, from the funded payers in turn.
type devPayer struct {
	chains map[string]chainInfo
	mu     sync.Mutex
	next   int
}

func (p *devPayer) PayOrder(ctx context.Context, o *checkout.CheckoutView) (string, error) {
	ci, ok := p.chains[string(o.Network)]
	if !ok || len(ci.Payers) == 0 {
		return "", fmt.Errorf("no dev chain with payers for %s", o.Network)
	}
	var to [20]byte
	var err error
	if o.Network == checkout.TRC20 {
		to, err = deposit.ParseTRON(o.Address)
	} else {
		to, err = deposit.ParseEVM(o.Address)
	}
	if err != nil {
		return "", err
	}
	p.mu.Lock() // one payment at a time: each payer's nonces stay in order
	defer p.mu.Unlock()
	from := p.next % len(ci.Payers)
	p.next++
	pay, err := devchain.PayRemote(ctx, ci.RPC, from, common.Address(to), common.HexToAddress(ci.TokenHex), o.PayAmount, true)
	if err != nil {
		return "", err
	}
	return pay.TxHash.Hex(), nil
}

// start runs a child process with its output in .demo/logs/{name}.log.
func (d *demo) start(ctx context.Context, name, bin string, args ...string) (*proc, error) {
	logf, err := os.Create(filepath.Join(d.cfg.dir, "logs", name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	d.mu.Lock()
	d.procs = append(d.procs, p)
	d.mu.Unlock()
	d.log.Info("started", "process", name, "log", logf.Name())
	return p, nil
}

// startJSON starts a child whose first stdout line is a JSON object and returns that line.
func (d *demo) startJSON(ctx context.Context, name, bin string, args ...string) ([]byte, error) {
	logf, err := os.Create(filepath.Join(d.cfg.dir, "logs", name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	d.mu.Lock()
	d.procs = append(d.procs, p)
	d.mu.Unlock()
	lines := make(chan []byte, 1)
	go func() {
		r := bufio.NewReader(out)
		line, _ := r.ReadBytes('\n')
		lines <- line
		_, _ = io.Copy(logf, r)
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	select {
	case line := <-lines:
		if len(strings.TrimSpace(string(line))) == 0 {
			<-p.done
			return nil, fmt.Errorf("%s exited without output: %s (see %s)", name, lastLine(logf.Name()), logf.Name())
		}
		return line, nil
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("%s printed nothing in 60 s; see %s", name, logf.Name())
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stopAll stops children in reverse start order: SIGTERM, then SIGKILL after 10 s.
func (d *demo) stopAll() {
	d.mu.Lock()
	procs := d.procs
	d.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
}

func (d *demo) ensureRedisInstalled(ctx context.Context) error {
	if _, err := exec.LookPath("redis-server"); err == nil {
		return nil
	}
	if !d.cfg.installApt {
		return errors.New("redis-server is not installed (apt-get install redis-server)")
	}
	d.log.Info("installing redis-server with apt-get")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "redis-server"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w (install redis-server yourself)", args[0], err)
		}
	}
	return nil
}

func waitTCP(ctx context.Context, addr string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func waitHTTP(ctx context.Context, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// lastLine is the last non-empty line of a child's log: usually why it stopped.
func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
