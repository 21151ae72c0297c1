package checkout

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestStatusTransitions(t *testing.T) {
	all := []Status{StatusPending, StatusConfirming, StatusPaid, StatusUnderpaid, StatusExpired, StatusFrozen}
	for _, from := range all {
		for _, to := range all {
			want := !from.Terminal() && from != to
			if got := from.CanBecome(to); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
		}
		if from.CanBecome("BOGUS") {
			t.Errorf("%s → an unknown status allowed", from)
		}
	}
	for _, s := range []Status{StatusPaid, StatusUnderpaid, StatusExpired, StatusFrozen} {
		if !s.Terminal() {
			t.Errorf("%s not terminal", s)
		}
	}
}

func TestCheckoutViewHidesMerchantFields(t *testing.T) {
	now := time.Now()
	o := &Order{ID: "ord_X", Metadata: map[string]string{"secret": "s"}, WebhookURL: "https://m/h",
		DerivationPath: "m/44'/60'/0'/0/1", FrozenReason: "x", CreatedAt: now, ExpiresAt: now,
		Payments: []Payment{{TxHash: "0x1", From: "0xcustomer", Amount: 5}}}
	b, _ := json.Marshal(o.CheckoutView())
	s := string(b)
	for _, private := range []string{"metadata", "webhook_url", "derivation_path", "frozen_reason", "0xcustomer", "\"from\""} {
		if strings.Contains(s, private) {
			t.Errorf("checkout view carries %s: %s", private, s)
		}
	}
	if !strings.Contains(s, `"tx_hash":"0x1"`) {
		t.Errorf("checkout view lost the payment: %s", s)
	}
	if DeepLink("ord_01ABC") != "mpchat://pay?order=ord_01ABC" {
		t.Errorf("deep link %s", DeepLink("ord_01ABC"))
	}
}
