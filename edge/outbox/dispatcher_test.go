package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client/webhook"
	"github.com/mpchat/checkout/edge/ids"
	"github.com/mpchat/checkout/edge/outbox"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/redistest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	redistest.StopShared()
	os.Exit(code)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// received is one request a receiver got.
type received struct {
	body   []byte
	header http.Header
}

// receiver is a real HTTP endpoint on loopback; answer decides each response's status.
type receiver struct {
	mu     sync.Mutex
	got    []received
	answer func(n int, r *http.Request) int
	srv    *httptest.Server
	ch     chan received
}

func newReceiver(t *testing.T, answer func(n int, r *http.Request) int) *receiver {
	rc := &receiver{answer: answer, ch: make(chan received, 1000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, received{b, r.Header.Clone()})
		rc.mu.Unlock()
		status := 200
		if rc.answer != nil {
			status = rc.answer(n, r)
		}
		w.WriteHeader(status)
		rc.ch <- received{b, r.Header.Clone()}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) count() int { rc.mu.Lock(); defer rc.mu.Unlock(); return len(rc.got) }

func (rc *receiver) events(t *testing.T) []checkout.WebhookEvent {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]checkout.WebhookEvent, len(rc.got))
	for i, g := range rc.got {
		if err := json.Unmarshal(g.body, &out[i]); err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
	}
	return out
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	clock *clock
	m     *checkout.Merchant
}

// t0 is the fake clock's start. It is the wall clock at start-up because Announce schedules at
// the wall clock.
var t0 = time.Now().UTC().Truncate(time.Millisecond)

func newFixture(t *testing.T, webhookURL string) *fixture {
	t.Helper()
	srv := redistest.Shared(t)
	st := store.New(srv.Client(t), redistest.Prefix())
	ctx := context.Background()
	m := &checkout.Merchant{ID: ids.Merchant(), Name: "acme", WebhookURL: webhookURL, WebhookSecret: "whsec_test_current"}
	if err := st.PutMerchant(ctx, m); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: ctx, st: st, clock: &clock{t: t0}, m: m}
}

func (f *fixture) merchant(webhookURL string) *checkout.Merchant {
	f.t.Helper()
	m := &checkout.Merchant{ID: ids.Merchant(), Name: "other", WebhookURL: webhookURL, WebhookSecret: "whsec_other"}
	if err := f.st.PutMerchant(f.ctx, m); err != nil {
		f.t.Fatal(err)
	}
	return m
}

