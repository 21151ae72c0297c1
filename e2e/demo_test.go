package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/chromedp/chromedp"
)

// demoRun is one run of the `make demo` program (the demo command, as make runs it).
type demoRun struct {
	cmd     *exec.Cmd
	shopURL string
	out     *lockedBuffer // its stdout: the banner
	done    chan error
}

// lockedBuffer is output one goroutine writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// demoPorts is how many addresses demoFlags assigns: Redis, edge, shop, two dev chains, two
// watchers' operator listeners.
const demoPorts = 7

// demoFlags runs the demo in dir on the given free ports (demoPorts of them), quickly.
func demoFlags(dir, web string, ports []string) []string {
	return []string{"-dir", dir, "-install=false", "-web-dir", web,
		"-redis-port", strings.TrimPrefix(ports[0], "127.0.0.1:"), "-edge", ports[1], "-shop", ports[2],
		"-eth-rpc", ports[3], "-tron-rpc", ports[4], "-erc20-watcher", ports[5], "-trc20-watcher", ports[6],
		"-block-time", "300ms", "-confirmations", "2"}
}

// startDemo runs the demo command from the repository root on free ports and waits for the
// URL it prints.
func startDemo(t *testing.T, bin, dir, web string, ports []string) *demoRun {
	t.Helper()
	cmd := exec.Command(bin, demoFlags(dir, web, ports)...)
	cmd.Dir = ".." // it builds ./edge, ./watcher and ./demo/devchain like `make demo` does
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &demoRun{cmd: cmd, out: &lockedBuffer{}, done: make(chan error, 1)}
	stderr, err := os.Create(filepath.Join(t.TempDir(), "demo-stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	failed := func(format string, args ...any) {
		t.Helper()
		b, _ := os.ReadFile(stderr.Name())
		logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
		for _, l := range logs {
			lb, _ := os.ReadFile(l)
			b = append(b, "\n== "+filepath.Base(l)+" ==\n"+tail(string(lb), 2000)...)
		}
		t.Fatalf(format+"\ndemo stderr and logs:\n%s", append(args, tail(string(b), 6000))...)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		shop := ""
		for sc.Scan() {
			line := sc.Text()
			_, _ = r.out.Write([]byte(line + "\n"))
			if u, ok := strings.CutPrefix(strings.TrimSpace(line), "Open the demo shop:"); ok {
				shop = strings.TrimSpace(u)
			}
			if strings.Contains(line, "/bin/devchain pay ") { // the banner's last line
				urls <- shop
			}
		}
		r.done <- cmd.Wait()
	}()
	select {
	case r.shopURL = <-urls:
	case err := <-r.done:
		failed("demo exited before printing its URL: %v\n%s", err, r.out)
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		failed("demo printed no URL in 3 minutes:\n%s", r.out)
	}
	return r
}

// stop sends Ctrl-C (SIGINT, as a terminal would) and waits for a clean exit.
func (r *demoRun) stop(t *testing.T) {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("demo did not exit cleanly on Ctrl-C: %v", err)
		}
	case <-time.After(60 * time.Second):
		_ = r.cmd.Process.Kill()
		t.Fatal("demo did not stop within 60 s of Ctrl-C")
	}
}

