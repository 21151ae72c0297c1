package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/sync/errgroup"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/edge/api"
	"github.com/mpchat/checkout/edge/auth"
	"github.com/mpchat/checkout/edge/changes"
	"github.com/mpchat/checkout/edge/clientip"
	"github.com/mpchat/checkout/edge/dashboard"
	"github.com/mpchat/checkout/edge/expiry"
	"github.com/mpchat/checkout/edge/merchants"
	"github.com/mpchat/checkout/edge/metrics"
	"github.com/mpchat/checkout/edge/orders"
	"github.com/mpchat/checkout/edge/outbox"
	"github.com/mpchat/checkout/edge/page"
	"github.com/mpchat/checkout/edge/retention"
	"github.com/mpchat/checkout/edge/settlement"
	"github.com/mpchat/checkout/edge/store"
	"github.com/mpchat/checkout/edge/users"
	"github.com/mpchat/checkout/internal/envflag"
	"github.com/mpchat/checkout/internal/redisconn"
)

// serve runs `edge serve`: every flag is parsed and checked first, and only then does the edge
// dial Redis and open its listeners.
func serve(ctx context.Context, args []string) error {
	cfg, err := parseServe(args)
	if err != nil {
		return err
	}
	return cfg.run(ctx)
}

// serveConfig is `edge serve` with its flags parsed and checked: every value in it is valid,
// and building it dialled nothing (no Redis, no listener).
type serveConfig struct {
	redis         redisFlags
	listen        string
	publicURL     string // empty = http://{the listener's address}
	dev           bool
	explorers     map[checkout.Network]string // the --explorer-* links (checkout page and dashboard)
	log           *slog.Logger
	rules         checkout.Rules
	expiryEvery   time.Duration
	reclaim       time.Duration
	maxDeliveries int
	metricsListen string
	retention     retention.Worker // Store set at run
	whWorkers     int
	whPerMerchant int
	whTimeout     time.Duration
	whLease       time.Duration
	whPrivate     bool
	// dashboard is the merchant dashboard's settings; nil when --dashboard is off.
	dashboard *users.Service
	// srv is the API server with its settings and checkout page; run gives it the store, the
	// event hub and the webhook dispatcher.
	srv *api.Server
}

