package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/envflag"
)

// figuresBackfillCmd: edge figures-backfill recomputes the dashboard's order figures (orders
// by status, paid volume, time to PAID) of the last --days days from the orders themselves,
// for one merchant or all: once after upgrading (orders created before the figures existed are
// otherwise not in the per-status counts, nor those needing a human in the attention queue,
// which the same pass files), or to repair them. It reads every order of those
// days through the merchant's order index, so it is an operator step; running it again is
// harmless (it replaces the days, never adds).
func figuresBackfillCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("figures-backfill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var env envflag.Env
	var rf redisFlags
	rf.register(fs, &env)
	merchant := fs.String("merchant", "", "only this merchant (default: every merchant)")
	days := fs.Int("days", 90, fmt.Sprintf("days to recompute, today included (1 to %d)", int(store.FiguresRetention/(24*time.Hour))))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("figures-backfill: unexpected argument %q", fs.Arg(0))
	}
	if *days < 1 || *days > int(store.FiguresRetention/(24*time.Hour)) {
		return usagef("figures-backfill: --days must be 1 to %d", int(store.FiguresRetention/(24*time.Hour)))
	}
	st, closeRedis, err := rf.connect(ctx)
	if err != nil {
		return err
	}
	defer closeRedis()
	ids := []string{*merchant}
	if *merchant == "" {
		ms, err := st.Merchants(ctx)
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
	} else if _, err := st.Merchant(ctx, *merchant); err != nil {
		return fmt.Errorf("--merchant %s: %w", *merchant, err)
	}
	enc := json.NewEncoder(stdout)
	now := time.Now()
	for _, id := range ids {
		res, err := st.BackfillFigures(ctx, id, *days, now)
		if err != nil {
			return fmt.Errorf("merchant %s: %w", id, err)
		}
		if err := enc.Encode(struct {
			Merchant string `json:"merchant_id"`
			*store.BackfillResult
		}{id, res}); err != nil {
			return err
		}
	}
	return nil
}
