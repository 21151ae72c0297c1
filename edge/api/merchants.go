package api

import (
	"context"
	"sync"
	"time"

	checkout "github.com/mpchat/checkout"
)

// DefaultMerchantCacheTTL bounds how stale a merchant's settings may be on an edge: an
// operator's change applies everywhere within this time. API keys are cached by the verifier,
// but each request reads its key's record in its admission round trip, so a revoked key
// stops working at once.
const DefaultMerchantCacheTTL = time.Second

type merchantLoader interface {
	Merchant(ctx context.Context, id string) (*checkout.Merchant, error)
}

// merchantCache keeps merchant records for a short time: every authenticated request needs
// one, and they change rarely.
type merchantCache struct {
	mu sync.Mutex
	m  map[string]cachedMerchant
}

type cachedMerchant struct {
	m  *checkout.Merchant
	at time.Time
}

func (c *merchantCache) get(ctx context.Context, load merchantLoader, id string, ttl time.Duration) (*checkout.Merchant, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < ttl {
		return e.m, nil
	}
	m, err := load.Merchant(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) > 100_000 { // bounded: a full reset is cheap and rare
		c.m = map[string]cachedMerchant{}
	}
	c.m[id] = cachedMerchant{m: m, at: now}
	c.mu.Unlock()
	return m, nil
}
