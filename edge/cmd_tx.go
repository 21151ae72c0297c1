package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/edge/txlookup"
	"github.com/mpchat/checkout/internal/envflag"
	"github.com/mpchat/checkout/internal/rpcspec"
)

// exitNotFound is edge tx's exit code for a transaction no endpoint has (scripts tell it
// from a failure, exit 1).
const exitNotFound = 3

// errTxNotFound carries the not-found message to main, which exits with exitNotFound.
type errTxNotFound struct{ error }

// txCmd: `edge tx` tells support what the chain and the gateway know of one transaction.
func txCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tx", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var env envflag.Env
	var rf redisFlags
	rf.register(fs, &env)
	network := fs.String("network", envflag.String("MP_NETWORK", ""), "ERC20 or TRC20 (env MP_NETWORK)")
	hash := fs.String("hash", "", "transaction hash, 64 hex digits with or without 0x (required)")
	rpcs := rpcspec.List{Vals: rpcspec.SplitList(envflag.String("MP_RPC", ""))}
	headers := rpcspec.List{Vals: rpcspec.SplitLines(envflag.String("MP_RPC_HEADER", ""))}
	fs.Var(&rpcs, "rpc", "JSON-RPC endpoint of the network, repeatable, as the watcher's: URL or 'URL|Header: value|…'; asked in order (env MP_RPC, comma-separated)")
	fs.Var(&headers, "rpc-header", "header sent to every endpoint, repeatable: 'Name: value' (env MP_RPC_HEADER, one per line)")
	timeout := fs.Duration("rpc-timeout", env.Duration("MP_RPC_TIMEOUT", 5*time.Second), "bound of one call to one endpoint (env MP_RPC_TIMEOUT)")
	token := fs.String("token", envflag.String("MP_TOKEN", ""), "USDT contract (T… or 0x…); default: mainnet USDT of the network (env MP_TOKEN)")
	asJSON := fs.Bool("json", false, "print one JSON document instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tx: unexpected argument %q", fs.Arg(0))
	}
	n, err := checkout.ParseNetwork(*network)
	if err != nil {
		return fmt.Errorf("--network: %w", err)
	}
	if *hash == "" {
		return errors.New("--hash is required")
	}
	txHash, err := txlookup.ParseHash(*hash)
	if err != nil {
		return fmt.Errorf("--hash: %w", err)
	}
	if len(rpcs.Vals) == 0 {
		return errors.New("--rpc is required (the network's JSON-RPC endpoint, as the watcher's)")
	}
	var cfgs []rpcspec.Config
	for _, s := range rpcs.Vals {
		c, err := rpcspec.Parse(s)
		if err != nil {
			return fmt.Errorf("--rpc: %w", err)
		}
		cfgs = append(cfgs, c)
	}
	global := http.Header{}
	for _, h := range headers.Vals {
		name, value, err := rpcspec.ParseHeader(h)
		if err != nil {
			return fmt.Errorf("--rpc-header: %w", err)
		}
		global.Add(name, value)
	}
	if *token == "" {
		*token = n.MainnetUSDT()
	}
	var tok [20]byte
	if strings.HasPrefix(*token, "T") {
		tok, err = deposit.ParseTRON(*token)
	} else {
		tok, err = deposit.ParseEVM(*token)
	}
	if err != nil {
		return fmt.Errorf("--token: %w", err)
	}
	nodes, err := txlookup.Dial(ctx, cfgs, global, *timeout)
	if err != nil {
		return fmt.Errorf("--rpc: %w", err)
	}
	defer txlookup.Close(nodes)
	st, closeRedis, err := rf.connect(ctx)
	if err != nil {
		return err
	}
	defer closeRedis()
	rep, err := txlookup.Lookup(ctx, st, nodes, n, tok, txHash)
	if errors.Is(err, txlookup.ErrNotFound) {
		return errTxNotFound{err}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		out := json.NewEncoder(stdout)
		out.SetIndent("", "  ")
		return out.Encode(rep)
	}
	printReport(stdout, rep)
	return nil
}

// printReport writes the report for a person.
func printReport(w io.Writer, r *txlookup.Report) {
	state := "succeeded"
	if !r.Succeeded {
		state = "FAILED (it moved no USDT)"
	}
	fmt.Fprintf(w, "%s transaction %s\n", r.Network, r.TxHash)
	fmt.Fprintf(w, "  block %d (%s), %d confirmations at head %d, %s; read from %s\n",
		r.BlockNumber, r.BlockHash, r.Confirmations, r.Head, state, r.Endpoint)
	fmt.Fprintf(w, "  %d USDT transfer(s) of %s; %d other log(s)\n", len(r.Transfers), r.Token, r.OtherLogs)
	for _, t := range r.Transfers {
		fmt.Fprintf(w, "\n  log %d: %s USDT from %s to %s\n", t.LogIndex, t.Amount, t.From, t.To)
		watched := "watched"
		if !t.Watched {
			watched = "NOT watched"
		}
		switch t.Binding {
		case "order":
			fmt.Fprintf(w, "    address: deposit address of order %s, %s\n", t.OrderID, watched)
		case "merchant":
			fmt.Fprintf(w, "    address: receive address of merchant %s (addresses mode), %s\n", t.MerchantID, watched)
		default:
			fmt.Fprintf(w, "    address: unknown to this gateway, %s\n", watched)
		}
		if t.Order != nil {
			fmt.Fprintf(w, "    order:   %s %s, amount %s, pay_amount %s, amount_paid %s, %d payment(s)\n",
				t.OrderID, t.Order.Status, t.Order.Amount, t.Order.PayAmount, t.Order.AmountPaid, t.Order.Payments)
		}
		if p := t.Payment; p != nil {
			fmt.Fprintf(w, "    payment: %s, %d of %d confirmations when last reported, late %v\n",
				p.Status, p.Confirmations, p.ConfirmationsRequired, p.Late)
		}
		fmt.Fprintf(w, "    verdict: %s: %s\n", strings.ToUpper(t.Verdict), t.Note)
	}
}
