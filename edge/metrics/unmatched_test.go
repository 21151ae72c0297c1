package metrics

import (
	"testing"

	checkout "github.com/mpchat/checkout"
)

// TestSettlementUnmatchedCounted: each new unmatched transfer counts once on its network's
// series; both networks' series exist from the start (a rate over them is never "no data").
func TestSettlementUnmatchedCounted(t *testing.T) {
	m := NewEdge(nil)
	m.SettlementUnmatched(checkout.TRC20)
	m.SettlementUnmatched(checkout.TRC20)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "settlement_unmatched_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "network" {
					got[l.GetValue()] = s.GetCounter().GetValue()
				}
			}
		}
	}
	if len(got) != 2 || got["TRC20"] != 2 || got["ERC20"] != 0 {
		t.Fatalf("settlement_unmatched_total: %v", got)
	}
}