// parseServe parses and checks the flags (and their MP_* defaults) of `edge serve`. It reads
// the checkout's asset directory but dials nothing, so a bad value is reported whether or not
// Redis is reachable.
func parseServe(args []string) (*serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var env envflag.Env // a value that does not parse is an error after fs.Parse
	var rf redisFlags
	rf.register(fs, &env)
	listen := fs.String("listen", envflag.String("MP_LISTEN", "127.0.0.1:8080"), "address to listen on (env MP_LISTEN)")
	publicURL := fs.String("public-url", envflag.String("MP_PUBLIC_URL", ""), "public base URL of this edge, used in payment_url (env MP_PUBLIC_URL; default http://{listen})")
	dev := fs.Bool("dev", env.Bool("MP_DEV", false), "development mode: http loopback URLs allowed, dev-chain helpers on (env MP_DEV)")
	rate := fs.Int("rate-limit", env.Int("MP_RATE_LIMIT", api.DefaultRateLimit), "default API requests per second per key (env MP_RATE_LIMIT)")
	expiryEvery := fs.Duration("expiry-interval", env.Duration("MP_EXPIRY_INTERVAL", expiry.DefaultInterval), "how often due orders are expired (env MP_EXPIRY_INTERVAL)")
	reclaim := fs.Duration("settle-reclaim-after", env.Duration("MP_SETTLE_RECLAIM_AFTER", settlement.DefaultMinIdle), "a feed entry another edge read but did not finish is taken over after this long (env MP_SETTLE_RECLAIM_AFTER)")
	maxDeliveries := fs.Int("settle-max-deliveries", env.Int("MP_SETTLE_MAX_DELIVERIES", settlement.DefaultMaxDeliveries), "a feed entry that failed this many deliveries is parked in the orphans record (env MP_SETTLE_MAX_DELIVERIES)")
	perIP := fs.Int("streams-per-ip", env.Int("MP_STREAMS_PER_IP", api.DefaultStreamsPerIP), "open event streams per client IP on this edge; -1 = no limit (env MP_STREAMS_PER_IP)")
	perKey := fs.Int("streams-per-key", env.Int("MP_STREAMS_PER_KEY", api.DefaultStreamsPerKey), "open merchant event streams per API key on this edge; -1 = no limit (env MP_STREAMS_PER_KEY)")
	maxStreams := fs.Int("max-streams", env.Int("MP_MAX_STREAMS", api.DefaultMaxStreams), "open event streams on this edge in all; past it a stream answers 503 with Retry-After; -1 = no limit (env MP_MAX_STREAMS)")
	streamWriteTimeout := fs.Duration("stream-write-timeout", env.Duration("MP_STREAM_WRITE_TIMEOUT", api.DefaultStreamWriteTimeout), "an event stream whose client accepts nothing for this long ends (it resumes with Last-Event-ID) (env MP_STREAM_WRITE_TIMEOUT)")
	trustedProxies := fs.String("trusted-proxies", envflag.String("MP_TRUSTED_PROXIES", ""), "reverse proxies whose X-Forwarded-For names the client, as IPs or CIDR prefixes separated by commas; empty = none, the TCP peer is the client (env MP_TRUSTED_PROXIES)")
	metricsListen := fs.String("metrics-listen", envflag.String("MP_METRICS_LISTEN", defaultMetricsListen), "where GET /metrics is served: an address = its own listener (with /healthz and /readyz), public = on --listen (anyone can read it), off = no metrics (env MP_METRICS_LISTEN)")
	publicLimit := fs.String("public-lookup-limit", envflag.String("MP_PUBLIC_LOOKUP_LIMIT", api.DefaultPublicLimit.String()), "public order lookups (checkout view, /pay page, public stream) per client, as N/DURATION (a burst of N, refilled at N per DURATION) or off (env MP_PUBLIC_LOOKUP_LIMIT)")
	unknownLimit := fs.String("unknown-lookup-limit", envflag.String("MP_UNKNOWN_LOOKUP_LIMIT", api.DefaultUnknownLimit.String()), "public lookups of ids that are no order, per client, N/DURATION or off; once spent, all the client's public lookups get 429 (env MP_UNKNOWN_LOOKUP_LIMIT)")
	authIPLimit := fs.String("auth-fail-limit-ip", envflag.String("MP_AUTH_FAIL_LIMIT_IP", api.DefaultAuthFailIPLimit.String()), "failed API authentications per client, N/DURATION or off; then 429 before any signature check (env MP_AUTH_FAIL_LIMIT_IP)")
	authKeyLimit := fs.String("auth-fail-limit-key", envflag.String("MP_AUTH_FAIL_LIMIT_KEY", api.DefaultAuthFailKeyLimit.String()), "failed API authentications per key id, N/DURATION or off (env MP_AUTH_FAIL_LIMIT_KEY)")
	whWorkers := fs.Int("webhook-workers", env.Int("MP_WEBHOOK_WORKERS", outbox.DefaultWorkers), "orders whose webhooks this edge delivers at once (env MP_WEBHOOK_WORKERS)")
	whPerMerchant := fs.Int("webhook-per-merchant", env.Int("MP_WEBHOOK_PER_MERCHANT", outbox.DefaultPerMerchant), "of those, at most this many for one merchant, so a dead endpoint cannot starve the others (env MP_WEBHOOK_PER_MERCHANT)")
	whTimeout := fs.Duration("webhook-timeout", env.Duration("MP_WEBHOOK_TIMEOUT", outbox.DefaultTimeout), "one webhook attempt, connect to response (env MP_WEBHOOK_TIMEOUT)")
	whLease := fs.Duration("webhook-lease", env.Duration("MP_WEBHOOK_LEASE", outbox.DefaultLease), "an order an edge took for delivery is taken over by another after this long if that edge died (env MP_WEBHOOK_LEASE)")
	whPrivate := fs.Bool("webhook-allow-private", env.Bool("MP_WEBHOOK_ALLOW_PRIVATE", false), "DEV ONLY: let webhooks reach loopback, private and link-local addresses (env MP_WEBHOOK_ALLOW_PRIVATE)")
	devPayURL := fs.String("dev-pay-url", envflag.String("MP_DEV_PAY_URL", ""), "DEV ONLY (needs --dev): a dev-chain payer the checkout's DEV ONLY control posts the order to; make demo sets it (env MP_DEV_PAY_URL)")
	webDir := fs.String("web-dir", envflag.String("MP_WEB_DIR", "public/web"), "directory of the built checkout wasm assets, from make wasm (env MP_WEB_DIR)")
	buildID := fs.String("build-id", envflag.String("MP_BUILD_ID", ""), "release id of the checkout assets; empty = a hash of them (env MP_BUILD_ID)")
	frameAncestors := fs.String("frame-ancestors", envflag.String("MP_FRAME_ANCESTORS", page.DefaultFrameAncestors), "CSP frame-ancestors for merchants without embed origins, e.g. 'none' or https://a.example https://b.example (env MP_FRAME_ANCESTORS)")
	erc20Token := fs.String("erc20-token", envflag.String("MP_ERC20_TOKEN", page.DefaultERC20Token), "USDT contract in ERC20 payment QR codes (EIP-681) (env MP_ERC20_TOKEN)")
	erc20Chain := fs.Int("erc20-chain-id", env.Int("MP_ERC20_CHAIN_ID", page.DefaultERC20ChainID), "chain id in ERC20 payment QR codes (env MP_ERC20_CHAIN_ID)")
	explorerTron := fs.String("explorer-tron", envflag.String("MP_EXPLORER_TRON", ""), "TRC20 transaction page the checkout links each payment to, {tx} standing for the hash; none = no link (env MP_EXPLORER_TRON; default "+page.DefaultExplorers[checkout.TRC20]+", none with --dev)")
	explorerEth := fs.String("explorer-eth", envflag.String("MP_EXPLORER_ETH", ""), "ERC20 transaction page the checkout links each payment to, {tx} standing for the hash; none = no link (env MP_EXPLORER_ETH; default "+page.DefaultExplorers[checkout.ERC20]+", none with --dev)")
	returnDelay := fs.Duration("return-delay", env.Duration("MP_RETURN_DELAY", page.DefaultReturnDelay), "visible pause before a PAID checkout returns the customer to return_url (env MP_RETURN_DELAY)")
	dustFlag := fs.String("dust-threshold", envflag.String("MP_DUST_THRESHOLD", checkout.DefaultDustThreshold.String()), "USDT below which a transfer is dust: it changes no order and sends no webhook, only counted (zero-value transfers always are; lowered per order to what it still needs) (env MP_DUST_THRESHOLD)")
	maxPayments := fs.Int("max-payments", env.Int("MP_MAX_PAYMENTS", checkout.DefaultMaxPayments), "payments one order keeps; transfers beyond go to the orphans record (env MP_MAX_PAYMENTS)")
	reorgGrace := fs.Duration("reorg-grace", env.Duration("MP_REORG_GRACE", checkout.DefaultReorgGrace), "how long an on-time transfer a reorg removed after expiry holds its order open for re-inclusion (env MP_REORG_GRACE)")
	maxTolerance := fs.String("max-tolerance", envflag.String("MP_MAX_TOLERANCE", orders.DefaultMaxTolerance.String()), "largest tolerance_percent a new order may ask for, at most "+orders.ToleranceCeiling.String()+" (env MP_MAX_TOLERANCE)")
	retainEvents := fs.Duration("retain-events", env.Duration("MP_RETAIN_EVENTS", retention.DefaultEvents), "a finished order keeps its events and its delivered, failed or skipped webhook records this long after its last terminal change, then only its last event (the order itself and pending deliveries always stay); negative = forever (env MP_RETAIN_EVENTS)")
	retainAddresses := fs.Duration("retain-addresses", env.Duration("MP_RETAIN_ADDRESSES", 0), "a finished xpub-mode order's deposit address stays watched and bound to it this long, then later funds to it are no longer seen; 0 = the merchant's late-funds window (default 24h), negative = forever (env MP_RETAIN_ADDRESSES)")
	retainChanges := fs.Duration("retain-changes", env.Duration("MP_RETAIN_CHANGES", retention.DefaultChanges), "change feed entries (the live hints between edges) are kept this long; negative = up to the 100,000-entry cap only (env MP_RETAIN_CHANGES)")
	retainRecords := fs.Duration("retain-records", env.Duration("MP_RETAIN_RECORDS", retention.DefaultRecords), "orphans and watcher anomalies entries are kept this long; negative = forever (env MP_RETAIN_RECORDS)")
	retainEvery := fs.Duration("retention-interval", env.Duration("MP_RETENTION_INTERVAL", retention.DefaultInterval), "how often the retention worker looks for due work (env MP_RETENTION_INTERVAL)")
	dash := fs.Bool("dashboard", env.Bool("MP_DASHBOARD", false), "serve the merchant dashboard under /dashboard (sign-in, sessions; off until it has order pages) (env MP_DASHBOARD)")
	dashIdle := fs.Duration("dashboard-idle-timeout", env.Duration("MP_DASHBOARD_IDLE_TIMEOUT", users.DefaultIdleTimeout), "a dashboard session unused this long ends (env MP_DASHBOARD_IDLE_TIMEOUT)")
	dashAbs := fs.Duration("dashboard-absolute-timeout", env.Duration("MP_DASHBOARD_ABSOLUTE_TIMEOUT", users.DefaultAbsoluteTimeout), "every dashboard session ends this long after sign-in, however used (env MP_DASHBOARD_ABSOLUTE_TIMEOUT)")
	dashIPLimit := fs.String("dashboard-login-limit-ip", envflag.String("MP_DASHBOARD_LOGIN_LIMIT_IP", users.DefaultLoginLimitIP.String()), "failed dashboard sign-ins per client, N/DURATION or off; then 429 before any password check (env MP_DASHBOARD_LOGIN_LIMIT_IP)")
	dashAcctLimit := fs.String("dashboard-login-limit-account", envflag.String("MP_DASHBOARD_LOGIN_LIMIT_ACCOUNT", users.DefaultLoginLimitAccount.String()), "failed dashboard sign-ins per e-mail address, from any client, N/DURATION or off (env MP_DASHBOARD_LOGIN_LIMIT_ACCOUNT)")
	logFormat := fs.String("log-format", envflag.String("MP_LOG_FORMAT", "text"), "log format: text or json (env MP_LOG_FORMAT)")
	logLevel := fs.String("log-level", envflag.String("MP_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env MP_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := env.Err(); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if *publicURL != "" {
		if _, err := checkout.ParseBaseURL(*publicURL); err != nil {
			return nil, fmt.Errorf("--public-url must be an absolute http(s) URL with no credentials, query or fragment, such as https://pay.example.com")
		}
	}
	if *devPayURL != "" {
		if _, err := checkout.ParseBaseURL(*devPayURL); !*dev || err != nil {
			return nil, fmt.Errorf("--dev-pay-url needs --dev and an absolute http(s) URL with no credentials, query or fragment")
		}
	}
	if *streamWriteTimeout <= 0 {
		return nil, fmt.Errorf("--stream-write-timeout must be positive")
	}
	rules, err := settleRules(*dustFlag, *maxPayments, *reorgGrace)
	if err != nil {
		return nil, err
	}
	maxTol, err := orders.ParseMaxTolerance(*maxTolerance)
	if err != nil {
		return nil, fmt.Errorf("--max-tolerance: %w", err)
	}
	proxies, err := clientip.Parse(*trustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	var limits [4]store.Limit
	for i, f := range []struct{ name, v string }{{"public-lookup-limit", *publicLimit}, {"unknown-lookup-limit", *unknownLimit},
		{"auth-fail-limit-ip", *authIPLimit}, {"auth-fail-limit-key", *authKeyLimit}} {
		if limits[i], err = store.ParseLimit(f.v); err != nil {
			return nil, fmt.Errorf("--%s: %w", f.name, err)
		}
	}
	if *metricsListen == "" {
		return nil, fmt.Errorf("--metrics-listen: give an address, %s or %s", metricsPublic, metricsOff)
	}
	if *retainEvery <= 0 {
		return nil, fmt.Errorf("--retention-interval must be positive")
	}
	if *retainChanges >= 0 && *retainChanges < time.Minute {
		return nil, fmt.Errorf("--retain-changes must be at least 1m (edges read the change feed live) or negative")
	}
	if *erc20Chain <= 0 {
		return nil, fmt.Errorf("--erc20-chain-id must be positive")
	}
	log, err := newLogger(*logFormat, *logLevel)
	if err != nil {
		return nil, err
	}
	var dashboardUsers *users.Service
	if *dash {
		if *dashIdle <= 0 || *dashAbs < *dashIdle {
			return nil, fmt.Errorf("--dashboard-idle-timeout must be positive and at most --dashboard-absolute-timeout")
		}
		dashboardUsers = &users.Service{IdleTimeout: *dashIdle, AbsoluteTimeout: *dashAbs, Log: log}
		for _, f := range []struct {
			name, v string
			l       *store.Limit
		}{{"dashboard-login-limit-ip", *dashIPLimit, &dashboardUsers.LoginLimitIP}, {"dashboard-login-limit-account", *dashAcctLimit, &dashboardUsers.LoginLimitAccount}} {
			if *f.l, err = store.ParseLimit(f.v); err != nil {
				return nil, fmt.Errorf("--%s: %w", f.name, err)
			}
		}
	}
	c := &serveConfig{dashboard: dashboardUsers, redis: rf, listen: *listen, publicURL: *publicURL, dev: *dev, log: log, rules: rules,
		expiryEvery: *expiryEvery, reclaim: *reclaim, maxDeliveries: *maxDeliveries, metricsListen: *metricsListen,
		retention: retention.Worker{Events: *retainEvents, Addresses: *retainAddresses, Changes: *retainChanges,
			Records: *retainRecords, Interval: *retainEvery, Log: log},
		whWorkers: *whWorkers, whPerMerchant: *whPerMerchant, whTimeout: *whTimeout, whLease: *whLease, whPrivate: *whPrivate}
	c.srv = &api.Server{
		ClientIP:      proxies,
		StreamsPerIP:  *perIP,
		StreamsPerKey: *perKey,
		RateLimit:     *rate,
		PublicLimit:   limits[0], UnknownLimit: limits[1], AuthFailIPLimit: limits[2], AuthFailKeyLimit: limits[3],
		Dev:          *dev,
		MaxTolerance: maxTol,
		Log:          log,
	}
	c.srv.MaxStreams, c.srv.StreamWriteTimeout = *maxStreams, *streamWriteTimeout
	c.explorers = explorers(*dev, map[checkout.Network]string{checkout.TRC20: *explorerTron, checkout.ERC20: *explorerEth})
	// The page looks orders up through the server, which has its store by the time it serves.
	if c.srv.Page, err = page.New(page.Config{WebDir: *webDir, BuildID: *buildID, FrameAncestors: *frameAncestors,
		ERC20Token: *erc20Token, ERC20ChainID: uint64(*erc20Chain), ReturnDelay: *returnDelay, Dev: *dev,
		DevPayURL: *devPayURL, Log: log,
		Explorers: c.explorers},
		c.srv.CheckoutLookup()); err != nil {
		return nil, fmt.Errorf("checkout page: %w", err)
	}
	return c, nil
}

// explorers turns the --explorer-* values into the page's explorer links: a value as given,
// "none" for no link, empty for the public explorer (none in development mode: the dev chain
// has no explorer).
func explorers(dev bool, flags map[checkout.Network]string) map[checkout.Network]string {
	out := make(map[checkout.Network]string, len(flags))
	for n, v := range flags {
		switch {
		case v == "none":
			out[n] = ""
		case v != "":
			out[n] = v
		case !dev:
			out[n] = page.DefaultExplorers[n]
		default:
			out[n] = ""
		}
	}
	return out
}

// run dials Redis, opens the listeners and runs the edge until ctx ends or a part fails.
func (c *serveConfig) run(ctx context.Context) error {
	log, rf, srv := c.log, c.redis, c.srv
	st, closeRedis, err := rf.connect(ctx)
	if err != nil {
		return err
	}
	defer closeRedis()

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.listen, err)
	}
	publicURL := c.publicURL
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	merchants.RegisterXPubs(ctx, st, log)
	// The process's one blocking read of the change feed gets a client of its own, so the
	// edge's Redis connections stay constant however many streams it serves.
	changeReader := st.ChangeReader()
	defer changeReader.Close()
	feed := changes.New(changeReader, log)
	srv.Changes, srv.Store = feed, st
	srv.Orders = &orders.Service{Store: st, PublicURL: publicURL}
	srv.Auth = &auth.Verifier{Keys: st}
	var m *metrics.Edge // set below, before anything runs
	dispatcher := &outbox.Dispatcher{Store: st, Client: outbox.NewClient(c.whPrivate, c.whTimeout), Timeout: c.whTimeout,
		Workers: c.whWorkers, PerMerchant: c.whPerMerchant, Lease: c.whLease, Log: log,
		OnAttempt: func(d *store.Delivery, _ *checkout.WebhookAttempt) { m.WebhookDelivery(deliveryResult(d)) }}
	if c.dashboard != nil {
		c.dashboard.Store = st
		d, err := dashboard.New(dashboard.Config{Users: c.dashboard, Store: st, Actions: srv.Orders, Origin: publicURL, Dev: c.dev,
			ClientIP: srv.ClientIP, Log: log, Explorers: c.explorers, Webhooks: dispatcher})
		if err != nil {
			return err
		}
		srv.ExtraRoutes = d.Routes
	}
	if c.metricsListen != metricsOff {
		m = metrics.NewEdge(log)
		m.ObserveStreams(srv.OpenStreams, feed.Open)
		m.ObserveSettlement(st, settlement.DefaultGroup, checkout.Networks)
		srv.Metrics, srv.MetricsSeparate = m, c.metricsListen != metricsPublic
	}
	hs := &fasthttp.Server{
		Handler:            srv.Handler(),
		Name:               "mp-checkout",
		ReadTimeout:        15 * time.Second,
		IdleTimeout:        90 * time.Second,
		WriteTimeout:       0, // SSE streams are long-lived; a stalled stream is cut by --stream-write-timeout
		MaxRequestBodySize: 1 << 20,
		KeepHijackedConns:  true, // event streams own their connections (api.Server.stream)
		ReduceMemoryUsage:  true, // so hijacked streams do not keep the read buffer either
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			code := checkout.CodeBadRequest
			if errors.Is(err, fasthttp.ErrBodyTooLarge) {
				code = checkout.CodeBodyTooLarge
			}
			ctx.SetStatusCode(code.HTTPStatus())
			ctx.SetContentType("application/json")
			ctx.SetBodyString(fmt.Sprintf(`{"error":{"type":%q,"code":%q,"message":"the request could not be read"}}`, code.Type(), code))
		},
		NoDefaultServerHeader: false,
	}
	g, gctx := errgroup.WithContext(ctx)
	if srv.MetricsSeparate {
		if err := serveOps(gctx, g, c.metricsListen, srv.OpsHandler(), log); err != nil {
			return err
		}
	}
	if c.whPrivate {
		log.Warn("webhooks may reach loopback and private addresses (--webhook-allow-private): development only")
	}
	m.SetWebhookBacklog(st.WebhookBacklog)
	srv.Webhooks = dispatcher
	// Every change with a webhook event, from any replica, wakes the dispatcher: polling is
	// only the fallback.
	feed.Observe(dispatcher.Observe)
	g.Go(func() error { return dispatcher.Run(gctx) })
	g.Go(func() error { return feed.Run(gctx) })
	g.Go(func() error {
		return (&expiry.Worker{Store: st, Interval: c.expiryEvery, Rules: c.rules, Log: log}).Run(gctx)
	})
	g.Go(func() error { return (&orders.ReleaseWorker{Orders: srv.Orders, Log: log}).Run(gctx) })
	retain := c.retention
	retain.Store = st
	g.Go(func() error { return retain.Run(gctx) })
	for _, n := range checkout.Networks {
		c := &settlement.Consumer{Store: st, Network: n, MinIdle: c.reclaim, MaxDeliveries: c.maxDeliveries, Rules: c.rules, Log: log,
			OnChange:    func(_ string, evs []checkout.Event) { m.SettlementApplied(n, evs) },
			OnPark:      func(string, string) { m.SettlementParked(n) },
			OnUnmatched: func(string, *checkout.Transfer) { m.SettlementUnmatched(n) }}
		g.Go(func() error { return c.Run(gctx) })
	}
	g.Go(func() error {
		if err := hs.Serve(ln); err != nil {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return hs.ShutdownWithContext(sctx)
	})
	log.Info("edge listening", "addr", ln.Addr().String(), "public_url", publicURL, "dev", c.dev,
		"redis", redisconn.Redact(rf.url), "redis_cluster", rf.cluster, "redis_prefix", rf.prefix, "dashboard", c.dashboard != nil)
	if !c.dev && len(publicURL) >= 7 && (publicURL)[:7] == "http://" {
		log.Warn("public URL is not https; customers' browsers will reach the checkout unencrypted")
		if c.dashboard != nil {
			log.Warn("the dashboard's session cookie is Secure: over http (without --dev) browsers will not send it back")
		}
	}
	err = g.Wait()
	// The change feed has stopped, so streams are ending; let them flush and close.
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if werr := srv.WaitStreams(wctx); werr != nil {
		log.Warn("event streams still open at exit", "err", werr)
	}
	return err
}

