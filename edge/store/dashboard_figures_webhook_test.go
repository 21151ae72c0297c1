package store

import (
	"context"
	"errors"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/internal/redistest"
)

// TestFiguresWebhooks: every saved attempt counts once on its day (2xx as ok), a delivery
// given up counts as such, a save that lost its compare-and-set counts nothing, and a count
// retried for the same saved revision (a lost reply) adds nothing.
func TestFiguresWebhooks(t *testing.T) {
	st := New(redistest.Shared(t).Client(t), redistest.Prefix())
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	o := &checkout.Order{ID: "ord_01JFIGWEBHOOK0000000000000", Status: checkout.StatusPending, Network: checkout.ERC20,
		Address: "0xfig", Amount: checkout.Unit, PayAmount: checkout.Unit, Currency: "USDT", CreatedAt: now,
		ExpiresAt: now.Add(time.Hour), Metadata: map[string]string{}}
	created := checkout.Event{ID: "evt_figcreated", Type: checkout.EventOrderCreated, CreatedAt: now, Order: *o}
	if _, _, err := st.CreateOrder(ctx, o, "mer_w", &created); err != nil {
		t.Fatal(err)
	}
	rec, err := st.Order(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	rec.Order.Status, rec.Order.PaidAt, rec.Order.AmountPaid = checkout.StatusPaid, &now, checkout.Unit
	ev := checkout.Event{ID: "evt_figpaid", Type: checkout.EventPaymentConfirmed, CreatedAt: now, Order: rec.Order}
	if _, err := st.CommitOrder(ctx, rec, []checkout.Event{ev}); err != nil {
		t.Fatal(err)
	}
	_, pend, err := st.PendingWebhooks(ctx, o.ID)
	if err != nil || len(pend) != 1 {
		t.Fatalf("pending %v %v", pend, err)
	}
	d := pend[0]
	wh := func() (int64, int64, int64) {
		t.Helper()
		f, err := st.Figures(ctx, "mer_w", now, now)
		if err != nil {
			t.Fatal(err)
		}
		return f[0].WebhookAttempts, f[0].WebhookOK, f[0].WebhookGaveUp
	}

	stale := d
	d.Attempts++
	if err := st.SaveDelivery(ctx, o.ID, &d, &checkout.WebhookAttempt{At: now, StatusCode: 500, Error: "HTTP 500"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveDelivery(ctx, o.ID, &stale, &checkout.WebhookAttempt{At: now, StatusCode: 200}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale save: %v", err)
	}
	if a, ok, f := wh(); a != 1 || ok != 0 || f != 0 {
		t.Fatalf("after a failed attempt and a lost save: %d %d %d", a, ok, f)
	}
	d.Attempts++
	at := now
	d.Status, d.DeliveredAt = checkout.DeliveryDelivered, &at
	okAttempt := &checkout.WebhookAttempt{At: now, StatusCode: 204}
	if err := st.SaveDelivery(ctx, o.ID, &d, okAttempt); err != nil {
		t.Fatal(err)
	}
	// The same count again, as a retry after a lost reply would send it.
	st.countWebhook(ctx, st.k.order(o.ID), d.EventID, d.Rev, d.Status, okAttempt, now)
	if a, ok, f := wh(); a != 2 || ok != 1 || f != 0 {
		t.Fatalf("after a 2xx (counted twice): %d %d %d", a, ok, f)
	}
	// Given up: an attempt and a delivery given up.
	d.Attempts++
	d.Status = checkout.DeliveryFailed
	if err := st.SaveDelivery(ctx, o.ID, &d, &checkout.WebhookAttempt{At: now, Error: "timeout"}); err != nil {
		t.Fatal(err)
	}
	if a, ok, f := wh(); a != 3 || ok != 1 || f != 1 {
		t.Fatalf("after giving up: %d %d %d", a, ok, f)
	}
	if n := FigureWriteErrors(); n != 0 {
		t.Fatalf("%d figure writes failed", n)
	}
}
