package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client/webhook"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/store"
)

// Defaults of Dispatcher's fields.
const (
	DefaultWorkers     = 32
	DefaultPerMerchant = 4
	DefaultLease       = 2 * time.Minute
	DefaultPoll        = 250 * time.Millisecond
	// maxBodyRead caps how much of a response is read (and then discarded): enough to keep
	// the connection reusable for small answers, never a way to make the edge buffer much.
	maxBodyRead = 64 << 10
	// busyRetry is (with up to as much jitter) when an order is looked at again whose merchant
	// is at its concurrency cap with enough claims already waiting.
	busyRetry = time.Second
	// maxParked caps the claims of one merchant waiting in memory for a slot (see acquire).
	maxParked = 1024
	// errorRetry is when a round that failed on Redis is tried again.
	errorRetry = 5 * time.Second
)

// Store is what the dispatcher needs of the edge's store.
type Store interface {
	ClaimDueWebhooks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.WebhookClaim, error)
	FinishClaim(ctx context.Context, c store.WebhookClaim, next *time.Time) error
	PendingWebhooks(ctx context.Context, orderID string) (*store.Record, []store.Delivery, error)
	SaveDelivery(ctx context.Context, orderID string, d *store.Delivery, attempt *checkout.WebhookAttempt) error
	Merchant(ctx context.Context, id string) (*checkout.Merchant, error)
}

// Dispatcher delivers the webhook outbox. Every edge replica runs one: orders with pending
// deliveries are claimed from a shared schedule for a lease, so replicas share the work and a
// crashed replica's orders come due again when its lease ends. Delivery is at least once: an
// attempt whose outcome was not recorded (a crash mid-request) is made again.
//
// An order's events go out in order: a delivery that got no HTTP response holds back the
// order's later events until it is answered (a new event brings its retry forward), so a
// reachable merchant receives them in order. A non-2xx answer holds nothing back: the
// merchant got the event and will get it again.
type Dispatcher struct {
	Store  Store
	Client *http.Client // default NewClient(false, Timeout): private addresses refused
	// Timeout bounds one attempt (connect to last byte read); default DefaultTimeout.
	Timeout time.Duration
	Backoff Backoff
	// Workers is how many orders are worked on at once per process; default DefaultWorkers.
	Workers int
	// PerMerchant caps the orders of one merchant worked on at once per process, so a dead
	// endpoint (every attempt waits for Timeout) cannot take every worker; default
	// DefaultPerMerchant.
	PerMerchant int
	// Lease is how long a claimed order is this dispatcher's; default DefaultLease. A round
	// starts no attempt after half of it has passed.
	Lease time.Duration
	// Poll is how often the schedule is read when nothing wakes the dispatcher; default DefaultPoll.
	Poll time.Duration
	// MaxPerRound caps attempts in one round of one order; default 10.
	MaxPerRound int
	Now         func() time.Time // default time.Now
	Rand        func() float64   // jitter source in [0,1); default math/rand/v2
	Log         *slog.Logger
	// OnAttempt, if set, is told of every recorded attempt, and of a delivery skipped for
	// want of a URL (attempt nil); for metrics.
	OnAttempt func(d *store.Delivery, a *checkout.WebhookAttempt)

	wake    chan struct{}
	freed   chan struct{} // a round ended: Run may claim more
	bounces atomic.Int64  // claims sent back because their merchant had no slot
	once    sync.Once
	mu      sync.Mutex
	slots   map[string]*slots // per merchant
	cache   map[string]cachedMerchant
}

// Backoff is the retry schedule: the n-th retry waits Base·2^(n-1), at most Max, each delay
// varied by ±Jitter; no retry is scheduled later than Horizon after the event was queued, and
// the delivery is then failed.
type Backoff struct {
	Base    time.Duration // default 30 s
	Max     time.Duration // default 6 h
	Horizon time.Duration // default 72 h (Stripe's and Coinbase's three days)
	Jitter  float64       // fraction, default 0.1; negative: none
}

