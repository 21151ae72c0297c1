package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

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
	rpc := secreturl.Flag(fs, "rpc", "MP_RPC", "", "JSON-RPC URL of the chain node (TRON: its /jsonrpc); logged as scheme://host only (env MP_RPC)")
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
	if *rpc == "" {
		return fmt.Errorf("--rpc is required")
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
	cl, err := ethclient.DialContext(ctx, *rpc)
	if err != nil {
		return fmt.Errorf("dial %s: %w", secreturl.Redact(*rpc), err)
	}
	defer cl.Close()

	fd := feed.New(rdb, *prefix, n)
	fd.SetRetention(*retention)
	sc := &evm.Scanner{Chain: evm.Node(cl), Store: fd, Network: n, Token: common.Address(tok),
		Required: required, MaxRange: uint64(*maxRange), Log: log}
	if *startBlock >= 0 {
		b := uint64(*startBlock)
		sc.StartBlock = &b
	}
	wake := make(chan struct{}, 1)
	if *ws != "" {
		go evm.WakeOnHeads(ctx, *ws, wake, log)
	}
	log.Info("watcher starting", "rpc", secreturl.Redact(*rpc), "ws", redactOptional(*ws), "token", deposit.Format(n, tok), "confirmations", required,
		"redis", redisconn.Redact(*redisURL), "redis_prefix", *prefix)
	r := &evm.Runner{Scanner: sc, Lease: sc.Store.(*feed.Feed), LeaseTTL: *leaseTTL, Poll: *poll, Wake: wake, Log: log}
	if *listen != "" {
		m := metrics.New(n)
		m.Hook(r)
		checks := health.Checks{
			Redis: func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
			Chain: cl.BlockNumber,
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