// order creates an order of m and commits transitions of the given types to it, each in its
// own commit, as settlement would.
func (f *fixture) order(m *checkout.Merchant, types ...checkout.EventType) string {
	f.t.Helper()
	o := &checkout.Order{ID: ids.Order(), Status: checkout.StatusPending, Amount: 10_000_000, Currency: "USDT",
		Network: checkout.ERC20, Address: "0x" + ids.New("a")[2:], Metadata: map[string]string{"cart": "c-42"},
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	created := checkout.Event{ID: ids.Event(), Type: checkout.EventOrderCreated, CreatedAt: t0, Order: *o}
	if _, _, err := f.st.CreateOrder(f.ctx, o, m.ID, &created); err != nil {
		f.t.Fatal(err)
	}
	for _, typ := range types {
		f.commit(o.ID, typ)
	}
	return o.ID
}

func (f *fixture) commit(orderID string, typ checkout.EventType) string {
	f.t.Helper()
	rec, err := f.st.Order(f.ctx, orderID)
	if err != nil {
		f.t.Fatal(err)
	}
	if typ == checkout.EventPaymentConfirmed {
		rec.Order.Status = checkout.StatusPaid
	}
	ev := checkout.Event{ID: ids.Event(), Type: typ, CreatedAt: f.clock.Now(), Order: rec.Order}
	if _, err := f.st.CommitOrder(f.ctx, rec, []checkout.Event{ev}); err != nil {
		f.t.Fatal(err)
	}
	return ev.ID
}

func (f *fixture) dispatcher() *outbox.Dispatcher {
	return &outbox.Dispatcher{Store: f.st, Client: outbox.NewClient(true, 2*time.Second), Timeout: 2 * time.Second,
		Now: f.clock.Now, Rand: func() float64 { return 0.5 }, Lease: time.Minute, Log: slog.New(slog.DiscardHandler)}
}

// rounds claims what is due at the fixture's clock and works on it, like Run does.
func (f *fixture) rounds(d *outbox.Dispatcher) int {
	f.t.Helper()
	claims, err := f.st.ClaimDueWebhooks(f.ctx, f.clock.Now(), time.Minute, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range claims {
		d.Round(f.ctx, c)
	}
	return len(claims)
}

func (f *fixture) deliveries(orderID string) []checkout.WebhookDelivery {
	f.t.Helper()
	l, err := f.st.Webhooks(f.ctx, orderID)
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

// TestDeliveredSigned: a transition's webhook reaches a real receiver, which verifies the
// signature with the merchant's secret over the exact bytes; a wrong secret or an old
// timestamp fails verification. Only webhook types are sent, with the order's metadata.
func TestDeliveredSigned(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, rc.srv.URL+"/hooks")
	id := f.order(f.m, checkout.EventPaymentUpdated, checkout.EventPaymentConfirmed)
	d := f.dispatcher()
	if n := f.rounds(d); n != 1 {
		t.Fatalf("due orders %d, want 1", n)
	}
	if rc.count() != 1 {
		t.Fatalf("received %d requests, want 1 (payment.updated is not a webhook)", rc.count())
	}
	got := rc.got[0]
	sig := got.header.Get(webhook.Header)
	if err := webhook.Verify(got.body, sig, f.m.WebhookSecret, 0, f.clock.Now()); err != nil {
		t.Fatalf("verify with the merchant's secret: %v", err)
	}
	if err := webhook.Verify(got.body, sig, "whsec_wrong", 0, f.clock.Now()); !errors.Is(err, webhook.ErrSignature) {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := webhook.Verify(got.body, sig, f.m.WebhookSecret, 0, f.clock.Now().Add(6*time.Minute)); !errors.Is(err, webhook.ErrTimestamp) {
		t.Fatalf("old timestamp: %v", err)
	}
	ev := rc.events(t)[0]
	if ev.Type != checkout.EventPaymentConfirmed || ev.Data.Order.ID != id || ev.Data.Order.Status != checkout.StatusPaid ||
		ev.Data.Order.Metadata["cart"] != "c-42" || ev.ID != got.header.Get("MP-Event-Id") {
		t.Fatalf("event %+v", ev)
	}
	l := f.deliveries(id)
	if len(l) != 1 || l[0].Status != checkout.DeliveryDelivered || l[0].Attempts != 1 || len(l[0].AttemptLog) != 1 ||
		l[0].AttemptLog[0].StatusCode != 200 || l[0].NextAttemptAt != nil {
		t.Fatalf("deliveries %+v", l)
	}
	if n := f.rounds(d); n != 0 {
		t.Fatalf("delivered order still scheduled (%d due)", n)
	}
	sched, err := f.st.WebhookBacklog(f.ctx)
	if err != nil || sched != 0 {
		t.Fatalf("backlog %d, %v", sched, err)
	}
}

// TestRetryThenDelivered: 500 then 200. The retry is due exactly Base later (no jitter at
// r=0.5), not before, and the event body is byte-identical on both attempts.
func TestRetryThenDelivered(t *testing.T) {
	rc := newReceiver(t, func(n int, _ *http.Request) int {
		if n == 0 {
			return 500
		}
		return 204
	})
	f := newFixture(t, rc.srv.URL)
	id := f.order(f.m, checkout.EventPaymentConfirmed)
	d := f.dispatcher()
	f.rounds(d)
	l := f.deliveries(id)
	if l[0].Status != checkout.DeliveryPending || l[0].LastStatusCode != 500 || l[0].NextAttemptAt == nil ||
		!l[0].NextAttemptAt.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("after a 500: %+v", l[0])
	}
	f.clock.Add(29 * time.Second)
	if n := f.rounds(d); n != 0 || rc.count() != 1 {
		t.Fatalf("retried early: %d rounds, %d requests", n, rc.count())
	}
	f.clock.Add(time.Second)
	f.rounds(d)
	if rc.count() != 2 || string(rc.got[0].body) != string(rc.got[1].body) {
		t.Fatalf("requests %d, bodies equal %v", rc.count(), rc.count() == 2 && string(rc.got[0].body) == string(rc.got[1].body))
	}
	if rc.got[1].header.Get("MP-Delivery-Attempt") != "2" {
		t.Fatalf("attempt header %q", rc.got[1].header.Get("MP-Delivery-Attempt"))
	}
	l = f.deliveries(id)
	if l[0].Status != checkout.DeliveryDelivered || l[0].Attempts != 2 || len(l[0].AttemptLog) != 2 ||
		l[0].AttemptLog[0].StatusCode != 500 || l[0].AttemptLog[0].Error != "HTTP 500" || l[0].AttemptLog[1].StatusCode != 204 {
		t.Fatalf("after 204: %+v", l[0])
	}
}

// TestBackoffForThreeDays: an endpoint that always fails is retried on the exponential
// schedule (30 s doubling, capped at 6 h) until ~3 days after the event, then the delivery
// is failed and leaves the schedule.
func TestBackoffForThreeDays(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request) int { return 503 })
	f := newFixture(t, rc.srv.URL)
	id := f.order(f.m, checkout.EventOrderExpired)
	d := f.dispatcher()
	var times []time.Time
	for i := 0; i < 100; i++ {
		if f.rounds(d) == 0 {
			break
		}
		times = append(times, f.clock.Now())
		l := f.deliveries(id)
		if l[0].NextAttemptAt == nil {
			break
		}
		f.clock.Set(*l[0].NextAttemptAt)
	}
	want := outbox.Backoff{}
	at := t0
	for i, got := range times {
		if !got.Equal(at) {
			t.Fatalf("attempt %d at %s, want %s", i+1, got.Sub(t0), at.Sub(t0))
		}
		at = at.Add(want.Delay(i+1, 0.5))
	}
	l := f.deliveries(id)
	last := times[len(times)-1]
	if l[0].Status != checkout.DeliveryFailed || l[0].Attempts != len(times) || rc.count() != len(times) {
		t.Fatalf("status %s after %d attempts (%d requests)", l[0].Status, l[0].Attempts, rc.count())
	}
	if h := last.Sub(t0); h < 66*time.Hour || h > 72*time.Hour || !at.After(t0.Add(72*time.Hour)) {
		t.Fatalf("last attempt %s after the event, next would be %s", h, at.Sub(t0))
	}
	if n := f.rounds(d); n != 0 {
		t.Fatal("failed delivery still scheduled")
	}
	t.Logf("%d attempts over %s", len(times), last.Sub(t0))
}