// Delay is the wait after the attempts-th failed attempt, for r in [0,1).
func (b Backoff) Delay(attempts int, r float64) time.Duration {
	b = b.withDefaults()
	d := b.Base
	for i := 1; i < attempts && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return time.Duration(float64(d) * (1 + b.Jitter*(2*r-1)))
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = 30 * time.Second
	}
	if b.Max <= 0 {
		b.Max = 6 * time.Hour
	}
	if b.Horizon <= 0 {
		b.Horizon = 72 * time.Hour
	}
	if b.Jitter < 0 || b.Jitter >= 1 {
		b.Jitter = 0
	} else if b.Jitter == 0 {
		b.Jitter = 0.1
	}
	return b
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		if d.Timeout <= 0 {
			d.Timeout = DefaultTimeout
		}
		if d.Client == nil {
			d.Client = NewClient(false, d.Timeout)
		}
		d.Backoff = d.Backoff.withDefaults()
		if d.Workers <= 0 {
			d.Workers = DefaultWorkers
		}
		if d.PerMerchant <= 0 {
			d.PerMerchant = DefaultPerMerchant
		}
		if d.Lease <= 0 {
			d.Lease = DefaultLease
		}
		if d.Poll <= 0 {
			d.Poll = DefaultPoll
		}
		if d.MaxPerRound <= 0 {
			d.MaxPerRound = 10
		}
		if d.Now == nil {
			d.Now = time.Now
		}
		if d.Rand == nil {
			d.Rand = rand.Float64
		}
		if d.Log == nil {
			d.Log = slog.Default()
		}
		d.wake = make(chan struct{}, 1)
		d.freed = make(chan struct{}, 1)
		d.slots = map[string]*slots{}
		d.cache = map[string]cachedMerchant{}
	})
}

// Wake makes Run look at the schedule now (new events were queued). It never blocks.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Observe wakes the dispatcher when a change read from the change feed (written by any
// replica; the process's one reader is edge/changes) carries an event merchants get by
// webhook. It never blocks.
func (d *Dispatcher) Observe(c store.Change) {
	for _, e := range c.Events {
		if e.Type.Webhook() {
			d.Wake()
			return
		}
	}
}

// Run dispatches until ctx is done, then waits for the rounds in flight (an interrupted
// attempt is not recorded; its order comes due again at once).
func (d *Dispatcher) Run(ctx context.Context) error {
	d.init()
	sem := make(chan struct{}, d.Workers)
	var wg sync.WaitGroup
	defer d.releaseParked()
	defer wg.Wait()
	poll := time.NewTimer(d.Poll)
	defer poll.Stop()
	var bounced int64 // d.bounces when last looked at
	for ctx.Err() == nil {
		free := d.Workers - len(sem)
		if free > 0 {
			claims, err := d.Store.ClaimDueWebhooks(ctx, d.Now(), d.Lease, free)
			if err != nil && ctx.Err() == nil {
				d.Log.Error("webhook: cannot read the schedule", "err", err)
			}
			for _, c := range claims {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.Round(ctx, c)
					<-sem
					d.roundEnded()
				}()
			}
			if len(claims) < free {
				free = -1 // nothing more is due: wait for a wake-up or the poll
			}
		}
		// Every worker busy, or more may be due: go on when a round ends, unless claims were
		// just sent back for want of a merchant slot (claiming at once would only bounce more).
		var workerDone chan struct{}
		if b := d.bounces.Load(); b != bounced {
			bounced = b
		} else if free >= 0 {
			workerDone = d.freed
		}
		poll.Reset(d.Poll)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-poll.C:
		case <-workerDone:
		}
	}
	return nil
}

// Round works on one claimed order: it makes the attempts that are due, records them, and
// releases the claim with the order's next round time. If the order's merchant already has
// PerMerchant rounds running here, the claim waits in memory for one of them to end (which
// then runs it), so a merchant's orders flow at its cap without holding more workers.
func (d *Dispatcher) Round(ctx context.Context, c store.WebhookClaim) {
	d.init()
	slot := "" // the merchant whose slot c holds (handed over by a round that ended)
	for {
		held, next, err, parked := d.round(ctx, c, slot)
		if parked {
			return
		}
		d.finish(ctx, c, next, err)
		d.roundEnded()
		if held == "" {
			return
		}
		var ok bool
		if c, ok = d.handOver(held); !ok {
			return
		}
		slot = held
	}
}

