// Command devchain runs the local development chain (go-ethereum's simulated node, chain id
// 1337, with the 6-decimal dev USDT token) and pays on it: what `make demo`, and a developer
// testing an integration by hand, use instead of a real network. It is a separate command so
// that the production watcher binary does not link a whole Ethereum node. Development only:
// the payer keys are public.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"github.com/mpchat/checkout/internal/envflag"
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
		fmt.Fprintln(os.Stderr, "devchain:", scrubURLs(err.Error()))
		os.Exit(1)
	}
}

// redact cuts a URL to scheme://host[:port]: providers put API keys in the path, the query or
// the userinfo.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(URL without scheme and host)"
	}
	return u.Scheme + "://" + u.Host
}

// urlPattern finds URLs in an error message (the RPC client quotes the URL it called).
var urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://[^\s"'<>]+`)

// scrubURLs cuts every URL in s to scheme://host[:port].
func scrubURLs(s string) string {
	return urlPattern.ReplaceAllStringFunc(s, redact)
}

// urlValue is a URL flag whose default may come from the environment (MP_RPC is also the
// production watcher's, possibly with a provider key): -h and parse errors show it redacted.
type urlValue struct{ s *string }

func (v urlValue) String() string {
	if v.s == nil || *v.s == "" {
		return ""
	}
	return redact(*v.s)
}

func (v urlValue) Set(s string) error { *v.s = s; return nil }

// urlFlag defines a URL flag whose default comes from the environment variable env, else def.
func urlFlag(fs *flag.FlagSet, name, env, def, usage string) *string {
	s := envflag.String(env, def)
	fs.Var(urlValue{&s}, name, usage)
	return &s
}
