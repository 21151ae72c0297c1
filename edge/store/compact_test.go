package store

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
)

// fixedFields are the checkout.Order fields set at creation and never changed after: an event
// does not keep them (it takes them from the current document).
var fixedFields = []string{"ID", "Amount", "Currency", "Network", "Address", "PayAmount", "TolerancePercent",
	"Description", "Metadata", "ReturnURL", "WebhookURL", "PaymentURL", "DeepLink", "DerivationPath", "ReceiveMode",
	"CreatedAt", "ExpiresAt", "AllowNetworkSwitch", "SwitchNetworks"}

// TestOrderFieldsClassified: every field of checkout.Order is either fixed at creation or kept
// by each event, so a new field cannot silently drop out of rebuilt events and webhook bodies.
func TestOrderFieldsClassified(t *testing.T) {
	ty := reflect.TypeFor[checkout.Order]()
	for i := 0; i < ty.NumField(); i++ {
		f := ty.Field(i).Name
		fixed, state := slices.Contains(fixedFields, f), slices.Contains(orderState, f)
		if fixed == state {
			t.Errorf("checkout.Order.%s: fixed %v, kept by events %v; classify it (compact.go)", f, fixed, state)
		}
	}
}

func richOrder() checkout.Order {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	seen := at.Add(1234567891 * time.Nanosecond)
	rev := seen.Add(time.Minute)
	paid := at.Add(time.Hour)
	return checkout.Order{ID: "ord_01JABCDEFGHJKMNPQRSTVWXYZ0", Status: checkout.StatusPaid, Amount: 99_990_000,
		Currency: checkout.Currency, Network: checkout.TRC20, Address: "TXYZ", PayAmount: 99_990_000,
		AmountPaid: 100_000_000, AmountOverpaid: 10_000, TolerancePercent: 10_000, Description: "d",
		Metadata: map[string]string{"cart": "c-1"}, WebhookURL: "https://shop.example/h",
		PaymentURL: "https://pay.example/pay/ord_01JABCDEFGHJKMNPQRSTVWXYZ0",
		DeepLink:   checkout.DeepLink("ord_01JABCDEFGHJKMNPQRSTVWXYZ0"), DerivationPath: "m/44'/195'/0'/0/7", ReceiveMode: checkout.ReceiveXPub,
		Payments: []checkout.Payment{
			{TxHash: "0xaa", LogIndex: 1, From: "TFROM", Amount: 60_000_000, BlockNumber: 9, Confirmations: 20,
				ConfirmationsRequired: 19, Status: checkout.PaymentConfirmed, FirstSeenAt: seen},
			{TxHash: "0xbb", From: "TFROM", Amount: 40_000_000, Status: checkout.PaymentReverted, Late: true,
				FirstSeenAt: seen, RevertedAt: &rev},
		},
		CreatedAt: at, ExpiresAt: at.Add(30 * time.Minute), PaidAt: &paid, DustCount: 2, DustAmount: 3,
		DustRecent: []checkout.DustTransfer{{TxHash: "0xcc", From: "TX", Amount: 3, BlockNumber: 4}}}
}

// TestCompactRoundTrip: the compact document reads back as the very order (same JSON), for a
// rich order and for the edge cases of the derived fields.
func TestCompactRoundTrip(t *testing.T) {
	rich := richOrder()
	plain := rich
	plain.Metadata, plain.Payments, plain.PaidAt, plain.DustRecent = nil, []checkout.Payment{}, nil, nil
	odd := rich
	odd.Metadata, odd.Currency, odd.DeepLink, odd.PaymentURL, odd.PayAmount = map[string]string{}, "", "", "https://other/x", 5
	for name, o := range map[string]checkout.Order{"rich": rich, "plain": plain, "odd": odd} {
		t.Run(name, func(t *testing.T) {
			doc, err := encodeOrder(&o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeOrder(o.ID, doc)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(&o)
			have, _ := json.Marshal(&got)
			if string(want) != string(have) {
				t.Errorf("round trip:\n got %s\nwant %s", have, want)
			}
			full, _ := json.Marshal(&o)
			t.Logf("%d B compact, %d B as JSON", len(doc), len(full))
		})
	}
}

// TestEventRebuild: an event rebuilt from its record and a later document is the event as it
// was committed (the order as it stood then, its payment), and so is its webhook body.
func TestEventRebuild(t *testing.T) {
	then := richOrder()
	then.Status, then.PaidAt, then.AmountPaid, then.AmountOverpaid = checkout.StatusConfirming, nil, 0, 0
	then.Payments = then.Payments[:1]
	then.Payments[0].Status, then.Payments[0].Confirmations = checkout.PaymentConfirming, 3
	p := then.Payments[0]
	other := checkout.Payment{TxHash: "0xdd", Amount: 1}
	now := richOrder()
	for name, pay := range map[string]*checkout.Payment{"payment of the order": &p, "other payment": &other, "none": nil} {
		t.Run(name, func(t *testing.T) {
			ev := checkout.Event{ID: "evt_1", Type: checkout.EventPaymentDetected, CreatedAt: time.Now().UTC(), Order: then, Payment: pay}
			rec, err := encodeEvent(&ev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeEvent(&now, rec)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := WebhookBody(&ev)
			have, _ := WebhookBody(&got)
			if string(want) != string(have) {
				t.Errorf("rebuilt webhook body:\n got %s\nwant %s", have, want)
			}
			t.Logf("event record %d B, webhook body %d B", len(rec), len(want))
		})
	}
}