// finish releases the claim c after a round.
func (d *Dispatcher) finish(ctx context.Context, c store.WebhookClaim, next *time.Time, err error) {
	if ctx.Err() != nil {
		now := d.Now() // interrupted: let another dispatcher (or the next start) take it at once
		next, err = &now, nil
	}
	if err != nil {
		d.Log.Error("webhook: round failed", "order_id", c.OrderID, "err", err)
		retry := d.Now().Add(errorRetry)
		next = &retry
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.Store.FinishClaim(fctx, c, next); err != nil {
		// The claim ends with its lease; the order comes due then.
		d.Log.Error("webhook: cannot release claim", "order_id", c.OrderID, "err", err)
	}
}

// round works on the claimed order. It returns the merchant whose slot it holds at the end
// ("" if none; the caller hands the slot over), or parked if the claim now waits for one.
func (d *Dispatcher) round(ctx context.Context, c store.WebhookClaim, slot string) (held string, next *time.Time, err error, parked bool) {
	rec, pend, err := d.Store.PendingWebhooks(ctx, c.OrderID)
	if err != nil || len(pend) == 0 {
		return slot, nil, err, false
	}
	m, err := d.merchant(ctx, rec.MerchantID)
	if err != nil {
		return slot, nil, fmt.Errorf("merchant of %s: %w", c.OrderID, err), false
	}
	if slot == "" {
		switch d.acquire(m.ID, c) {
		case parkedSlot:
			return "", nil, nil, true
		case busy:
			d.bounces.Add(1)
			t := d.Now().Add(busyRetry + time.Duration(d.Rand()*float64(busyRetry))) // spread out
			return "", &t, nil, false
		}
		slot = m.ID
	}
	next, err = d.deliver(ctx, c.OrderID, &rec.Order, m, pend)
	return slot, next, err, false
}

// deliver makes the order's due attempts, in order, and returns when its next round is due.
func (d *Dispatcher) deliver(ctx context.Context, orderID string, o *checkout.Order, m *checkout.Merchant, pend []store.Delivery) (*time.Time, error) {
	target := Target(o, m)

	start := d.Now()
	// laterDue[i]: a delivery after i is due by its own time; an unreachable i then goes
	// first, early, rather than hold the new event back for its whole backoff.
	laterDue := make([]bool, len(pend))
	for i := len(pend) - 2; i >= 0; i-- {
		laterDue[i] = laterDue[i+1] || !pend[i+1].NextAttemptAt.After(start)
	}
	var next *time.Time
	later := func(t time.Time) {
		if next == nil || t.Before(*next) {
			next = &t
		}
	}
	made := 0
	for i := range pend {
		dl := &pend[i]
		now := d.Now()
		due := !dl.NextAttemptAt.After(now) || (dl.Unreachable && laterDue[i])
		if due && (made >= d.MaxPerRound || now.Sub(start) > d.Lease/2) {
			later(now) // out of budget for this round: the next one continues at once
			return next, nil
		}
		if due {
			made++
			err := d.attempt(ctx, orderID, target, m, dl)
			if errors.Is(err, errChanged) {
				later(now) // a redelivery was asked for meanwhile: the next round reads it
				return next, nil
			}
			if err != nil {
				return next, err
			}
			if ctx.Err() != nil {
				return next, nil
			}
		}
		if dl.Status != checkout.DeliveryPending {
			continue
		}
		later(dl.NextAttemptAt)
		if dl.Unreachable {
			return next, nil // the later events wait for this one
		}
	}
	return next, nil
}

// attempt sends dl once and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, orderID, target string, m *checkout.Merchant, dl *store.Delivery) error {
	now := d.Now()
	a := checkout.WebhookAttempt{At: now.UTC(), URL: target}
	reachable := false
	if target == "" {
		dl.Status, dl.LastError = checkout.DeliverySkipped, "no webhook URL configured (order webhook_url or the merchant's default)"
		dl.NextAttemptAt = now
		return d.save(ctx, orderID, m, dl, nil)
	}
	code, excerpt, err := d.post(ctx, target, m.WebhookSecrets(now), dl, now)
	a.LatencyMS = float64(d.Now().Sub(now).Microseconds()) / 1000
	a.Response = excerpt
	if ctx.Err() != nil {
		return nil // shutting down: this attempt did not finish and is not recorded
	}
	dl.Attempts++
	a.StatusCode, dl.LastStatusCode = code, code
	switch {
	case err != nil:
		a.Error = err.Error()
	case code < 200 || code > 299:
		a.Error = "HTTP " + strconv.Itoa(code)
		reachable = true
	}
	dl.LastError = a.Error
	if a.Error == "" {
		at := now.UTC()
		dl.Status, dl.DeliveredAt, dl.Unreachable = checkout.DeliveryDelivered, &at, false
	} else {
		dl.NextAttemptAt = now.Add(d.Backoff.Delay(dl.Attempts, d.Rand()))
		dl.Unreachable = !reachable
		if dl.NextAttemptAt.After(dl.QueuedAt.Add(d.Backoff.Horizon)) {
			dl.Status = checkout.DeliveryFailed
		}
	}
	return d.save(ctx, orderID, m, dl, &a)
}

// Target is where an order's webhooks go, resolved at send time: the order's own webhook_url
// (an explicit override given at creation), else the merchant's current default ("" if
// neither is set). Orders do not store the default, so changing it reaches pending retries.
func Target(o *checkout.Order, m *checkout.Merchant) string {
	if o.WebhookURL != "" {
		return o.WebhookURL
	}
	return m.WebhookURL
}

