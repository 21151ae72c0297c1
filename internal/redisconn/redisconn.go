// Package redisconn opens the go-redis clients of the edge and watcher commands from their
// --redis URL: one Redis server (redis:// or rediss://), or a Redis Cluster (--redis-cluster),
// in which case the URL names seed nodes (redis://host1:6379?addr=host2:6379&addr=host3:6379).
// Every multi-key script of the product keeps its keys in one hash-tag slot, so the same code
// runs on both.
package redisconn

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
)

// Open connects and checks that Redis answers (within 5 s).
func Open(ctx context.Context, rawURL string, cluster bool) (redis.UniversalClient, error) {
	var c redis.UniversalClient
	if cluster {
		opts, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("--redis %s: %w", Redact(rawURL), err)
		}
		c = redis.NewClusterClient(opts)
	} else {
		opts, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("--redis %s: %w", Redact(rawURL), err)
		}
		c = redis.NewClient(opts)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to redis %s: %w", Redact(rawURL), err)
	}
	return c, nil
}

// Dedicated returns a client with the same connection settings as c and one connection per
// node, for a blocking reader (an XREAD holds its connection for the whole wait).
func Dedicated(c redis.UniversalClient) redis.UniversalClient {
	switch c := c.(type) {
	case *redis.ClusterClient:
		o := *c.Options()
		o.PoolSize, o.MinIdleConns, o.MaxIdleConns = 1, 0, 1
		return redis.NewClusterClient(&o)
	case *redis.Client:
		o := *c.Options()
		o.PoolSize, o.MinIdleConns, o.MaxIdleConns = 1, 0, 1
		return redis.NewClient(&o)
	}
	return c
}

// Redact hides a password in a URL so it can be logged.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
