package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/redistest"

	checkout "github.com/mpchat/checkout"
)

func TestMain(m *testing.M) {
	if os.Getenv("EDGE_TEST_RUN_MAIN") == "1" { // the test binary playing the edge command
		main()
		os.Exit(0)
	}
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

// operator runs `edge merchant …` in-process against the test's own Redis prefix.
type operator struct {
	t     *testing.T
	redis []string
}

func newOperator(t *testing.T) *operator {
	srv := redistest.Shared(t)
	return &operator{t: t, redis: []string{"--redis", srv.URL, "--redis-prefix", redistest.Prefix(),
		"--redis-shared-prefix", redistest.Prefix()}} // its own shared namespace too: tests reuse xpubs
}

func (o *operator) run(args ...string) (map[string]any, string, error) {
	var out, errOut bytes.Buffer
	err := merchantCmd(context.Background(), append(args, o.redis...), &out, &errOut)
	var v map[string]any
	if err == nil && args[0] != "list" {
		if jerr := json.Unmarshal(out.Bytes(), &v); jerr != nil {
			o.t.Fatalf("%v: output is not one JSON object: %q", args, out.String())
		}
	}
	if args[0] == "list" {
		v = map[string]any{"raw": out.String()}
	}
	return v, errOut.String(), err
}

func (o *operator) must(args ...string) map[string]any {
	o.t.Helper()
	v, _, err := o.run(args...)
	if err != nil {
		o.t.Fatalf("%v: %v", args, err)
	}
	return v
}

func TestMerchantCommands(t *testing.T) {
	op := newOperator(t)
	erc, _ := deposit.DevAccountXPub(checkout.ERC20, 900)
	tron, _ := deposit.DevAccountXPub(checkout.TRC20, 900)

	created := op.must("create", "--name", "acme", "--erc20-xpub", erc, "--trc20-xpub", tron,
		"--webhook-url", "https://acme.example/hooks", "--return-host", "acme.example", "--embed-origin", "https://acme.example")
	for _, f := range []string{"merchant_id", "key_id", "secret", "webhook_secret"} {
		if s, _ := created[f].(string); s == "" {
			t.Fatalf("create output lacks %s: %v", f, created)
		}
	}
	id := created["merchant_id"].(string)
	secret := created["secret"].(string)

	// list and show never print secrets.
	list := op.must("list")["raw"].(string)
	shown := op.must("show", "--id", id)
	raw, _ := json.Marshal(shown)
	for _, out := range []string{list, string(raw)} {
		if strings.Contains(out, secret) || strings.Contains(out, created["webhook_secret"].(string)) || !strings.Contains(out, id) {
			t.Errorf("list/show leaks a secret or lacks the merchant: %s", out)
		}
	}

	// The same xpub cannot serve two merchants; a private key is refused.
	if _, _, err := op.run("create", "--name", "copycat", "--erc20-xpub", erc); err == nil {
		t.Error("a second merchant registered the same xpub")
	}
	if _, _, err := op.run("set-xpub", "--id", id, "--network", "ERC20", "--xpub",
		"xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM"); err == nil {
		t.Error("an xprv was accepted")
	}
	if _, _, err := op.run("create", "--name", "bad", "--webhook-url", "http://acme.example/h"); err == nil {
		t.Error("an http webhook URL was accepted outside dev mode")
	}
	if _, _, err := op.run("create", "--name", "bad", "--webhook-url", "https://169.254.169.254/h"); err == nil ||
		!strings.Contains(err.Error(), "reserved address") {
		t.Errorf("a cloud-metadata webhook URL was accepted outside dev mode: %v", err)
	}

	for _, bad := range [][]string{
		{"--webhook-url", `https://x"><b>INJECTED<i>.example/h`},
		{"--embed-origin", `https://x"><b>.example`},
		{"--embed-origin", "https://shop.example/path"},
		{"--return-host", `x"><b>.example`},
		{"--return-host", "https://shop.example"},
	} {
		if _, _, err := op.run("set", "--id", id, bad[0], bad[1]); err == nil {
			t.Errorf("set %s %q accepted", bad[0], bad[1])
		}
	}

	set := op.must("set", "--id", id, "--order-ttl", "45m", "--clear-return-hosts", "--return-host", "shop.acme.example")
	if set["order_ttl"] != "45m0s" || len(set["return_hosts"].([]any)) != 1 {
		t.Errorf("set: %v", set)
	}

	rotated := op.must("rotate-key", "--id", id, "--revoke", created["key_id"].(string))
	if rotated["secret"] == secret || rotated["revoked_key_id"] != created["key_id"] {
		t.Errorf("rotate: %v", rotated)
	}
	keys := op.must("show", "--id", id)["keys"].([]any)
	revoked := 0
	for _, k := range keys {
		if k.(map[string]any)["revoked_at"] != nil {
			revoked++
		}
	}
	if len(keys) != 2 || revoked != 1 {
		t.Errorf("keys after rotation: %v", keys)
	}

	payer := "TYBNgWfhGuNzdLtjKtxXTfskAhTbMcqbaG"
	if b := op.must("block", "--network", "TRC20", "--address", payer); b["blocked"] != true {
		t.Errorf("block: %v", b)
	}
	if l := op.must("blocklist", "--network", "TRC20"); len(l["addresses"].([]any)) != 1 {
		t.Errorf("blocklist: %v", l)
	}
	if _, _, err := op.run("block", "--network", "TRC20", "--address", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"); err == nil {
		t.Error("an Ethereum address was accepted on the TRC20 blocklist")
	}
	op.must("unblock", "--network", "TRC20", "--address", payer)
	if l := op.must("blocklist", "--network", "TRC20"); len(l["addresses"].([]any)) != 0 {
		t.Errorf("after unblock: %v", l)
	}
}

// TestDevMerchantWebhookURLFollowsTheOrderRule: a merchant's default webhook URL obeys the
// order API's webhook_url rule (checkout.ParseWebhookURL), dev mode included: credentials
// never, plain http only to a loopback host.
func TestDevMerchantWebhookURLFollowsTheOrderRule(t *testing.T) {
	op := newOperator(t)
	for _, c := range []struct{ url, msg string }{
		{"http://user:pw@example.com/hook", "credentials"},
		{"https://user:pw@example.com/hook", "credentials"},
		{"http://example.com/hook", "loopback"},
	} {
		if _, _, err := op.run("create", "--dev", "--name", "bad", "--webhook-url", c.url); err == nil ||
			!strings.Contains(err.Error(), "--webhook-url") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("create --dev --webhook-url %s: %v, want a --webhook-url error about %s", c.url, err, c.msg)
		}
	}
	if l := op.must("list"); strings.Contains(l["raw"].(string), "bad") {
		t.Errorf("a refused merchant was stored: %v", l)
	}
	op.must("create", "--dev", "--name", "dev-hook", "--webhook-url", "http://127.0.0.1:9000/hook")
}

