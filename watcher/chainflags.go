package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/envflag"
	"github.com/mpchat/checkout/internal/redisconn"
	"github.com/mpchat/checkout/internal/rpcspec"
	"github.com/mpchat/checkout/internal/secreturl"
	"github.com/mpchat/checkout/watcher/endpoints"
	"github.com/mpchat/checkout/watcher/evm"
	"github.com/mpchat/checkout/watcher/feed"
)

// chainFlags are the flags every command that reads a network's chain and writes its feed
// shares (run, rescan): the network, its endpoints, what makes a transfer final, the token,
// and Redis. One definition, so the commands cannot drift apart.
type chainFlags struct {
	network                         *string
	rpcs, headers                   rpcspec.List
	rpcTimeout                      *time.Duration
	quorum, confirmations, maxRange *int
	finality, above, token          *string
	redisURL, prefix                *string
	redisCluster                    *bool
}

// addChainFlags registers the shared flags on fs; values that do not parse from the
// environment are reported by env.Err after fs.Parse.
func addChainFlags(fs *flag.FlagSet, env *envflag.Env) *chainFlags {
	c := &chainFlags{}
	c.network = fs.String("network", envflag.String("MP_NETWORK", ""), "ERC20 or TRC20 (env MP_NETWORK)")
	c.rpcs.Vals = rpcspec.SplitList(envflag.String("MP_RPC", ""))
	c.headers.Vals = rpcspec.SplitLines(envflag.String("MP_RPC_HEADER", ""))
	fs.Var(&c.rpcs, "rpc", "JSON-RPC endpoint, repeatable: URL or 'URL|Header: value|…' (TRON: its /jsonrpc); logged as #index scheme://host only (env MP_RPC, comma-separated)")
	fs.Var(&c.headers, "rpc-header", "header sent to every endpoint, repeatable: 'Name: value' (env MP_RPC_HEADER, one per line)")
	c.rpcTimeout = fs.Duration("rpc-timeout", env.Duration("MP_RPC_TIMEOUT", endpoints.DefaultTimeout), "bound of one call to one endpoint; then the next is asked (env MP_RPC_TIMEOUT)")
	c.quorum = fs.Int("rpc-quorum", env.Int("MP_RPC_QUORUM", 1), "endpoints that must report the same block before a transfer in it is reported (env MP_RPC_QUORUM)")
	c.finality = fs.String("finality", envflag.String("MP_FINALITY", "blocks"), "blocks (--confirmations) or finalized (the chain's finalized tag; TRON: solidified) (env MP_FINALITY)")
	c.above = fs.String("confirmations-above", envflag.String("MP_CONFIRMATIONS_ABOVE", ""), "stricter requirement for large amounts: USDT:blocks or USDT:finalized, comma-separated, e.g. 10000:finalized (env MP_CONFIRMATIONS_ABOVE)")
	c.token = fs.String("token", envflag.String("MP_TOKEN", ""), "USDT contract (T… or 0x…); default: mainnet USDT of the network (env MP_TOKEN)")
	c.redisURL = fs.String("redis", envflag.String("MP_REDIS", "redis://127.0.0.1:6379/0"), "Redis URL; with --redis-cluster, seed nodes as redis://h1:6379?addr=h2:6379&addr=h3:6379 (env MP_REDIS)")
	c.redisCluster = fs.Bool("redis-cluster", env.Bool("MP_REDIS_CLUSTER", false), "Redis is a Redis Cluster (env MP_REDIS_CLUSTER)")
	c.prefix = fs.String("redis-prefix", envflag.String("MP_REDIS_PREFIX", "mp:"), "Redis key prefix, as the edge's (env MP_REDIS_PREFIX)")
	c.confirmations = fs.Int("confirmations", env.Int("MP_CONFIRMATIONS", 0), "blocks that make a transfer final; default ERC20 12, TRC20 19 (env MP_CONFIRMATIONS)")
	c.maxRange = fs.Int("max-range", env.Int("MP_MAX_RANGE", evm.DefaultMaxRange), "largest eth_getLogs block range (env MP_MAX_RANGE)")
	return c
}