// errChanged: the delivery record changed during the attempt (a redelivery request); its
// state stands, and the attempt is in the log.
var errChanged = errors.New("webhook delivery changed during the attempt")

func (d *Dispatcher) save(ctx context.Context, orderID string, m *checkout.Merchant, dl *store.Delivery, a *checkout.WebhookAttempt) error {
	err := d.Store.SaveDelivery(context.WithoutCancel(ctx), orderID, dl, a)
	if errors.Is(err, store.ErrConflict) {
		return errChanged
	}
	if err != nil {
		return err
	}
	if d.OnAttempt != nil {
		d.OnAttempt(dl, a)
	}
	lvl, msg := slog.LevelInfo, "webhook delivered"
	switch {
	case dl.Status == checkout.DeliverySkipped:
		msg = "webhook skipped: no URL"
	case dl.Status == checkout.DeliveryFailed:
		lvl, msg = slog.LevelError, "webhook failed: retries exhausted"
	case a != nil && a.Error != "":
		lvl, msg = slog.LevelWarn, "webhook attempt failed"
	}
	attrs := []any{"order_id", orderID, "merchant_id", m.ID, "event_id", dl.EventID, "type", dl.Type, "attempts", dl.Attempts}
	if a != nil {
		attrs = append(attrs, "host", hostOf(a.URL), "status", a.StatusCode, "latency_ms", a.LatencyMS)
		if a.Error != "" {
			attrs = append(attrs, "err", a.Error, "next_attempt_at", dl.NextAttemptAt)
		}
	}
	d.Log.Log(ctx, lvl, msg, attrs...)
	return nil
}

// post sends the delivery's body, signed at now, and reads (a bounded part of) the answer,
// returning its status code and the start of its body (Excerpt).
func (d *Dispatcher) post(ctx context.Context, target string, secrets []string, dl *store.Delivery, now time.Time) (int, string, error) {
	actx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	body := []byte(dl.Body)
	req, err := http.NewRequestWithContext(actx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("bad webhook URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "MP-Checkout-Webhooks/1")
	req.Header.Set(webhook.Header, webhook.Sign(body, now, secrets...))
	req.Header.Set("MP-Event-Id", dl.EventID)
	req.Header.Set("MP-Event-Type", string(dl.Type))
	req.Header.Set("MP-Delivery-Attempt", strconv.Itoa(dl.Attempts+1))
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, "", describe(err)
	}
	defer resp.Body.Close()
	head := make([]byte, checkout.ResponseExcerptMax)
	n, _ := io.ReadFull(resp.Body, head)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyRead))
	return resp.StatusCode, Excerpt(head[:n]), nil
}

// Excerpt is b (the start of an answer) as text safe to store and show: cut to
// checkout.ResponseExcerptMax bytes at a character boundary, invalid UTF-8 and control
// characters (but tab) replaced by U+FFFD, line breaks by spaces, surrounding space trimmed.
func Excerpt(b []byte) string {
	if len(b) > checkout.ResponseExcerptMax {
		b = b[:checkout.ResponseExcerptMax]
	}
	var out strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 && !utf8.FullRune(b) {
			break // a character cut by the limit
		}
		b = b[size:]
		switch {
		case r == '\n' || r == '\r':
			r = ' '
		case r == utf8.RuneError || r != '\t' && unicode.IsControl(r):
			r = utf8.RuneError
		}
		if out.Len()+utf8.RuneLen(r) > checkout.ResponseExcerptMax {
			break
		}
		out.WriteRune(r)
	}
	return strings.TrimSpace(out.String())
}

// SendTest sends one signed webhook.test event (checkout.TestWebhookEvent) to target for the
// merchant, with the dispatcher's client (so its address rules), timeout and headers, and
// returns the attempt: status code, latency, the answer's start or the error. Nothing is
// queued or retried; the caller keeps the result. orderID, if set, is named in the body.
func (d *Dispatcher) SendTest(ctx context.Context, m *checkout.Merchant, target, orderID string) (*checkout.WebhookAttempt, error) {
	d.init()
	now := d.Now()
	ev := checkout.TestWebhookEvent{ID: ids.Event(), Type: checkout.EventWebhookTest, CreatedAt: now.UTC().Truncate(time.Second)}
	ev.Data.MerchantID, ev.Data.OrderID = m.ID, orderID
	body, err := json.Marshal(&ev)
	if err != nil {
		return nil, fmt.Errorf("encode test webhook: %w", err)
	}
	a := &checkout.WebhookAttempt{At: now.UTC(), URL: target}
	if target == "" {
		a.Error = "no webhook URL configured (order webhook_url or the merchant's default)"
		return a, nil
	}
	dl := &store.Delivery{EventID: ev.ID, Type: ev.Type, Body: string(body)}
	code, excerpt, err := d.post(ctx, target, m.WebhookSecrets(now), dl, now)
	a.LatencyMS = float64(d.Now().Sub(now).Microseconds()) / 1000
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	a.StatusCode, a.Response = code, excerpt
	switch {
	case err != nil:
		a.Error = err.Error()
	case code < 200 || code > 299:
		a.Error = "HTTP " + strconv.Itoa(code)
	}
	d.Log.Info("test webhook sent", "merchant_id", m.ID, "event_id", ev.ID, "host", hostOf(target), "status", code, "latency_ms", a.LatencyMS)
	return a, nil
}