func TestDevMerchantGetsDevelopmentXPubsLoudly(t *testing.T) {
	op := newOperator(t)
	a, warn, err := op.run("create", "--dev", "--name", "dev1")
	if err != nil {
		t.Fatal(err)
	}
	b := op.must("create", "--dev", "--name", "dev2")
	if !strings.Contains(warn, "DEVELOPMENT") || a["dev"] != true {
		t.Errorf("no loud warning: %q %v", warn, a)
	}
	xa, xb := a["xpubs"].(map[string]any), b["xpubs"].(map[string]any)
	if xa["ERC20"] == nil || xa["TRC20"] == nil || xa["ERC20"] == xb["ERC20"] {
		t.Errorf("dev merchants must get their own development xpubs: %v %v", xa, xb)
	}
	// Without --dev, a merchant without xpubs has none.
	c := op.must("create", "--name", "prod")
	if len(c["xpubs"].(map[string]any)) != 0 || c["dev"] != false {
		t.Errorf("non-dev merchant: %v", c)
	}
}

// deployment is an operator of one deployment: its own --redis-prefix on a Redis other
// deployments share, with the shared namespace given (or the default when shared is "").
func deployment(t *testing.T, shared string) *operator {
	srv := redistest.Shared(t)
	op := &operator{t: t, redis: []string{"--redis", srv.URL, "--redis-prefix", redistest.Prefix()}}
	if shared != "" {
		op.redis = append(op.redis, "--redis-shared-prefix", shared)
	}
	return op
}

