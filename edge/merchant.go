package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/merchants"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/internal/envflag"
)

const merchantUsage = `usage: edge merchant <command> [flags]

  create      --name N [--erc20-xpub X] [--trc20-xpub Y] [--webhook-url U] [--return-host H]...
              [--embed-origin O]... [--order-ttl 30m] [--rate-limit N] [--dev]
              [--support-url U] [--support-email E] [--logo-url L] [--allow-network-switch]
  list        all merchants (no secrets)
  show        --id M
  set         --id M [--name N] [--webhook-url U] [--return-host H]... [--clear-return-hosts]
              [--embed-origin O]... [--clear-embed-origins] [--order-ttl D] [--rate-limit N] [--dev]
              [--support-url U|none] [--support-email E|none] [--logo-url L|none]
              [--allow-network-switch[=false]]
  set-xpub    --id M --network ERC20|TRC20 --xpub X
  set-receive --id M --network ERC20|TRC20 --mode xpub|addresses [--address A]...
              [--max-offset 0.01] [--late-window 24h]
  rotate-key  --id M [--revoke KEY_ID]     new API key (secret shown once)
  rotate-webhook-secret --id M            new webhook secret (shown once)
  revoke-key  --key-id K
  block       --network N --address A     freeze orders paid from this sender
  unblock     --network N --address A
  blocklist   --network N

Every command also takes the Redis flags (--redis, --redis-prefix, --redis-shared-prefix,
--redis-cluster). Run "edge merchant <command> -h" for its flags.
`

// merchantAction is one operator command: it registers its own flags on fs and returns what
// runs once they are parsed. Its result is printed as one JSON document.
type merchantAction func(fs *flag.FlagSet, env *envflag.Env) func(ctx context.Context, st *store.Store, stderr io.Writer) (any, error)

var merchantActions = map[string]merchantAction{
	"create": func(fs *flag.FlagSet, env *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
		var p merchants.CreateParams
		var erc20, trc20 string
		fs.StringVar(&p.Name, "name", "", "merchant name (required)")
		fs.StringVar(&erc20, "erc20-xpub", "", "ERC20 account xpub (m/44'/60'/0')")
		fs.StringVar(&trc20, "trc20-xpub", "", "TRC20 account xpub (m/44'/195'/0')")
		settingsFlags(fs, &p.Settings)
		devFlag(fs, env, &p.Dev, "development mode: http webhook URLs allowed, missing xpubs get the public development mnemonic's (dev chain only!)")
		return func(ctx context.Context, st *store.Store, stderr io.Writer) (any, error) {
			p.XPubs = map[checkout.Network]string{checkout.ERC20: erc20, checkout.TRC20: trc20}
			c, err := merchants.Create(ctx, st, p)
			if err == nil && c.DevAccount != nil {
				fmt.Fprintf(stderr, "\n*** DEVELOPMENT MERCHANT ***\n"+
					"Missing xpubs were filled from the PUBLIC development mnemonic (account %d'). Anyone can spend\n"+
					"funds sent to these addresses. Use them only with the local dev chain, never on mainnet.\n\n", *c.DevAccount)
			}
			if err == nil && len(c.XPubs) == 0 {
				// Created, but every order it tries would fail: say so now, not at its first order.
				fmt.Fprintf(stderr, "warning: merchant %s has no xpub and no receive address for any network, so it cannot take an order yet.\n"+
					"Give it one: edge merchant set-xpub --id %s --network TRC20 --xpub XPUB (or --network ERC20),\n"+
					"or its own addresses: edge merchant set-receive --id %s --network TRC20 --mode addresses --address ADDR\n",
					c.MerchantID, c.MerchantID, c.MerchantID)
			}
			return c, err
		}
	},
	"list": func(*flag.FlagSet, *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
		return func(ctx context.Context, st *store.Store, _ io.Writer) (any, error) { return merchants.List(ctx, st) }
	},
	"show": func(fs *flag.FlagSet, _ *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
		id := fs.String("id", "", "merchant id (required)")
		return func(ctx context.Context, st *store.Store, _ io.Writer) (any, error) {
			return merchants.Show(ctx, st, *id)
		}
	},
	"set": func(fs *flag.FlagSet, env *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
		var p merchants.SetParams
		fs.StringVar(&p.ID, "id", "", "merchant id (required)")
		fs.StringVar(&p.Name, "name", "", "new merchant name")
		settingsFlags(fs, &p.Settings)
		fs.BoolVar(&p.ClearReturnHosts, "clear-return-hosts", false, "allow any return_url host (then add --return-host ones)")
		fs.BoolVar(&p.ClearEmbedOrigins, "clear-embed-origins", false, "remove all embed origins (then add --embed-origin ones)")
		devFlag(fs, env, &p.Dev, "development mode: http webhook URLs and internal hosts allowed")
		return func(ctx context.Context, st *store.Store, _ io.Writer) (any, error) { return merchants.Set(ctx, st, p) }
	},
	"set-xpub": func(fs *flag.FlagSet, _ *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
		id := fs.String("id", "", "merchant id (required)")
		network := fs.String("network", "", "ERC20 or TRC20")
		xpub := fs.String("xpub", "", "account-level xpub (m/44'/60'/0' for ERC20, m/44'/195'/0' for TRC20)")
		return func(ctx context.Context, st *store.Store, _ io.Writer) (any, error) {
			return merchants.SetXPub(ctx, st, *id, *network, *xpub)
		}
	},
	"rotate-key": func(fs *flag.FlagSet, _ *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
		id := fs.String("id", "", "merchant id (required)")
		revoke := fs.String("revoke", "", "revoke this key id of the merchant once the new one exists")
		return func(ctx context.Context, st *store.Store, _ io.Writer) (any, error) {
			return merchants.RotateKey(ctx, st, *id, *revoke)
		}
	},
	"rotate-webhook-secret": func(fs *flag.FlagSet, _ *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
		id := fs.String("id", "", "merchant id (required)")
		return func(ctx context.Context, st *store.Store, _ io.Writer) (any, error) {
			return merchants.RotateWebhookSecret(ctx, st, *id)
		}
	},
	"revoke-key": func(fs *flag.FlagSet, _ *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
		keyID := fs.String("key-id", "", "API key id (required)")
		return func(ctx context.Context, st *store.Store, _ io.Writer) (any, error) {
			return merchants.RevokeKey(ctx, st, *keyID)
		}
	},
	"block": func(fs *flag.FlagSet, _ *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
		network, address := senderFlags(fs)
		return func(ctx context.Context, st *store.Store, _ io.Writer) (any, error) {
			return merchants.Block(ctx, st, *network, *address)
		}
	},
	"unblock": func(fs *flag.FlagSet, _ *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
		network, address := senderFlags(fs)
		return func(ctx context.Context, st *store.Store, _ io.Writer) (any, error) {
			return merchants.Unblock(ctx, st, *network, *address)
		}
	},
	"blocklist": func(fs *flag.FlagSet, _ *envflag.Env) func(context.Context, *store.Store, io.Writer) (any, error) {
		network := fs.String("network", "", "ERC20 or TRC20")
		return func(ctx context.Context, st *store.Store, _ io.Writer) (any, error) {
			return merchants.Blocked(ctx, st, *network)
		}
	},
}

