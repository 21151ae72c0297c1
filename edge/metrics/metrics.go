// Package metrics is the edge's Prometheus instrumentation: one registry per process (never
// the global default, so tests and replicas in one binary do not collide), the collectors,
// the request middleware and the /metrics handler for fasthttp.
//
// Metrics (labels are bounded: route patterns, never raw paths or order ids):
//
//	http_requests_total{route,method,status}          counter; status is the class: 2xx…5xx
//	http_request_duration_seconds{route,method}       histogram (prometheus.DefBuckets)
//	sse_open_streams{kind}                            gauge; kind = merchant | checkout
//	sse_hub_subscriptions                             gauge; the hub's in-memory subscriptions
//	settlement_applied_total{network}                 counter; feed observations that changed an order
//	settlement_events_total{network,type}             counter; order events those changes produced
//	settlement_parked_total{network}                  counter; feed entries parked in orphans (poison)
//	settlement_unmatched_total{network}               counter; transfers to receive addresses matching no order
//	settlement_feed_pending{network}                  gauge; feed entries read but not acknowledged
//	settlement_feed_undelivered{network}              gauge; feed entries not yet read by the group
//	settlement_lag_seconds{network}                   gauge; age of the oldest unsettled feed entry (0 = caught up)
//	webhook_deliveries_total{result}                  counter; result = delivered | failed_attempt | gave_up | skipped
//	webhook_backlog                                   gauge; orders with deliveries waiting (present once a source is set)
//
// plus the Go runtime (go_*) and process (process_*) collectors. The sse_*, settlement_feed_*,
// settlement_lag_seconds and webhook_backlog gauges are read when Prometheus scrapes, from the
// sources given with ObserveStreams, ObserveSettlement and SetWebhookBacklog (each Redis read
// bounded by ScrapeTimeout); a source that is not set or fails is left out of that scrape, and
// a failure is logged.
//
// # Feeding the webhook metrics
//
// The webhook dispatcher reports each delivery attempt's outcome with
//
//	m.WebhookDelivery(metrics.Delivered)     // 2xx from the merchant
//	m.WebhookDelivery(metrics.FailedAttempt) // non-2xx or timeout; another attempt is scheduled
//	m.WebhookDelivery(metrics.GaveUp)        // the last attempt failed; no more retries
//	m.WebhookDelivery(metrics.Skipped)       // not attempted: no webhook URL configured
//
// and gives the backlog as a function read at scrape time (its context carries ScrapeTimeout):
//
//	m.SetWebhookBacklog(st.WebhookBacklog)
//
// Every method is safe on a nil *Edge (it does nothing), so components can hold an optional
// *Edge without checks.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
)

// ScrapeTimeout bounds each source read at scrape time (Redis reads for the backlogs).
const ScrapeTimeout = 2 * time.Second

// UnmatchedRoute is the route label of requests that matched no route (404, 405).
const UnmatchedRoute = "unmatched"

// DeliveryResult is the result label of webhook_deliveries_total.
type DeliveryResult string

// The webhook delivery results.
const (
	Delivered     DeliveryResult = "delivered"      // the merchant answered 2xx
	FailedAttempt DeliveryResult = "failed_attempt" // non-2xx or timeout; will be retried
	GaveUp        DeliveryResult = "gave_up"        // failed for the last time; no more retries
	Skipped       DeliveryResult = "skipped"        // not attempted (nothing to send to, refused URL)
)

// Edge holds one edge process's collectors and registry. Create it with NewEdge.
type Edge struct {
	reg       *prometheus.Registry
	log       *slog.Logger
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	applied   *prometheus.CounterVec
	parked    *prometheus.CounterVec
	unmatched *prometheus.CounterVec
	events    *prometheus.CounterVec
	webhooks  *prometheus.CounterVec

	mu         sync.Mutex
	streams    func() (merchant, checkout int)
	hubSubs    func() int64
	backlog    Backlog
	group      string
	networks   []checkout.Network
	webhookLen func(context.Context) (int64, error)
}

// Backlog reads a consumer group's backlog on a network's feed; *store.Store satisfies it.
type Backlog interface {
	FeedBacklog(ctx context.Context, n checkout.Network, group string) (*store.FeedBacklog, error)
}

