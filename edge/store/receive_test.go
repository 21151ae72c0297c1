package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

const recvAddr = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"

func reserve(t *testing.T, st *store.Store, order string, amount, maxOffset checkout.Amount) (checkout.Amount, error) {
	t.Helper()
	return st.Reserve(context.Background(), checkout.TRC20, recvAddr, order, amount, maxOffset, amount, t0.Add(time.Hour))
}

func TestReserveSmallestFreeOffset(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	amt := 10 * checkout.Unit
	for i, want := range []checkout.Amount{amt, amt + 1, amt + 2} {
		got, err := reserve(t, st, fmt.Sprintf("ord_%d", i), amt, 100)
		if err != nil || got != want {
			t.Fatalf("reservation %d: %v %v, want %v", i, got, err, want)
		}
	}
	// A retried create keeps its pair.
	if got, err := reserve(t, st, "ord_1", amt, 100); err != nil || got != amt+1 {
		t.Fatalf("retry: %v %v", got, err)
	}
	// A freed pair is the smallest free again.
	if err := st.Release(ctx, checkout.TRC20, recvAddr, "ord_1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := reserve(t, st, "ord_3", amt, 100); got != amt+1 {
		t.Fatalf("after release: %v, want %v", got, amt+1)
	}
	// pay_amount is unique across amounts: 10.000003 is free for 10.000003 only if no
	// 10.000000 order took it, and 10.000002 (taken by ord_2) pushes its own amount up.
	if got, _ := reserve(t, st, "ord_4", amt+2, 100); got != amt+3 {
		t.Fatalf("other amount colliding: %v, want %v", got, amt+3)
	}
	if got, _ := reserve(t, st, "ord_5", amt, 100); got != amt+4 {
		t.Fatalf("next for amount: %v, want %v", got, amt+4)
	}
}

