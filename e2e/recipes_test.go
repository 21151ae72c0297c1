package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client/webhook"
)

// The Python and Node snippets of docs/recipes.md run verbatim (written to a file, settings in
// the environment as the doc says) against a real edge, so a snippet that breaks fails here.

// recipeLang is how one language's snippets are found and run.
type recipeLang struct {
	fence, comment, ext string
	run                 func(t *testing.T, file string) *exec.Cmd
}

var recipeLangs = []recipeLang{
	{"python", "#", ".py", func(t *testing.T, file string) *exec.Cmd { return exec.Command(tool(t, "python3"), file) }},
	{"js", "//", ".mjs", func(t *testing.T, file string) *exec.Cmd { return exec.Command(tool(t, "node"), file) }},
}

// tool finds an interpreter; a missing one fails the test (CI installs python3 and nodejs).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed for the docs/recipes.md snippets: %v", name, err)
	}
	return p
}

// recipe writes the snippet of docs/recipes.md whose first line names file (e.g. "#
// create_order.py") to a temporary directory and returns a command that runs it.
func (l recipeLang) recipe(t *testing.T, name string, env ...string) *exec.Cmd {
	t.Helper()
	doc, err := os.ReadFile("../docs/recipes.md")
	if err != nil {
		t.Fatal(err)
	}
	file := name + l.ext
	m := regexp.MustCompile("(?s)```" + l.fence + "\n" + regexp.QuoteMeta(l.comment+" "+file) + "\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/recipes.md lost its %s snippet", file)
	}
	path := filepath.Join(t.TempDir(), file)
	if err := os.WriteFile(path, m[1], 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := l.run(t, path)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

func (w *world) recipeEnv(secret string) []string {
	return []string{"MP_BASE=" + w.client.BaseURL, "MP_KEY_ID=" + w.client.KeyID, "MP_SECRET=" + secret}
}

// TestRecipesCreateOrder: the signing snippets create an order (the one the API then returns),
// a repeat with the same order number is the same order, and a wrong secret fails loudly.
func TestRecipesCreateOrder(t *testing.T) {
	w := newWorld(t)
	for i, l := range recipeLangs {
		t.Run(l.fence, func(t *testing.T) {
			ref := fmt.Sprintf("%d-%d", time.Now().UnixNano(), i)
			run := func() checkout.Order {
				t.Helper()
				var stderr bytes.Buffer
				cmd := l.recipe(t, "create_order", append(w.recipeEnv(w.client.Secret), "ORDER_REF="+ref, "AMOUNT=12.5")...)
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("create_order: %v\n%s%s", err, out, stderr.String())
				}
				var o checkout.Order
				if err := json.Unmarshal(out, &o); err != nil {
					t.Fatalf("create_order printed %q: %v", out, err)
				}
				return o
			}
			o := run()
			got, err := w.client.GetOrder(w.ctx, o.ID)
			if err != nil || !strings.HasPrefix(o.ID, "ord_") || got.Amount.String() != "12.5" || got.Network != checkout.TRC20 ||
				got.Description != "Order #"+ref || got.Status != checkout.StatusPending {
				t.Fatalf("create_order made %+v; the API has %+v (%v)", o, got, err)
			}
			if again := run(); again.ID != o.ID {
				t.Errorf("the same order number made a second order: %s, then %s", o.ID, again.ID)
			}
			var stderr bytes.Buffer
			cmd := l.recipe(t, "create_order", append(w.recipeEnv("sk_wrong"), "ORDER_REF=x"+ref)...)
			cmd.Stderr = &stderr
			if out, err := cmd.Output(); err == nil || !strings.Contains(stderr.String(), "401") {
				t.Errorf("create_order with a wrong secret: %v, printed %q, stderr %q; want a failure naming 401", err, out, stderr.String())
			}
		})
	}
}

