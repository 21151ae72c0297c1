package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client/webhook"
)

// TestREADMESigningRecipe runs the shell signing example of docs/api.md (curl + openssl) against a
// real edge, so the documented recipe cannot rot. Only its first line (the credentials) is
// replaced; the rest runs verbatim.
func TestREADMESigningRecipe(t *testing.T) {
	for _, tool := range []string{"bash", "openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for the README example: %v", tool, err) // CI installs it
		}
	}
	readme, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "With a shell:\n\n```sh\n")
	if !ok {
		t.Fatal("README lost its shell signing example")
	}
	script, _, _ := strings.Cut(after, "```")
	lines := strings.SplitN(script, "\n", 2)
	if !strings.HasPrefix(lines[0], "KEY_ID=") {
		t.Fatalf("first line of the example is not the credentials: %q", lines[0])
	}
	w := newWorld(t)
	creds := "KEY_ID=" + w.client.KeyID + " SECRET=" + w.client.Secret + " BASE=" + w.client.BaseURL + "\n"
	out, err := exec.Command("bash", "-euo", "pipefail", "-c", creds+lines[1]).CombinedOutput()
	if err != nil {
		t.Fatalf("README example failed: %v\n%s", err, out)
	}
	var o checkout.Order
	if err := json.Unmarshal(out, &o); err != nil || !strings.HasPrefix(o.ID, "ord_") || o.Network != checkout.TRC20 || o.Amount.String() != "99.99" {
		t.Fatalf("README example answered %s (%v)", out, err)
	}
}

// TestREADMEWebhookVerification runs the shell webhook check of docs/webhooks.md (openssl) on requests
// signed by the dispatcher's signer: a good one prints "verified"; a wrong secret, a changed
// body or an old timestamp do not.
func TestREADMEWebhookVerification(t *testing.T) {
	readme, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "`HEADER` the `MP-Signature` value):\n\n```sh\n")
	if !ok {
		t.Fatal("README lost its shell webhook verification")
	}
	script, _, _ := strings.Cut(after, "```")
	body := `{"id":"evt_1","type":"payment.confirmed","data":{"order":{"id":"ord_1","description":"it's \"quoted\", 100%"}}}`
	run := func(body, header, secret string) string {
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = append(os.Environ(), "BODY="+body, "HEADER="+header, "WEBHOOK_SECRET="+secret)
		out, _ := cmd.CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	now := time.Now()
	good := webhook.Sign([]byte(body), now, "whsec_new", "whsec_old")
	cases := []struct {
		name, body, header, secret, want string
	}{
		{"signed now", body, good, "whsec_new", "verified"},
		{"previous secret during rotation", body, good, "whsec_old", "verified"},
		{"wrong secret", body, good, "whsec_other", ""},
		{"body changed", body + " ", good, "whsec_new", ""},
		{"six minutes old", body, webhook.Sign([]byte(body), now.Add(-6*time.Minute), "whsec_new"), "whsec_new", ""},
		{"six minutes ahead", body, webhook.Sign([]byte(body), now.Add(6*time.Minute), "whsec_new"), "whsec_new", ""},
	}
	for _, c := range cases {
		if got := run(c.body, c.header, c.secret); got != c.want {
			t.Errorf("%s: printed %q, want %q", c.name, got, c.want)
		}
	}
}
