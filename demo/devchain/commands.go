package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/envflag"
	"github.com/mpchat/checkout/internal/secreturl"
	"github.com/mpchat/checkout/watcher/devchain"
)

// runChain: `devchain run` runs a development chain until interrupted, after printing one JSON
// line {"rpc","ws","token","token_hex","chain_id","network","payers"} on stdout.
func runChain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var env envflag.Env // a value that does not parse is an error after fs.Parse
	listen := fs.String("listen", envflag.String("MP_DEVCHAIN_LISTEN", "127.0.0.1:8545"), "loopback address for HTTP and WS JSON-RPC (env MP_DEVCHAIN_LISTEN)")
	blockTime := fs.Duration("block-time", env.Duration("MP_BLOCK_TIME", time.Second), "block interval; 0 = none (env MP_BLOCK_TIME)")
	accounts := fs.Int("accounts", env.Int("MP_DEVCHAIN_ACCOUNTS", 10), "funded payer accounts (env MP_DEVCHAIN_ACCOUNTS)")
	network := fs.String("network", envflag.String("MP_NETWORK", "ERC20"), "ERC20 or TRC20: only the format payers are printed in (env MP_NETWORK)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: devchain run [flags]

Runs go-ethereum's simulated chain (chain id 1337) with HTTP and WebSocket JSON-RPC on one
loopback port, the dev USDT token (6 decimals) deployed at a fixed address and the payer accounts
of the public development mnemonic funded with ETH and 1,000,000 USDT each. Once ready it prints
one JSON line on stdout: {"rpc","ws","token","token_hex","chain_id","network","payers"}; it runs
until SIGINT or SIGTERM. Run two on different ports to play Ethereum and TRON side by side.
Development only: the payer keys are public.

flags (each also read from the environment variable named in it; a flag given wins):
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("run: unexpected argument %q", fs.Arg(0))
	}
	n, err := checkout.ParseNetwork(*network)
	if err != nil {
		return err
	}
	if *accounts < 1 || *accounts > devchain.MaxAccounts {
		return fmt.Errorf("--accounts %d: want 1 to %d", *accounts, devchain.MaxAccounts)
	}
	if *blockTime < 0 {
		return fmt.Errorf("--block-time %v: want 0 (blocks on demand only) or more", *blockTime)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("network", n)
	c, err := devchain.Start(ctx, devchain.Config{Listen: *listen, BlockInterval: *blockTime, Accounts: *accounts, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		if err := c.Close(); err != nil {
			log.Warn("dev chain close", "err", err)
		}
	}()
	payers := make([]string, c.Accounts())
	for i := range payers {
		payers[i] = deposit.Format(n, c.Payer(i))
	}
	line, _ := json.Marshal(map[string]any{
		"rpc": c.RPCURL(), "ws": c.WSURL(), "token": deposit.Format(n, c.Token()), "token_hex": c.Token().Hex(),
		"chain_id": c.ChainID().Int64(), "network": n, "payers": payers,
	})
	fmt.Println(string(line))
	<-ctx.Done()
	log.Info("dev chain stopping")
	return nil
}

// runPay: `devchain pay` pays USDT on a development chain.
func runPay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pay", flag.ContinueOnError)
	var env envflag.Env // a value that does not parse is an error after fs.Parse
	rpc := secreturl.Flag(fs, "rpc", "MP_RPC", "http://127.0.0.1:8545", "dev chain JSON-RPC URL (env MP_RPC)")
	network := fs.String("network", envflag.String("MP_NETWORK", "ERC20"), "ERC20 or TRC20: the format of --to (env MP_NETWORK)")
	to := fs.String("to", envflag.String("MP_DEVPAY_TO", ""), "recipient in the network's format (T… for TRC20, 0x… for ERC20) (env MP_DEVPAY_TO)")
	amount := fs.String("amount", envflag.String("MP_DEVPAY_AMOUNT", ""), "USDT amount, e.g. 99.99 (env MP_DEVPAY_AMOUNT)")
	from := fs.Int("from", env.Int("MP_DEVPAY_FROM", 0), "payer account index (env MP_DEVPAY_FROM)")
	token := fs.String("token", envflag.String("MP_DEVPAY_TOKEN", ""), "token address in the network's format; default: the dev chain's (env MP_DEVPAY_TOKEN)")
	wait := fs.Bool("wait", env.Bool("MP_DEVPAY_WAIT", false), "wait until the transfer is in a block (env MP_DEVPAY_WAIT)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: devchain pay --to ADDRESS --amount 99.99 [flags]

Pays USDT on a development chain (see devchain run) from one of its payer accounts and prints
one JSON line on stdout: {"tx_hash","from","to","amount","block_number"} (block_number 0 unless
--wait). It refuses a node whose chain id is not the dev chain's.

flags (each also read from the environment variable named in it; a flag given wins):
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("pay: unexpected argument %q", fs.Arg(0))
	}
	if *to == "" || *amount == "" {
		return errors.New("pay: --to and --amount are required")
	}
	n, err := checkout.ParseNetwork(*network)
	if err != nil {
		return err
	}
	raw, err := deposit.Parse(n, *to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	a, err := checkout.ParseAmount(*amount)
	if err != nil {
		return fmt.Errorf("--amount: %w", err)
	}
	var tok common.Address
	if *token != "" {
		t, err := deposit.Parse(n, *token)
		if err != nil {
			return fmt.Errorf("--token: %w", err)
		}
		tok = common.Address(t)
	}
	p, err := devchain.PayRemote(ctx, *rpc, *from, common.Address(raw), tok, a, *wait)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(map[string]any{
		"tx_hash": p.TxHash.Hex(), "from": deposit.Format(n, p.From), "to": deposit.Format(n, raw),
		"amount": a.String(), "block_number": p.BlockNumber,
	})
	fmt.Println(string(line))
	return nil
}