// TestRecipesFollowOrder: the event stream snippets print the current state, then each change
// until the order is PAID (an order of 100 USDT paid 99, the default tolerance of 0.01), and
// exit; resumed from the first event's id with Last-Event-ID they print exactly the rest;
// resumed from the last one (a stream that ended) nothing, and exit.
func TestRecipesFollowOrder(t *testing.T) {
	w := newWorld(t)
	for _, l := range recipeLangs {
		t.Run(l.fence, func(t *testing.T) {
			o := w.order(checkout.TRC20, "100")
			env := append(w.recipeEnv(w.client.Secret), "ORDER_ID="+o.ID)
			cmd := l.recipe(t, "follow_order", env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill() }()
			lines := make(chan string, 16)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			var got []string
			next := func(want string) {
				t.Helper()
				select {
				case line, ok := <-lines:
					if !ok {
						t.Fatalf("follow_order ended after %q waiting for %s: %v\n%s", got, want, cmd.Wait(), stderr.String())
					}
					got = append(got, line)
					if f := strings.Fields(line); len(f) != 3 || f[2] != want {
						t.Fatalf("follow_order printed %q, want an {id} {type} %s line (so far %q)", line, want, got)
					}
				case <-time.After(30 * time.Second):
					t.Fatalf("follow_order printed nothing for %s in 30 s (so far %q)\n%s", want, got, stderr.String())
				}
			}
			next("PENDING") // the current state, before anything happens
			w.pay(o, 1, "99")
			w.mine(checkout.TRC20, 1)
			next("CONFIRMING")
			w.mine(checkout.TRC20, required-1)
			for {
				select {
				case line, ok := <-lines:
					if ok {
						got = append(got, line)
						continue
					}
				case <-time.After(30 * time.Second):
					t.Fatalf("follow_order did not end after PAID (so far %q)", got)
				}
				break
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("follow_order: %v\n%s", err, stderr.String())
			}
			if last := strings.Fields(got[len(got)-1]); last[2] != "PAID" || last[1] != "payment.confirmed" {
				t.Fatalf("follow_order ended with %q, want payment.confirmed PAID (all: %q)", got[len(got)-1], got)
			}
			if paid := w.waitFor(o.ID, "PAID", status(checkout.StatusPaid)); paid.AmountPaid.String() != "99" {
				t.Errorf("the order was paid %s, want 99", paid.AmountPaid)
			}

			resume := func(from string) []string {
				t.Helper()
				cmd := l.recipe(t, "follow_order", append(env, "LAST_EVENT_ID="+from)...)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("follow_order from %s: %v\n%s", from, err, out)
				}
				return strings.Fields(string(out)) // a line is three fields
			}
			first := strings.Fields(got[0])[0]
			if rest, want := resume(first), strings.Fields(strings.Join(got[1:], "\n")); strings.Join(rest, " ") != strings.Join(want, " ") {
				t.Errorf("resumed from %s it printed %q, want exactly the later events %q", first, rest, want)
			}
			if rest := resume(strings.Fields(got[len(got)-1])[0]); len(rest) != 0 {
				t.Errorf("resumed after the terminal event it printed %q, want nothing", rest)
			}
		})
	}
}

// TestRecipesVerifyWebhook: the verification snippets accept what the edge's signer sends
// (also with two v1 during a secret rotation) and refuse a wrong secret, a changed body, a
// timestamp outside five minutes either way and a malformed header.
func TestRecipesVerifyWebhook(t *testing.T) {
	body := `{"id":"evt_1","type":"payment.confirmed","data":{"order":{"id":"ord_1","description":"it's \"quoted\", 100% ✓"}}}`
	now := time.Now()
	good := webhook.Sign([]byte(body), now, "whsec_new", "whsec_old")
	cases := []struct {
		name, body, header, secret string
		ok                         bool
	}{
		{"signed now", body, good, "whsec_new", true},
		{"previous secret during rotation", body, good, "whsec_old", true},
		{"four minutes old", body, webhook.Sign([]byte(body), now.Add(-4*time.Minute), "whsec_new"), "whsec_new", true},
		{"wrong secret", body, good, "whsec_other", false},
		{"body changed", body + " ", good, "whsec_new", false},
		{"six minutes old", body, webhook.Sign([]byte(body), now.Add(-6*time.Minute), "whsec_new"), "whsec_new", false},
		{"six minutes ahead", body, webhook.Sign([]byte(body), now.Add(6*time.Minute), "whsec_new"), "whsec_new", false},
		{"no timestamp", body, good[strings.Index(good, ",")+1:], "whsec_new", false},
		{"garbage", body, "v1=zz,t=abc", "whsec_new", false},
		{"empty", body, "", "whsec_new", false},
	}
	for _, l := range recipeLangs {
		for _, c := range cases {
			cmd := l.recipe(t, "verify_webhook", "MP_SIGNATURE="+c.header, "WEBHOOK_SECRET="+c.secret)
			cmd.Stdin = strings.NewReader(c.body)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			verified := err == nil && strings.TrimSpace(string(out)) == "verified"
			if verified != c.ok {
				t.Errorf("%s %s: exit %v, printed %q, stderr %q; want verified=%v", l.fence, c.name, err, out, stderr.String(), c.ok)
			}
			if !c.ok && (err == nil || strings.Contains(stderr.String(), "Error") || strings.Contains(stderr.String(), "Traceback")) {
				t.Errorf("%s %s: want a plain rejection (exit 1), got exit %v, stderr %q", l.fence, c.name, err, stderr.String())
			}
		}
	}
}
