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
	// OnStep is called after each committed step (metrics, tests).
	OnStep func(caughtUp bool)
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
			log.Error("watcher: lease", "err", err)
			r.wait(ctx, backoff, nil)
			continue
		}
		if ok != leader {
			leader = ok
			log.Info("watcher: lease", "leader", leader)
		}
		if !leader {
			r.wait(ctx, ttl/5, nil)
			continue
		}
		caughtUp, err := r.Scanner.Step(ctx)
		switch {
		case errors.Is(err, feed.ErrLeaseLost):
			leader = false
			log.Warn("watcher: lost the lease; standing by")
			continue
		case err != nil:
			if ctx.Err() == nil {
				log.Error("watcher: step failed", "err", err)
			}
			r.wait(ctx, backoff, nil)
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		backoff = 200 * time.Millisecond
		if r.OnStep != nil {
			r.OnStep(caughtUp)
		}
		if caughtUp {
			r.wait(ctx, min(poll, ttl/3), r.Wake)
		}
	}
	return nil
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
