package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
	"github.com/mpchat/checkout/internal/envflag"
)

const userUsage = `usage: edge user <command> [flags]

  create   --email E --merchant M | --operator   new dashboard user; prints a one-time
           set-password link (valid 24 h)
  link     --email E      a new set-password link (a forgotten password); earlier links
           stop working
  list     every user (no secrets)
  disable  --email E      the user can no longer sign in; its sessions end at once
  reset-totp --email E    clear the user's second factor (a lost authenticator) and end
           its sessions everywhere; it signs in with its password and can enrol again

Every command also takes the Redis flags (--redis, --redis-prefix, --redis-shared-prefix,
--redis-cluster); create and link take --public-url. Run "edge user <command> -h" for its flags.
`

// userAction is one user command, shaped like merchantAction.
type userAction func(fs *flag.FlagSet) func(ctx context.Context, svc *users.Service) (any, error)

// linkOutput is what create and link print: the user and the link, shown this once.
type linkOutput struct {
	User    *store.User `json:"user"`
	URL     string      `json:"set_password_url"`
	Expires time.Time   `json:"link_expires_at"`
}

func publicURLFlag(fs *flag.FlagSet) *string {
	return fs.String("public-url", envflag.String("MP_PUBLIC_URL", "http://127.0.0.1:8080"),
		"public base URL of the edge, for the set-password link (env MP_PUBLIC_URL)")
}

func linkURL(base, token string) (string, error) {
	u, err := checkout.ParseBaseURL(base)
	if err != nil {
		return "", fmt.Errorf("--public-url must be an absolute http(s) URL with no credentials, query or fragment")
	}
	return strings.TrimSuffix(u.String(), "/") + "/dashboard/set-password?token=" + token, nil
}

var userActions = map[string]userAction{
	"create": func(fs *flag.FlagSet) func(context.Context, *users.Service) (any, error) {
		var p users.CreateParams
		fs.StringVar(&p.Email, "email", "", "the user's e-mail address, which is its sign-in name (required)")
		fs.StringVar(&p.MerchantID, "merchant", "", "merchant id the user acts for (required unless --operator)")
		fs.BoolVar(&p.Operator, "operator", false, "an operator user, who sees every merchant (no --merchant)")
		base := publicURLFlag(fs)
		return func(ctx context.Context, svc *users.Service) (any, error) {
			if _, err := linkURL(*base, ""); err != nil {
				return nil, err
			}
			c, err := svc.CreateUser(ctx, p, users.OperatorActor)
			if err != nil {
				return nil, err
			}
			u, _ := linkURL(*base, c.Token)
			return linkOutput{User: c.User, URL: u, Expires: c.Expires}, nil
		}
	},
	"link": func(fs *flag.FlagSet) func(context.Context, *users.Service) (any, error) {
		email := fs.String("email", "", "the user's e-mail address (required)")
		base := publicURLFlag(fs)
		return func(ctx context.Context, svc *users.Service) (any, error) {
			if _, err := linkURL(*base, ""); err != nil {
				return nil, err
			}
			c, err := svc.IssueLinkByEmail(ctx, *email, users.OperatorActor)
			if err != nil {
				return nil, err
			}
			u, _ := linkURL(*base, c.Token)
			return linkOutput{User: c.User, URL: u, Expires: c.Expires}, nil
		}
	},
	"list": func(*flag.FlagSet) func(context.Context, *users.Service) (any, error) {
		return func(ctx context.Context, svc *users.Service) (any, error) { return svc.List(ctx) }
	},
	"disable": func(fs *flag.FlagSet) func(context.Context, *users.Service) (any, error) {
		email := fs.String("email", "", "the user's e-mail address (required)")
		return func(ctx context.Context, svc *users.Service) (any, error) {
			return svc.Disable(ctx, *email, users.OperatorActor, netip.Addr{})
		}
	},
	"reset-totp": func(fs *flag.FlagSet) func(context.Context, *users.Service) (any, error) {
		email := fs.String("email", "", "the user's e-mail address (required)")
		return func(ctx context.Context, svc *users.Service) (any, error) {
			return svc.ResetTOTP(ctx, *email, users.OperatorActor, netip.Addr{})
		}
	},
}

// userCmd runs `edge user …`: its own flags, then the users package, then one JSON document.
// Only create and link print a secret (the link's token), once.
func userCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		fmt.Fprint(stderr, userUsage)
		return errors.New("user: missing command")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, userUsage)
		return nil
	}
	action, ok := userActions[cmd]
	if !ok {
		fmt.Fprint(stderr, userUsage)
		return fmt.Errorf("user: unknown command %q", cmd)
	}
	fs := flag.NewFlagSet("user "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var env envflag.Env
	var rf redisFlags
	rf.register(fs, &env)
	run := action(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("user %s: unexpected argument %q", cmd, fs.Arg(0))
	}
	st, closeRedis, err := rf.connect(ctx)
	if err != nil {
		return err
	}
	defer closeRedis()
	res, err := run(ctx, &users.Service{Store: st})
	var inv *users.InvalidError
	switch {
	case errors.As(err, &inv):
		return fmt.Errorf("--%s %s", inv.Param, inv.Message)
	case errors.Is(err, users.ErrNotFound):
		return fmt.Errorf("no user has this e-mail address")
	case errors.Is(err, users.ErrEmailTaken):
		return fmt.Errorf("--email: a user with this address exists")
	case err != nil:
		return err
	}
	out := json.NewEncoder(stdout)
	out.SetIndent("", "  ")
	return out.Encode(res)
}

// auditCmd runs `edge audit`: a merchant's audit log (or the operators'), newest first, one
// JSON object a line.
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var env envflag.Env
	var rf redisFlags
	rf.register(fs, &env)
	merchant := fs.String("merchant", "", "merchant id whose log to show (or --operator)")
	operator := fs.Bool("operator", false, "the operators' log: operator users' actions and sign-ins as unknown addresses")
	limit := fs.Int("limit", 100, fmt.Sprintf("entries to show, newest first (the log keeps about %d)", store.AuditMaxLen))
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit: unexpected argument %q", fs.Arg(0))
	}
	if (*merchant == "") == !*operator {
		return usagef("audit: give --merchant M or --operator")
	}
	if *limit < 1 {
		return usagef("audit: --limit must be positive")
	}
	st, closeRedis, err := rf.connect(ctx)
	if err != nil {
		return err
	}
	defer closeRedis()
	entries, err := st.Audit(ctx, *merchant, int64(*limit))
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}