func TestBackoffDelay(t *testing.T) {
	b := outbox.Backoff{}
	for _, c := range []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{1, 0.5, 30 * time.Second}, {2, 0.5, time.Minute}, {3, 0.5, 2 * time.Minute}, {10, 0.5, 512 * 30 * time.Second},
		{11, 0.5, 6 * time.Hour}, {40, 0.5, 6 * time.Hour}, {1, 0, 27 * time.Second}, {1, 0.999999, 32999994 * time.Microsecond},
	} {
		got := b.Delay(c.n, c.r).Round(time.Microsecond)
		if got != c.want {
			t.Errorf("Delay(%d, %v) = %s, want %s", c.n, c.r, got, c.want)
		}
	}
}

// TestInOrderWhileUnreachable: while the endpoint gives no answer, an order's later events
// wait for the first; once it answers they arrive in order. A non-2xx answer holds nothing
// back.
func TestInOrderWhileUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	f := newFixture(t, "http://"+addr+"/hooks")
	id := f.order(f.m, checkout.EventPaymentDetected)
	d := f.dispatcher()
	f.rounds(d)
	f.clock.Add(5 * time.Second)
	f.commit(id, checkout.EventPaymentConfirmed)
	f.rounds(d) // the new event brings the first one's retry forward; still refused
	l := f.deliveries(id)
	if l[0].Attempts != 2 || l[1].Attempts != 0 || l[0].AttemptLog[0].StatusCode != 0 || l[0].LastError == "" {
		t.Fatalf("while refused: %+v / %+v", l[0], l[1])
	}

	// The endpoint comes up on the same address.
	var mu sync.Mutex
	var order []checkout.EventType
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev checkout.WebhookEvent
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &ev)
		mu.Lock()
		order = append(order, ev.Type)
		mu.Unlock()
	})}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	f.clock.Set(*l[0].NextAttemptAt)
	f.rounds(d)
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 2 || order[0] != checkout.EventPaymentDetected || order[1] != checkout.EventPaymentConfirmed {
		t.Fatalf("received %v", order)
	}

	// A 4xx answer for the first event does not hold the second back.
	rc := newReceiver(t, func(_ int, r *http.Request) int {
		if r.Header.Get("MP-Event-Type") == string(checkout.EventPaymentDetected) {
			return 400
		}
		return 200
	})
	f2 := newFixture(t, rc.srv.URL)
	id2 := f2.order(f2.m, checkout.EventPaymentDetected, checkout.EventPaymentConfirmed)
	f2.rounds(f2.dispatcher())
	l = f2.deliveries(id2)
	if rc.count() != 2 || l[0].Status != checkout.DeliveryPending || l[1].Status != checkout.DeliveryDelivered {
		t.Fatalf("after a 400 for the first: %d requests, %s / %s", rc.count(), l[0].Status, l[1].Status)
	}
}

