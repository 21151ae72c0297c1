package evm

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/mpchat/checkout/watcher/feed"
)

// Lease is the HA lease: one watcher per network scans, the others stand by.
type Lease interface {
	Acquire(ctx context.Context, ttl time.Duration) (bool, error)
	Release(ctx context.Context) error
}

// Runner drives a Scanner under the lease until its context ends.
type Runner struct {
	Scanner  *Scanner
	Lease    Lease
	LeaseTTL time.Duration   // default 5 s; a standby takes over within about this long
	Poll     time.Duration   // wait between steps at the head; default 1 s
	Wake     <-chan struct{} // optional: new-head notifications end the wait early
	Log      *slog.Logger
	// OnStep is called after each committed step with the scanner's progress (metrics, tests).
	OnStep func(Progress)
	// OnLease is called after every lease check with whether this instance is the active
	// watcher (false: standing by, or the lease was lost).
	OnLease func(leader bool)
	// OnError is called when a lease check or a step fails (it is logged and retried).
	OnError func(error)
	// Status, when set, is where the active watcher publishes its status after each committed
	// step (one write a step; *feed.Feed satisfies it), to expire after feed.StatusTTL(Poll):
	// the chain head, the checkpoint, and the endpoints' health from Health (optional;
	// *endpoints.Pool's Health satisfies it). A failed write is logged and the scan goes on:
	// the record lapses, and the operator view says the watcher is not reporting.
	Status StatusWriter
	Health func() (healthy, total int, primary string)
}

// StatusWriter publishes the active watcher's status record (the edge's operator view reads
// it).
type StatusWriter interface {
	WriteStatus(ctx context.Context, s *feed.Status, ttl time.Duration) error
}

// Run scans while holding the lease; it releases the lease when ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	ttl, poll := r.LeaseTTL, r.Poll
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	if poll <= 0 {
		poll = time.Second
	}
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	leader := false
	defer func() {
		if leader {
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = r.Lease.Release(rctx)
		}
	}()
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		ok, err := r.Lease.Acquire(ctx, ttl)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			r.failed(err)
			log.Error("watcher: lease", "err", err)
			r.wait(ctx, backoff, nil)
			continue
		}
		if ok != leader {
			leader = ok
			log.Info("watcher: lease", "leader", leader)
		}
		if r.OnLease != nil {
			r.OnLease(leader)
		}
		if !leader {
			r.wait(ctx, ttl/5, nil)
			continue
		}
		caughtUp, err := r.Scanner.Step(ctx)
		switch {
		case errors.Is(err, feed.ErrLeaseLost):
			leader = false
			if r.OnLease != nil {
				r.OnLease(false)
			}
			log.Warn("watcher: lost the lease; standing by")
			continue
		case err != nil:
			if ctx.Err() == nil {
				r.failed(err)
				log.Error("watcher: step failed", "err", err)
			}
			r.wait(ctx, backoff, nil)
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		backoff = 200 * time.Millisecond
		p := r.Scanner.Progress()
		if r.OnStep != nil {
			r.OnStep(p)
		}
		if r.Status != nil {
			if err := r.writeStatus(ctx, p, feed.StatusTTL(poll)); errors.Is(err, feed.ErrLeaseLost) {
				continue // the next lease check stands by
			} else if err != nil && ctx.Err() == nil {
				log.Warn("watcher: status", "err", err)
			}
		}
		if caughtUp {
			r.wait(ctx, min(poll, ttl/3), r.Wake)
		}
	}
	return nil
}

// writeStatus publishes progress p with the endpoints' health.
func (r *Runner) writeStatus(ctx context.Context, p Progress, ttl time.Duration) error {
	s := &feed.Status{Head: p.Head, At: p.HeadAt, Checkpoint: p.Checkpoint}
	if r.Health != nil {
		s.EndpointsHealthy, s.EndpointsTotal, s.Primary = r.Health()
	}
	return r.Status.WriteStatus(ctx, s, ttl)
}

func (r *Runner) failed(err error) {
	if r.OnError != nil {
		r.OnError(err)
	}
}

func (r *Runner) wait(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}
