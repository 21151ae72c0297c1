// Command devchain runs the local development chain (go-ethereum's simulated node, chain id
// 1337, with the 6-decimal dev USDT token) and pays on it: what `make demo`, and a developer
// testing an integration by hand, use instead of a real network. It is a separate command so
// that the production watcher binary does not link a whole Ethereum node. Development only:
// the payer keys are public.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mpchat/checkout/internal/secreturl"
)

const usage = `usage: devchain <command> [flags]

commands:
  run  run a local development chain (go-ethereum simulated) with a USDT-style token
  pay  pay USDT on a development chain

Run "devchain <command> -h" for the flags of a command.
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
		err = runChain(ctx, os.Args[2:])
	case "pay":
		err = runPay(ctx, os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		// `pay --rpc` may name a provider's node (refused: not a dev chain) with its key in the
		// URL: scheme and host only.
		fmt.Fprintln(os.Stderr, "devchain:", secreturl.Scrub(err.Error()))
		os.Exit(1)
	}
}
