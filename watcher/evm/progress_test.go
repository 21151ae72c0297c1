package evm

import (
	"testing"

	checkout "github.com/mpchat/checkout"
)

func TestProgressReportsLagAndWrites(t *testing.T) {
	r := newRig(t, checkout.ERC20)
	s, _ := r.scanner(4)
	if p := s.Progress(); p != (Progress{}) {
		t.Fatalf("progress before any step: %+v", p)
	}
	for i := 0; i < 10; i++ {
		r.chain.Commit()
	}
	head, err := r.cl.BlockNumber(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.step(s) {
		t.Fatal("caught up after one bounded range")
	}
	p := s.Progress()
	if p.Head != head || p.Scanned != 3 || p.Checkpoint != 3 || p.CaughtUp || p.Lag() != head-3 {
		t.Errorf("catching up: %+v lag %d, want head %d scanned 3", p, p.Lag(), head)
	}
	for !r.step(s) {
	}
	p = s.Progress()
	if p.Head != head || p.Scanned != head || p.Checkpoint != head+1-required || !p.CaughtUp || p.Lag() != 0 {
		t.Errorf("caught up: %+v, want head = scanned = %d", p, head)
	}
	to, _ := r.watch(9)
	if _, err := r.chain.Pay(r.ctx, 1, to, 1_000_000); err != nil {
		t.Fatal(err)
	}
	r.chain.Commit()
	r.step(s)
	if p := s.Progress(); p.Seen != 1 || p.Confirmed != 0 || p.Removed != 0 || p.Head != head+1 {
		t.Errorf("after a payment: %+v", p)
	}
	r.step(s) // nothing new: the step writes nothing
	if p := s.Progress(); p.Seen != 0 {
		t.Errorf("idle step: %+v", p)
	}
}
