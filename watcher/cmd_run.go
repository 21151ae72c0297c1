package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/envflag"
	"github.com/mpchat/checkout/internal/redisconn"
	"github.com/mpchat/checkout/internal/secreturl"
	"github.com/mpchat/checkout/watcher/endpoints"
	"github.com/mpchat/checkout/watcher/evm"
	"github.com/mpchat/checkout/watcher/feed"
	"github.com/mpchat/checkout/watcher/health"
	"github.com/mpchat/checkout/watcher/metrics"
)

// mainnetUSDT is the USDT contract of each network.
var mainnetUSDT = map[checkout.Network]string{
	checkout.TRC20: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
	checkout.ERC20: "0xdAC17F958D2ee523a2206206994597C13D831ec7",
}

// runWatch: `watcher run` watches one network's USDT transfers and feeds them to Redis.
func runWatch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var env envflag.Env // a value that does not parse is an error after fs.Parse
	network := fs.String("network", envflag.String("MP_NETWORK", ""), "ERC20 or TRC20 (env MP_NETWORK)")
	var rpcs, headers multiFlag
	rpcs.vals = endpoints.SplitList(envflag.String("MP_RPC", ""))
	headers.vals = splitLines(envflag.String("MP_RPC_HEADER", ""))
	fs.Var(&rpcs, "rpc", "JSON-RPC endpoint, repeatable: URL or 'URL|Header: value|…' (TRON: its /jsonrpc); logged as #index scheme://host only (env MP_RPC, comma-separated)")
	fs.Var(&headers, "rpc-header", "header sent to every endpoint, repeatable: 'Name: value' (env MP_RPC_HEADER, one per line)")
	rpcTimeout := fs.Duration("rpc-timeout", env.Duration("MP_RPC_TIMEOUT", endpoints.DefaultTimeout), "bound of one call to one endpoint; then the next is asked (env MP_RPC_TIMEOUT)")
	quorum := fs.Int("rpc-quorum", env.Int("MP_RPC_QUORUM", 1), "endpoints that must report the same block before a transfer in it is reported (env MP_RPC_QUORUM)")
	finality := fs.String("finality", envflag.String("MP_FINALITY", "blocks"), "blocks (--confirmations) or finalized (the chain's finalized tag; TRON: solidified) (env MP_FINALITY)")
	above := fs.String("confirmations-above", envflag.String("MP_CONFIRMATIONS_ABOVE", ""), "stricter requirement for large amounts: USDT:blocks or USDT:finalized, comma-separated, e.g. 10000:finalized (env MP_CONFIRMATIONS_ABOVE)")
	ws := secreturl.Flag(fs, "ws", "MP_WS", "", "optional WebSocket JSON-RPC URL: new heads wake the scanner early (env MP_WS)")
	token := fs.String("token", envflag.String("MP_TOKEN", ""), "USDT contract (T… or 0x…); default: mainnet USDT of the network (env MP_TOKEN)")
	redisURL := fs.String("redis", envflag.String("MP_REDIS", "redis://127.0.0.1:6379/0"), "Redis URL; with --redis-cluster, seed nodes as redis://h1:6379?addr=h2:6379&addr=h3:6379 (env MP_REDIS)")
	redisCluster := fs.Bool("redis-cluster", env.Bool("MP_REDIS_CLUSTER", false), "Redis is a Redis Cluster (env MP_REDIS_CLUSTER)")
	prefix := fs.String("redis-prefix", envflag.String("MP_REDIS_PREFIX", "mp:"), "Redis key prefix, as the edge's (env MP_REDIS_PREFIX)")
	confirmations := fs.Int("confirmations", env.Int("MP_CONFIRMATIONS", 0), "blocks that make a transfer final; default ERC20 12, TRC20 19 (env MP_CONFIRMATIONS)")
	poll := fs.Duration("poll-interval", env.Duration("MP_POLL_INTERVAL", time.Second), "wait between scans at the head (env MP_POLL_INTERVAL)")
	maxRange := fs.Int("max-range", env.Int("MP_MAX_RANGE", evm.DefaultMaxRange), "largest eth_getLogs block range (env MP_MAX_RANGE)")
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
	n, err := checkout.ParseNetwork(*network)
	if err != nil {
		return fmt.Errorf("--network: %w", err)
	}
	if len(rpcs.vals) == 0 {
		return fmt.Errorf("--rpc is required")
	}
	var cfgs []endpoints.Config
	for _, spec := range rpcs.vals {
		c, err := endpoints.ParseSpec(spec)
		if err != nil {
			return fmt.Errorf("--rpc: %w", err)
		}
		cfgs = append(cfgs, c)
	}
	global := http.Header{}
	for _, h := range headers.vals {
		name, value, err := endpoints.ParseHeader(h)
		if err != nil {
			return fmt.Errorf("--rpc-header: %w", err)
		}
		global.Add(name, value)
	}
	if n == checkout.TRC20 && *maxRange > 5000 {
		return fmt.Errorf("--max-range %d: TRON nodes answer at most 5,000 blocks per eth_getLogs", *maxRange)
	}
	if *maxRange < 1 {
		return fmt.Errorf("--max-range must be at least 1")
	}
	if *finality != "blocks" && *finality != "finalized" {
		return fmt.Errorf("--finality %q: want blocks or finalized", *finality)
	}
	tiers, err := parseTiers(*above)
	if err != nil {
		return fmt.Errorf("--confirmations-above: %w", err)
	}
	if *token == "" {
		*token = mainnetUSDT[n]
	}
	var tok [20]byte
	if strings.HasPrefix(*token, "T") {
		tok, err = deposit.ParseTRON(*token)
	} else {
		tok, err = deposit.ParseEVM(*token)
	}
	if err != nil {
		return fmt.Errorf("--token: %w", err)
	}
	required := uint64(*confirmations)
	if required == 0 {
		required = n.DefaultConfirmations()
	}
	log := secreturl.NewLogger(os.Stderr).With("network", n)

	rdb, err := redisconn.Open(ctx, *redisURL, *redisCluster)
	if err != nil {
		return err
	}
	defer rdb.Close()
	pool, err := endpoints.New(cfgs, endpoints.Options{Timeout: *rpcTimeout, Quorum: *quorum, Headers: global, Log: log})
	if err != nil {
		return fmt.Errorf("--rpc: %w", err)
	}

	fd := feed.New(rdb, *prefix, n)
	fd.SetRetention(*retention)
	sc := &evm.Scanner{Chain: pool, Store: fd, Network: n, Token: common.Address(tok),
		Required: required, Finalized: *finality == "finalized", Tiers: tiers, MaxRange: uint64(*maxRange), Log: log}
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
	log.Info("watcher starting", "rpc", strings.Join(names, ", "), "finality", *finality, "confirmations_above", *above, "ws", redactOptional(*ws), "token", deposit.Format(n, tok), "confirmations", required,
		"redis", redisconn.Redact(*redisURL), "redis_prefix", *prefix)
	r := &evm.Runner{Scanner: sc, Lease: sc.Store.(*feed.Feed), LeaseTTL: *leaseTTL, Poll: *poll, Wake: wake, Log: log}
	if *listen != "" {
		m := metrics.New(n)
		m.Hook(r)
		m.Endpoints(pool)
		checks := health.Checks{
			Redis: func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
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

// multiFlag is a repeatable string flag whose default comes from the environment; a value
// given on the command line replaces the environment's list. Its String (the default -h
// prints) never shows a value: URLs and headers carry keys.
type multiFlag struct {
	vals []string
	set  bool
}

func (m *multiFlag) String() string {
	if m == nil || len(m.vals) == 0 {
		return ""
	}
	return fmt.Sprintf("(%d from the environment)", len(m.vals))
}

func (m *multiFlag) Set(v string) error {
	if !m.set {
		m.vals, m.set = nil, true
	}
	m.vals = append(m.vals, v)
	return nil
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
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
