package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mpchat/checkout/internal/redistest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `edge serve` in-process until the test ends; it returns the error it
// stopped with early, if any, or nil once --listen answers.
func startServe(t *testing.T, args ...string) (string, error) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"--listen", addr, "--redis", redistest.Shared(t).URL,
			"--redis-prefix", redistest.Prefix(), "--log-level", "error", "--web-dir", t.TempDir()}, args...))
	}()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			done <- err
			return "", err
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return "http://" + addr, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("edge serve did not answer")
	return "", nil
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestMetricsArePrivateByDefault: /metrics was on the public listener unless an operator
// moved it. By default it is on 127.0.0.1:9100 now; "public" puts it back on --listen.
func TestMetricsArePrivateByDefault(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		base, err := startServe(t)
		if err != nil {
			// Another process holds the port on this machine: the edge did try the private default.
			if strings.Contains(err.Error(), "--metrics-listen "+defaultMetricsListen) {
				t.Skipf("default metrics port busy here: %v", err)
			}
			t.Fatal(err)
		}
		if got := status(t, base+"/metrics"); got != 404 {
			t.Errorf("/metrics on the public listener: %d, want 404", got)
		}
		if got := status(t, "http://"+defaultMetricsListen+"/metrics"); got != 200 {
			t.Errorf("/metrics on %s: %d, want 200", defaultMetricsListen, got)
		}
	})
	t.Run("public", func(t *testing.T) {
		base, err := startServe(t, "--metrics-listen", "public")
		if err != nil {
			t.Fatal(err)
		}
		if got := status(t, base+"/metrics"); got != 200 {
			t.Errorf("/metrics with --metrics-listen public: %d, want 200", got)
		}
	})
	t.Run("empty is refused", func(t *testing.T) {
		if _, err := startServe(t, "--metrics-listen", ""); err == nil || !strings.Contains(err.Error(), "--metrics-listen") {
			t.Errorf("--metrics-listen \"\": %v, want an error", err)
		}
	})
}

// TestServeChecksFlagsBeforeDialling: every bad flag (or MP_* value) is reported as such with
// no Redis reachable; before, some checks ran only after the edge had connected to Redis and
// opened its listener, so a bad value surfaced as a Redis error, or not until Redis was back.
func TestServeChecksFlagsBeforeDialling(t *testing.T) {
	closed := "redis://" + freeAddr(t) + "/0" // nothing listens there
	cases := []struct {
		name string
		args []string
		env  [2]string
		want string
	}{
		{"dust threshold", []string{"--dust-threshold", "-1"}, [2]string{}, "--dust-threshold"},
		{"max payments", []string{"--max-payments", "51"}, [2]string{}, "--max-payments"},
		{"reorg grace", []string{"--reorg-grace", "0s"}, [2]string{}, "--reorg-grace"},
		{"max tolerance", []string{"--max-tolerance", "200"}, [2]string{}, "--max-tolerance"},
		{"trusted proxies", []string{"--trusted-proxies", "not-an-ip"}, [2]string{}, "--trusted-proxies"},
		{"lookup limit", []string{"--public-lookup-limit", "ten"}, [2]string{}, "--public-lookup-limit"},
		{"auth limit", []string{"--auth-fail-limit-key", "5/never"}, [2]string{}, "--auth-fail-limit-key"},
		{"stream write timeout", []string{"--stream-write-timeout", "0s"}, [2]string{}, "--stream-write-timeout"},
		{"metrics listen", []string{"--metrics-listen", ""}, [2]string{}, "--metrics-listen"},
		{"dev pay url without dev", []string{"--dev-pay-url", "http://127.0.0.1:9/pay"}, [2]string{}, "--dev-pay-url"},
		{"public url", []string{"--public-url", "pay.example.com"}, [2]string{}, "--public-url"},
		{"erc20 chain id", []string{"--erc20-chain-id", "0"}, [2]string{}, "--erc20-chain-id"},
		{"frame ancestors", []string{"--frame-ancestors", "'none' https://a.example"}, [2]string{}, "frame ancestors"},
		{"explorer", []string{"--explorer-tron", "http://tronscan.example/{tx}"}, [2]string{}, "explorer of TRC20"},
		{"explorer without {tx}", []string{"--explorer-eth", "https://etherscan.io/tx/"}, [2]string{}, "explorer of ERC20"},
		{"dashboard timeouts", []string{"--dashboard", "--dashboard-idle-timeout", "13h"}, [2]string{}, "--dashboard-idle-timeout"},
		{"dashboard login limit", []string{"--dashboard", "--dashboard-login-limit-ip", "many"}, [2]string{}, "--dashboard-login-limit-ip"},
		{"log level", []string{"--log-level", "loud"}, [2]string{}, "--log-level"},
		{"log format", []string{"--log-format", "xml"}, [2]string{}, "--log-format"},
		{"retain changes", []string{"--retain-changes", "10s"}, [2]string{}, "--retain-changes"},
		{"retention interval", []string{"--retention-interval", "0s"}, [2]string{}, "--retention-interval"},
		{"env retain events", nil, [2]string{"MP_RETAIN_EVENTS", "90d"}, "MP_RETAIN_EVENTS"},
		{"stray argument", []string{"extra"}, [2]string{}, "unexpected argument"},
		{"env rate limit", nil, [2]string{"MP_RATE_LIMIT", "1OO"}, "MP_RATE_LIMIT"},
		{"env dev", nil, [2]string{"MP_DEV", "yes?"}, "MP_DEV"},
		{"env expiry interval", nil, [2]string{"MP_EXPIRY_INTERVAL", "5"}, "MP_EXPIRY_INTERVAL"},
		{"env redis cluster", nil, [2]string{"MP_REDIS_CLUSTER", "maybe"}, "MP_REDIS_CLUSTER"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.env[0] != "" {
				t.Setenv(c.env[0], c.env[1])
			}
			args := append([]string{"--redis", closed, "--listen", "127.0.0.1:0", "--metrics-listen", "off",
				"--web-dir", t.TempDir()}, c.args...)
			err := serve(context.Background(), args)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("serve %v (env %v): %v, want an error about %s", c.args, c.env, err, c.want)
			}
		})
	}
}
