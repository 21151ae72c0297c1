package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDevChainLinked keeps the production watcher binary free of the development chain:
// go-ethereum's simulated backend brings a whole Ethereum node (about half the binary) that
// only the devchain command (demo/devchain) and tests need.
func TestNoDevChainLinked(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/mpchat/checkout/watcher").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := map[string]bool{
		"github.com/ethereum/go-ethereum/ethclient/simulated": true, // the simulated backend
		"github.com/ethereum/go-ethereum/eth":                 true, // the full node it runs
		"github.com/ethereum/go-ethereum/node":                true,
		"github.com/mpchat/checkout/watcher/devchain":         true,
	}
	for _, dep := range strings.Fields(string(out)) {
		if forbidden[dep] {
			t.Errorf("the watcher command depends on %s (a development-only package)", dep)
		}
	}
}
