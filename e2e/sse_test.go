package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
	"github.com/mpchat/checkout/edge/sse"
)

// rawEvent is one SSE message as read off the wire.
type rawEvent struct {
	ID, Data, Event, Retry string
}

// openStream GETs an event stream and returns its messages on a channel (closed at EOF) and
// the response.
func openStream(t *testing.T, url string, header map[string]string) (<-chan rawEvent, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// A connection of its own per stream, as a browser's EventSource has.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan rawEvent, 64)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var e rawEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.Data != "" {
					ch <- e
				}
				e = rawEvent{}
			case strings.HasPrefix(line, "id: "), strings.HasPrefix(line, "id:"):
				e.ID = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
			case strings.HasPrefix(line, "data:"):
				e.Data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			case strings.HasPrefix(line, "event:"):
				e.Event = line
			case strings.HasPrefix(line, "retry:"):
				e.Retry = strings.TrimSpace(strings.TrimPrefix(line, "retry:"))
			}
		}
	}()
	return ch, resp
}

func next(t *testing.T, ch <-chan rawEvent) (rawEvent, map[string]any) {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(e.Data), &v); err != nil {
			t.Fatalf("data is not JSON: %q", e.Data)
		}
		return e, v
	case <-time.After(15 * time.Second):
		t.Fatal("no event within 15 s")
	}
	return rawEvent{}, nil
}

func ended(t *testing.T, ch <-chan rawEvent) {
	t.Helper()
	select {
	case e, ok := <-ch:
		if ok {
			t.Fatalf("stream went on after a terminal status: %+v", e)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not close the stream after a terminal status")
	}
}

// TestFollowOrderUntilPaid follows an order's events over real HTTP through the Go SDK: the
// current state first, every transition in order, the server closes after PAID.
func TestFollowOrderUntilPaid(t *testing.T) {
	w := newWorld(t)
	o := w.order(checkout.ERC20, "10")
	var mu sync.Mutex
	var got []client.Event
	done := make(chan error, 1)
	go func() {
		done <- w.client.FollowOrder(w.ctx, o.ID, "", func(e client.Event) bool {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
			return true
		})
	}()
	waitEvents := func(n int) {
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			k := len(got)
			mu.Unlock()
			if k >= n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("fewer than %d events", n)
	}
	waitEvents(1) // the current state, before anything happens
	w.pay(o, 1, "10")
	w.mine(checkout.ERC20, 1)
	waitEvents(2)
	w.mine(checkout.ERC20, required-1)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("FollowOrder did not return after PAID")
	}
	var statuses []string
	seen := map[string]bool{}
	prev := ""
	for _, e := range got {
		statuses = append(statuses, string(e.Status))
		if seen[e.ID] || (prev != "" && !(e.ID > prev || len(e.ID) > len(prev))) {
			t.Errorf("duplicate or out-of-order id %s after %s", e.ID, prev)
		}
		seen[e.ID], prev = true, e.ID
		if e.OrderID != o.ID || e.Order.ID != o.ID {
			t.Errorf("event for another order: %+v", e)
		}
	}
	if statuses[0] != "PENDING" || statuses[1] != "CONFIRMING" || statuses[len(statuses)-1] != "PAID" {
		t.Errorf("statuses %v", statuses)
	}
	last := got[len(got)-1]
	if last.Type != checkout.EventPaymentConfirmed || last.AmountPaid != amt("10") || last.Payment == nil {
		t.Errorf("last event %+v", last)
	}
}

