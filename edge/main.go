// Command edge is MP Checkout's HTTP edge: `edge serve` runs the merchant API, the public
// checkout and the background workers; `edge merchant …` are the operator's commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: edge <command> [flags]

commands:
  serve      run the HTTP edge (merchant API, checkout, workers)
  merchant   manage merchants: create, list, show, set, set-xpub, rotate-key, revoke-key,
             block, unblock, blocklist
  export     write a merchant's orders with their payments (NDJSON or CSV), resumable
  tx         what the chain and the gateway know of one transaction (support lookup)
  retention-backfill
             put the orders already stored on the retention schedule (once, after upgrading)
  figures-backfill
             recompute the dashboard's order figures from the orders (after upgrading)
  user       manage dashboard users: create, link, list, disable, reset-totp
  audit      show a merchant's (or the operators') dashboard audit log

Run "edge <command> -h" for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:])
	case "merchant":
		err = merchantCmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "export":
		err = exportCmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "tx":
		err = txCmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "retention-backfill":
		err = retentionBackfillCmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "figures-backfill":
		err = figuresBackfillCmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "user":
		err = userCmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "audit":
		err = auditCmd(ctx, os.Args[2:], os.Stdout, os.Stderr)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the command printed its usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		var usage usageError
		if errors.As(err, &usage) {
			os.Exit(2) // refused before doing anything
		}
		if errors.As(err, new(errTxNotFound)) {
			os.Exit(exitNotFound)
		}
		os.Exit(1)
	}
}
