package checkout

import "time"

// WebhookEvent is the body of a webhook request:
// {"id":"evt_…","type":…,"created_at":…,"data":{"order":{…},"payment":{…}}}. The order is the
// merchant's full view (metadata included) as it stood right after the event.
type WebhookEvent struct {
	ID        string      `json:"id"`
	Type      EventType   `json:"type"`
	CreatedAt time.Time   `json:"created_at"`
	Data      WebhookData `json:"data"`
}

// WebhookData is a webhook event's payload.
type WebhookData struct {
	Order   Order    `json:"order"`
	Payment *Payment `json:"payment,omitempty"` // the payment the event is about, if any
	// Previous is the deposit the order left, for order.network_changed.
	Previous *PreviousAddress `json:"previous,omitempty"`
	// Transfer is set, and Order empty, in a merchant-level event about a transfer
	// (transfer.unmatched); its body has no "order" (TransferWebhookEvent).
	Transfer *ReceivedTransfer `json:"transfer,omitempty"`
}

// TransferWebhookEvent is the body of a merchant-level webhook about a transfer rather than an
// order (transfer.unmatched): {"id","type","created_at","data":{"transfer":{…}}}. It decodes
// into WebhookEvent with Data.Transfer set.
type TransferWebhookEvent struct {
	ID        string    `json:"id"`
	Type      EventType `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      struct {
		Transfer ReceivedTransfer `json:"transfer"`
	} `json:"data"`
}

// TestWebhookEvent is the body of a webhook.test event:
// {"id":"evt_…","type":"webhook.test","created_at":…,"data":{"merchant_id":…,"order_id":…}}.
// It is signed like every webhook; order_id names the order whose page sent it (its webhooks
// go to the same endpoint) and is informational: the order did not change. It decodes into
// WebhookEvent with an empty Data.Order.
type TestWebhookEvent struct {
	ID        string    `json:"id"`
	Type      EventType `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      struct {
		MerchantID string `json:"merchant_id"`
		OrderID    string `json:"order_id,omitempty"`
	} `json:"data"`
}

// Webhook returns the event as a webhook body.
func (e *Event) Webhook() WebhookEvent {
	return WebhookEvent{ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt, Data: WebhookData{Order: e.Order, Payment: e.Payment, Previous: e.Previous}}
}

// DeliveryStatus is where the webhook delivery of one event stands.
type DeliveryStatus string

// The delivery statuses.
const (
	DeliveryPending   DeliveryStatus = "pending"   // queued or waiting for its next attempt
	DeliveryDelivered DeliveryStatus = "delivered" // the endpoint answered 2xx
	DeliveryFailed    DeliveryStatus = "failed"    // retried for the whole horizon (~3 days) without a 2xx
	DeliverySkipped   DeliveryStatus = "skipped"   // no webhook URL was configured when it was due
)

// WebhookDelivery is the delivery of one event to the merchant's webhook endpoint, as listed by
// GET /v1/orders/{id}/webhooks.
type WebhookDelivery struct {
	EventID        string           `json:"event_id"`
	Type           EventType        `json:"type"`
	CreatedAt      time.Time        `json:"created_at"`
	Status         DeliveryStatus   `json:"status"`
	Attempts       int              `json:"attempts"`
	NextAttemptAt  *time.Time       `json:"next_attempt_at"`
	DeliveredAt    *time.Time       `json:"delivered_at"`
	LastStatusCode int              `json:"last_status_code,omitempty"`
	LastError      string           `json:"last_error,omitempty"`
	AttemptLog     []WebhookAttempt `json:"attempt_log"`
}

// WebhookAttempt is one HTTP request of a delivery.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	URL        string    `json:"url"`
	StatusCode int       `json:"status_code,omitempty"` // 0: no HTTP response (see Error)
	LatencyMS  float64   `json:"latency_ms"`
	Error      string    `json:"error,omitempty"`
	// Response is the start of the endpoint's answer (at most ResponseExcerptMax bytes, cut
	// at a character boundary, control characters as U+FFFD), for telling what answered.
	Response string `json:"response,omitempty"`
}

// ResponseExcerptMax is how much of a webhook endpoint's answer an attempt keeps: an attempt
// log holds up to 25 attempts, so this bounds it to a few kilobytes.
const ResponseExcerptMax = 128
