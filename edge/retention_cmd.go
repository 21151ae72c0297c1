package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mpchat/checkout/internal/envflag"
)

// retentionBackfillCmd: edge retention-backfill puts every order already in Redis on the
// retention schedule (orders finished before it existed, or of the earlier per-order layout),
// once, after upgrading. It walks the deployment's keys with SCAN, so it is an operator step,
// not something edge serve does; running it again is harmless.
func retentionBackfillCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("retention-backfill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var env envflag.Env
	var rf redisFlags
	rf.register(fs, &env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("retention-backfill: unexpected argument %q", fs.Arg(0))
	}
	st, closeRedis, err := rf.connect(ctx)
	if err != nil {
		return err
	}
	defer closeRedis()
	n, err := st.BackfillRetention(ctx, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d orders checked onto the retention schedule; the edges' retention workers take it from here\n", n)
	return nil
}
