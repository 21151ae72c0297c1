package metrics

import (
	"context"
	"errors"
	"testing"

	"github.com/valyala/fasthttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

func TestLabelsAreBounded(t *testing.T) {
	for _, c := range []struct {
		name string
		code int
		want string
	}{
		{"ok", 200, "2xx"}, {"created", 201, "2xx"}, {"no content", 204, "2xx"}, {"redirect", 301, "3xx"},
		{"not found", 404, "4xx"}, {"rate limited", 429, "4xx"}, {"internal", 500, "5xx"}, {"unavailable", 503, "5xx"},
		{"informational", 101, "1xx"}, {"zero", 0, "other"}, {"too big", 600, "other"}, {"negative", -1, "other"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := statusClass(c.code); got != c.want {
				t.Errorf("statusClass(%d) = %q, want %q", c.code, got, c.want)
			}
		})
	}
	for _, c := range []struct{ in, want string }{
		{"GET", "GET"}, {"POST", "POST"}, {"HEAD", "HEAD"}, {"OPTIONS", "OPTIONS"}, {"DELETE", "DELETE"},
		{"get", "OTHER"}, {"BREW", "OTHER"}, {"", "OTHER"}, {"GET /x", "OTHER"},
	} {
		if got := methodLabel([]byte(c.in)); got != c.want {
			t.Errorf("methodLabel(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNilEdgeIsSafe(t *testing.T) {
	var m *Edge
	m.WebhookDelivery(Delivered)
	m.SettlementApplied(checkout.ERC20, []checkout.Event{{Type: checkout.EventPaymentConfirmed}})
	m.SetWebhookBacklog(nil)
	m.ObserveStreams(nil, nil)
	m.ObserveSettlement(nil, "", nil)
	called := false
	h := m.Instrument(func(*fasthttp.RequestCtx) { called = true }, func(*fasthttp.RequestCtx) string { return "" })
	h(&fasthttp.RequestCtx{})
	if !called || m.Registry() != nil {
		t.Error("a nil *Edge must pass requests through and register nothing")
	}
}

type failingBacklog struct{ err error }

func (f failingBacklog) FeedBacklog(context.Context, checkout.Network, string) (*store.FeedBacklog, error) {
	return nil, f.err
}

// A failing scrape-time source leaves its metrics out; the rest of the scrape still works.
func TestFailingSourcesAreLeftOut(t *testing.T) {
	for _, err := range []error{errors.New("redis: connection refused"), store.ErrNotFound} {
		m := NewEdge(nil)
		m.ObserveSettlement(failingBacklog{err}, "settlement", checkout.Networks)
		m.SetWebhookBacklog(func(context.Context) (int64, error) { return 0, err })
		m.ObserveStreams(func() (int, int) { return 2, 5 }, func() int64 { return 7 })
		fams, gerr := m.Registry().Gather()
		if gerr != nil {
			t.Fatal(gerr)
		}
		names := map[string]bool{}
		for _, f := range fams {
			names[f.GetName()] = true
		}
		for _, gone := range []string{"settlement_feed_pending", "settlement_lag_seconds", "webhook_backlog"} {
			if names[gone] {
				t.Errorf("%v: %s reported from a failing source", err, gone)
			}
		}
		for _, kept := range []string{"sse_open_streams", "sse_hub_subscriptions", "webhook_deliveries_total", "go_goroutines"} {
			if !names[kept] {
				t.Errorf("%v: %s missing", err, kept)
			}
		}
	}
}
