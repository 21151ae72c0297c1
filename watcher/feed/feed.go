// Package feed is the watcher's Redis side: the lease that makes one watcher per network the
// active one, its checkpoint and pending (seen, unconfirmed) transfers, the watch set it
// checks addresses against, the feed stream it appends transfers to, and the status record
// it publishes for the edge's operator view (chain head, endpoint health). Every write goes
// through one Lua script that first checks the lease, so a watcher that lost its lease can
// never write (fencing). All keys carry the network's hash tag: one Redis Cluster slot.
//
// The feed stream is trimmed by the same step, of entries every consumer group has
// acknowledged and that are older than the retention (see SetRetention); with no group yet,
// of the oldest entries past UngroupedMax.
package feed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	checkout "github.com/mpchat/checkout"
)

// ErrLeaseLost: another watcher holds the lease; this one must stop writing.
var ErrLeaseLost = errors.New("watcher lease lost")

// Feed trimming defaults.
const (
	// DefaultRetention: an acknowledged feed entry is kept this long (for an operator looking
	// back, and a group recreated by hand) before a step trims it.
	DefaultRetention = 24 * time.Hour
	// UngroupedMax: while no consumer group exists on the feed (no edge has started), it keeps
	// at most this many entries, the oldest trimmed first. Only transfers to watched
	// addresses are appended, and only an edge adds addresses, so this is a backstop.
	UngroupedMax = 100_000
	// trimBatch bounds the entries one step trims, so catching up on a long feed never
	// blocks Redis for long (a step runs about every poll interval).
	trimBatch = 1000
)

// Feed is one network's watcher state in Redis, owned by one watcher instance (its token).
type Feed struct {
	rdb                                                          redis.UniversalClient
	network                                                      checkout.Network
	token                                                        string
	lease, checkpoint, pending, stream, watch, anomalies, status string

	retention    time.Duration    // acknowledged entries younger than this are kept; < 0: never trim
	ungroupedMax int64            // entries kept while the feed has no consumer group
	trimBatch    int64            // most entries one step trims
	now          func() time.Time // the trim's clock
}

// New returns the feed of network n under the key prefix, with a fresh instance token.
func New(rdb redis.UniversalClient, prefix string, n checkout.Network) *Feed {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	base := prefix + "watcher:{" + string(n) + "}:"
	return &Feed{
		rdb: rdb, network: n, token: hex.EncodeToString(b),
		lease: base + "lease", checkpoint: base + "checkpoint", pending: base + "pending",
		anomalies: base + "anomalies", status: base + "status",
		stream: prefix + checkout.FeedStream(n), watch: prefix + checkout.WatchSet(n),
		retention: DefaultRetention, ungroupedMax: UngroupedMax, trimBatch: trimBatch, now: time.Now,
	}
}

// SetRetention sets how long feed entries every consumer group acknowledged are kept before
// a step trims them (default DefaultRetention; 0 trims them at the next step; negative never
// trims the feed, the behaviour of earlier versions). Call it before the first Commit.
func (f *Feed) SetRetention(d time.Duration) { f.retention = d }

// Token identifies this instance in the lease.
func (f *Feed) Token() string { return f.token }

// Acquire takes or renews the lease for ttl; false means another instance holds it.
func (f *Feed) Acquire(ctx context.Context, ttl time.Duration) (bool, error) {
	n, err := acquireScript.Run(ctx, f.rdb, []string{f.lease}, f.token, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("lease: %w", err)
	}
	return n == 1, nil
}

// Release gives the lease up if this instance holds it, so a standby takes over at once.
func (f *Feed) Release(ctx context.Context) error {
	return releaseScript.Run(ctx, f.rdb, []string{f.lease}, f.token).Err()
}

// State is the watcher's persisted progress.
type State struct {
	Checkpoint uint64 // last block whose logs are final and emitted
	Started    bool   // false: no checkpoint yet
	Pending    map[string]checkout.Transfer
}

// Load reads the checkpoint and pending transfers.
func (f *Feed) Load(ctx context.Context) (*State, error) {
	st := &State{Pending: map[string]checkout.Transfer{}}
	cp, err := f.rdb.Get(ctx, f.checkpoint).Result()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return nil, fmt.Errorf("load checkpoint: %w", err)
	default:
		if st.Checkpoint, err = strconv.ParseUint(cp, 10, 64); err != nil {
			return nil, fmt.Errorf("corrupt checkpoint %q: %w", cp, err)
		}
		st.Started = true
	}
	all, err := f.rdb.HGetAll(ctx, f.pending).Result()
	if err != nil {
		return nil, fmt.Errorf("load pending: %w", err)
	}
	for k, v := range all {
		var t checkout.Transfer
		if err := json.Unmarshal([]byte(v), &t); err != nil {
			return nil, fmt.Errorf("corrupt pending %s: %w", k, err)
		}
		st.Pending[k] = t
	}
	return st, nil
}

// Watched reports, for each address (network format), whether it is in the watch set.
func (f *Feed) Watched(ctx context.Context, addrs []string) ([]bool, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	args := make([]any, len(addrs))
	for i, a := range addrs {
		args[i] = a
	}
	res, err := f.rdb.SMIsMember(ctx, f.watch, args...).Result()
	if err != nil {
		return nil, fmt.Errorf("check watch set: %w", err)
	}
	return res, nil
}

