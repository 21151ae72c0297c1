package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// The webhook outbox. Each order has, in its own hash, a record per webhook event (Delivery,
// field w:EVT) and its last attempts (field a:EVT), and in its slot the queue of its pending
// event ids in event order. A record does not hold the body it sends: the body is rebuilt from
// the event it delivers (see WebhookBody), the same bytes every attempt. Records are
// written by CommitOrder in the same script as the transition. Orders with pending deliveries
// are on one schedule (a sorted set); a dispatcher claims due orders from there for a lease
// (moving them to a claims set), so replicas never work on one order at once, and a crashed
// dispatcher's orders come due again when its lease ends.

// attemptLogMax is how many attempts of one delivery its log keeps (the newest): a delivery
// retried for the whole horizon makes about 20.
const attemptLogMax = 25

// Delivery is the stored state of one event's webhook delivery.
type Delivery struct {
	EventID        string                  `json:"event_id"`
	Type           checkout.EventType      `json:"type"`
	CreatedAt      time.Time               `json:"created_at"` // the event's time
	QueuedAt       time.Time               `json:"queued_at"`  // entered the queue (or was redelivered): retries run for a horizon from here
	Status         checkout.DeliveryStatus `json:"status"`
	Attempts       int                     `json:"attempts"`
	NextAttemptAt  time.Time               `json:"next_attempt_at"` // due at or after this
	DeliveredAt    *time.Time              `json:"delivered_at,omitempty"`
	LastStatusCode int                     `json:"last_status_code,omitempty"`
	LastError      string                  `json:"last_error,omitempty"`
	// Unreachable: the last attempt got no HTTP response. Later events of the order wait for
	// this one, so a reachable merchant receives an order's events in order.
	Unreachable bool  `json:"unreachable,omitempty"`
	Rev         int64 `json:"rev"` // bumped by every write; writes are compare-and-set on it
	// Seq is the number of the event delivered in its order (its e:N field).
	Seq int64 `json:"n,omitempty"`
	// Body is the exact bytes every attempt sends and signs: rebuilt from the event when the
	// delivery is read (PendingWebhooks), never stored (records written before the body was
	// rebuilt carry theirs, which is used as is).
	Body string `json:"body,omitempty"`
}

// WebhookBody is the body of the webhook of ev:
// {"id","type","created_at","data":{"order":{…},"payment":{…}}}, the order as it stood right
// after the event. It depends only on the event as stored, so every attempt sends the same bytes.
func WebhookBody(ev *checkout.Event) ([]byte, error) {
	body, err := json.Marshal(ev.Webhook())
	if err != nil {
		return nil, fmt.Errorf("encode webhook body of %s: %w", ev.ID, err)
	}
	return body, nil
}

// newDelivery encodes the pending delivery record of a webhook event (commit_order.lua adds
// the event's number).
func newDelivery(ev *checkout.Event) ([]byte, error) {
	d := Delivery{EventID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt, QueuedAt: ev.CreatedAt,
		Status: checkout.DeliveryPending, NextAttemptAt: ev.CreatedAt}
	b, err := json.Marshal(&d)
	if err != nil {
		return nil, fmt.Errorf("encode delivery of %s: %w", ev.ID, err)
	}
	return b, nil
}

// ScheduleWebhooks makes the order's next dispatch round due at the latest at `at` (it only
// ever moves a round earlier).
func (s *Store) ScheduleWebhooks(ctx context.Context, orderID string, at time.Time) error {
	err := s.rdb.ZAddLT(ctx, s.k.webhooksDue(), redis.Z{Score: float64(at.UnixMilli()), Member: orderID}).Err()
	return wrap("schedule webhooks", err)
}

// ensureWebhooksScheduled schedules the order now if its queue holds anything.
func (s *Store) ensureWebhooksScheduled(ctx context.Context, orderID string) error {
	n, err := s.rdb.LLen(ctx, s.k.webhookQueue(orderID)).Result()
	if err != nil {
		return wrap("webhook queue length", err)
	}
	if n == 0 {
		return nil
	}
	return s.ScheduleWebhooks(ctx, orderID, time.Now())
}

// WebhookClaim is a dispatcher's hold on an order's webhook round until its lease ends.
type WebhookClaim struct {
	OrderID string
	Until   int64 // unix ms: the end of the claim's lease
}

// ClaimDueWebhooks claims up to limit orders whose round is due at now, each for lease: no
// other dispatcher works on them until the claim is finished or its lease ends (the
// dispatcher died), when they are due again.
func (s *Store) ClaimDueWebhooks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]WebhookClaim, error) {
	until := now.Add(lease).UnixMilli()
	ids, err := claimDueScript.Run(ctx, s.rdb, []string{s.k.webhooksDue(), s.k.webhookClaims()},
		now.UnixMilli(), until, limit).StringSlice()
	if err != nil {
		return nil, wrap("claim due webhooks", err)
	}
	out := make([]WebhookClaim, len(ids))
	for i, id := range ids {
		out[i] = WebhookClaim{OrderID: id, Until: until}
	}
	return out, nil
}