// TestDevAccountsAcrossPrefixes: two deployments on one Redis under different prefixes, with
// the default shared namespace, never give two dev merchants the same development xpub.
func TestDevAccountsAcrossPrefixes(t *testing.T) {
	a, b := deployment(t, ""), deployment(t, "")
	seen := map[string]bool{}
	for i := range 3 {
		for _, op := range []*operator{a, b} {
			x := op.must("create", "--dev", "--name", fmt.Sprint("dev", i))["xpubs"].(map[string]any)
			for _, n := range []string{"ERC20", "TRC20"} {
				s, _ := x[n].(string)
				if s == "" || seen[s] {
					t.Fatalf("%s dev xpub %q handed out twice (or missing)", n, s)
				}
				seen[s] = true
			}
		}
	}
}

// TestXPubClaimedAcrossPrefixes: a production xpub registered in one deployment is refused in
// another on the same Redis (nothing is stored there), and stays claimed when its merchant
// replaces it (addresses were handed out from it).
func TestXPubClaimedAcrossPrefixes(t *testing.T) {
	shared := redistest.Prefix()
	a, b := deployment(t, shared), deployment(t, shared)
	x1, _ := deposit.DevAccountXPub(checkout.ERC20, 901)
	x2, _ := deposit.DevAccountXPub(checkout.ERC20, 902)
	ma := a.must("create", "--name", "first", "--erc20-xpub", x1)["merchant_id"].(string)
	if _, _, err := b.run("create", "--name", "second", "--erc20-xpub", x1); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("the same xpub in a second deployment: %v", err)
	}
	if list := b.must("list")["raw"].(string); strings.TrimSpace(list) != "[]" {
		t.Fatalf("a refused merchant was stored: %s", list)
	}
	mb := b.must("create", "--name", "second")["merchant_id"].(string)
	if _, _, err := b.run("set-xpub", "--id", mb, "--network", "ERC20", "--xpub", x1); err == nil {
		t.Fatal("set-xpub took another deployment's xpub")
	}
	a.must("set-xpub", "--id", ma, "--network", "ERC20", "--xpub", x2) // replaced: x1 stays the first's
	if _, _, err := b.run("set-xpub", "--id", mb, "--network", "ERC20", "--xpub", x1); err == nil {
		t.Fatal("set-xpub took an xpub its owner replaced")
	}
	a.must("set-xpub", "--id", ma, "--network", "ERC20", "--xpub", x1) // its owner may take it back
}

// TestMerchantFlagsPerCommand: each command accepts only its own flags (and the Redis ones).
// All of them used to share one flag set, so `list --xpub foo --revoke bar` ran the list and
// exited 0. Flags are checked before Redis is dialled: nothing listens on the port here.
func TestMerchantFlagsPerCommand(t *testing.T) {
	closed := []string{"--redis", "redis://" + freeAddr(t) + "/0"}
	for _, args := range [][]string{
		{"list", "--xpub", "foo", "--revoke", "bar"},
		{"show", "--id", "m", "--name", "x"},
		{"revoke-key", "--key-id", "k", "--id", "m"},
		{"blocklist", "--network", "TRC20", "--address", "T"},
		{"set-xpub", "--id", "m", "--network", "ERC20", "--xpub", "x", "--dev"},
		{"create", "--name", "n", "--clear-return-hosts"},
		{"list", "stray"},
	} {
		var out, errOut bytes.Buffer
		err := merchantCmd(context.Background(), append(args, closed...), &out, &errOut)
		if err == nil || strings.Contains(err.Error(), "redis") {
			t.Errorf("%v: %v, want a flag error before any dial", args, err)
		}
	}
	t.Setenv("MP_DEV", "yes?")
	var out, errOut bytes.Buffer
	if err := merchantCmd(context.Background(), append([]string{"create", "--name", "n"}, closed...), &out, &errOut); err == nil || !strings.Contains(err.Error(), "MP_DEV") {
		t.Errorf("MP_DEV=yes?: %v, want an error naming MP_DEV", err)
	}
}

