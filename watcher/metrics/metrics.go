// Package metrics is a watcher's Prometheus instrumentation: one registry per process (never
// the global default), fed by the hooks of evm.Runner (Hook wires them). Every metric carries
// the label network (ERC20 or TRC20).
//
//	watcher_chain_head_block{network}          gauge; the chain head the last step saw
//	watcher_scanned_block{network}             gauge; highest block scanned (the head once caught up)
//	watcher_checkpoint_block{network}          gauge; highest block whose logs are final and reported
//	watcher_head_lag_blocks{network}           gauge; head − scanned: how far behind the scanner is
//	watcher_last_step_timestamp_seconds{network} gauge; Unix time of the last committed step (stale = stuck)
//	watcher_feed_writes_total{network,kind}    counter; feed entries written: seen, confirmed, removed
//	watcher_step_errors_total{network}         counter; failed lease checks and scan steps (retried)
//	watcher_leader{network}                    gauge; 1 = this instance holds the lease, 0 = standing by
//
// plus the Go runtime (go_*) and process (process_*) collectors. The chain gauges move only
// on the active watcher; a standby reports watcher_leader 0.
package metrics

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/watcher/endpoints"
	"github.com/mpchat/checkout/watcher/evm"
)

// Lease states reported by LeaseState.
const (
	LeaseUnknown = "unknown" // no lease check has answered yet
	LeaseLeader  = "leader"  // this instance is the active watcher
	LeaseStandby = "standby" // another instance holds the lease
)

// Watcher holds one watcher process's collectors and registry. Create it with New.
type Watcher struct {
	reg                                *prometheus.Registry
	head, scanned, checkpoint, lag     prometheus.Gauge
	lastStep, leader                   prometheus.Gauge
	seen, confirmed, removed, failures prometheus.Counter
	lease                              atomic.Value // string: LeaseUnknown, LeaseLeader, LeaseStandby
	network                            string
}

// New returns the collectors of network n's watcher on a fresh registry (with the Go and
// process collectors).
func New(n checkout.Network) *Watcher {
	l := prometheus.Labels{"network": string(n)}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: l})
	}
	writes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "watcher_feed_writes_total",
		Help: "Transfer observations written to the network's feed, by kind.", ConstLabels: l}, []string{"kind"})
	w := &Watcher{
		reg:        prometheus.NewRegistry(),
		head:       gauge("watcher_chain_head_block", "The chain head the last committed step saw."),
		scanned:    gauge("watcher_scanned_block", "Highest block scanned by the last committed step (the head once caught up)."),
		checkpoint: gauge("watcher_checkpoint_block", "Highest block whose logs are final and reported."),
		lag:        gauge("watcher_head_lag_blocks", "Blocks between the chain head and the highest block scanned."),
		lastStep:   gauge("watcher_last_step_timestamp_seconds", "Unix time of the last committed step."),
		leader:     gauge("watcher_leader", "1 when this instance holds the lease (active), 0 when standing by."),
		seen:       writes.WithLabelValues(string(checkout.TransferSeen)),
		confirmed:  writes.WithLabelValues(string(checkout.TransferConfirmed)),
		removed:    writes.WithLabelValues(string(checkout.TransferRemoved)),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "watcher_step_errors_total",
			Help: "Failed lease checks and scan steps (each is logged and retried).", ConstLabels: l}),
	}
	w.network = string(n)
	w.lease.Store(LeaseUnknown)
	w.reg.MustRegister(w.head, w.scanned, w.checkpoint, w.lag, w.lastStep, w.leader, writes, w.failures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return w
}

// Registry is the process's registry, for tests and extra collectors.
func (w *Watcher) Registry() *prometheus.Registry { return w.reg }