// TestWireFormatAndCustomerView reads the customer stream raw: unnamed messages with ids and
// a retry hint, customer-safe data only, CORS for the merchant's embed origin, and the stream
// closes after EXPIRED; a resume of the finished stream gets 204.
func TestWireFormatAndCustomerView(t *testing.T) {
	w := newWorld(t)
	m, err := w.store.Merchant(w.ctx, mustKey(t, w).MerchantID)
	if err != nil {
		t.Fatal(err)
	}
	m.EmbedOrigins = []string{"https://shop.example"}
	if err := w.store.PutMerchant(w.ctx, m); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the edge caches merchant settings for 1 s
	o, err := w.client.CreateOrder(w.ctx, &client.OrderParams{Amount: "3", Network: checkout.TRC20,
		Metadata: map[string]string{"internal_ref": "secret-meta-value"}, WebhookURL: "https://merchant.example/private-hook"})
	if err != nil {
		t.Fatal(err)
	}
	ch, resp := openStream(t, w.edgeURL+"/v1/checkout/"+o.ID+"/events", map[string]string{"Origin": "https://shop.example"})
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "no-cache") || resp.Header.Get("X-Accel-Buffering") != "no" {
		t.Errorf("headers %v", resp.Header)
	}
	first, v := next(t, ch)
	if first.Event != "" || first.ID == "" || first.Retry != "3000" || v["status"] != "PENDING" {
		t.Errorf("first message %+v", first)
	}
	w.clock.Add(31 * time.Minute)
	if _, err := w.expiry.Tick(w.ctx); err != nil {
		t.Fatal(err)
	}
	last, v := next(t, ch)
	if v["status"] != "EXPIRED" || v["type"] != "order.expired" {
		t.Errorf("expiry message %v", v)
	}
	ended(t, ch)
	for _, e := range []string{first.Data, last.Data} {
		for _, private := range []string{"secret-meta-value", "private-hook", "metadata", "webhook_url", "derivation_path"} {
			if strings.Contains(e, private) {
				t.Errorf("customer stream carries %q: %s", private, e)
			}
		}
	}
	// Another origin gets no CORS grant.
	_, other := openStream(t, w.edgeURL+"/v1/checkout/"+o.ID+"/events", map[string]string{"Origin": "https://evil.example"})
	if other.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS granted to a foreign origin")
	}
	// Resuming the finished stream: 204, so EventSource stops reconnecting.
	_, again := openStream(t, w.edgeURL+"/v1/checkout/"+o.ID+"/events", map[string]string{"Last-Event-ID": last.ID})
	if again.StatusCode != 204 {
		t.Errorf("resume after the terminal event: %d, want 204", again.StatusCode)
	}
	// Unknown order: 404 before streaming.
	resp404, err := http.Get(w.edgeURL + "/v1/checkout/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ/events")
	if err != nil || resp404.StatusCode != 404 {
		t.Errorf("unknown order: %v %v", resp404.StatusCode, err)
	}
}