// FinishClaim releases a claim, scheduling the order's next round at next (nil: none needed).
func (s *Store) FinishClaim(ctx context.Context, c WebhookClaim, next *time.Time) error {
	n := ""
	if next != nil {
		n = strconv.FormatInt(next.UnixMilli(), 10)
	}
	err := finishScript.Run(ctx, s.rdb, []string{s.k.webhooksDue(), s.k.webhookClaims()}, c.OrderID, c.Until, n).Err()
	return wrap("finish webhook claim", err)
}

// PendingWebhooks returns the order's pending deliveries, oldest event first, each with its
// body, and the order (nil when nothing is pending), in one round trip.
func (s *Store) PendingWebhooks(ctx context.Context, orderID string) (*Record, []Delivery, error) {
	record, queue := s.outboxKeys(orderID) // an order's, or a notice's (notices.go)
	res, err := queueScript.Run(ctx, s.rdb, []string{queue, record}).Slice()
	if err != nil {
		return nil, nil, wrap("read webhook queue", err)
	}
	if len(res) < 3 {
		return nil, nil, nil
	}
	doc, ok := res[0].(string)
	if !ok {
		return nil, nil, fmt.Errorf("order %s with pending webhooks: %w", orderID, ErrNotFound)
	}
	r := &Record{MerchantID: fmt.Sprint(res[1])}
	r.Version, _ = strconv.ParseInt(fmt.Sprint(res[2]), 10, 64)
	notice := IsNoticeID(orderID)
	if notice {
		r.Order.ID = orderID // no order: the stored doc is the notice's webhook body
	} else if r.Order, err = decodeOrder(orderID, []byte(doc)); err != nil {
		return nil, nil, err
	}
	out := make([]Delivery, 0, (len(res)-3)/2)
	for i := 3; i+1 < len(res); i += 2 {
		raw, ok := res[i].(string)
		if !ok {
			continue // queued id without a record: nothing to send
		}
		var d Delivery
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			return nil, nil, fmt.Errorf("decode webhook delivery of %s: %w", orderID, err)
		}
		if notice {
			d.Body = doc
		} else if d.Body == "" {
			body, err := deliveryBody(&r.Order, &d, res[i+1])
			if err != nil {
				return nil, nil, err
			}
			d.Body = string(body)
		}
		out = append(out, d)
	}
	return r, out, nil
}

// deliveryBody rebuilds a delivery's body from its stored event (ev, "ID RECORD"). An event
// no longer kept (an order past eventsKept events) is rebuilt from the order as it is now.
func deliveryBody(cur *checkout.Order, d *Delivery, ev any) ([]byte, error) {
	raw, ok := ev.(string)
	if !ok {
		e := checkout.Event{ID: d.EventID, Type: d.Type, CreatedAt: d.CreatedAt, Order: *cur}
		return WebhookBody(&e)
	}
	_, rec, _ := strings.Cut(raw, " ")
	e, err := decodeEvent(cur, []byte(rec))
	if err != nil {
		return nil, err
	}
	return WebhookBody(&e)
}

// SaveDelivery writes d (read at rev d.Rev, which it bumps) and logs attempt if not nil. It
// returns ErrConflict if the record changed since it was read (a redelivery request), and
// ErrNotFound if there is no such record.
func (s *Store) SaveDelivery(ctx context.Context, orderID string, d *Delivery, attempt *checkout.WebhookAttempt) error {
	return s.saveDelivery(ctx, orderID, d, attempt, false)
}

func (s *Store) saveDelivery(ctx context.Context, orderID string, d *Delivery, attempt *checkout.WebhookAttempt, requeue bool) error {
	expected := d.Rev
	next := *d
	next.Rev++
	next.Body = "" // rebuilt on read
	rec, err := json.Marshal(&next)
	if err != nil {
		return fmt.Errorf("encode webhook delivery: %w", err)
	}
	var att []byte
	if attempt != nil {
		if att, err = json.Marshal(attempt); err != nil {
			return fmt.Errorf("encode webhook attempt: %w", err)
		}
	}
	rq := "0"
	if requeue {
		rq = "1"
	}
	record, queue := s.outboxKeys(orderID)
	n, err := saveScript.Run(ctx, s.rdb, []string{record, queue},
		d.EventID, expected, rec, string(d.Status), att, rq, attemptLogMax).Int()
	if err != nil {
		return wrap("save webhook delivery", err)
	}
	switch n {
	case -1:
		return fmt.Errorf("webhook delivery %s: %w", d.EventID, ErrNotFound)
	case 0:
		return fmt.Errorf("webhook delivery %s: %w", d.EventID, ErrConflict)
	}
	d.Rev = next.Rev
	s.countWebhook(ctx, record, d.EventID, next.Rev, next.Status, attempt, time.Now()) // dashboard_figures.go
	return nil
}