// chainSetup is what the shared flags describe, checked: nothing is dialled yet.
type chainSetup struct {
	network   checkout.Network
	endpoints []endpoints.Config
	headers   http.Header
	token     [20]byte
	required  uint64
	finalized bool
	tiers     []evm.Tier
	maxRange  uint64
}

// check validates the parsed flags (before anything is dialled).
func (c *chainFlags) check() (*chainSetup, error) {
	n, err := checkout.ParseNetwork(*c.network)
	if err != nil {
		return nil, fmt.Errorf("--network: %w", err)
	}
	if len(c.rpcs.Vals) == 0 {
		return nil, fmt.Errorf("--rpc is required")
	}
	s := &chainSetup{network: n, headers: http.Header{}}
	for _, spec := range c.rpcs.Vals {
		cfg, err := rpcspec.Parse(spec)
		if err != nil {
			return nil, fmt.Errorf("--rpc: %w", err)
		}
		s.endpoints = append(s.endpoints, cfg)
	}
	for _, h := range c.headers.Vals {
		name, value, err := rpcspec.ParseHeader(h)
		if err != nil {
			return nil, fmt.Errorf("--rpc-header: %w", err)
		}
		s.headers.Add(name, value)
	}
	if n == checkout.TRC20 && *c.maxRange > 5000 {
		return nil, fmt.Errorf("--max-range %d: TRON nodes answer at most 5,000 blocks per eth_getLogs", *c.maxRange)
	}
	if *c.maxRange < 1 {
		return nil, fmt.Errorf("--max-range must be at least 1")
	}
	s.maxRange = uint64(*c.maxRange)
	if *c.finality != "blocks" && *c.finality != "finalized" {
		return nil, fmt.Errorf("--finality %q: want blocks or finalized", *c.finality)
	}
	s.finalized = *c.finality == "finalized"
	if s.tiers, err = parseTiers(*c.above); err != nil {
		return nil, fmt.Errorf("--confirmations-above: %w", err)
	}
	token := *c.token
	if token == "" {
		token = n.MainnetUSDT()
	}
	if len(token) > 0 && token[0] == 'T' {
		s.token, err = deposit.ParseTRON(token)
	} else {
		s.token, err = deposit.ParseEVM(token)
	}
	if err != nil {
		return nil, fmt.Errorf("--token: %w", err)
	}
	if *c.confirmations < 0 {
		return nil, fmt.Errorf("--confirmations must not be negative")
	}
	s.required = uint64(*c.confirmations)
	if s.required == 0 {
		s.required = n.DefaultConfirmations()
	}
	return s, nil
}

// chainConn is a chainSetup dialled: Redis, the endpoint pool, the feed and its scanner.
type chainConn struct {
	*chainSetup
	log     *slog.Logger
	close   func() error                    // closes the Redis client
	ping    func(ctx context.Context) error // asks Redis
	pool    *endpoints.Pool
	feed    *feed.Feed
	scanner *evm.Scanner
}

// open dials Redis and builds the endpoint pool, the network's feed and a scanner over them;
// the caller calls close.
func (c *chainFlags) open(ctx context.Context, s *chainSetup) (*chainConn, error) {
	log := secreturl.NewLogger(os.Stderr).With("network", s.network)
	rdb, err := redisconn.Open(ctx, *c.redisURL, *c.redisCluster)
	if err != nil {
		return nil, err
	}
	pool, err := endpoints.New(s.endpoints, endpoints.Options{Timeout: *c.rpcTimeout, Quorum: *c.quorum, Headers: s.headers, Log: log})
	if err != nil {
		rdb.Close()
		return nil, fmt.Errorf("--rpc: %w", err)
	}
	fd := feed.New(rdb, *c.prefix, s.network)
	sc := &evm.Scanner{Chain: pool, Store: fd, Network: s.network, Token: common.Address(s.token),
		Required: s.required, Finalized: s.finalized, Tiers: s.tiers, MaxRange: s.maxRange, Log: log}
	ping := func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
	return &chainConn{chainSetup: s, log: log, close: rdb.Close, ping: ping, pool: pool, feed: fd, scanner: sc}, nil
}