// TestMerchantHelp: `edge merchant --help` (and -h, help) prints the commands on stdout and
// succeeds; `edge merchant create -h` prints create's flags and returns flag.ErrHelp, which
// main turns into exit 0.
func TestMerchantHelp(t *testing.T) {
	for _, h := range []string{"--help", "-h", "help"} {
		var out, errOut bytes.Buffer
		if err := merchantCmd(context.Background(), []string{h}, &out, &errOut); err != nil || !strings.Contains(out.String(), "rotate-webhook-secret") {
			t.Errorf("merchant %s: %v, %q", h, err, out.String())
		}
	}
	var out, errOut bytes.Buffer
	err := merchantCmd(context.Background(), []string{"create", "-h"}, &out, &errOut)
	if !errors.Is(err, flag.ErrHelp) || !strings.HasPrefix(errOut.String(), "Usage of merchant create") ||
		!strings.Contains(errOut.String(), "-erc20-xpub") || strings.Contains(errOut.String(), "-key-id") {
		t.Errorf("merchant create -h: %v, %q", err, errOut.String())
	}
}

// TestCreateWithoutXPubWarns: a merchant created with no xpub is stored (exit 0), but the
// operator is told on stderr that it cannot take an order yet and which command fixes that;
// a merchant with an xpub, or a dev merchant (given development xpubs), gets no such warning.
func TestCreateWithoutXPubWarns(t *testing.T) {
	op := newOperator(t)
	c, warn, err := op.run("create", "--name", "bare")
	if err != nil {
		t.Fatalf("create without xpubs: %v", err)
	}
	id, _ := c["merchant_id"].(string)
	if !strings.Contains(warn, "cannot take an order yet") || !strings.Contains(warn, "edge merchant set-xpub --id "+id+" ") {
		t.Errorf("create without xpubs warned %q, want it to say it cannot take an order and name set-xpub --id %s", warn, id)
	}
	if got := op.must("show", "--id", id); got["id"] != id && got["merchant_id"] != id {
		t.Errorf("the warned-about merchant was not stored: %v", got)
	}
	tron, _ := deposit.DevAccountXPub(checkout.TRC20, 901)
	if _, warn, err := op.run("create", "--name", "one-network", "--trc20-xpub", tron); err != nil || strings.Contains(warn, "cannot take") {
		t.Errorf("create with a TRC20 xpub: %v, warned %q", err, warn)
	}
	if _, warn, err := op.run("create", "--dev", "--name", "dev"); err != nil || strings.Contains(warn, "cannot take") {
		t.Errorf("dev create: %v, warned %q", err, warn)
	}
}

// TestMerchantHelpExitsZero runs the edge command itself (this test binary re-executed as
// main): `edge merchant --help` and every subcommand's -h print usage and exit 0.
func TestMerchantHelpExitsZero(t *testing.T) {
	args := [][]string{{"merchant", "--help"}, {"merchant", "-h"}, {"--help"}}
	for name := range merchantActions {
		args = append(args, []string{"merchant", name, "-h"})
	}
	for _, a := range args {
		cmd := exec.Command(os.Args[0], a...)
		cmd.Env = append(os.Environ(), "EDGE_TEST_RUN_MAIN=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(strings.ToLower(string(out)), "usage") {
			t.Errorf("edge %s: %v\n%s", strings.Join(a, " "), err, out)
		}
	}
}