// Handler serves the registry in the Prometheus text format (GET /metrics).
func (w *Watcher) Handler() http.Handler {
	return promhttp.HandlerFor(w.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Hook sets r's OnStep, OnLease and OnError to feed these metrics, keeping hooks already set
// (they are called after).
func (w *Watcher) Hook(r *evm.Runner) {
	onStep, onLease, onError := r.OnStep, r.OnLease, r.OnError
	r.OnStep = func(p evm.Progress) {
		w.Step(p)
		if onStep != nil {
			onStep(p)
		}
	}
	r.OnLease = func(leader bool) {
		w.Lease(leader)
		if onLease != nil {
			onLease(leader)
		}
	}
	r.OnError = func(err error) {
		w.failures.Inc()
		if onError != nil {
			onError(err)
		}
	}
}

// Step records a committed step.
func (w *Watcher) Step(p evm.Progress) {
	w.head.Set(float64(p.Head))
	w.scanned.Set(float64(p.Scanned))
	w.checkpoint.Set(float64(p.Checkpoint))
	w.lag.Set(float64(p.Lag()))
	w.lastStep.Set(float64(time.Now().UnixMilli()) / 1000)
	w.seen.Add(float64(p.Seen))
	w.confirmed.Add(float64(p.Confirmed))
	w.removed.Add(float64(p.Removed))
}

// Lease records the outcome of a lease check.
func (w *Watcher) Lease(leader bool) {
	if leader {
		w.leader.Set(1)
		w.lease.Store(LeaseLeader)
		return
	}
	w.leader.Set(0)
	w.lease.Store(LeaseStandby)
}

// LeaseState is LeaseLeader, LeaseStandby, or LeaseUnknown before the first lease check.
func (w *Watcher) LeaseState() string { return w.lease.Load().(string) }

// Endpoints adds the per-endpoint metrics of the pool, read at each scrape. The label
// endpoint is the index in the configuration; host is scheme://host[:port] (never a path,
// query or header: that is where keys are):
//
//	watcher_rpc_requests_total{network,endpoint,host}        counter
//	watcher_rpc_errors_total{network,endpoint,host,kind}     counter; kind = rate_limited, range_too_large, too_many_results, transient, fatal
//	watcher_rpc_latency_seconds{network,endpoint,host}       gauge; moving average of answered calls
//	watcher_rpc_head_lag_blocks{network,endpoint,host}       gauge; behind the highest head seen
//	watcher_rpc_healthy{network,endpoint,host}               gauge; 1 = not benched
//	watcher_rpc_primary{network,endpoint,host}               gauge; 1 = the one the last step read from
//	watcher_rpc_waits_total{network,reason}                  counter; steps that waited: behind, disagree, no_quorum, no_endpoint
func (w *Watcher) Endpoints(p *endpoints.Pool) {
	w.reg.MustRegister(&poolCollector{pool: p, network: w.network})
}

type poolCollector struct {
	pool    *endpoints.Pool
	network string
}

var (
	rpcLabels   = []string{"network", "endpoint", "host"}
	rpcRequests = prometheus.NewDesc("watcher_rpc_requests_total", "JSON-RPC calls made to the endpoint.", rpcLabels, nil)
	rpcErrors   = prometheus.NewDesc("watcher_rpc_errors_total", "Failed JSON-RPC calls to the endpoint, by kind.", append(rpcLabels, "kind"), nil)
	rpcLatency  = prometheus.NewDesc("watcher_rpc_latency_seconds", "Moving average latency of the endpoint's answered calls.", rpcLabels, nil)
	rpcLag      = prometheus.NewDesc("watcher_rpc_head_lag_blocks", "Blocks the endpoint's head is behind the highest head seen.", rpcLabels, nil)
	rpcHealthy  = prometheus.NewDesc("watcher_rpc_healthy", "1 when the endpoint is not benched after failures.", rpcLabels, nil)
	rpcPrimary  = prometheus.NewDesc("watcher_rpc_primary", "1 for the endpoint the last step read from.", rpcLabels, nil)
	rpcWaits    = prometheus.NewDesc("watcher_rpc_waits_total", "Scan steps that waited instead of reporting, by reason.", []string{"network", "reason"}, nil)
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{rpcRequests, rpcErrors, rpcLatency, rpcLag, rpcHealthy, rpcPrimary, rpcWaits} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, s := range c.pool.Stats() {
		l := []string{c.network, strconv.Itoa(s.Index), s.Host}
		ch <- prometheus.MustNewConstMetric(rpcRequests, prometheus.CounterValue, float64(s.Requests), l...)
		for _, k := range endpoints.Kinds {
			ch <- prometheus.MustNewConstMetric(rpcErrors, prometheus.CounterValue, float64(s.Errors[k]), append(l, string(k))...)
		}
		ch <- prometheus.MustNewConstMetric(rpcLatency, prometheus.GaugeValue, s.Latency.Seconds(), l...)
		ch <- prometheus.MustNewConstMetric(rpcLag, prometheus.GaugeValue, float64(s.Lag), l...)
		ch <- prometheus.MustNewConstMetric(rpcHealthy, prometheus.GaugeValue, b(s.Healthy), l...)
		ch <- prometheus.MustNewConstMetric(rpcPrimary, prometheus.GaugeValue, b(s.Primary), l...)
	}
	waits := c.pool.WaitCounts()
	for _, r := range []string{endpoints.WaitBehind, endpoints.WaitDisagree, endpoints.WaitNoQuorum, endpoints.WaitNone} {
		ch <- prometheus.MustNewConstMetric(rpcWaits, prometheus.CounterValue, float64(waits[r]), c.network, r)
	}
}