func TestReserveCapExhaustedStoresNothing(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	amt := checkout.Unit
	for i := 0; i <= 3; i++ { // offsets 0..3: four pairs
		if _, err := reserve(t, st, fmt.Sprintf("ord_%d", i), amt, 3); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reserve(t, st, "ord_x", amt, 3); !errors.Is(err, store.ErrPairsExhausted) {
		t.Fatalf("full: %v", err)
	}
	if n, _ := st.Reservations(ctx, checkout.TRC20, recvAddr); n != 4 {
		t.Fatalf("reservations after refusal: %d", n)
	}
	due, err := st.DueReceive(ctx, t0.Add(2*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range due {
		if it.Order == "ord_x" {
			t.Fatal("refused reservation left on the release schedule")
		}
	}
	if len(due) != 4 {
		t.Fatalf("scheduled releases: %d", len(due))
	}
}

func TestReserveConcurrentUnique(t *testing.T) {
	st, _, _ := newStoreClient(t)
	const n = 400
	amt := 25 * checkout.Unit
	var wg sync.WaitGroup
	got := make([]checkout.Amount, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = reserve(t, st, fmt.Sprintf("ord_c%03d", i), amt, checkout.DefaultMaxOffset)
		}()
	}
	wg.Wait()
	seen := map[checkout.Amount]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[got[i]] {
			t.Fatalf("pay amount %v handed out twice", got[i])
		}
		seen[got[i]] = true
	}
	for k := checkout.Amount(0); k < n; k++ { // the smallest n offsets, none skipped
		if !seen[amt+k] {
			t.Fatalf("offset %d not used", k)
		}
	}
}

func TestReleaseScheduleDue(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	if _, err := reserve(t, st, "ord_a", checkout.Unit, 10); err != nil {
		t.Fatal(err)
	}
	if due, _ := st.DueReceive(ctx, t0.Add(59*time.Minute), 10); len(due) != 0 {
		t.Fatalf("due before the release time: %v", due)
	}
	due, err := st.DueReceive(ctx, t0.Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].Order != "ord_a" || due[0].Address != recvAddr {
		t.Fatalf("due: %+v %v", due, err)
	}
	if err := st.Release(ctx, due[0].Network, due[0].Address, due[0].Order); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishReceive(ctx, due[0]); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Reservations(ctx, checkout.TRC20, recvAddr); n != 0 {
		t.Fatalf("reservations after release: %d", n)
	}
	if due, _ := st.DueReceive(ctx, t0.Add(2*time.Hour), 10); len(due) != 0 {
		t.Fatalf("still scheduled: %v", due)
	}
}

func recvTransfer(tx string, kind checkout.TransferKind, amount checkout.Amount) *checkout.Transfer {
	return &checkout.Transfer{Kind: kind, Network: checkout.TRC20, TxHash: tx, LogIndex: 0, To: recvAddr,
		From: "TXYZ", Amount: amount, Confirmations: 1, Required: 19}
}

func TestMatchAndClaimCreditOnce(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	amt := 10 * checkout.Unit
	a, _ := reserve(t, st, "ord_a", amt, 100) // 10.000000
	b, _ := reserve(t, st, "ord_b", amt, 100) // 10.000001

	m, err := st.MatchTransfer(ctx, "5-0", recvTransfer("0xaa", checkout.TransferSeen, b), false, t0)
	if err != nil || m.State != "credited" || m.OrderID != "ord_b" || !m.New {
		t.Fatalf("exact match: %+v %v", m, err)
	}
	// A later observation goes to the same order; an older one is stale.
	if m, _ := st.MatchTransfer(ctx, "6-0", recvTransfer("0xaa", checkout.TransferConfirmed, b), false, t0); m.OrderID != "ord_b" || m.New {
		t.Fatalf("later observation: %+v", m)
	}
	if m, _ := st.MatchTransfer(ctx, "5-9", recvTransfer("0xaa", checkout.TransferSeen, b), false, t0); m.State != "stale" {
		t.Fatalf("older observation: %+v", m)
	}
	// No pair: unmatched, claimable once, by one order.
	odd := a + 50
	if m, _ := st.MatchTransfer(ctx, "7-0", recvTransfer("0xbb", checkout.TransferConfirmed, odd), false, t0.Add(time.Second)); m.State != "unmatched" {
		t.Fatalf("no pair: %+v", m)
	}
	if c, _ := st.ClaimTransfer(ctx, checkout.TRC20, recvAddr, "ord_a", "0xbb", nil, t0.Add(2*time.Second)); c.Result != "early" {
		t.Fatalf("claim by an order created after it was seen: %+v", c)
	}
	c, err := st.ClaimTransfer(ctx, checkout.TRC20, recvAddr, "ord_a", "0xbb", nil, t0)
	if err != nil || c.Result != "claimed" || c.Transfer.Amount != odd || c.Position != "7-0" {
		t.Fatalf("claim: %+v %v", c, err)
	}
	if c, _ := st.ClaimTransfer(ctx, checkout.TRC20, recvAddr, "ord_a", "0xbb", nil, t0); c.Result != "already" {
		t.Fatalf("retried claim: %+v", c)
	}
	if c, _ := st.ClaimTransfer(ctx, checkout.TRC20, recvAddr, "ord_c", "0xbb", nil, t0); c.Result != "other" || c.OtherOrder != "ord_a" {
		t.Fatalf("second order's claim: %+v", c)
	}
	if c, _ := st.ClaimTransfer(ctx, checkout.TRC20, recvAddr, "ord_c", "0xaa", nil, t0); c.Result != "other" || c.OtherOrder != "ord_b" {
		t.Fatalf("claim of a matched transfer: %+v", c)
	}
	if c, _ := st.ClaimTransfer(ctx, checkout.TRC20, recvAddr, "ord_c", "0xcc", nil, t0); c.Result != "unknown" {
		t.Fatalf("claim of nothing: %+v", c)
	}
	// Dust matching no pair is not recorded.
	if m, _ := st.MatchTransfer(ctx, "8-0", recvTransfer("0xdd", checkout.TransferConfirmed, 1), true, t0); m.State != "dust" {
		t.Fatalf("dust: %+v", m)
	}
	if c, _ := st.ClaimTransfer(ctx, checkout.TRC20, recvAddr, "ord_c", "0xdd", nil, t0); c.Result != "unknown" {
		t.Fatalf("dust recorded: %+v", c)
	}
}

func TestMatchTolerance(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	// ord_a: 10.000000, PAID from 9.990000; a transfer of 9.995000 is in its band alone.
	if _, err := st.Reserve(ctx, checkout.TRC20, recvAddr, "ord_a", 10*checkout.Unit, 100, 9_990_000, t0); err != nil {
		t.Fatal(err)
	}
	if m, _ := st.MatchTransfer(ctx, "1-0", recvTransfer("0x01", checkout.TransferSeen, 9_995_000), false, t0); m.OrderID != "ord_a" {
		t.Fatalf("within tolerance: %+v", m)
	}
	// ord_b at 9.993000 lies in ord_a's band: a transfer of 9.995000 could be either's overpayment
	// or underpayment, so it is unmatched.
	if _, err := st.Reserve(ctx, checkout.TRC20, recvAddr, "ord_b", 9_993_000, 100, 9_983_000, t0); err != nil {
		t.Fatal(err)
	}
	if m, _ := st.MatchTransfer(ctx, "2-0", recvTransfer("0x02", checkout.TransferSeen, 9_995_000), false, t0); m.State != "unmatched" {
		t.Fatalf("ambiguous: %+v", m)
	}
	// Below every band: unmatched.
	if m, _ := st.MatchTransfer(ctx, "3-0", recvTransfer("0x03", checkout.TransferSeen, 5*checkout.Unit), false, t0); m.State != "unmatched" {
		t.Fatalf("underpaid: %+v", m)
	}
}

func TestUnmatchedListPages(t *testing.T) {
	st, _, _ := newStoreClient(t)
	ctx := context.Background()
	for i := range 7 {
		tr := recvTransfer(fmt.Sprintf("0x%02d", i), checkout.TransferConfirmed, checkout.Amount(3_000_000+i))
		m, err := st.MatchTransfer(ctx, fmt.Sprintf("%d-0", i+1), tr, false, t0.Add(time.Duration(i/2)*time.Second))
		if err != nil || m.State != "unmatched" {
			t.Fatalf("%+v %v", m, err)
		}
		if err := st.IndexUnmatched(ctx, "mer_1", tr, m.FirstSeen); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ClaimTransfer(ctx, checkout.TRC20, recvAddr, "ord_x", "0x03", nil, t0); err != nil {
		t.Fatal(err)
	}
	var all []string
	cursor := ""
	for page := 0; page < 10; page++ {
		got, next, err := st.UnmatchedTransfers(ctx, "mer_1", 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			all = append(all, r.TxHash)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	want := "[0x06 0x05 0x04 0x02 0x01 0x00]" // newest first; 0x03 is credited
	if fmt.Sprint(all) != want {
		t.Fatalf("pages: %v, want %s", all, want)
	}
}
