package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// demoRun is one run of the `make demo` program (the demo command, as make runs it).
type demoRun struct {
	cmd     *exec.Cmd
	shopURL string
	out     *strings.Builder
	done    chan error
}

// startDemo runs the demo command from the repository root on free ports and waits for the
// URL it prints.
func startDemo(t *testing.T, bin, dir, web string, ports []string) *demoRun {
	t.Helper()
	cmd := exec.Command(bin, "-dir", dir, "-install=false", "-web-dir", web,
		"-redis-port", strings.TrimPrefix(ports[0], "127.0.0.1:"), "-edge", ports[1], "-shop", ports[2],
		"-eth-rpc", ports[3], "-tron-rpc", ports[4], "-block-time", "300ms", "-confirmations", "2")
	cmd.Dir = ".." // it builds ./edge, ./watcher and ./demo/devchain like `make demo` does
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &demoRun{cmd: cmd, out: &strings.Builder{}, done: make(chan error, 1)}
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
		for sc.Scan() {
			line := sc.Text()
			r.out.WriteString(line + "\n")
			if u, ok := strings.CutPrefix(strings.TrimSpace(line), "Open the demo shop:"); ok {
				urls <- strings.TrimSpace(u)
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
// verified by its server and the payment.confirmed webhook it received and verified. Ctrl-C
// stops everything (every port is free again) and a second run works.
func TestDemoFlow(t *testing.T) {
	web := builtWasm(t)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "demo")
	if out, err := exec.Command("go", "build", "-o", bin, "../demo").CombinedOutput(); err != nil {
		t.Fatalf("build demo: %v\n%s", err, out)
	}
	ports := make([]string, 5)
	for i := range ports {
		ports[i] = quietAddr(t)
	}
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
