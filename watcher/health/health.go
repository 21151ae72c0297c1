// Package health is a watcher's operator HTTP server: GET /healthz (the process is alive),
// GET /readyz (Redis and the chain node answer, and the lease state is known) and GET
// /metrics. It is off unless `watcher run --listen` (env MP_WATCHER_LISTEN) gives an address;
// keep that address private (loopback or an internal network): it is for probes and
// Prometheus, not the public.
package health

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultCheckTimeout bounds each readiness check.
const DefaultCheckTimeout = 2 * time.Second

// Checks are what /readyz asks.
type Checks struct {
	// Redis pings Redis.
	Redis func(ctx context.Context) error
	// Chain asks the node for its head block.
	Chain func(ctx context.Context) (uint64, error)
	// Lease is "leader", "standby" or "unknown" (metrics.LeaseState); unknown is not ready.
	Lease func() string
	// Timeout bounds each check; default DefaultCheckTimeout.
	Timeout time.Duration
	Log     *slog.Logger // default slog.Default()
}

// Readiness is the /readyz answer.
type Readiness struct {
	Status string `json:"status"` // "ok" or "unavailable"
	Redis  string `json:"redis"`  // "ok" or "unreachable"
	Chain  string `json:"chain"`  // "ok" or "unreachable"
	Head   uint64 `json:"head,omitempty"`
	Lease  string `json:"lease"`
}

// Handler serves /healthz, /readyz and, when metrics is not nil, /metrics.
func Handler(c Checks, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rd := c.ready(r.Context())
		status := http.StatusOK
		if rd.Status != "ok" {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, rd)
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	return mux
}

func (c Checks) ready(ctx context.Context) Readiness {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	rd := Readiness{Status: "ok", Redis: "ok", Chain: "ok", Lease: "unknown"}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.Redis(cctx); err != nil {
		log.Warn("not ready: redis", "err", err)
		rd.Status, rd.Redis = "unavailable", "unreachable"
	}
	hctx, hcancel := context.WithTimeout(ctx, timeout)
	defer hcancel()
	head, err := c.Chain(hctx)
	if err != nil {
		log.Warn("not ready: chain node", "err", err)
		rd.Status, rd.Chain = "unavailable", "unreachable"
	} else {
		rd.Head = head
	}
	if c.Lease != nil {
		rd.Lease = c.Lease()
	}
	if rd.Lease != "leader" && rd.Lease != "standby" {
		rd.Status = "unavailable"
	}
	return rd
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve listens on addr and serves h until ctx ends (then shuts down within 5 s). It returns
// once listening, with the bound address (useful with port 0), and reports the server's end on
// done (nil after a clean shutdown).
func Serve(ctx context.Context, addr string, h http.Handler) (bound net.Addr, done <-chan error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 90 * time.Second}
	ch := make(chan error, 1)
	go func() {
		err := hs.Serve(ln)
		if err == http.ErrServerClosed {
			err = nil
		}
		ch <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	return ln.Addr(), ch, nil
}