// Webhooks returns every webhook delivery of the order with its attempt log, oldest event
// first.
func (s *Store) Webhooks(ctx context.Context, orderID string) ([]checkout.WebhookDelivery, error) {
	list, _, err := s.WebhookList(ctx, orderID)
	return list, err
}

// WebhookList is Webhooks with the time retention last trimmed the order's finished
// deliveries (nil when it never did; see TrimOrder): the list then holds only those still
// pending.
func (s *Store) WebhookList(ctx context.Context, orderID string) ([]checkout.WebhookDelivery, *time.Time, error) {
	return s.outboxDeliveries(ctx, s.k.order(orderID), orderID)
}

// outboxDeliveries reads the delivery records and logs kept in the hash key (an order's or a
// notice's), with the time retention trimmed them (nil when it never did).
func (s *Store) outboxDeliveries(ctx context.Context, key, orderID string) ([]checkout.WebhookDelivery, *time.Time, error) {
	// The order's one hash holds its records and logs; it is a few kilobytes at most.
	fields, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, nil, wrap("read webhooks", err)
	}
	var trimmed *time.Time
	if ms, ok := msField(fields[trimmedField]); ok {
		t := time.UnixMilli(ms).UTC()
		trimmed = &t
	}
	out := []checkout.WebhookDelivery{}
	for f, raw := range fields {
		evt, ok := strings.CutPrefix(f, "w:")
		if !ok {
			continue
		}
		var d Delivery
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			return nil, nil, fmt.Errorf("decode webhook delivery of %s: %w", orderID, err)
		}
		var attempts []checkout.WebhookAttempt
		for _, line := range strings.Split(fields["a:"+evt], "\n") {
			var a checkout.WebhookAttempt
			if line != "" && json.Unmarshal([]byte(line), &a) == nil {
				attempts = append(attempts, a)
			}
		}
		out = append(out, d.View(attempts))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].EventID < out[j].EventID
	})
	return out, trimmed, nil
}

// View is the delivery as the API lists it.
func (d *Delivery) View(attempts []checkout.WebhookAttempt) checkout.WebhookDelivery {
	v := checkout.WebhookDelivery{EventID: d.EventID, Type: d.Type, CreatedAt: d.CreatedAt, Status: d.Status,
		Attempts: d.Attempts, DeliveredAt: d.DeliveredAt, LastStatusCode: d.LastStatusCode,
		LastError: d.LastError, AttemptLog: attempts}
	if v.AttemptLog == nil {
		v.AttemptLog = []checkout.WebhookAttempt{}
	}
	if d.Status == checkout.DeliveryPending {
		next := d.NextAttemptAt
		v.NextAttemptAt = &next
	}
	return v
}

// Redeliver queues the order's delivery of eventID again, due now, whatever its status; its
// retry horizon starts again. It returns ErrNotFound if the order has no such delivery.
func (s *Store) Redeliver(ctx context.Context, orderID, eventID string, now time.Time) (*Delivery, error) {
	for attempt := 0; attempt < 5; attempt++ {
		raw, err := s.rdb.HGet(ctx, s.k.order(orderID), "w:"+eventID).Result()
		if errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("webhook delivery %s: %w", eventID, ErrNotFound)
		}
		if err != nil {
			return nil, wrap("read webhook delivery", err)
		}
		var d Delivery
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			return nil, fmt.Errorf("decode webhook delivery %s: %w", eventID, err)
		}
		d.Status, d.QueuedAt, d.NextAttemptAt, d.Unreachable = checkout.DeliveryPending, now, now, false
		err = s.saveDelivery(ctx, orderID, &d, nil, true)
		if errors.Is(err, ErrConflict) {
			continue // a dispatcher wrote it meanwhile: read again
		}
		if err != nil {
			return nil, err
		}
		if err := s.ScheduleWebhooks(ctx, orderID, now); err != nil {
			return nil, err
		}
		return &d, nil
	}
	return nil, fmt.Errorf("webhook delivery %s: %w", eventID, ErrConflict)
}

// WebhookBacklog returns how many orders have webhook deliveries waiting (queued, scheduled
// for a retry, or being worked on), for metrics.
func (s *Store) WebhookBacklog(ctx context.Context) (int64, error) {
	n, err := backlogScript.Run(ctx, s.rdb, []string{s.k.webhooksDue(), s.k.webhookClaims()}).Int64()
	return n, wrap("webhook backlog", err)
}
