// Command watcher runs the chain side of MP Checkout: the USDT transfer watcher of one network
// (run). The local development chain and its payer are the devchain command (demo/devchain),
// kept out of this binary so that production does not link a simulated Ethereum node.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mpchat/checkout/internal/secreturl"
)

const usage = `usage: watcher <command> [flags]

commands:
  run     watch one network's USDT transfers and feed them to Redis
  rescan  read a block range behind the live watcher again and feed what it finds

Run "watcher <command> -h" for the flags of a command. A local development chain and a payer
for it: go run ./demo/devchain (make demo starts them).
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
	case "run":
		err = runWatch(ctx, os.Args[2:])
	case "rescan":
		err = runRescan(ctx, os.Args[2:])
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
		// Errors may quote an RPC URL (with the provider's key in its path): scheme and host only.
		fmt.Fprintln(os.Stderr, "watcher:", secreturl.Scrub(err.Error()))
		os.Exit(1)
	}
}
