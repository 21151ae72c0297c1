package main

import (
	"context"
	"strings"
	"testing"
)

// TestUnparsableEnvironmentIsAnError: each watcher command refuses to start on an environment
// value that does not parse (it used to run with the default), naming the variable, before it
// dials anything (the RPC and Redis here are closed ports).
func TestUnparsableEnvironmentIsAnError(t *testing.T) {
	cases := []struct {
		name, env, value string
		run              func(context.Context, []string) error
		args             []string
	}{
		{"run confirmations", "MP_CONFIRMATIONS", "1OO", runWatch,
			[]string{"--network", "ERC20", "--rpc", "http://127.0.0.1:1", "--redis", "redis://127.0.0.1:1/0"}},
		{"run poll interval", "MP_POLL_INTERVAL", "5", runWatch,
			[]string{"--network", "ERC20", "--rpc", "http://127.0.0.1:1", "--redis", "redis://127.0.0.1:1/0"}},
		{"run cluster", "MP_REDIS_CLUSTER", "yes?", runWatch,
			[]string{"--network", "ERC20", "--rpc", "http://127.0.0.1:1", "--redis", "redis://127.0.0.1:1/0"}},
		{"rescan confirmations", "MP_CONFIRMATIONS", "1OO", runRescan,
			[]string{"--network", "ERC20", "--rpc", "http://127.0.0.1:1", "--redis", "redis://127.0.0.1:1/0", "--from", "1", "--to", "2"}},
		{"rescan rpc timeout", "MP_RPC_TIMEOUT", "soon", runRescan,
			[]string{"--network", "ERC20", "--rpc", "http://127.0.0.1:1", "--redis", "redis://127.0.0.1:1/0", "--from", "1", "--to", "2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(c.env, c.value)
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // nothing may need to run: the error comes first
			err := c.run(ctx, c.args)
			if err == nil || !strings.Contains(err.Error(), c.env) {
				t.Errorf("%s=%q: %v, want an error naming %s", c.env, c.value, err, c.env)
			}
		})
	}
}
