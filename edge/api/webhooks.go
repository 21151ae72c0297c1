package api

import (
	"github.com/valyala/fasthttp"
)

// listWebhooks: GET /v1/orders/{id}/webhooks, the order's webhook deliveries (one per
// event of a webhook type) with every attempt: status code, latency, error, next retry.
func (s *Server) listWebhooks(ctx *fasthttp.RequestCtx) error {
	id, _ := ctx.UserValue("id").(string)
	if _, err := s.Orders.Get(ctx, merchantOf(ctx).ID, id); err != nil {
		return err
	}
	list, trimmed, err := s.Store.WebhookList(ctx, id)
	if err != nil {
		return err
	}
	body := map[string]any{"object": "list", "order_id": id, "data": list}
	if trimmed != nil { // retention dropped the finished deliveries: data holds the pending ones
		body["trimmed_at"] = trimmed
	}
	writeJSON(ctx, 200, body)
	return nil
}

// redeliverWebhook: POST /v1/orders/{id}/webhooks/{event_id}/redeliver queues the event's
// delivery again, due now, whatever its status (202 with the delivery).
func (s *Server) redeliverWebhook(ctx *fasthttp.RequestCtx) error {
	id, _ := ctx.UserValue("id").(string)
	evt, _ := ctx.UserValue("event_id").(string)
	d, err := s.Orders.Redeliver(ctx, merchantOf(ctx).ID, id, evt)
	if err != nil {
		return err
	}
	if s.Webhooks != nil {
		s.Webhooks.Wake()
	}
	writeJSON(ctx, 202, d.View(nil))
	return nil
}
