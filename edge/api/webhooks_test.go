package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/expiry"
)

// TestWebhookListAndRedeliver: an order's webhook deliveries are listed to its merchant only,
// with status and next attempt; a redelivery is queued on request; bad ids get clear errors.
func TestWebhookListAndRedeliver(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	mc := e.newMerchant([]checkout.Network{checkout.ERC20}, func(m *checkout.Merchant) { m.WebhookURL = "https://shop.example/hooks" })
	other := e.newMerchant([]checkout.Network{checkout.ERC20}, nil)
	ctx := context.Background()
	o, err := mc.client.CreateOrder(ctx, &client.OrderParams{Amount: "3", Network: checkout.ERC20})
	if err != nil {
		t.Fatal(err)
	}
	list, err := mc.client.ListWebhooks(ctx, o.ID)
	if err != nil || len(list) != 0 {
		t.Fatalf("new order: %v %v (order.created is not a webhook)", list, err)
	}
	e.clock.Add(31 * time.Minute)
	if _, err := (&expiry.Worker{Store: e.store, Now: e.clock.Now}).Tick(ctx); err != nil {
		t.Fatal(err)
	}
	list, err = mc.client.ListWebhooks(ctx, o.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("after expiry: %v %v", list, err)
	}
	d := list[0]
	if d.Type != checkout.EventOrderExpired || d.Status != checkout.DeliveryPending || d.Attempts != 0 ||
		d.NextAttemptAt == nil || d.AttemptLog == nil || d.DeliveredAt != nil {
		t.Fatalf("delivery %+v", d)
	}

	got, err := mc.client.RedeliverWebhook(ctx, o.ID, d.EventID)
	if err != nil || got.EventID != d.EventID || got.Status != checkout.DeliveryPending {
		t.Fatalf("redeliver: %+v %v", got, err)
	}
	status, _, body := mc.raw(t, "POST", "/v1/orders/"+o.ID+"/webhooks/evt_01HZZZZZZZZZZZZZZZZZZZZZZZ/redeliver", "")
	if status != 404 || errorOf(t, body)["code"] != "resource_missing" {
		t.Errorf("unknown event: %d %v", status, body)
	}
	for _, path := range []string{"/v1/orders/" + o.ID + "/webhooks", "/v1/orders/" + o.ID + "/webhooks/" + d.EventID + "/redeliver"} {
		method := "GET"
		if path != "/v1/orders/"+o.ID+"/webhooks" {
			method = "POST"
		}
		if status, _, body := other.raw(t, method, path, ""); status != 404 {
			t.Errorf("%s %s as another merchant: %d %v", method, path, status, body)
		}
		req, _ := http.NewRequest(method, e.url+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s %s unsigned: %d", method, path, resp.StatusCode)
		}
	}
}
