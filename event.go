package checkout

import "time"

// EventType names an order event. Events are appended to the order's event stream in the same
// atomic step as the change they describe; SSE streams and webhooks are read from there.
type EventType string

// The event types. Webhooks carry every type but order.created and payment.updated, which exist
// for live views (SSE).
const (
	EventOrderCreated     EventType = "order.created"     // the order exists (first SSE state)
	EventPaymentDetected  EventType = "payment.detected"  // a transfer was seen: CONFIRMING
	EventPaymentUpdated   EventType = "payment.updated"   // a payment's confirmation count grew
	EventPaymentReverted  EventType = "payment.reverted"  // a reorg removed an unconfirmed transfer
	EventPaymentConfirmed EventType = "payment.confirmed" // the order is PAID
	EventPaymentPartial   EventType = "payment.partial"   // a transfer confirmed, total still short
	EventPaymentLate      EventType = "payment.late"      // funds confirmed after a terminal status
	EventOrderExpired     EventType = "order.expired"     // expired with nothing received
	EventOrderUnderpaid   EventType = "order.underpaid"   // expired with less than the bound
	EventOrderFrozen      EventType = "order.frozen"      // funds held for review
	EventOrderCanceled    EventType = "order.canceled"    // the merchant canceled it
	// A claim by tx hash (addresses mode), accepted or refused; the payment names the
	// transfer claimed and Note says why a claim was refused. Recorded for the order's
	// history, not sent as webhooks (the payment events that follow are).
	EventClaimAccepted EventType = "claim.accepted"
	EventClaimRefused  EventType = "claim.refused"
	// The customer moved the order to another network on the checkout; Previous names the
	// deposit address left behind (still watched: funds sent there are late funds).
	EventOrderNetworkChanged EventType = "order.network_changed"
	// EventTransferUnmatched is a merchant-level webhook, about no order: a transfer to one
	// of the merchant's receive addresses (addresses mode) matched no order. Its body
	// carries the transfer (WebhookData.Transfer), not an order; the transfer stays
	// listed by GET /v1/transfers?status=unmatched until it is claimed.
	EventTransferUnmatched EventType = "transfer.unmatched"
	// EventWebhookTest is a merchant-level webhook sent only on request (the dashboard's "send
	// a test event"), to check an endpoint and its signature check: it is about no order and
	// changes nothing (TestWebhookEvent). It is sent once, never queued or retried.
	EventWebhookTest EventType = "webhook.test"
)

// Webhook reports whether events of this type are delivered to the merchant's webhook.
func (t EventType) Webhook() bool {
	return t != EventOrderCreated && t != EventPaymentUpdated && t != EventClaimAccepted && t != EventClaimRefused
}

// Event is one entry of an order's event stream: what happened and the order right after it.
type Event struct {
	ID        string    `json:"id"` // "evt_" + ULID
	Type      EventType `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Order     Order     `json:"order"`
	Payment   *Payment  `json:"payment,omitempty"` // the payment the event is about, if any
	Note      string    `json:"note,omitempty"`    // why, for a refused claim
	// Previous is the deposit the order left, for order.network_changed.
	Previous *PreviousAddress `json:"previous,omitempty"`
}
