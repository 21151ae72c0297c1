package store

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// PutOrders writes orders of a merchant as stored records (version 1) with their index
// entries, tx hash lookups and deposit address bindings, pipelined: no event stream, webhook,
// expiry or watch entry. It is for benchmarks and fixtures that need a large history fast
// (bench/orderlist fills a million orders with it); it checks nothing, so it is no way to
// create an order (edge/orders is).
func (s *Store) PutOrders(ctx context.Context, merchantID string, orders []*checkout.Order) error {
	if err := indexScript.Load(ctx, s.rdb).Err(); err != nil {
		return fmt.Errorf("put orders: load index script: %w", err)
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, o := range orders {
			doc, err := encodeOrder(o)
			if err != nil {
				return err
			}
			p.HSet(ctx, s.k.order(o.ID), "doc", doc, "merchant", merchantID, "ver", 1)
			if o.Address != "" {
				p.Set(ctx, s.k.address(o.Network, o.Address), o.ID, 0)
			}
			keys, args := s.indexCall(merchantID, o, 1)
			indexScript.EvalSha(ctx, p, keys, args...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put orders: %w", err)
	}
	return nil
}