// TestRedirectNotFollowedAndNoURL: a 3xx is a failed attempt (its target never hears from
// us); an order with no webhook URL anywhere is skipped, not retried.
func TestRedirectNotFollowedAndNoURL(t *testing.T) {
	target := newReceiver(t, nil)
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusFound))
	t.Cleanup(redirect.Close)
	f := newFixture(t, redirect.URL)
	id := f.order(f.m, checkout.EventPaymentConfirmed)
	d := f.dispatcher()
	f.rounds(d)
	if l := f.deliveries(id); l[0].Status != checkout.DeliveryPending || l[0].LastStatusCode != 302 || target.count() != 0 {
		t.Fatalf("redirect: %+v, target got %d", l[0], target.count())
	}

	noURL := f.merchant("")
	id = f.order(noURL, checkout.EventPaymentConfirmed)
	f.rounds(d)
	if l := f.deliveries(id); l[0].Status != checkout.DeliverySkipped || l[0].Attempts != 0 {
		t.Fatalf("no URL: %+v", l[0])
	}
}

// TestPrivateTargetsRefused: without the dev flag, the dispatcher's client does not connect to
// a loopback receiver; the attempt is recorded as refused and retried later.
func TestPrivateTargetsRefused(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, rc.srv.URL)
	id := f.order(f.m, checkout.EventPaymentConfirmed)
	d := f.dispatcher()
	d.Client = outbox.NewClient(false, time.Second)
	f.rounds(d)
	l := f.deliveries(id)
	if rc.count() != 0 || l[0].Status != checkout.DeliveryPending || l[0].LastStatusCode != 0 ||
		l[0].LastError != "webhook URL resolves to a loopback, private or reserved address (refused)" {
		t.Fatalf("%d requests; %+v", rc.count(), l[0])
	}
}

