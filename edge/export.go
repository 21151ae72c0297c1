package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/export"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/internal/envflag"
)

const exportUsage = `usage: edge export --merchant M --since T [--until T] [--format ndjson|csv]
                   [--status S[,S]...] [--network N] [--out FILE] [--after CURSOR]

Writes the merchant's orders created in [--since, --until), oldest first, with their payments:
NDJSON (each line the order object as GET /v1/orders/{id} answers it) or CSV (one row per
order). Times are RFC 3339 (2026-12-01T00:00:00Z) or a UTC date (2026-12-01). Each line or row
starts with its order id, the cursor: --after resumes exactly after it. If the export stops
early it prints the cursor to resume from on stderr. Bad flags exit 2 having written nothing.

Also takes the Redis flags (--redis, --redis-prefix, --redis-shared-prefix, --redis-cluster).
`

// usageError is a command line the command refused before writing anything: main exits 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exportCmd runs `edge export`: the orders to stdout (or --out), a summary or the resume
// cursor on stderr.
func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, exportUsage)
		fs.PrintDefaults()
	}
	var env envflag.Env
	var rf redisFlags
	rf.register(fs, &env)
	merchant := fs.String("merchant", "", "merchant id (required)")
	since := fs.String("since", "", "orders created at or after this time (required): RFC 3339 or a UTC date YYYY-MM-DD")
	until := fs.String("until", "", "orders created before this time (exclusive); default: no bound")
	format := fs.String("format", "ndjson", "ndjson (the API's order objects, one a line) or csv (one row per order)")
	var statuses, networks stringList
	fs.Var(&statuses, "status", "only orders in these statuses, comma-separated or repeated (default all)")
	fs.Var(&networks, "network", "only orders on these networks, ERC20 or TRC20, comma-separated or repeated (default both)")
	out := fs.String("out", "", "write to this new file (refused if it exists) instead of stdout")
	after := fs.String("after", "", "resume after this cursor (an order id an earlier export printed or wrote last)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if err := env.Err(); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("export: unexpected argument %q", fs.Arg(0))
	}
	q := export.Query{MerchantID: *merchant, Format: export.Format(*format), After: *after}
	var err error
	if *since == "" {
		return usagef("export: --since is required")
	}
	if q.Since, err = parseTime(*since); err != nil {
		return usagef("export: --since: %v", err)
	}
	if *until != "" {
		if q.Until, err = parseTime(*until); err != nil {
			return usagef("export: --until: %v", err)
		}
	}
	for _, s := range splitList(statuses) {
		q.Statuses = append(q.Statuses, checkout.Status(strings.ToUpper(s)))
	}
	for _, s := range splitList(networks) {
		n, err := checkout.ParseNetwork(s)
		if err != nil {
			return usagef("export: --network: %v", err)
		}
		q.Networks = append(q.Networks, n)
	}
	if q.After != "" && !orders.ValidOrderID(q.After) {
		return usagef("export: --after %q is not an order id (ord_…)", q.After)
	}
	if err := q.Validate(); err != nil {
		return exportFlagError(err)
	}
	w := stdout
	var file *lazyFile
	if *out != "" {
		if _, err := os.Lstat(*out); err == nil {
			return usagef("export: --out %s exists; export into a new file", *out)
		}
		file = &lazyFile{path: *out}
		w = file
	}

	st, closeRedis, err := rf.connect(ctx)
	if err != nil {
		fmt.Fprintln(stderr, resumeHint(export.Result{Cursor: q.After}))
		return err
	}
	defer closeRedis()
	res, err := export.Run(ctx, st, q, w)
	var inv *export.InvalidError
	if errors.As(err, &inv) {
		return exportFlagError(err) // nothing was written; no file was made
	}
	if err == nil && file != nil {
		err = file.finish()
	} else if file != nil {
		_ = file.close()
	}
	if err != nil {
		fmt.Fprintln(stderr, resumeHint(res))
		return err
	}
	fmt.Fprintf(stderr, "edge export: %d orders", res.Orders)
	if res.Cursor != "" {
		fmt.Fprintf(stderr, ", last %s", res.Cursor)
	}
	fmt.Fprintln(stderr)
	return nil
}

// resumeHint tells the operator how to continue an export that stopped early.
func resumeHint(res export.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "edge export: stopped after %d orders; ", res.Orders)
	if res.Cursor == "" {
		b.WriteString("nothing was exported: run the same command again (no --after)")
	} else {
		fmt.Fprintf(&b, "resume with --after %s", res.Cursor)
	}
	if res.Torn {
		fmt.Fprintf(&b, "; the output ends with a partial line: its first %d bytes are whole (truncate -s %d FILE before appending to it, or resume into a new file)", res.Bytes, res.Bytes)
	}
	return b.String()
}

// exportFlagError names a refused query field by its flag.
func exportFlagError(err error) error {
	var inv *export.InvalidError
	if errors.As(err, &inv) {
		return usagef("export: --%s: %s", inv.Param, inv.Message)
	}
	return err
}

// parseTime reads RFC 3339 (any offset, fraction allowed) or a date, as UTC midnight.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time (2026-12-01T00:00:00Z) or a date (2026-12-01)", s)
}

func splitList(l stringList) []string {
	var out []string
	for _, v := range l {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// lazyFile is --out: created (never over an existing file) on the first write, so a refused
// export leaves no file; an export of nothing still creates it, empty, at finish.
type lazyFile struct {
	path string
	f    *os.File
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil {
		f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if err != nil {
			return 0, err
		}
		l.f = f
	}
	return l.f.Write(p)
}

// finish creates the file if nothing was written, and syncs and closes it.
func (l *lazyFile) finish() error {
	if l.f == nil {
		if _, err := l.Write(nil); err != nil {
			return err
		}
	}
	if err := l.f.Sync(); err != nil {
		_ = l.f.Close()
		return fmt.Errorf("export: sync %s: %w", l.path, err)
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("export: close %s: %w", l.path, err)
	}
	return nil
}

func (l *lazyFile) close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}
