package store

// Reads for an operator's lookup of one transaction (edge tx): is an address watched, and
// which orphan records name a transaction. Nothing here writes.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	checkout "github.com/mpchat/checkout"
)

// IsWatched reports whether addr (network format) is in the network's watch set, the set the
// watcher reports transfers to.
func (s *Store) IsWatched(ctx context.Context, n checkout.Network, addr string) (bool, error) {
	ok, err := s.rdb.SIsMember(ctx, s.k.watchSet(n), addr).Result()
	return ok, wrap("check watch set", err)
}

// Orphan is one entry of the orphans record (RecordOrphan).
type Orphan struct {
	ID       string            // the orphans stream entry id
	FeedID   string            // the feed entry it came from
	Reason   string            // why no order took it
	Transfer checkout.Transfer // the observation, as the feed carried it
}

// OrphansOfTx returns the orphan records of transaction txHash (0x + 64 lowercase hex) on
// network n among the newest `scan` entries of the orphans record, newest first. The record
// is uncapped, so the search is bounded: an older record is not found.
func (s *Store) OrphansOfTx(ctx context.Context, n checkout.Network, txHash string, scan int64) ([]Orphan, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.k.orphans(), "+", "-", scan).Result()
	if err != nil {
		return nil, wrap("search orphans", err)
	}
	var out []Orphan
	for _, m := range msgs {
		raw, _ := m.Values["transfer"].(string)
		if m.Values["network"] != string(n) || !strings.Contains(raw, txHash) {
			continue // cheap filter before decoding
		}
		o := Orphan{ID: m.ID, FeedID: fmt.Sprint(m.Values["feed_id"]), Reason: fmt.Sprint(m.Values["reason"])}
		if err := json.Unmarshal([]byte(raw), &o.Transfer); err != nil || o.Transfer.TxHash != txHash {
			continue
		}
		out = append(out, o)
	}
	return out, nil
}
