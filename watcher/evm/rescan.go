package evm

import (
	"context"
	"errors"
	"fmt"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/watcher/feed"
)

// Rescan errors; the command turns them into operator messages.
var (
	// ErrNoCheckpoint: the live watcher has never committed a step, so no block is known to
	// be behind it; its first run scans from its start block.
	ErrNoCheckpoint = errors.New("the live watcher has no checkpoint yet")
	// ErrAboveCheckpoint: the range reaches past the live watcher's checkpoint. Those blocks
	// are the live watcher's to report (it rescans its unconfirmed window every step).
	ErrAboveCheckpoint = errors.New("range reaches past the live watcher's checkpoint")
	// ErrNotFinal: the node read from does not have the range final (it is behind).
	ErrNotFinal = errors.New("range is not final on the RPC endpoint read")
)

// RescanResult is what a rescan read and wrote.
type RescanResult struct {
	From, To   uint64 // the range, inclusive
	Checkpoint uint64 // the live watcher's checkpoint when the rescan began
	Blocks     uint64 // blocks read so far
	Ranges     int    // eth_getLogs ranges asked (before any split the endpoint needs)
	Logs       int    // USDT Transfer logs in the blocks read, to any address
	Found      int    // of those, to watched addresses: the confirmed transfers the feed gets
	Written    int    // feed entries appended (0 on a dry run)
}

// Rescan reads blocks [from, to] again and hands the transfers to watched addresses it finds
// to write, one bounded range (MaxRange blocks) at a time, each as the confirmed observation
// the live scan reports for a final block (same fields, same requirement). write nil is a
// dry run. progress, optional, is called after each range.
//
// The range must be at or below the live watcher's checkpoint (ErrAboveCheckpoint,
// ErrNoCheckpoint): those blocks are final and behind it, so a rescan never reports a
// transfer that could still be reorged, and it never touches the checkpoint or the pending
// set (nothing the live watcher relies on). Consumers dedupe transfers by network, tx hash and
// log index, so writing one that was already reported again credits nothing twice. The
// blocks each range's reports rest on are verified like a live step's before it is written
// (Verifier); a range the node read from does not have final is ErrNotFinal.
func (s *Scanner) Rescan(ctx context.Context, from, to uint64, write func(context.Context, []checkout.Transfer) error, progress func(RescanResult)) (RescanResult, error) {
	res := RescanResult{From: from, To: to}
	if from > to {
		return res, fmt.Errorf("rescan %d-%d: the first block is after the last", from, to)
	}
	st, err := s.Store.Load(ctx)
	if err != nil {
		return res, err
	}
	if !st.Started {
		return res, ErrNoCheckpoint
	}
	res.Checkpoint = st.Checkpoint
	if to > st.Checkpoint {
		return res, fmt.Errorf("%w: block %d is above checkpoint %d", ErrAboveCheckpoint, to, st.Checkpoint)
	}
	maxRange := s.MaxRange
	if maxRange == 0 {
		maxRange = DefaultMaxRange
	}
	for a := from; ; {
		b := to
		if to-a >= maxRange {
			b = a + maxRange - 1
		}
		ps, finalHead, err := s.begin(ctx)
		if err != nil {
			return res, err
		}
		if int64(b) > finalHead {
			return res, fmt.Errorf("%w: block %d, the endpoint's head is %d (final up to %d)", ErrNotFinal, b, ps.head, finalHead)
		}
		step := &feed.Step{Upsert: map[string]checkout.Transfer{}}
		if err := s.scan(ctx, ps, a, b, true, nil, step); err != nil {
			return res, err
		}
		if v, ok := ps.c.(Verifier); ok && len(ps.blocks) > 0 {
			if err := v.Verify(ctx, ps.blocks); err != nil {
				return res, fmt.Errorf("blocks %d-%d not written: %w", a, b, err)
			}
		}
		if write != nil && len(step.Emit) > 0 {
			if err := write(ctx, step.Emit); err != nil {
				return res, fmt.Errorf("blocks %d-%d: %w", a, b, err)
			}
			res.Written += len(step.Emit)
		}
		res.Blocks += b - a + 1
		res.Ranges++
		res.Logs += ps.logs
		res.Found += len(step.Emit)
		if s.Log != nil {
			s.Log.Info("watcher: rescanned blocks", "from", a, "to", b, "head", ps.head, "logs", ps.logs,
				"found", len(step.Emit), "dry_run", write == nil)
		}
		if progress != nil {
			progress(res)
		}
		if b == to {
			return res, nil
		}
		a = b + 1
	}
}
