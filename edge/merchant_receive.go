package main

import (
	"context"
	"flag"
	"io"

	"github.com/mpchat/checkout/edge/merchants"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/envflag"
)

func init() { merchantActions["set-receive"] = setReceiveAction }

// setReceiveAction: edge merchant set-receive --id M --network N --mode xpub|addresses
// [--address A]... [--max-offset 0.01] [--late-window 24h].
func setReceiveAction(fs *flag.FlagSet, _ *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
	var p merchants.ReceiveParams
	fs.StringVar(&p.ID, "id", "", "merchant id (required)")
	fs.StringVar(&p.Network, "network", "", "ERC20 or TRC20")
	fs.StringVar(&p.Mode, "mode", "", "xpub (a derived address per order) or addresses (the merchant's own addresses, a unique pay_amount per order)")
	fs.Var((*stringList)(&p.Addresses), "address", "watch-only receive address in the network's format (repeatable; replaces the list)")
	fs.StringVar(&p.MaxOffset, "max-offset", "", "largest amount added to make pay_amount unique, USDT (default 0.01)")
	fs.DurationVar(&p.LateWindow, "late-window", 0, "how long a pay_amount stays reserved after its order is final (default 24h)")
	return func(ctx context.Context, st *store.Store, _ io.Writer) (any, error) {
		return merchants.SetReceive(ctx, st, p)
	}
}
