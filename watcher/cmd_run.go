package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/envflag"
	"github.com/mpchat/checkout/internal/redisconn"
	"github.com/mpchat/checkout/internal/secreturl"
	"github.com/mpchat/checkout/watcher/evm"
	"github.com/mpchat/checkout/watcher/feed"
	"github.com/mpchat/checkout/watcher/health"
	"github.com/mpchat/checkout/watcher/metrics"
)

// runWatch: `watcher run` watches one network's USDT transfers and feeds them to Redis.
func runWatch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var env envflag.Env // a value that does not parse is an error after fs.Parse
	cf := addChainFlags(fs, &env)
	ws := secreturl.Flag(fs, "ws", "MP_WS", "", "optional WebSocket JSON-RPC URL: new heads wake the scanner early (env MP_WS)")
	poll := fs.Duration("poll-interval", env.Duration("MP_POLL_INTERVAL", time.Second), "wait between scans at the head (env MP_POLL_INTERVAL)")
	startBlock := fs.Int64("start-block", int64(env.Int("MP_START_BLOCK", -1)), "first block to scan when there is no checkpoint; -1 = the current unconfirmed window (env MP_START_BLOCK)")
	listen := fs.String("listen", envflag.String("MP_WATCHER_LISTEN", ""), "address of the operator HTTP server (GET /healthz, /readyz, /metrics), e.g. 127.0.0.1:9101; empty = off (env MP_WATCHER_LISTEN)")
	leaseTTL := fs.Duration("lease-ttl", env.Duration("MP_LEASE_TTL", 5*time.Second), "HA lease; a standby takes over within about this long (env MP_LEASE_TTL)")
	retention := fs.Duration("feed-retention", env.Duration("MP_FEED_RETENTION", feed.DefaultRetention), "keep feed entries every consumer group acknowledged this long before trimming them; 0 = at once, negative = never trim (env MP_FEED_RETENTION)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	setup, err := cf.check()
	if err != nil {
		return err
	}
	cc, err := cf.open(ctx, setup)
	if err != nil {
		return err
	}
	defer cc.close()
	log, n, pool, sc := cc.log, cc.network, cc.pool, cc.scanner
	cc.feed.SetRetention(*retention)
	if *startBlock >= 0 {
		b := uint64(*startBlock)
		sc.StartBlock = &b
	}
	wake := make(chan struct{}, 1)
	if *ws != "" {
		go evm.WakeOnHeads(ctx, *ws, wake, log)
	}
	var names []string
	for _, e := range pool.Endpoints() {
		names = append(names, e.Name())
	}
	log.Info("watcher starting", "rpc", strings.Join(names, ", "), "finality", *cf.finality, "confirmations_above", *cf.above, "ws", redactOptional(*ws), "token", deposit.Format(n, setup.token), "confirmations", setup.required,
		"redis", redisconn.Redact(*cf.redisURL), "redis_prefix", *cf.prefix)
	// The status record (head, endpoint health) is how the edge's operator view sees what
	// /metrics shows, whether --listen is on or not.
	r := &evm.Runner{Scanner: sc, Lease: cc.feed, LeaseTTL: *leaseTTL, Poll: *poll, Wake: wake, Log: log,
		Status: cc.feed, Health: pool.Health}
	if *listen != "" {
		m := metrics.New(n)
		m.Hook(r)
		m.Endpoints(pool)
		checks := health.Checks{
			Redis: cc.ping,
			Chain: pool.Head,
			Lease: m.LeaseState,
			Log:   log,
		}
		addr, served, err := health.Serve(ctx, *listen, health.Handler(checks, m.Handler()))
		if err != nil {
			return fmt.Errorf("--listen: %w", err)
		}
		go func() {
			if err := <-served; err != nil {
				log.Error("operator endpoints stopped", "err", err)
			}
		}()
		log.Info("operator endpoints listening", "addr", addr.String())
	}
	return r.Run(ctx)
}

// redactOptional is redact, or "" for an unset URL.
func redactOptional(raw string) string {
	if raw == "" {
		return ""
	}
	return secreturl.Redact(raw)
}

// parseTiers parses --confirmations-above: "USDT:blocks" or "USDT:finalized", comma-separated.
func parseTiers(s string) ([]evm.Tier, error) {
	var out []evm.Tier
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		amt, req, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("%q: want USDT:blocks or USDT:finalized", item)
		}
		a, err := checkout.ParseAmount(strings.TrimSpace(amt))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", item, err)
		}
		t := evm.Tier{Min: a}
		if req = strings.TrimSpace(req); req == "finalized" {
			t.Finalized = true
		} else if b, err := strconv.ParseUint(req, 10, 32); err == nil && b >= 1 {
			t.Blocks = b
		} else {
			return nil, fmt.Errorf("%q: want a block count ≥ 1 or finalized after the colon", item)
		}
		out = append(out, t)
	}
	return out, nil
}
