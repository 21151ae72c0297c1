package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/common"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/deposit"
	"github.com/mpchat/checkout/internal/envflag"
	"github.com/mpchat/checkout/watcher/devchain"
)

// runDevchain: `watcher devchain` runs a development chain until interrupted, after printing
// one JSON line {"rpc","ws","token","chain_id","payers"} on stdout.
func runDevchain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("devchain", flag.ContinueOnError)
	listen := fs.String("listen", envflag.String("MP_DEVCHAIN_LISTEN", "127.0.0.1:8545"), "loopback address for HTTP and WS JSON-RPC (env MP_DEVCHAIN_LISTEN)")
	blockTime := fs.Duration("block-time", envflag.Duration("MP_BLOCK_TIME", time.Second), "block interval; 0 = none (env MP_BLOCK_TIME)")
	accounts := fs.Int("accounts", envflag.Int("MP_DEVCHAIN_ACCOUNTS", 10), "funded payer accounts (env MP_DEVCHAIN_ACCOUNTS)")
	network := fs.String("network", envflag.String("MP_NETWORK", "ERC20"), "ERC20 or TRC20: only the format payers are printed in (env MP_NETWORK)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	n, err := checkout.ParseNetwork(*network)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("network", n)
	c, err := devchain.Start(ctx, devchain.Config{Listen: *listen, BlockInterval: *blockTime, Accounts: *accounts, Logger: log})
	if err != nil {
		return err
	}
	defer c.Close()
	payers := make([]string, *accounts)
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

// runDevpay: `watcher devpay` pays USDT on a development chain.
func runDevpay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("devpay", flag.ContinueOnError)
	rpc := fs.String("rpc", envflag.String("MP_RPC", "http://127.0.0.1:8545"), "dev chain JSON-RPC URL (env MP_RPC)")
	network := fs.String("network", envflag.String("MP_NETWORK", "ERC20"), "ERC20 or TRC20: the format of --to (env MP_NETWORK)")
	to := fs.String("to", "", "recipient in the network's format (T… for TRC20, 0x… for ERC20)")
	amount := fs.String("amount", "", "USDT amount, e.g. 99.99")
	from := fs.Int("from", 0, "payer account index")
	token := fs.String("token", "", "token address (default: the dev chain's)")
	wait := fs.Bool("wait", false, "wait until the transfer is in a block")
	if err := fs.Parse(args); err != nil {
		return err
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