// NewEdge returns the collectors registered on a fresh registry (with the Go and process
// collectors). log receives scrape-time source failures; nil means slog.Default().
func NewEdge(log *slog.Logger) *Edge {
	if log == nil {
		log = slog.Default()
	}
	m := &Edge{
		reg: prometheus.NewRegistry(),
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests answered, by route pattern, method and status class.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "Time to answer an HTTP request (event streams: until the stream is handed over), by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "settlement_applied_total", Help: "Feed observations (transfers seen, confirmed, removed) that changed an order.",
		}, []string{"network"}),
		parked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "settlement_parked_total", Help: "Feed entries settlement could not apply (undecodable, or failing every delivery), parked in the orphans record for an operator.",
		}, []string{"network"}),
		unmatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "settlement_unmatched_total", Help: "Transfers to merchants' receive addresses (addresses mode) that matched no order: listed by GET /v1/transfers, claimable by tx hash.",
		}, []string{"network"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "settlement_events_total", Help: "Order events produced by settlement, by type.",
		}, []string{"network", "type"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhook_deliveries_total", Help: "Webhook delivery attempts by result: delivered, failed_attempt, gave_up, skipped.",
		}, []string{"result"}),
	}
	for _, r := range []DeliveryResult{Delivered, FailedAttempt, GaveUp, Skipped} {
		m.webhooks.WithLabelValues(string(r)) // present at 0 from the start
	}
	for _, n := range checkout.Networks {
		m.applied.WithLabelValues(string(n))
		m.parked.WithLabelValues(string(n))
		m.unmatched.WithLabelValues(string(n))
	}
	m.reg.MustRegister(m.requests, m.latency, m.applied, m.parked, m.unmatched, m.events, m.webhooks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		scrapeCollector{m})
	return m
}

// Registry is the process's registry, for tests and extra collectors.
func (m *Edge) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry in the Prometheus text format (GET /metrics).
func (m *Edge) Handler() fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       2 * ScrapeTimeout,
	}))
}

// Instrument counts and times the requests next answers. routeOf returns the matched route
// pattern ("/v1/orders/{id}"), or "" when none matched (labelled UnmatchedRoute).
func (m *Edge) Instrument(next fasthttp.RequestHandler, routeOf func(*fasthttp.RequestCtx) string) fasthttp.RequestHandler {
	if m == nil {
		return next
	}
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		next(ctx)
		route := routeOf(ctx)
		if route == "" {
			route = UnmatchedRoute
		}
		method := methodLabel(ctx.Method())
		m.requests.WithLabelValues(route, method, statusClass(ctx.Response.StatusCode())).Inc()
		m.latency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	}
}

// ObserveStreams sets the scrape-time sources of sse_open_streams (open merchant and checkout
// streams) and sse_hub_subscriptions; either may be nil.
func (m *Edge) ObserveStreams(open func() (merchant, checkout int), hubSubscriptions func() int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.streams, m.hubSubs = open, hubSubscriptions
}

// ObserveSettlement sets the scrape-time source of the settlement_feed_* and
// settlement_lag_seconds gauges: the consumer group's backlog on each network's feed.
func (m *Edge) ObserveSettlement(b Backlog, group string, networks []checkout.Network) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.backlog, m.group, m.networks = b, group, networks
}

// SettlementApplied counts one applied feed observation and the events it produced; it fits
// settlement.Consumer.OnChange.
func (m *Edge) SettlementApplied(n checkout.Network, events []checkout.Event) {
	if m == nil {
		return
	}
	m.applied.WithLabelValues(string(n)).Inc()
	for _, e := range events {
		m.events.WithLabelValues(string(n), string(e.Type)).Inc()
	}
}

// SettlementParked counts one feed entry parked in orphans; it fits settlement.Consumer.OnPark.
func (m *Edge) SettlementParked(n checkout.Network) {
	if m == nil {
		return
	}
	m.parked.WithLabelValues(string(n)).Inc()
}

// SettlementUnmatched counts one new unmatched transfer; it fits settlement.Consumer.OnUnmatched.
func (m *Edge) SettlementUnmatched(n checkout.Network) {
	if m == nil {
		return
	}
	m.unmatched.WithLabelValues(string(n)).Inc()
}

