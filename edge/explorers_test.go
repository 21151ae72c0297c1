package main

import (
	"testing"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/page"
)

// TestExplorerFlags: --explorer-* as given, "none" for no link, the public explorers by
// default, and no link in development mode unless one is given.
func TestExplorerFlags(t *testing.T) {
	const mine = "https://scan.example/tx/{tx}"
	cases := []struct {
		name         string
		dev          bool
		tron, eth    string
		wantT, wantE string
	}{
		{"defaults", false, "", "", page.DefaultExplorers[checkout.TRC20], page.DefaultExplorers[checkout.ERC20]},
		{"dev: no links", true, "", "", "", ""},
		{"dev: set one", true, mine, "", mine, ""},
		{"none", false, "none", mine, "", mine},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := explorers(c.dev, map[checkout.Network]string{checkout.TRC20: c.tron, checkout.ERC20: c.eth})
			if got[checkout.TRC20] != c.wantT || got[checkout.ERC20] != c.wantE {
				t.Errorf("got %v, want TRC20 %q ERC20 %q", got, c.wantT, c.wantE)
			}
		})
	}
}
