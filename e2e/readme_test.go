package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	checkout "github.com/mpchat/checkout"
)

// TestREADMESigningRecipe runs the README's shell signing example (curl + openssl) against a
// real edge, so the documented recipe cannot rot. Only its first line (the credentials) is
// replaced; the rest runs verbatim.
func TestREADMESigningRecipe(t *testing.T) {
	for _, tool := range []string{"bash", "openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for the README example: %v", tool, err) // CI installs it
		}
	}
	readme, err := os.ReadFile("../README.md")
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