// WebhookDelivery counts one webhook delivery outcome.
func (m *Edge) WebhookDelivery(r DeliveryResult) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(string(r)).Inc()
}

// SetWebhookBacklog sets the scrape-time source of webhook_backlog: the number of orders with
// deliveries waiting (queued or scheduled for retry). Until it is set the metric is absent.
func (m *Edge) SetWebhookBacklog(f func(ctx context.Context) (int64, error)) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.webhookLen = f
}

var (
	openStreamsDesc = prometheus.NewDesc("sse_open_streams", "Open order event streams on this edge, by kind (merchant: /v1/orders/{id}/events; checkout: /v1/checkout/{id}/events).", []string{"kind"}, nil)
	hubSubsDesc     = prometheus.NewDesc("sse_hub_subscriptions", "Streams subscribed to the in-memory change fan-out of this edge.", nil, nil)
	pendingDesc     = prometheus.NewDesc("settlement_feed_pending", "Feed entries delivered to a settlement consumer and not yet acknowledged.", []string{"network"}, nil)
	undeliveredDesc = prometheus.NewDesc("settlement_feed_undelivered", "Feed entries appended by the watcher and not yet read by the settlement group.", []string{"network"}, nil)
	lagDesc         = prometheus.NewDesc("settlement_lag_seconds", "Age of the oldest feed entry not yet settled; 0 when settlement is caught up.", []string{"network"}, nil)
	webhookLenDesc  = prometheus.NewDesc("webhook_backlog", "Orders with webhook deliveries waiting to be sent (queued or scheduled for a retry).", nil, nil)
)

// scrapeCollector reads the sources at scrape time.
type scrapeCollector struct{ m *Edge }

func (c scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{openStreamsDesc, hubSubsDesc, pendingDesc, undeliveredDesc, lagDesc, webhookLenDesc} {
		ch <- d
	}
}

func (c scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	m.mu.Lock()
	streams, hubSubs, backlog, group, networks, webhookLen := m.streams, m.hubSubs, m.backlog, m.group, m.networks, m.webhookLen
	m.mu.Unlock()
	if streams != nil {
		merchant, checkout := streams()
		ch <- prometheus.MustNewConstMetric(openStreamsDesc, prometheus.GaugeValue, float64(merchant), "merchant")
		ch <- prometheus.MustNewConstMetric(openStreamsDesc, prometheus.GaugeValue, float64(checkout), "checkout")
	}
	if hubSubs != nil {
		ch <- prometheus.MustNewConstMetric(hubSubsDesc, prometheus.GaugeValue, float64(hubSubs()))
	}
	if backlog != nil {
		now := time.Now()
		for _, n := range networks {
			ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
			b, err := backlog.FeedBacklog(ctx, n, group)
			cancel()
			if errors.Is(err, store.ErrNotFound) {
				continue // no consumer group on that feed yet: nothing to report
			}
			if err != nil {
				m.log.Warn("metrics: settlement backlog unavailable", "network", n, "err", err)
				continue
			}
			ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(b.Pending), string(n))
			if b.Undelivered >= 0 {
				ch <- prometheus.MustNewConstMetric(undeliveredDesc, prometheus.GaugeValue, float64(b.Undelivered), string(n))
			}
			lag := 0.0
			if !b.Oldest.IsZero() {
				lag = max(now.Sub(b.Oldest).Seconds(), 0)
			}
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, lag, string(n))
		}
	}
	if webhookLen != nil {
		ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
		v, err := webhookLen(ctx)
		cancel()
		if err != nil {
			m.log.Warn("metrics: webhook backlog unavailable", "err", err)
		} else {
			ch <- prometheus.MustNewConstMetric(webhookLenDesc, prometheus.GaugeValue, float64(v))
		}
	}
}

// methodLabel bounds the method label: the standard methods, anything else "OTHER".
func methodLabel(m []byte) string {
	switch string(m) {
	case fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodPost, fasthttp.MethodPut,
		fasthttp.MethodPatch, fasthttp.MethodDelete, fasthttp.MethodOptions:
		return string(m)
	}
	return "OTHER"
}

// statusClass is "1xx" … "5xx" ("other" outside 100–599).
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return string(rune('0'+code/100)) + "xx"
}

// slogPrinter adapts slog to promhttp's error logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics: scrape error", "err", v) }
