package store

// Merchant-level webhooks (notices): events about no order, such as a transfer to a receive
// address that matched no order (transfer.unmatched). A notice is queued in a record of its
// own with the order outbox's layout (doc, merchant, w:EVT, a:EVT, and a queue beside it) and
// scheduled on the same schedule under its id, so the one dispatcher claims, signs, retries
// and logs it exactly like an order's events; only the body differs: it is stored (doc), as
// there is no order to rebuild it from. The record expires NoticeRetention after it is
// queued, well after the dispatcher's retry horizon.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
)

// NoticeRetention is how long a notice (its body, delivery record and attempt log) is kept:
// the dispatcher's three-day retry horizon plus margin.
const NoticeRetention = 7 * 24 * time.Hour

// noticePrefix starts every notice id; no order id does.
const noticePrefix = "ntc_"

// IsNoticeID reports whether an outbox id names a notice rather than an order.
func IsNoticeID(id string) bool { return strings.HasPrefix(id, noticePrefix) }

// TransferNoticeID is the notice id of a transfer's merchant-level event: one per transfer
// (network, tx hash, log index) and event type, so queueing it again is a no-op.
func TransferNoticeID(typ checkout.EventType, n checkout.Network, txHash string, logIndex uint) string {
	return noticePrefix + string(typ) + "_" + string(n) + "_" + txHash + "_" + strconv.FormatUint(uint64(logIndex), 10)
}

// outboxKeys are the record and queue keys of an outbox id (an order's or a notice's).
func (s *Store) outboxKeys(id string) (record, queue string) {
	if IsNoticeID(id) {
		return s.k.notice(id), s.k.noticeQueue(id)
	}
	return s.k.order(id), s.k.webhookQueue(id)
}

// QueueTransferNotice queues the merchant-level webhook event typ about the transfer r
// (eventID from ids.Event, at now) once per transfer and type: a second call for the same
// transfer changes nothing and reports queued=false. The notice is scheduled for dispatch.
func (s *Store) QueueTransferNotice(ctx context.Context, merchantID string, typ checkout.EventType, r *checkout.ReceivedTransfer, eventID string, now time.Time) (queued bool, err error) {
	id := TransferNoticeID(typ, r.Network, r.TxHash, r.LogIndex)
	ev := checkout.TransferWebhookEvent{ID: eventID, Type: typ, CreatedAt: now.UTC()}
	ev.Data.Transfer = *r
	body, err := json.Marshal(&ev)
	if err != nil {
		return false, fmt.Errorf("encode notice body: %w", err)
	}
	d, err := newDelivery(&checkout.Event{ID: eventID, Type: typ, CreatedAt: ev.CreatedAt})
	if err != nil {
		return false, err
	}
	res, err := noticeScript.Run(ctx, s.rdb, []string{s.k.notice(id), s.k.noticeQueue(id)},
		eventID, d, body, merchantID, NoticeRetention.Milliseconds()).Int64Slice()
	if err != nil {
		return false, fmt.Errorf("queue notice: %w", err)
	}
	if len(res) != 2 {
		return false, fmt.Errorf("queue notice: unexpected reply %v", res)
	}
	if res[1] > 0 {
		if err := s.ScheduleWebhooks(ctx, id, now); err != nil {
			return false, err
		}
	}
	return res[0] == 1, nil
}

// NoticeDeliveries returns the deliveries of a notice with their attempt logs (one event).
func (s *Store) NoticeDeliveries(ctx context.Context, id string) ([]checkout.WebhookDelivery, error) {
	list, _, err := s.outboxDeliveries(ctx, s.k.notice(id), id)
	return list, err
}