func mustKey(t *testing.T, w *world) *checkout.APIKey {
	k, err := w.store.APIKey(w.ctx, w.client.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestResumeWithLastEventID: a client that drops and reconnects with Last-Event-ID gets
// exactly the events it missed, on another edge replica too.
func TestResumeWithLastEventID(t *testing.T) {
	w := newWorld(t)
	replica := w.startEdge(w.wg)
	o := w.order(checkout.ERC20, "8")
	ch, resp := openStream(t, w.edgeURL+"/v1/checkout/"+o.ID+"/events", nil)
	first, _ := next(t, ch)
	resp.Body.Close() // drop
	w.pay(o, 2, "8")  // seen, progress, confirmed: all while disconnected
	w.mine(checkout.ERC20, 1)
	w.waitFor(o.ID, "CONFIRMING", status(checkout.StatusConfirming))
	w.mine(checkout.ERC20, required-1)
	w.waitFor(o.ID, "PAID", status(checkout.StatusPaid))
	all, err := w.store.OrderEvents(w.ctx, o.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range all {
		if sse.After(m.ID, first.ID) {
			want = append(want, m.ID)
		}
	}
	ch2, _ := openStream(t, replica+"/v1/checkout/"+o.ID+"/events", map[string]string{"Last-Event-ID": first.ID})
	var gotIDs []string
	for e := range ch2 {
		gotIDs = append(gotIDs, e.ID)
	}
	if fmt.Sprint(gotIDs) != fmt.Sprint(want) || len(want) < 2 {
		t.Errorf("resumed ids %v, want exactly %v", gotIDs, want)
	}
}

// TestTwoEdgesDeliver: a change settled by one edge reaches a stream held by another.
func TestTwoEdgesDeliver(t *testing.T) {
	w := newWorld(t)
	replica := w.startEdge(w.wg)
	o := w.order(checkout.TRC20, "4")
	ch, _ := openStream(t, replica+"/v1/checkout/"+o.ID+"/events", nil)
	next(t, ch)
	w.pay(o, 3, "4")
	w.mine(checkout.TRC20, 1)
	_, v := next(t, ch)
	if v["status"] != "CONFIRMING" {
		t.Errorf("replica delivered %v", v)
	}
}

// TestRedisConnectionsStayConstant: hundreds of open streams cost the edge no extra Redis
// connections (one fan-out reader; the command pool is bounded).
func TestRedisConnectionsStayConstant(t *testing.T) {
	w := newWorld(t)
	count := func() int {
		n := 0
		for _, line := range strings.Split(w.rdb.ClientList(context.Background()).Val(), "\n") {
			if strings.Contains(line, "name=edge-changes") {
				n++
			}
		}
		return n
	}
	open := func(k int) {
		for i := 0; i < k; i++ {
			o := w.order(checkout.ERC20, "1")
			ch, _ := openStream(t, w.edgeURL+"/v1/checkout/"+o.ID+"/events", nil)
			next(t, ch)
		}
	}
	open(20)
	base := count()
	total := w.rdb.ClientList(context.Background()).Val()
	before := strings.Count(total, "\n")
	open(300)
	after := strings.Count(w.rdb.ClientList(context.Background()).Val(), "\n")
	if count() != base || base != 1 {
		t.Errorf("fan-out readers: %d with 20 streams, %d with 320, want 1", base, count())
	}
	// The shared command pool is bounded (go-redis default 10 × GOMAXPROCS), whatever the streams.
	if after-before > 20 {
		t.Errorf("Redis connections grew from %d to %d with 300 more streams", before, after)
	}
}

// TestStreamSurvivesRedisBlip: the change reader's connection is killed (a Redis blip); it resumes
// from the last change it read and the stream still delivers the next change.
func TestStreamSurvivesRedisBlip(t *testing.T) {
	w := newWorld(t)
	o := w.order(checkout.ERC20, "6")
	ch, _ := openStream(t, w.edgeURL+"/v1/checkout/"+o.ID+"/events", nil)
	next(t, ch)
	killed := 0
	for _, line := range strings.Split(w.rdb.ClientList(w.ctx).Val(), "\n") {
		if strings.Contains(line, "name=edge-changes") {
			id := strings.TrimPrefix(strings.Fields(line)[0], "id=")
			if err := w.rdb.Do(w.ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	if killed != 1 {
		t.Fatalf("killed %d change-reader connections, want 1", killed)
	}
	w.pay(o, 4, "6")
	w.mine(checkout.ERC20, 1)
	_, v := next(t, ch)
	if v["status"] != "CONFIRMING" {
		t.Errorf("after the blip: %v", v)
	}
}

// TestMerchantStreamAuth: the merchant stream is signed like the API; another merchant's
// order is 404, an unsigned request 401.
func TestMerchantStreamAuth(t *testing.T) {
	w := newWorld(t)
	o := w.order(checkout.ERC20, "2")
	resp, err := http.Get(w.edgeURL + "/v1/orders/" + o.ID + "/events")
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("unsigned stream: %v %v", resp.StatusCode, err)
	}
	otherKey := &checkout.APIKey{ID: "key_other" + o.ID[4:12], MerchantID: "mer_other", Secret: "sk_other"}
	if err := w.store.PutMerchant(w.ctx, &checkout.Merchant{ID: "mer_other", Name: "other"}); err != nil {
		t.Fatal(err)
	}
	if err := w.store.AddKey(w.ctx, otherKey); err != nil {
		t.Fatal(err)
	}
	other := client.New(w.edgeURL, otherKey.ID, otherKey.Secret)
	err = other.FollowOrder(w.ctx, o.ID, "", func(client.Event) bool { return false })
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("another merchant's stream: %v, want a 404", err)
	}
}