// settleRules checks the status rules' flags. A dust threshold of 0 leaves only zero-value
// transfers as dust (the same as one base unit).
func settleRules(dust string, maxPayments int, grace time.Duration) (checkout.Rules, error) {
	r := checkout.Rules{DustThreshold: 1, MaxPayments: maxPayments, ReorgGrace: grace}
	if dust != "0" {
		a, err := checkout.ParseAmount(dust)
		if err != nil {
			return r, fmt.Errorf("--dust-threshold %q: %w", dust, err)
		}
		r.DustThreshold = a
	}
	// 50 transfers of at most MaxTransfer each still sum within an Amount (int64).
	if maxPayments < 1 || maxPayments > 50 {
		return r, fmt.Errorf("--max-payments must be between 1 and 50")
	}
	if grace <= 0 {
		return r, fmt.Errorf("--reorg-grace must be positive")
	}
	return r, nil
}

// deliveryResult classifies a recorded webhook attempt for the metrics.
func deliveryResult(d *store.Delivery) metrics.DeliveryResult {
	switch {
	case d.Status == checkout.DeliverySkipped:
		return metrics.Skipped
	case d.Status == checkout.DeliveryDelivered:
		return metrics.Delivered
	case d.Status == checkout.DeliveryFailed:
		return metrics.GaveUp
	}
	return metrics.FailedAttempt
}
