package outbox_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/orders"
)

// TestDefaultURLTakenAtSendTime: an order created through the orders service while the
// merchant's default webhook URL is dead keeps no copy of it; after the merchant's default is
// fixed (what `edge merchant set --webhook-url` stores), the pending delivery's retry goes to
// the new URL. An order's own webhook_url still wins over the default.
func TestDefaultURLTakenAtSendTime(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/hooks"
	dead.Close() // nothing listens there any more: connection refused
	f := newFixture(t, deadURL)
	xpub, err := deposit.DevAccountXPub(checkout.ERC20, 3)
	if err != nil {
		t.Fatal(err)
	}
	f.m.XPubs = map[checkout.Network]string{checkout.ERC20: xpub}
	if err := f.st.PutMerchant(f.ctx, f.m); err != nil {
		t.Fatal(err)
	}
	svc := &orders.Service{Store: f.st, PublicURL: "https://pay.example.com", Now: f.clock.Now}
	o, _, err := svc.Create(f.ctx, f.m, &orders.CreateParams{Amount: 5_000_000, Network: checkout.ERC20, Tolerance: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	if o.WebhookURL != "" {
		t.Fatalf("order webhook_url %q: the merchant's default was copied into the order", o.WebhookURL)
	}
	override := newReceiver(t, nil)
	own, _, err := svc.Create(f.ctx, f.m, &orders.CreateParams{Amount: 5_000_000, Network: checkout.ERC20,
		Tolerance: 10_000, WebhookURL: override.srv.URL + "/own"})
	if err != nil {
		t.Fatal(err)
	}
	if own.WebhookURL != override.srv.URL+"/own" {
		t.Fatalf("explicit override %q not kept", own.WebhookURL)
	}
	f.commit(o.ID, checkout.EventPaymentConfirmed)
	d := f.dispatcher()
	f.rounds(d)
	l := f.deliveries(o.ID)
	if len(l) != 1 || l[0].Status != checkout.DeliveryPending || len(l[0].AttemptLog) != 1 || l[0].AttemptLog[0].URL != deadURL {
		t.Fatalf("first attempt: %+v", l)
	}

	fixed := newReceiver(t, nil)
	f.m.WebhookURL = fixed.srv.URL + "/hooks"
	if err := f.st.PutMerchant(f.ctx, f.m); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute) // past the first retry's backoff (and the dispatcher's merchant cache)
	f.rounds(d)
	if fixed.count() != 1 {
		t.Fatalf("the fixed default URL got %d requests, want 1", fixed.count())
	}
	l = f.deliveries(o.ID)
	if l[0].Status != checkout.DeliveryDelivered || l[0].AttemptLog[1].URL != f.m.WebhookURL {
		t.Fatalf("after the fix: %+v", l[0])
	}

	f.commit(own.ID, checkout.EventPaymentConfirmed)
	f.rounds(d)
	if override.count() != 1 || fixed.count() != 1 {
		t.Fatalf("override got %d, default got %d; want the order's own URL only", override.count(), fixed.count())
	}
}