// describe turns a transport error into the short text shown to the merchant (without the
// URL, which the attempt already names).
func describe(err error) error {
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return errors.New("webhook URL resolves to a loopback, private or reserved address (refused)")
	case errors.Is(err, context.DeadlineExceeded):
		return errors.New("timed out")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timed out")
		}
		return ue.Err
	}
	return err
}

// The outcomes of acquire.
const (
	acquired = iota
	parkedSlot
	busy
)

// acquire takes one of the merchant's slots for claim c, or parks c until a round of the
// merchant ends, or reports busy. Up to maxParked claims of one merchant may wait: a healthy
// endpoint drains them at its cap's pace; for a dead one they go back to the schedule after
// half a lease (handOver), so waiting costs memory only, bounded.
func (d *Dispatcher) acquire(merchantID string, c store.WebhookClaim) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.slots[merchantID]
	if s == nil {
		s = &slots{}
		d.slots[merchantID] = s
	}
	switch {
	case s.active < d.PerMerchant:
		s.active++
		return acquired
	case len(s.waiting) < maxParked:
		s.waiting = append(s.waiting, c)
		return parkedSlot
	}
	return busy
}

// handOver gives the slot of a round that ended to the merchant's oldest waiting claim, or
// frees it. A waiting claim that waited past half its lease is released to the schedule
// instead (due now), so it is not worked on near the end of its lease.
func (d *Dispatcher) handOver(merchantID string) (store.WebhookClaim, bool) {
	for {
		d.mu.Lock()
		s := d.slots[merchantID]
		if len(s.waiting) == 0 {
			if s.active--; s.active <= 0 {
				delete(d.slots, merchantID)
			}
			d.mu.Unlock()
			return store.WebhookClaim{}, false
		}
		c := s.waiting[0]
		s.waiting = s.waiting[1:]
		d.mu.Unlock()
		if d.Now().Before(time.UnixMilli(c.Until).Add(-d.Lease / 2)) {
			return c, true
		}
		now := d.Now()
		d.finish(context.Background(), c, &now, nil)
	}
}

// merchantCacheTTL bounds how stale a merchant's webhook URL and secrets may be.
const merchantCacheTTL = time.Second

type cachedMerchant struct {
	m  *checkout.Merchant
	at time.Time
}

// merchant reads a merchant, cached for merchantCacheTTL (a round of a busy merchant's
// orders would otherwise read it every time).
func (d *Dispatcher) merchant(ctx context.Context, id string) (*checkout.Merchant, error) {
	d.mu.Lock()
	c, ok := d.cache[id]
	d.mu.Unlock()
	if age := d.Now().Sub(c.at); ok && age >= 0 && age < merchantCacheTTL { // the dispatcher's clock
		return c.m, nil
	}
	m, err := d.Store.Merchant(ctx, id)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if len(d.cache) > 10_000 {
		clear(d.cache) // bounded: the cache only saves reads
	}
	d.cache[id] = cachedMerchant{m, d.Now()}
	d.mu.Unlock()
	return m, nil
}

// roundEnded tells Run that it may claim more.
func (d *Dispatcher) roundEnded() {
	select {
	case d.freed <- struct{}{}:
	default:
	}
}

// releaseParked returns every parked claim to the schedule, due now (at shutdown).
func (d *Dispatcher) releaseParked() {
	d.mu.Lock()
	var parked []store.WebhookClaim
	for id, s := range d.slots {
		parked = append(parked, s.waiting...)
		delete(d.slots, id)
	}
	d.mu.Unlock()
	for _, c := range parked {
		now := d.Now()
		d.finish(context.Background(), c, &now, nil)
	}
}

// slots are one merchant's rounds running here and the claims waiting for one to end.
type slots struct {
	active  int
	waiting []store.WebhookClaim
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