// settingsFlags registers the flags of the settings create and set share.
func settingsFlags(fs *flag.FlagSet, s *merchants.Settings) {
	fs.StringVar(&s.WebhookURL, "webhook-url", "", "default webhook URL (https; http only to a loopback host with --dev)")
	fs.Var((*stringList)(&s.ReturnHosts), "return-host", "allowed return_url host (repeatable; none = any)")
	fs.Var((*stringList)(&s.EmbedOrigins), "embed-origin", "origin allowed to embed the checkout, e.g. https://shop.example (repeatable)")
	fs.DurationVar(&s.OrderTTL, "order-ttl", 0, "how long orders wait for payment, 1m to 168h (default 30m)")
	fs.IntVar(&s.RateLimit, "rate-limit", 0, "API requests per second per key (default: the edge's)")
	// Shown to customers on the checkout; "none" clears one (set).
	fs.StringVar(&s.SupportURL, "support-url", "", "customer support page shown on the checkout (https)")
	fs.StringVar(&s.SupportEmail, "support-email", "", "customer support e-mail shown on the checkout")
	fs.StringVar(&s.LogoURL, "logo-url", "", "logo on the checkout: https URL, or data:image/…;base64 of at most 8 KiB")
	fs.Var(&optionalBool{&s.AllowNetworkSwitch}, "allow-network-switch",
		"new orders let the customer switch network on the checkout (default of allow_network_switch; =false turns it off)")
}

// optionalBool is a boolean flag that tells "not given" (nil) from false.
type optionalBool struct{ v **bool }

func (b *optionalBool) String() string {
	if b.v == nil || *b.v == nil {
		return ""
	}
	return strconv.FormatBool(**b.v)
}

func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b.v = &v
	return nil
}

func (b *optionalBool) IsBoolFlag() bool { return true }

func devFlag(fs *flag.FlagSet, env *envflag.Env, dev *bool, usage string) {
	fs.BoolVar(dev, "dev", env.Bool("MP_DEV", false), usage+" (env MP_DEV)")
}

func senderFlags(fs *flag.FlagSet) (network, address *string) {
	return fs.String("network", "", "ERC20 or TRC20"), fs.String("address", "", "sender address in the network's format")
}

// merchantCmd runs an operator command: its own flags only (an unknown one is an error),
// then the merchants package, then one JSON document on stdout. Secrets appear only in the
// output of create, rotate-key and rotate-webhook-secret.
func merchantCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		fmt.Fprint(stderr, merchantUsage)
		return errors.New("merchant: missing command")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, merchantUsage)
		return nil
	}
	action, ok := merchantActions[cmd]
	if !ok {
		fmt.Fprint(stderr, merchantUsage)
		return fmt.Errorf("merchant: unknown command %q", cmd)
	}
	fs := flag.NewFlagSet("merchant "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var env envflag.Env
	var rf redisFlags
	rf.register(fs, &env)
	run := action(fs, &env)
	if err := fs.Parse(args); err != nil {
		return err // flag.ErrHelp for -h: main exits 0
	}
	if err := env.Err(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("merchant %s: unexpected argument %q", cmd, fs.Arg(0))
	}
	st, closeRedis, err := rf.connect(ctx)
	if err != nil {
		return err
	}
	defer closeRedis()
	res, err := run(ctx, st, stderr)
	if err != nil {
		return flagError(err)
	}
	out := json.NewEncoder(stdout)
	out.SetIndent("", "  ")
	return out.Encode(res)
}

// flagError names a bad parameter by its flag: webhook_url is --webhook-url here.
func flagError(err error) error {
	var inv *merchants.InvalidError
	if errors.As(err, &inv) {
		return fmt.Errorf("--%s %s", strings.ReplaceAll(inv.Param, "_", "-"), inv.Message)
	}
	return err
}
