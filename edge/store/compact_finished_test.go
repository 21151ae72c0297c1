package store

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
)

// finishedCases are orders whose finished form must read back as the very order: every rule
// of the form meets its edge cases (a payment with no status, confirmations short of or with
// no requirement, a tx hash in another format, nothing paid, paid other than the amount,
// times before created_at, a switched order's previous deposits).
func finishedCases() map[string]checkout.Order {
	rich := richOrder()
	rich.Payments[0].TxHash = "0x" + strings.Repeat("0123456789abcdef", 4)
	odd := richOrder()
	odd.Payments[0].Status, odd.Payments[0].Confirmations = "", 0
	odd.Payments[1].TxHash = "0x" + strings.Repeat("ABCDEF0123456789", 4) // upper case: kept as written
	odd.Payments[1].ConfirmationsRequired, odd.Payments[1].Confirmations = 0, 5
	odd.AmountPaid = odd.Amount
	early := odd.CreatedAt.Add(-time.Second - 7)
	odd.Payments[0].FirstSeenAt = early
	expired := richOrder()
	expired.Status, expired.Payments, expired.AmountPaid, expired.AmountOverpaid, expired.PaidAt = checkout.StatusExpired, []checkout.Payment{}, 0, 0, nil
	expired.DustCount, expired.DustAmount, expired.DustRecent = 0, 0, nil
	zero := checkout.Order{ID: "ord_01JZERO00000000000000000000", Status: checkout.StatusCanceled, Currency: checkout.Currency,
		DeepLink: checkout.DeepLink("ord_01JZERO00000000000000000000"), Payments: []checkout.Payment{}}
	switched := richOrder()
	switched.AllowNetworkSwitch, switched.SwitchNetworks = true, []checkout.Network{checkout.TRC20, checkout.ERC20}
	switched.PreviousAddresses = []checkout.PreviousAddress{{Network: checkout.ERC20, Address: "0xold", PayAmount: 99_990_001,
		DerivationPath: "m/44'/60'/0'/0/3", ReplacedAt: switched.CreatedAt.Add(90 * time.Second)}}
	switched.Payments[1].Network, switched.Payments[1].Address = checkout.ERC20, "0xold"
	return map[string]checkout.Order{"rich": rich, "odd": odd, "expired": expired, "zero": zero, "switched": switched}
}

// TestFinishedFormRoundTrip: the finished form of a document reads back as the same order
// (same JSON), and is shorter.
func TestFinishedFormRoundTrip(t *testing.T) {
	for name, o := range finishedCases() {
		t.Run(name, func(t *testing.T) {
			doc, err := encodeOrder(&o)
			if err != nil {
				t.Fatal(err)
			}
			fin, ok := finishDoc(doc)
			if !ok {
				t.Fatalf("no finished form for %s", doc)
			}
			// Shorter as a rule; an order of nothing but edge cases may not be (TrimOrder then
			// keeps its document).
			if !strings.HasPrefix(string(fin), `{"v":"3",`) || (name != "zero" && name != "odd" && len(fin) >= len(doc)) {
				t.Errorf("finished form %d B, document %d B: %s", len(fin), len(doc), fin)
			}
			// An edge of an earlier version (version 2 only) fails on it rather than misreading it.
			var earlier storedOrder
			if err := json.Unmarshal(fin, &earlier); err == nil {
				t.Errorf("the version 2 decoder reads the finished form: %s", fin)
			}
			got, err := decodeOrder(o.ID, fin)
			if err != nil {
				t.Fatalf("%v: %s", err, fin)
			}
			want, _ := json.Marshal(&o)
			have, _ := json.Marshal(&got)
			if string(want) != string(have) {
				t.Errorf("round trip:\n got %s\nwant %s\nform %s", have, want, fin)
			}
			if again, ok := finishDoc(fin); ok {
				t.Errorf("a finished form was rewritten again: %s", again)
			}
			t.Logf("%d B finished, %d B compact", len(fin), len(doc))
		})
	}
}

// TestFinishedFormInEvents: the last event of a trimmed order, when a later commit takes the
// (finished-form) document along as its state, rebuilds as it was.
func TestFinishedFormInEvents(t *testing.T) {
	o := richOrder()
	doc, _ := encodeOrder(&o)
	fin, _ := finishDoc(doc)
	ev := checkout.Event{ID: "evt_1", Type: checkout.EventPaymentConfirmed, CreatedAt: time.Now().UTC(), Order: o, Payment: &o.Payments[0]}
	rec, err := encodeEvent(&ev)
	if err != nil {
		t.Fatal(err)
	}
	slim, ok := compactLastEvent(&o, "1-1 "+string(rec))
	if !ok {
		t.Fatal("last event not compacted")
	}
	_, slimRec, _ := strings.Cut(slim, " ")
	spliced := slimRec[:len(slimRec)-1] + `,"sdoc":` + string(fin) + "}" // as commit_order.lua does
	later := o
	later.Status, later.AmountLate = checkout.StatusPaid, 5
	got, err := decodeEvent(&later, []byte(spliced))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := WebhookBody(&ev)
	have, _ := WebhookBody(&got)
	if string(want) != string(have) {
		t.Errorf("rebuilt:\n got %s\nwant %s", have, want)
	}
}

// TestFinishedFormRejectsCorruption: a finished form that does not decode is an error, never
// a different order.
func TestFinishedFormRejectsCorruption(t *testing.T) {
	for _, doc := range []string{
		`{"v":"3","ca":12e99}`,
		`{"v":"3","ca":1e2,"ea":1}`,
		`{"v":"3","p":[{"hb":"short"}]}`,
		`{"v":"3","ca":"x"}`,
	} {
		if _, err := decodeOrder("ord_x", []byte(doc)); err == nil {
			t.Errorf("%s decoded", doc)
		}
	}
}

// TestFeedPositionReferences: the feed positions of payments are written as references to
// them and read back as the same positions; other transfers keep their keys; a reference
// to no payment is refused.
func TestFeedPositionReferences(t *testing.T) {
	o := richOrder()
	f := feedPositions{m: map[string]string{
		paymentKey(&o.Payments[1]): "5-1",
		paymentKey(&o.Payments[0]): "4-0",
		"0xremoved:3":              "6-0", // a removal of a transfer the order never tracked
	}}
	raw, err := f.compact(o.Payments)
	if err != nil {
		t.Fatal(err)
	}
	if raw != `{"#0":"4-0","#1":"5-1","0xremoved:3":"6-0"}` {
		t.Errorf("compact form %s", raw)
	}
	var back feedPositions
	if err := back.decode(raw, o.Payments); err != nil {
		t.Fatal(err)
	}
	if len(back.m) != 3 || back.m[paymentKey(&o.Payments[0])] != "4-0" || back.m[paymentKey(&o.Payments[1])] != "5-1" ||
		back.m["0xremoved:3"] != "6-0" {
		t.Errorf("read back %v", back.m)
	}
	if !back.dirty {
		t.Error("references read back are not written in full at the next commit")
	}
	if err := back.decode(`{"#2":"1-0"}`, o.Payments); err == nil {
		t.Error("a reference beyond the payments was read")
	}
	if err := back.decode(`{"#x":"1-0"}`, o.Payments); err == nil {
		t.Error("a malformed reference was read")
	}
}
