package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/export"
	"github.com/mpchat/checkout/internal/redistest"
)

// TestExportCommand runs `edge export` against a real `edge serve`: in-process to a writer,
// and as the binary (exit codes, --out).
func TestExportCommand(t *testing.T) {
	prefix := redistest.Prefix()
	redisArgs := []string{"--redis", redistest.Shared(t).URL, "--redis-prefix", prefix, "--redis-shared-prefix", prefix}
	url, err := startServe(t, redisArgs[2:]...)
	if err != nil {
		t.Fatal(err)
	}
	op := &operator{t: t, redis: redisArgs}
	created := op.must("create", "--dev", "--name", "shop")
	merchant := created["merchant_id"].(string)
	other := op.must("create", "--dev", "--name", "other")["merchant_id"].(string)
	c := client.New(url, created["key_id"].(string), created["secret"].(string))
	ctx := context.Background()
	since := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	var ids []string
	for _, n := range []checkout.Network{checkout.TRC20, checkout.ERC20, checkout.TRC20} {
		o, err := c.CreateOrder(ctx, &client.OrderParams{Amount: "12.345678", Network: n, Metadata: map[string]string{"k": "v,\"w\""}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}

	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := exportCmd(ctx, append(args, redisArgs...), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	out, errOut, err := run("--merchant", merchant, "--since", since)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(got) != len(ids) {
		t.Fatalf("exported %d lines, want %d:\n%s", len(got), len(ids), out)
	}
	for i, id := range ids {
		_, api, err := c.Do(ctx, "GET", "/v1/orders/"+id, nil)
		if err != nil || got[i] != string(api) {
			t.Errorf("line %d differs from GET /v1/orders/%s (%v):\n%s\n%s", i, id, err, got[i], api)
		}
	}
	if !strings.Contains(errOut, "3 orders, last "+ids[2]) {
		t.Errorf("summary on stderr: %q", errOut)
	}
	if out, _, err := run("--merchant", merchant, "--since", since, "--after", ids[0], "--status", "pending,CANCELED", "--network", "TRC20"); err != nil ||
		!strings.HasPrefix(out, `{"id":"`+ids[2]+`"`) || strings.Count(out, "\n") != 1 {
		t.Errorf("--after %s --status --network: %v\n%s", ids[0], err, out)
	}
	if out, _, err := run("--merchant", other, "--since", since); err != nil || out != "" {
		t.Errorf("the other merchant's export: %v %q", err, out)
	}

	// Interrupted (here before it starts): the cursor to resume from is on stderr.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	var stdout, stderr bytes.Buffer
	err = exportCmd(canceled, append([]string{"--merchant", merchant, "--since", since, "--after", ids[1]}, redisArgs...), &stdout, &stderr)
	var usage usageError
	if err == nil || errors.As(err, &usage) || !strings.Contains(stderr.String(), "resume with --after "+ids[1]) || stdout.Len() != 0 {
		t.Errorf("interrupted export: %v, stderr %q, stdout %q", err, stderr.String(), stdout.String())
	}

	// The binary: the test binary playing edge.
	edge := func(args ...string) (int, string) {
		cmd := exec.Command(os.Args[0], append([]string{"export"}, append(args, redisArgs...)...)...)
		cmd.Env = append(os.Environ(), "EDGE_TEST_RUN_MAIN=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), out.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, out.String()
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "orders.csv")
	if code, out := edge("--merchant", merchant, "--since", since, "--format", "csv", "--out", file); code != 0 {
		t.Fatalf("edge export --out: exit %d\n%s", code, out)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(export.Columns, ",") ||
		rows[1][0] != ids[0] || rows[3][0] != ids[2] || rows[2][18] != `{"k":"v,\"w\""}` {
		t.Errorf("CSV file: %v %q", err, rows)
	}

	// Refused: exit 2, nothing on stdout, no file.
	for _, c := range []struct {
		name string
		args []string
		msg  string
	}{
		{"bad since", []string{"--merchant", merchant, "--since", "yesterday"}, "--since"},
		{"since after until", []string{"--merchant", merchant, "--since", "2026-12-02", "--until", "2026-12-01T23:59:59Z"}, "--until"},
		{"unknown merchant", []string{"--merchant", "mer_nosuchone", "--since", since}, "no merchant mer_nosuchone"},
		{"other merchant's cursor", []string{"--merchant", other, "--since", since, "--after", ids[0]}, "--after"},
		{"bad cursor", []string{"--merchant", merchant, "--since", since, "--after", "12"}, "--after"},
		{"bad status", []string{"--merchant", merchant, "--since", since, "--status", "PAID,LOST"}, "--status"},
		{"bad network", []string{"--merchant", merchant, "--since", since, "--network", "BTC"}, "--network"},
		{"bad format", []string{"--merchant", merchant, "--since", since, "--format", "xlsx"}, "--format"},
		{"unknown flag", []string{"--merchant", merchant, "--since", since, "--limit", "5"}, "limit"},
		{"existing file", []string{"--merchant", merchant, "--since", since, "--out", file}, "exists"},
	} {
		out := filepath.Join(dir, "refused-"+strings.ReplaceAll(c.name, " ", "-"))
		args := c.args
		if c.name != "existing file" {
			args = append(args, "--out", out)
		}
		code, msg := edge(args...)
		if code != 2 || !strings.Contains(msg, c.msg) {
			t.Errorf("%s: exit %d, want 2 and a message naming %q:\n%s", c.name, code, c.msg, msg)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the refused export made %s", c.name, out)
		}
		var stdout, stderr bytes.Buffer
		err := exportCmd(ctx, append(c.args, redisArgs...), &stdout, &stderr)
		if !errors.As(err, &usage) || stdout.Len() != 0 {
			t.Errorf("%s in-process: %v, stdout %q", c.name, err, stdout.String())
		}
	}
}