// Step is one atomic change of the watcher's state.
type Step struct {
	Emit       []checkout.Transfer          // appended to the feed, in order
	Upsert     map[string]checkout.Transfer // pending entries to set
	Delete     []string                     // pending entries to remove
	Checkpoint uint64
}

// Commit applies a step atomically, if this instance still holds the lease (ErrLeaseLost
// otherwise, and nothing is written), and trims the feed of what every consumer group has
// acknowledged (at most trimBatch entries a step; see SetRetention).
func (f *Feed) Commit(ctx context.Context, s *Step) error {
	args := []any{f.token, len(s.Emit)}
	for i := range s.Emit {
		b, err := json.Marshal(&s.Emit[i])
		if err != nil {
			return fmt.Errorf("encode transfer: %w", err)
		}
		args = append(args, b)
	}
	// Deletes run before upserts: a log re-mined in another block is both.
	args = append(args, len(s.Delete))
	for _, k := range s.Delete {
		args = append(args, k)
	}
	args = append(args, len(s.Upsert))
	for k, t := range s.Upsert {
		b, err := json.Marshal(&t)
		if err != nil {
			return fmt.Errorf("encode pending: %w", err)
		}
		args = append(args, k, b)
	}
	args = append(args, s.Checkpoint)
	keepAfter, ungrouped := "0-0", f.ungroupedMax
	if f.retention < 0 {
		ungrouped = -1
	} else if ms := f.now().Add(-f.retention).UnixMilli(); ms > 0 {
		keepAfter = strconv.FormatInt(ms, 10) + "-0"
	}
	args = append(args, keepAfter, ungrouped, f.trimBatch)
	err := commitScript.Run(ctx, f.rdb, []string{f.lease, f.checkpoint, f.pending, f.stream}, args...).Err()
	if err != nil && strings.Contains(err.Error(), "LEASE_LOST") {
		return ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("commit watcher step: %w", err)
	}
	return nil
}

// MinStatusTTL is the shortest life of a status record (see StatusTTL).
const MinStatusTTL = 30 * time.Second

// StatusTTL is how long a status record outlives its write: three poll intervals, at least
// MinStatusTTL. A watcher that stops (or loses the lease) stops writing, so its record
// vanishes and the operator view says it is not reporting instead of showing old figures.
func StatusTTL(poll time.Duration) time.Duration { return max(3*poll, MinStatusTTL) }

// Status is what the active watcher publishes of itself after a step, for the edge's
// operator view: what its /metrics show, which the edge cannot reach.
type Status struct {
	Head       uint64    // the chain head the step saw
	At         time.Time // when the head was read
	Checkpoint uint64    // the checkpoint the step left
	// EndpointsHealthy of EndpointsTotal RPC endpoints are not benched after failures.
	EndpointsHealthy, EndpointsTotal int
	// Primary is the endpoint the step read from as logs and metrics name it ("#i
	// scheme://host": never a path, query or header, where keys are); "" when none.
	Primary string
}

// WriteStatus replaces the network's status record, to expire after ttl (see StatusTTL),
// if this instance holds the lease (ErrLeaseLost otherwise, and nothing is written).
func (f *Feed) WriteStatus(ctx context.Context, s *Status, ttl time.Duration) error {
	err := statusScript.Run(ctx, f.rdb, []string{f.lease, f.status}, f.token, ttl.Milliseconds(),
		s.Head, s.At.UnixMilli(), s.Checkpoint, s.EndpointsHealthy, s.EndpointsTotal, s.Primary).Err()
	if err != nil && strings.Contains(err.Error(), "LEASE_LOST") {
		return ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("write watcher status: %w", err)
	}
	return nil
}

// Anomaly records a log the watcher cannot report as a Transfer (e.g. a value beyond int64,
// impossible for real USDT) for an operator to look at.
func (f *Feed) Anomaly(ctx context.Context, reason string, detail map[string]any) error {
	b, _ := json.Marshal(detail)
	return f.rdb.XAdd(ctx, &redis.XAddArgs{Stream: f.anomalies, Values: []any{"reason", reason, "detail", b}}).Err()
}

// AppendConfirmed appends confirmed observations to the feed in one atomic step (MULTI on
// the feed's slot), without the lease and without touching the checkpoint or the pending
// set: an operator's rescan of final blocks behind the live watcher writes through it while
// that watcher keeps running. Consumers dedupe by network, tx hash and log index, so an
// observation already reported credits nothing twice. Anything but a confirmed transfer of
// this feed's network is refused, and nothing is written.
func (f *Feed) AppendConfirmed(ctx context.Context, ts []checkout.Transfer) error {
	vals := make([][]byte, len(ts))
	for i := range ts {
		if ts[i].Kind != checkout.TransferConfirmed || ts[i].Network != f.network {
			return fmt.Errorf("append to the %s feed: transfer %s is %s on %s, want confirmed on %s",
				f.network, ts[i].Key(), ts[i].Kind, ts[i].Network, f.network)
		}
		b, err := json.Marshal(&ts[i])
		if err != nil {
			return fmt.Errorf("encode transfer: %w", err)
		}
		vals[i] = b
	}
	_, err := f.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, b := range vals {
			p.XAdd(ctx, &redis.XAddArgs{Stream: f.stream, Values: []any{checkout.FeedField, b}})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append to the %s feed: %w", f.network, err)
	}
	return nil
}
