// Command nodeproxy runs watcher/devchain/nodeproxy standalone in front of a dev chain, to try
// the watcher (or anything speaking JSON-RPC) by hand against a node that answers as
// java-tron does and misbehaves on command:
//
//	go run ./demo/devchain run --listen 127.0.0.1:8545 &
//	go run ./demo/nodeproxy --upstream http://127.0.0.1:8545 --listen 127.0.0.1:8645 --tron
//
// It prints the proxy's URL. Faults can be given at start (--lag, --delay, --stale-head,
// --rate-limit …) and changed while it runs through the optional control address:
//
//	curl -X PUT http://CONTROL/fault -d '{"Lag": 20}'          # a Fault as JSON; {} heals
//	curl http://CONTROL/fault                                    # the active faults
//	curl http://CONTROL/counts                                   # calls received per method
//
// Development only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mpchat/checkout/internal/envflag"
	"github.com/mpchat/checkout/watcher/devchain/nodeproxy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "nodeproxy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("nodeproxy", flag.ContinueOnError)
	var env envflag.Env // a value that does not parse is an error after fs.Parse
	upstream := fs.String("upstream", envflag.String("MP_NODEPROXY_UPSTREAM", "http://127.0.0.1:8545"), "the dev chain's HTTP JSON-RPC URL (env MP_NODEPROXY_UPSTREAM)")
	listen := fs.String("listen", envflag.String("MP_NODEPROXY_LISTEN", "127.0.0.1:0"), "loopback address to serve (env MP_NODEPROXY_LISTEN)")
	tron := fs.Bool("tron", env.Bool("MP_NODEPROXY_TRON", false), "answer as java-tron's JSON-RPC does (env MP_NODEPROXY_TRON)")
	maxRange := fs.Int("max-block-range", env.Int("MP_NODEPROXY_MAX_BLOCK_RANGE", 5000), "TRON: eth_getLogs block range limit; negative: none (env MP_NODEPROXY_MAX_BLOCK_RANGE)")
	maxResults := fs.Int("max-results", env.Int("MP_NODEPROXY_MAX_RESULTS", 10000), "TRON: most logs per eth_getLogs; negative: none (env MP_NODEPROXY_MAX_RESULTS)")
	depth := fs.Int("solidify-depth", env.Int("MP_NODEPROXY_SOLIDIFY_DEPTH", 18), "TRON: the finalized block is this far below the head (env MP_NODEPROXY_SOLIDIFY_DEPTH)")
	lag := fs.Int("lag", env.Int("MP_NODEPROXY_LAG", 0), "start this many blocks behind the upstream head (env MP_NODEPROXY_LAG)")
	delay := fs.Duration("delay", env.Duration("MP_NODEPROXY_DELAY", 0), "hold every response this long (env MP_NODEPROXY_DELAY)")
	stale := fs.Bool("stale-head", env.Bool("MP_NODEPROXY_STALE_HEAD", false), "freeze eth_blockNumber at the first head seen (env MP_NODEPROXY_STALE_HEAD)")
	limit := fs.String("rate-limit", envflag.String("MP_NODEPROXY_RATE_LIMIT", "none"), "rate-limit style: none, tron, 429, trongrid-403 or trongrid-503 (env MP_NODEPROXY_RATE_LIMIT)")
	qps := fs.Int("rate-limit-qps", env.Int("MP_NODEPROXY_RATE_LIMIT_QPS", 0), "with --rate-limit: refuse only requests beyond this rate; 0: all (env MP_NODEPROXY_RATE_LIMIT_QPS)")
	control := fs.String("control", envflag.String("MP_NODEPROXY_CONTROL", ""), "loopback address of the control API (PUT/GET /fault, GET /counts); empty: none (env MP_NODEPROXY_CONTROL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	style, err := nodeproxy.ParseRateLimitStyle(*limit)
	if err != nil {
		return err
	}
	if *lag < 0 || *depth < 0 || *qps < 0 {
		return errors.New("--lag, --solidify-depth and --rate-limit-qps must not be negative")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	p, err := nodeproxy.Start(ctx, nodeproxy.Config{Upstream: *upstream, Listen: *listen, TRON: *tron,
		MaxBlockRange: int64(*maxRange), MaxResults: *maxResults, SolidifyDepth: uint64(*depth), Logger: log})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.Set(nodeproxy.Fault{Lag: uint64(*lag), Delay: *delay, StaleHead: *stale,
		RateLimit: style, RateLimitQPS: float64(*qps)}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, p.URL())
	log.Info("node proxy ready", "url", p.URL(), "tron", *tron, "fault", fmt.Sprintf("%+v", p.Fault()))
	if *control != "" {
		if err := serveControl(ctx, *control, p, stdout, log); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

// serveControl serves the fault and count API until ctx ends.
func serveControl(ctx context.Context, addr string, p *nodeproxy.Proxy, stdout io.Writer, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--control %q: a loopback host:port", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fault", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(p.Fault())
	})
	mux.HandleFunc("PUT /fault", func(w http.ResponseWriter, r *http.Request) {
		var f nodeproxy.Fault
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			http.Error(w, "a Fault as JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := p.Set(f); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		log.Info("faults set", "fault", fmt.Sprintf("%+v", f))
		_ = json.NewEncoder(w).Encode(p.Fault())
	})
	mux.HandleFunc("GET /counts", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(p.Counts())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Fprintln(stdout, "control http://"+ln.Addr().String())
	return nil
}
