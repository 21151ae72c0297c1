package evm

import (
	"testing"

	checkout "github.com/mpchat/checkout"
)

// TestTiersAndFinalized: a transfer of at least a tier's amount needs that tier's
// requirement (here the dev chain's finalized block: the last multiple of 32), a smaller one
// the base count; the checkpoint follows the stricter.
func TestTiersAndFinalized(t *testing.T) {
	r := newRig(t, checkout.ERC20)
	s, _ := r.scanner(0)
	s.Tiers = []Tier{{Min: 10_000_000, Requirement: Requirement{Finalized: true}}}
	small, _ := r.watch(1)
	large, _ := r.watch(2)
	if _, err := r.chain.Pay(r.ctx, 1, small, 1_000_000); err != nil {
		t.Fatal(err)
	}
	if _, err := r.chain.Pay(r.ctx, 2, large, 10_000_000); err != nil {
		t.Fatal(err)
	}
	r.chain.Commit()
	payBlock, _ := r.cl.BlockNumber(r.ctx)
	confirmed := func() map[checkout.Amount]bool {
		out := map[checkout.Amount]bool{}
		for _, tr := range r.feed() {
			if tr.Kind == checkout.TransferConfirmed {
				out[tr.Amount] = true
			}
		}
		return out
	}
	for i := 1; i < required; i++ {
		r.chain.Commit()
	}
	for !r.step(s) {
	}
	if c := confirmed(); !c[1_000_000] || c[10_000_000] {
		t.Fatalf("after %d confirmations: confirmed %v", required, c)
	}
	// Until the finalized block (a multiple of 32) passes the large transfer's block.
	for head := payBlock + required - 1; head < (payBlock/32+1)*32; head++ {
		if c := confirmed(); c[10_000_000] {
			t.Fatalf("large transfer confirmed at head %d before finalized reached block %d", head, payBlock)
		}
		r.chain.Commit()
		for !r.step(s) {
		}
	}
	if c := confirmed(); !c[10_000_000] {
		t.Fatalf("large transfer not confirmed once finalized: %v", c)
	}
}
