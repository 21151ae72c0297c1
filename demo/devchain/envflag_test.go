package main

import (
	"context"
	"strings"
	"testing"
)

// TestUnparsableEnvironmentIsAnError: each devchain command refuses to start on an environment
// value that does not parse (it used to run with the default), naming the variable, before it
// dials anything (the RPC here is a closed port).
func TestUnparsableEnvironmentIsAnError(t *testing.T) {
	cases := []struct {
		name, env, value string
		run              func(context.Context, []string) error
		args             []string
	}{
		{"run block time", "MP_BLOCK_TIME", "5", runChain, []string{"--listen", "127.0.0.1:0"}},
		{"pay wait", "MP_DEVPAY_WAIT", "yes?", runPay,
			[]string{"--rpc", "http://127.0.0.1:1", "--to", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "--amount", "1"}},
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
