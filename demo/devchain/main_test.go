package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

// A provider URL in MP_RPC (the production watcher's variable) or in an error is never printed
// whole: its key may be in the path, the query or the userinfo.
func TestRPCURLRedacted(t *testing.T) {
	const secret = "https://user:pw@rpc.example/v2/APIKEY?apikey=APIKEY"
	msg := scrubURLs(`chain id of ` + secret + `: Post "` + secret + `": refused`)
	if strings.Contains(msg, "APIKEY") || strings.Contains(msg, "pw") || !strings.Contains(msg, "https://rpc.example") {
		t.Errorf("scrubURLs: %q", msg)
	}
	t.Setenv("MP_RPC", secret)
	fs := flag.NewFlagSet("pay", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	rpc := urlFlag(fs, "rpc", "MP_RPC", "http://127.0.0.1:8545", "dev chain JSON-RPC URL")
	fs.PrintDefaults()
	if *rpc != secret {
		t.Errorf("--rpc from the environment = %q", *rpc)
	}
	if strings.Contains(out.String(), "APIKEY") || !strings.Contains(out.String(), "https://rpc.example") {
		t.Errorf("-h shows %q", out.String())
	}
}
