package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/sync/errgroup"
)

// The --metrics-listen values: its default, a private loopback listener (the metrics tell
// anyone who reads them traffic, payments and backlogs); off turns the metrics off; public
// serves them on --listen, for an operator whose proxy keeps /metrics private.
const (
	defaultMetricsListen = "127.0.0.1:9100"
	metricsOff           = "off"
	metricsPublic        = "public"
)

// serveOps serves the operator endpoints (api.Server.OpsHandler) on their own listener at
// addr, in g, until ctx ends.
func serveOps(ctx context.Context, g *errgroup.Group, addr string, h fasthttp.RequestHandler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-listen %s: %w", addr, err)
	}
	hs := &fasthttp.Server{Handler: h, Name: "mp-checkout", ReadTimeout: 15 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: 90 * time.Second, MaxRequestBodySize: 4 << 10}
	g.Go(func() error {
		if err := hs.Serve(ln); err != nil {
			return fmt.Errorf("metrics server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hs.ShutdownWithContext(sctx)
	})
	log.Info("metrics listening", "addr", ln.Addr().String())
	return nil
}
