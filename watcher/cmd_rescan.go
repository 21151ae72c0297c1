package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mpchat/checkout/internal/envflag"
	"github.com/mpchat/checkout/internal/redisconn"
	"github.com/mpchat/checkout/watcher/evm"
)

// MaxRescanBlocks is the largest range `watcher rescan` reads without --force: about a week
// of Ethereum blocks, two days of TRON's. A longer one is almost always a typo.
const MaxRescanBlocks = 50_000

// runRescan: `watcher rescan` reads a block range behind the live watcher again and appends
// the transfers to watched addresses it finds to the feed, as confirmed observations.
func runRescan(ctx context.Context, args []string) error {
	return rescan(ctx, args, os.Stdout)
}

func rescan(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("rescan", flag.ContinueOnError)
	var env envflag.Env
	cf := addChainFlags(fs, &env)
	from := fs.Int64("from", -1, "first block to read again (required)")
	to := fs.Int64("to", -1, "last block to read again (required; at most the live watcher's checkpoint)")
	force := fs.Bool("force", false, fmt.Sprintf("allow a range of more than %d blocks", MaxRescanBlocks))
	dryRun := fs.Bool("dry-run", false, "read and report, write nothing to the feed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	setup, err := cf.check()
	if err != nil {
		return err
	}
	switch {
	case *from < 0 || *to < 0:
		return errors.New("--from and --to are required (block numbers, inclusive)")
	case *from > *to:
		return fmt.Errorf("--from %d is after --to %d", *from, *to)
	case *to-*from+1 > MaxRescanBlocks && !*force:
		return fmt.Errorf("--from %d --to %d is %d blocks, more than %d: check the range, or pass --force", *from, *to, *to-*from+1, MaxRescanBlocks)
	}
	cc, err := cf.open(ctx, setup)
	if err != nil {
		return err
	}
	defer cc.close()
	log := cc.log.With("rescan_from", *from, "rescan_to", *to)
	cc.scanner.Log = log
	var names []string
	for _, e := range cc.pool.Endpoints() {
		names = append(names, e.Name())
	}
	log.Info("watcher rescan starting", "rpc", strings.Join(names, ", "), "dry_run", *dryRun,
		"redis", redisconn.Redact(*cf.redisURL), "redis_prefix", *cf.prefix)
	write := cc.feed.AppendConfirmed
	if *dryRun {
		write = nil
	}
	res, err := cc.scanner.Rescan(ctx, uint64(*from), uint64(*to), write, nil)
	switch {
	case errors.Is(err, evm.ErrNoCheckpoint):
		err = fmt.Errorf("%s: %w: run `watcher run` first (nothing a rescan could add is behind it)", cc.network, err)
	case errors.Is(err, evm.ErrAboveCheckpoint):
		err = fmt.Errorf("--to %d: %w %d; blocks above it are still the live watcher's to report", *to, evm.ErrAboveCheckpoint, res.Checkpoint)
	}
	written, verb := res.Written, "written"
	if *dryRun {
		written, verb = res.Found, "would be written (dry run)"
	}
	summary := fmt.Sprintf("%s blocks %d-%d: %d blocks read, %d USDT transfer logs, %d to watched addresses, %d feed entries %s",
		cc.network, *from, *to, res.Blocks, res.Logs, res.Found, written, verb)
	if err != nil {
		if res.Blocks > 0 {
			fmt.Fprintln(stdout, "stopped after", summary)
		}
		return err
	}
	log.Info("watcher rescan done", "blocks", res.Blocks, "logs", res.Logs, "found", res.Found, "written", res.Written, "checkpoint", res.Checkpoint)
	fmt.Fprintln(stdout, summary)
	return nil
}
