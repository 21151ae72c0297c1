package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mpchat/checkout/internal/envflag"
)

// redisFlags are the connection flags every command shares.
type redisFlags struct {
	url    string
	prefix string
}

func (r *redisFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.url, "redis", envflag.String("MP_REDIS", "redis://127.0.0.1:6379/0"), "Redis URL (env MP_REDIS)")
	fs.StringVar(&r.prefix, "redis-prefix", envflag.String("MP_REDIS_PREFIX", "mp:"), "prefix of every Redis key (env MP_REDIS_PREFIX)")
}

// connect opens a Redis client and checks that it answers.
func (r *redisFlags) connect(ctx context.Context) (*redis.Client, error) {
	opts, err := redis.ParseURL(r.url)
	if err != nil {
		return nil, fmt.Errorf("--redis %s: %w", redactURL(r.url), err)
	}
	c := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to redis %s: %w", redactURL(r.url), err)
	}
	return c, nil
}

// redactURL hides a password in a URL so it can be logged.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

func newLogger(format, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
