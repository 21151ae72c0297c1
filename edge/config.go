package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/envflag"
	"github.com/mpchat/checkout/internal/redisconn"
)

// redisFlags are the connection flags every command shares.
type redisFlags struct {
	url     string
	prefix  string
	shared  string
	cluster bool
}

func (r *redisFlags) register(fs *flag.FlagSet, env *envflag.Env) {
	fs.StringVar(&r.url, "redis", envflag.String("MP_REDIS", "redis://127.0.0.1:6379/0"), "Redis URL; with --redis-cluster, seed nodes as redis://h1:6379?addr=h2:6379&addr=h3:6379 (env MP_REDIS)")
	fs.StringVar(&r.prefix, "redis-prefix", envflag.String("MP_REDIS_PREFIX", "mp:"), "prefix of every Redis key (env MP_REDIS_PREFIX)")
	fs.StringVar(&r.shared, "redis-shared-prefix", envflag.String("MP_REDIS_SHARED_PREFIX", store.DefaultSharedPrefix), "prefix of the keys every deployment on this Redis shares, whatever its --redis-prefix: xpub claims and dev-account numbers; the same for all of them (env MP_REDIS_SHARED_PREFIX)")
	fs.BoolVar(&r.cluster, "redis-cluster", env.Bool("MP_REDIS_CLUSTER", false), "Redis is a Redis Cluster (env MP_REDIS_CLUSTER)")
}

// connect opens a Redis client, checks that it answers, and returns the edge's store over it
// with the shared namespace; closeRedis closes the client.
func (r *redisFlags) connect(ctx context.Context) (st *store.Store, closeRedis func() error, err error) {
	rdb, err := redisconn.Open(ctx, r.url, r.cluster)
	if err != nil {
		return nil, nil, err
	}
	return store.New(rdb, r.prefix).WithSharedPrefix(r.shared), rdb.Close, nil
}

// newLogger returns the logger of --log-format and --log-level, or an error naming the flag
// whose value it does not know.
func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
