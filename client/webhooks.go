package client

import (
	"context"
	"net/http"
	"net/url"

	checkout "github.com/mpchat/checkout"
)

// ListWebhooks returns the order's webhook deliveries (one per event of a webhook type), each
// with its attempts: status code, latency, error, and the next retry while pending.
func (c *Client) ListWebhooks(ctx context.Context, orderID string) ([]checkout.WebhookDelivery, error) {
	var out struct {
		Data []checkout.WebhookDelivery `json:"data"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/orders/"+url.PathEscape(orderID)+"/webhooks", nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// RedeliverWebhook queues one event's delivery again, due now, whatever its status (a
// delivered event is sent again with the same event id). Safe to retry.
func (c *Client) RedeliverWebhook(ctx context.Context, orderID, eventID string) (*checkout.WebhookDelivery, error) {
	var d checkout.WebhookDelivery
	path := "/v1/orders/" + url.PathEscape(orderID) + "/webhooks/" + url.PathEscape(eventID) + "/redeliver"
	if err := c.call(ctx, http.MethodPost, path, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}
