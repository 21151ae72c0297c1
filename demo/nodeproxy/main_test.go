package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/mpchat/checkout/watcher/devchain"
)

// TestRunAndControl runs the command in front of a dev chain, reads the URLs it prints, and
// changes its faults through the control API.
func TestRunAndControl(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chain, err := devchain.Start(ctx, devchain.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--upstream", chain.RPCURL(), "--tron", "--rate-limit", "tron", "--control", "127.0.0.1:0"}, pw)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var url, control string
	for control == "" && lines.Scan() {
		if c, ok := strings.CutPrefix(lines.Text(), "control "); ok {
			control = c
		} else {
			url = lines.Text()
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if !strings.HasSuffix(url, "/jsonrpc") || control == "" {
		t.Fatalf("printed %q, %q", url, control)
	}
	cl, err := ethclient.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var re rpc.Error
	if _, err := cl.BlockNumber(ctx); !errors.As(err, &re) || re.ErrorCode() != 0 {
		t.Fatalf("rate-limited at start: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPut, control+"/fault", strings.NewReader(`{}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("PUT /fault: %v %v", res, err)
	}
	res.Body.Close()
	if n, err := cl.BlockNumber(ctx); err != nil || n == 0 {
		t.Fatalf("healed: %d, %v", n, err)
	}
	req, _ = http.NewRequest(http.MethodPut, control+"/fault", strings.NewReader(`{"Lagg": 1}`))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 400 {
		t.Fatalf("unknown field: %v %v", res, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBadFlagsAndEnvironment(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t.Setenv("MP_NODEPROXY_LAG", "five")
	if err := run(ctx, nil, io.Discard); err == nil || !strings.Contains(err.Error(), "MP_NODEPROXY_LAG") {
		t.Fatalf("unparsable environment: %v", err)
	}
	t.Setenv("MP_NODEPROXY_LAG", "")
	if err := run(ctx, []string{"--rate-limit", "sometimes"}, io.Discard); err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Fatalf("unknown style: %v", err)
	}
	if err := run(ctx, []string{"--listen", "0.0.0.0:0"}, io.Discard); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("public listen: %v", err)
	}
}
