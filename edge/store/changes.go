package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mpchat/checkout/internal/redisconn"
)

// ChangeReader reads the change feed (the hints publishChange writes after every order
// commit) with blocking reads. An edge process has one, on a Redis client of its own: a
// blocking XREAD holds its connection for the whole wait, so on the command pool it would
// take a connection from every other request; on its own client the edge's connections stay
// constant however many streams it serves. One goroutine reads at a time.
type ChangeReader struct {
	rdb  redis.UniversalClient
	k    keys
	owns bool // rdb was opened for the reader: Close closes it
}

// ChangeReader returns a reader of the store's change feed on a new client with the store's
// connection settings and one connection (per cluster node). Close it when done.
func (s *Store) ChangeReader() *ChangeReader {
	return &ChangeReader{rdb: redisconn.Dedicated(s.rdb), k: s.k, owns: true}
}

// NewChangeReader returns a reader of the change feed under prefix on rdb, a client the
// caller reserves for it (pool size 1 is enough) and closes itself.
func NewChangeReader(rdb redis.UniversalClient, prefix string) *ChangeReader {
	return &ChangeReader{rdb: rdb, k: keys{prefix: prefix, shared: prefix}}
}

// Close closes the reader's own client (not one given to NewChangeReader).
func (r *ChangeReader) Close() error {
	if !r.owns {
		return nil
	}
	return r.rdb.Close()
}

// Tail returns the id of the newest change feed entry ("0-0" when empty): where a new reader
// starts.
func (r *ChangeReader) Tail(ctx context.Context) (string, error) {
	msgs, err := r.rdb.XRevRangeN(ctx, r.k.changes(), "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("read change feed tail: %w", err)
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// Read blocks up to block (positive) for up to count change feed entries after the entry id
// after, oldest first; none when the wait ends empty.
func (r *ChangeReader) Read(ctx context.Context, after string, block time.Duration, count int64) ([]Change, error) {
	res, err := r.rdb.XRead(ctx, &redis.XReadArgs{
		Streams: []string{r.k.changes(), after}, Block: block, Count: count,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read change feed: %w", err)
	}
	var out []Change
	for _, st := range res {
		for _, m := range st.Messages {
			c := Change{ID: m.ID}
			c.OrderID, _ = m.Values["order_id"].(string)
			c.Prev, _ = m.Values["prev"].(string)
			if raw, ok := m.Values["events"].(string); ok {
				_ = json.Unmarshal([]byte(raw), &c.Events) // a bad hint only costs a reread
			}
			out = append(out, c)
		}
	}
	return out, nil
}
