package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	sse "github.com/tmaxmax/go-sse"

	checkout "github.com/mpchat/checkout"
)

// Event is one message of an order's event stream.
type Event struct {
	ID         string             `json:"-"` // the stream id: resume after it with Last-Event-ID
	OrderID    string             `json:"order_id"`
	Type       checkout.EventType `json:"type"`
	Status     checkout.Status    `json:"status"`
	AmountPaid checkout.Amount    `json:"amount_paid"`
	Payment    *checkout.Payment  `json:"payment,omitempty"`
	Order      checkout.Order     `json:"order"`
}

// ErrStreamEnded is returned by FollowOrder when the server closed the stream after a terminal
// status and fn did not stop first.
var ErrStreamEnded = errors.New("event stream ended")

// FollowOrder streams the order's events (GET /v1/orders/{id}/events) to fn, starting with
// the current state, or with what came after lastEventID when resuming. It reconnects with
// Last-Event-ID after a dropped connection (each attempt freshly signed) and returns nil when
// fn returns false or the order reaches a terminal status, or ctx's error.
func (c *Client) FollowOrder(ctx context.Context, orderID, lastEventID string, fn func(Event) bool) error {
	path := "/v1/orders/" + url.PathEscape(orderID) + "/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+path, nil)
	if err != nil {
		return err
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req = req.WithContext(ctx)
	// The stream uses the transport of c.HTTP (proxies, TLS settings), never its timeout: a
	// stream is meant to stay open.
	base := http.DefaultTransport
	if c.HTTP != nil && c.HTTP.Transport != nil {
		base = c.HTTP.Transport
	}
	sc := &sse.Client{
		HTTPClient: &http.Client{Transport: &signer{c: c, path: path, base: base}},
		Backoff:    sse.Backoff{InitialInterval: 500 * time.Millisecond, MaxInterval: 10 * time.Second},
	}
	conn := sc.NewConnection(req)
	var (
		result   error
		terminal bool
	)
	conn.SubscribeMessages(func(e sse.Event) {
		if ctx.Err() != nil {
			return
		}
		var ev Event
		if err := json.Unmarshal([]byte(e.Data), &ev); err != nil {
			result = fmt.Errorf("decode event %s: %w", e.LastEventID, err)
			cancel()
			return
		}
		ev.ID = e.LastEventID
		if !fn(ev) || ev.Status.Terminal() {
			terminal = true
			cancel()
		}
	})
	err = conn.Connect()
	switch {
	case result != nil:
		return result
	case terminal:
		return nil
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return ctx.Err()
	}
	return err
}

// signer signs each (re)connection of an event stream with a fresh timestamp.
type signer struct {
	c    *Client
	path string
	base http.RoundTripper
}

func (s *signer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	now := time.Now
	if s.c.Now != nil {
		now = s.c.Now
	}
	r.Header.Set("Authorization", Authorization(s.c.KeyID, s.c.Secret, now().Unix(), http.MethodGet, s.path, nil))
	return s.base.RoundTrip(r)
}