// TestDemoFlow does what the README's first command promises, headless: make demo's program
// brings everything up; in Chromium the demo shop (its own origin) sells the coffee, the
// checkout appears in its page through embed.js, the dev-only control pays on the dev chain,
// the checkout turns PAID and sends the customer back to the shop, which shows the order
// verified by its server and the payment.confirmed webhook it received and verified. The
// watchers answer /healthz where the banner says. Ctrl-C stops everything (every port is free
// again, no process it started is left) and a second run works.
func TestDemoFlow(t *testing.T) {
	web := builtWasm(t)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "demo")
	if out, err := exec.Command("go", "build", "-o", bin, "../demo").CombinedOutput(); err != nil {
		t.Fatalf("build demo: %v\n%s", err, out)
	}
	ports := quietAddrs(t, demoPorts)
	dir := filepath.Join(tmp, "run")
	demo := startDemo(t, bin, dir, web, ports)
	stopped := false
	defer func() {
		if !stopped {
			demo.stop(t)
		}
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", filepath.Base(l), tail(string(b), 3000))
			}
		}
	}()
	if !strings.HasPrefix(demo.shopURL, "http://"+ports[2]) {
		t.Fatalf("demo printed %q, want the shop at %s", demo.shopURL, ports[2])
	}
	checkWatchersHealthy(t, demo.out.String(), ports[5], ports[6])

	ctx := newBrowser(t)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(demo.shopURL), chromedp.Click(chromedp.CSS("#buy-trc20"))); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the order page with the checkout frame", `location.pathname.startsWith("/order/ord_") && document.querySelector("#pay iframe") !== null`, 30*time.Second)
	// Once the checkout's wasm runs (it reports the status to the shop page), press its
	// dev-only control as a customer would. The wasm re-renders the frame's body as it takes
	// over, so a press that lands on a replaced node is tried again.
	poll(t, ctx, "the checkout reporting its status", `document.querySelector("#frame-status").textContent === "PENDING"`, 60*time.Second)
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		saveArtifact(t, "demo-shop-checkout.png", png)
	}
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = clickInFrame(actx, "#pay iframe", "http://"+ports[1]+"/", "#dev-pay")
		cancel()
		if err == nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("press the dev pay control: %v", err)
	}
	poll(t, ctx, "the frame reporting CONFIRMING or PAID", `["CONFIRMING","PAID"].includes(document.querySelector("#frame-status").textContent)`, 60*time.Second)
	poll(t, ctx, "the return to the shop, checked by its server", `location.pathname === "/return" && location.search.includes("order_id=ord_") && document.querySelector("#verdict").textContent === "Payment confirmed"`, 90*time.Second)
	poll(t, ctx, "the verified payment.confirmed webhook", `[...document.querySelectorAll("tr.webhook")].some(r => r.textContent.includes("payment.confirmed") && r.textContent.includes("PAID") && r.textContent.includes("verified ✓"))`, 30*time.Second)
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		saveArtifact(t, "demo-shop-return.png", png)
	}
	if bad, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("tr.webhook")].some(r => r.textContent.includes("REJECTED"))`)); err != nil || bad {
		t.Fatalf("a webhook failed verification (%v)", err)
	}

	demo.stop(t)
	stopped = true
	for _, p := range ports {
		waitFree(t, p)
	}
	if left := demoProcesses(dir, ports[0]); len(left) > 0 {
		t.Fatalf("processes the demo started outlived it: %v", left)
	}
	// Running it again works (fresh chains and data each run).
	again := startDemo(t, bin, dir, web, ports)
	if err := chromedp.Do(ctx, chromedp.Navigate(again.shopURL)); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the shop again", `document.querySelector("#buy-erc20") !== null`, 30*time.Second)
	again.stop(t)
}

// clickInFrame clicks sel in the page's iframe frameSel, whose document is at urlPrefix: through
// the iframe's own target when Chrome runs it in another process, else from its element.
func clickInFrame(ctx context.Context, frameSel, urlPrefix, sel string) error {
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		return err
	}
	for _, info := range infos {
		if info.Type == "iframe" && strings.HasPrefix(info.URL, urlPrefix) {
			fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
			defer cancel()
			return chromedp.Do(fctx, chromedp.Click(chromedp.CSS(sel)))
		}
	}
	frames, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(frameSel)))
	if err != nil {
		return err
	}
	if len(frames) == 0 {
		return errors.New("no iframe " + frameSel)
	}
	return chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.FromNode(frames[0])))
}

// quietAddr returns a free loopback address below the ephemeral port range. The demo binds
// its ports seconds after they are chosen (it builds first); an ephemeral port could meanwhile
// become the source port of some other test's connection.
func quietAddr(t *testing.T) string {
	t.Helper()
	for i := 0; i < 100; i++ {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+mathrand.IntN(12000))
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return ""
}

// waitFree waits until nothing listens on addr any more.
func waitFree(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still listening after the demo stopped", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return fmt.Sprintf("…%s", s[len(s)-n:])
	}
	return s
}

// quietAddrs returns n distinct quiet addresses.
func quietAddrs(t *testing.T, n int) []string {
	t.Helper()
	seen := map[string]bool{}
	var addrs []string
	for len(addrs) < n {
		if a := quietAddr(t); !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// checkWatchersHealthy: the banner names both watchers' /healthz, and they answer 200.
func checkWatchersHealthy(t *testing.T, banner string, watchers ...string) {
	t.Helper()
	for _, w := range watchers {
		u := "http://" + w + "/healthz"
		if !strings.Contains(banner, u) {
			t.Errorf("the banner does not name %s:\n%s", u, banner)
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("watcher health %s: %v", u, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("watcher health %s: status %d", u, resp.StatusCode)
		}
	}
}

// demoProcesses lists the live processes a demo run in dir started: its binaries run from
// dir/bin, and its Redis (which renames itself "redis-server host:port") on redisAddr.
func demoProcesses(dir, redisAddr string) []string {
	var left []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmdline := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
		_, port, _ := net.SplitHostPort(redisAddr)
		if strings.Contains(cmdline, dir) || (strings.HasPrefix(cmdline, "redis-server") && strings.HasSuffix(cmdline, ":"+port)) {
			left = append(left, e.Name()+" "+cmdline)
		}
	}
	return left
}

// TestDemoPortTaken: when a port the demo needs is taken (a second `make demo`, say), it
// starts nothing, names the port and its flag, and prints a DEMO_FLAGS with free ports.
func TestDemoPortTaken(t *testing.T) {
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "demo")
	if out, err := exec.Command("go", "build", "-o", bin, "../demo").CombinedOutput(); err != nil {
		t.Fatalf("build demo: %v\n%s", err, out)
	}
	ports := quietAddrs(t, demoPorts)
	for _, i := range []int{0, 1} { // Redis and the edge
		l, err := net.Listen("tcp", ports[i])
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
	}
	dir := filepath.Join(tmp, "run")
	cmd := exec.Command(bin, demoFlags(dir, "public/web", ports)...)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the demo ran with its ports taken:\n%s", out)
	}
	msg := string(out)
	redisPort := strings.TrimPrefix(ports[0], "127.0.0.1:")
	for _, want := range []string{
		"port " + redisPort + " (--redis-port " + redisPort + ") is already in use",
		"(--edge " + ports[1] + ") is already in use",
		"make demo DEMO_FLAGS='",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("output lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "msg=started") || strings.Contains(msg, "building") {
		t.Errorf("the demo started something:\n%s", msg)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo touched its directory (%v)", err)
	}
	// The suggested flags name other, free ports for both and keep the flags given.
	_, suggested, _ := strings.Cut(msg, "DEMO_FLAGS='")
	suggested, _, _ = strings.Cut(suggested, "'")
	f := strings.Fields(suggested)
	got := map[string]string{}
	for i := 0; i+1 < len(f); i++ {
		if name, ok := strings.CutPrefix(f[i], "--"); ok && !strings.Contains(name, "=") {
			got[name] = f[i+1]
		}
	}
	if got["redis-port"] == "" || got["redis-port"] == redisPort || got["edge"] == "" || got["edge"] == ports[1] || got["shop"] != ports[2] {
		t.Fatalf("suggested DEMO_FLAGS %q: want new --redis-port and --edge, the given --shop kept", suggested)
	}
	for _, a := range []string{"127.0.0.1:" + got["redis-port"], got["edge"]} {
		if l, err := net.Listen("tcp", a); err != nil {
			t.Errorf("suggested %s is not free: %v", a, err)
		} else {
			l.Close()
		}
	}
}

// TestDemoMakeCtrlC runs `make demo` as a developer does, in a terminal, and presses Ctrl-C:
// the terminal interrupts its foreground process group, so make and the demo both hear it
// unless the demo keeps it to itself. Everything stops, make exits 0 and prints no error, and
// no process the demo started is left.
func TestDemoMakeCtrlC(t *testing.T) {
	web := builtWasm(t)
	ports := quietAddrs(t, demoPorts)
	dir := filepath.Join(t.TempDir(), "run")
	master, slave := openPTY(t)
	defer master.Close()
	// -o wasm: the test built the assets itself (web); make must not rebuild them in the tree.
	cmd := exec.Command("make", "-C", "..", "-o", "wasm", "demo", "DEMO_FLAGS="+strings.Join(demoFlags(dir, web, ports), " "))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0} // the pty is its terminal
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	out := &lockedBuffer{}
	banner := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(master)
		once := sync.Once{}
		for sc.Scan() { // ends with EIO once every process on the terminal has closed it
			_, _ = out.Write([]byte(sc.Text() + "\n"))
			if strings.Contains(sc.Text(), "/bin/devchain pay ") {
				once.Do(func() { close(banner) })
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-banner:
	case err := <-exited:
		t.Fatalf("make demo exited before its banner: %v\n%s", err, tail(out.String(), 6000))
	case <-time.After(4 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("make demo printed no banner in 4 minutes:\n%s", tail(out.String(), 6000))
	}
	checkWatchersHealthy(t, out.String(), ports[5], ports[6])
	if _, err := master.Write([]byte{0x03}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("make demo after Ctrl-C: %v, want exit 0", err)
		}
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("make demo did not stop within 60 s of Ctrl-C:\n%s", tail(out.String(), 6000))
	}
	<-read
	if s := out.String(); strings.Contains(s, "make: ***") || strings.Contains(s, "demo:") {
		t.Errorf("make demo reported an error on Ctrl-C:\n%s", tail(s, 3000))
	}
	for _, p := range ports {
		waitFree(t, p)
	}
	if left := demoProcesses(dir, ports[0]); len(left) > 0 {
		t.Fatalf("processes the demo started outlived it: %v", left)
	}
}

// openPTY opens a pseudo-terminal pair: the test types on master, the program's terminal is
// slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pty: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlock the pty: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("pty number: %v", e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pty's terminal: %v", err)
	}
	return m, s
}