// TestRedeliver: a delivered event is sent again on request, with the same event id.
func TestRedeliver(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, rc.srv.URL)
	id := f.order(f.m, checkout.EventPaymentConfirmed)
	d := f.dispatcher()
	f.rounds(d)
	evt := f.deliveries(id)[0].EventID
	if _, err := f.st.Redeliver(f.ctx, id, "evt_nope", f.clock.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown event: %v", err)
	}
	if _, err := f.st.Redeliver(f.ctx, id, evt, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if l := f.deliveries(id); l[0].Status != checkout.DeliveryPending {
		t.Fatalf("after redeliver: %s", l[0].Status)
	}
	f.rounds(d)
	evs := rc.events(t)
	if len(evs) != 2 || evs[0].ID != evt || evs[1].ID != evt {
		t.Fatalf("received %d", len(evs))
	}
	if l := f.deliveries(id); l[0].Status != checkout.DeliveryDelivered || l[0].Attempts != 2 {
		t.Fatalf("%+v", l[0])
	}
}

// TestAnnounceReschedules: a crash between the commit (outbox written) and scheduling loses
// nothing: the retried step's Announce schedules the order.
func TestAnnounceReschedules(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, rc.srv.URL)
	id := f.order(f.m, checkout.EventPaymentConfirmed)
	// Simulate the crash: the schedule never heard of the order.
	claims, err := f.st.ClaimDueWebhooks(f.ctx, f.clock.Now(), time.Minute, 10)
	if err != nil || len(claims) != 1 {
		t.Fatal(claims, err)
	}
	if err := f.st.FinishClaim(f.ctx, claims[0], nil); err != nil {
		t.Fatal(err)
	}
	if n := f.rounds(f.dispatcher()); n != 0 {
		t.Fatal("still scheduled")
	}
	if err := f.st.Announce(f.ctx, id); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Now()) // Announce schedules at the wall clock
	f.rounds(f.dispatcher())
	if rc.count() != 1 {
		t.Fatalf("received %d after Announce", rc.count())
	}
}

// TestConflictWritesNoOutbox: a commit that loses its compare-and-set writes no delivery.
func TestConflictWritesNoOutbox(t *testing.T) {
	f := newFixture(t, "https://example.invalid/hooks")
	id := f.order(f.m)
	rec, err := f.st.Order(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	stale := *rec
	f.commit(id, checkout.EventPaymentDetected)
	ev := checkout.Event{ID: ids.Event(), Type: checkout.EventPaymentConfirmed, CreatedAt: t0, Order: rec.Order}
	if _, err := f.st.CommitOrder(f.ctx, &stale, []checkout.Event{ev}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale commit: %v", err)
	}
	l := f.deliveries(id)
	if len(l) != 1 || l[0].Type != checkout.EventPaymentDetected {
		t.Fatalf("outbox %+v", l)
	}
}

// TestDeadEndpointDoesNotStarve: one merchant's endpoint hangs; with the per-merchant cap,
// another merchant's webhook is delivered while those requests are stuck.
func TestDeadEndpointDoesNotStarve(t *testing.T) {
	release := make(chan struct{})
	var stuck sync.WaitGroup
	stuck.Add(2)
	hang := newReceiver(t, func(n int, _ *http.Request) int {
		if n < 2 {
			stuck.Done()
		}
		<-release
		return 200
	})
	t.Cleanup(func() { close(release) })
	ok := newReceiver(t, nil)
	f := newFixture(t, hang.srv.URL)
	for i := 0; i < 6; i++ {
		f.order(f.m, checkout.EventPaymentConfirmed)
	}
	good := f.merchant(ok.srv.URL)
	d := f.dispatcher()
	d.Now, d.Workers, d.PerMerchant, d.Timeout, d.Poll = time.Now, 3, 2, 30*time.Second, 10*time.Millisecond
	d.Client = outbox.NewClient(true, 30*time.Second)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	stuck.Wait() // two workers hang on the dead endpoint
	f.order(good, checkout.EventPaymentConfirmed)
	d.Wake()
	select {
	case <-ok.ch:
	case <-time.After(20 * time.Second):
		t.Fatal("the healthy merchant's webhook was starved")
	}
	if hang.count() != 2 {
		t.Fatalf("dead endpoint got %d concurrent requests, cap is 2", hang.count())
	}
}

// TestReplicasDeliverEachOnceInOrder: three dispatchers on one schedule deliver 40 orders'
// events, each exactly once (no crash: claims keep replicas off each other's orders) and each
// order's in event order.
func TestReplicasDeliverEachOnceInOrder(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, rc.srv.URL)
	const orders = 40
	for i := 0; i < orders; i++ {
		f.order(f.m, checkout.EventPaymentDetected, checkout.EventPaymentConfirmed)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		d := f.dispatcher()
		d.Now, d.Poll, d.Workers = time.Now, 5*time.Millisecond, 8
		wg.Add(1)
		go func() { defer wg.Done(); d.Run(ctx) }()
	}
	for i := 0; i < 2*orders; i++ {
		select {
		case <-rc.ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d delivered", i, 2*orders)
		}
	}
	cancel()
	wg.Wait()
	seen := map[string]int{}
	next := map[string]checkout.EventType{}
	for _, ev := range rc.events(t) {
		seen[ev.ID]++
		want := next[ev.Data.Order.ID]
		if want == "" {
			want = checkout.EventPaymentDetected
		}
		if ev.Type != want {
			t.Fatalf("order %s: got %s, want %s", ev.Data.Order.ID, ev.Type, want)
		}
		next[ev.Data.Order.ID] = checkout.EventPaymentConfirmed
	}
	if len(seen) != 2*orders {
		t.Fatalf("%d distinct events, want %d", len(seen), 2*orders)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s delivered %d times", id, n)
		}
	}
}

// TestClaimIsExclusive: an event committed while its order is claimed does not let another
// dispatcher take the order (its events would race the first round); it is due once the claim
// is finished, and an order whose claim's lease ended (a dead dispatcher) is due again.
func TestClaimIsExclusive(t *testing.T) {
	f := newFixture(t, "https://shop.example/hooks")
	id := f.order(f.m, checkout.EventPaymentDetected)
	claims, err := f.st.ClaimDueWebhooks(f.ctx, f.clock.Now(), time.Minute, 10)
	if err != nil || len(claims) != 1 || claims[0].OrderID != id {
		t.Fatalf("first claim: %v %v", claims, err)
	}
	f.commit(id, checkout.EventPaymentConfirmed) // schedules the order due now
	if again, err := f.st.ClaimDueWebhooks(f.ctx, f.clock.Now(), time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("claimed twice while the first round runs: %v %v", again, err)
	}
	if n, err := f.st.WebhookBacklog(f.ctx); err != nil || n != 1 {
		t.Fatalf("backlog %d %v, want the one order", n, err)
	}
	if err := f.st.FinishClaim(f.ctx, claims[0], nil); err != nil {
		t.Fatal(err)
	}
	next, err := f.st.ClaimDueWebhooks(f.ctx, f.clock.Now(), time.Minute, 10)
	if err != nil || len(next) != 1 {
		t.Fatalf("after the first round: %v %v", next, err)
	}
	// That dispatcher dies: after its lease the order is claimable again, and its late finish
	// does not release the new claim.
	later := f.clock.Now().Add(time.Minute)
	taken, err := f.st.ClaimDueWebhooks(f.ctx, later, time.Minute, 10)
	if err != nil || len(taken) != 1 {
		t.Fatalf("after the lease: %v %v", taken, err)
	}
	if err := f.st.FinishClaim(f.ctx, next[0], nil); err != nil {
		t.Fatal(err)
	}
	f.commit(id, checkout.EventOrderExpired)
	if again, err := f.st.ClaimDueWebhooks(f.ctx, later, time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("a stale finish released the live claim: %v %v", again, err)
	}
}
