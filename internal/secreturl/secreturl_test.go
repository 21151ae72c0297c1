package secreturl

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// Provider URLs carry API keys in the path, the query or the userinfo; none may be printed.
var secretURLs = []struct{ name, raw, want string }{
	{"key in the path (Alchemy/Infura style)", "https://x.example/v2/APIKEY", "https://x.example"},
	{"key in the path, TRON jsonrpc", "https://api.trongrid.example/APIKEY/jsonrpc", "https://api.trongrid.example"},
	{"userinfo", "https://user:pw@h/", "https://h"},
	{"user only", "https://APIKEY@h.example/rpc", "https://h.example"},
	{"key in the query", "https://h.example/rpc?apikey=APIKEY", "https://h.example"},
	{"key in the fragment", "https://h.example/#APIKEY", "https://h.example"},
	{"port kept", "http://127.0.0.1:8545/APIKEY", "http://127.0.0.1:8545"},
	{"websocket", "wss://ws.example/ws/v3/APIKEY", "wss://ws.example"},
	{"IPv6 host", "http://user:APIKEY@[::1]:8545/", "http://[::1]:8545"},
	{"no scheme", "x.example/v2/APIKEY", "(URL without scheme and host)"},
	{"unparseable", "https://h.example/%zzAPIKEY", "(unparseable URL)"},
}

func TestRedactURL(t *testing.T) {
	for _, c := range secretURLs {
		t.Run(c.name, func(t *testing.T) {
			got := Redact(c.raw)
			if got != c.want {
				t.Errorf("Redact(%q) = %q, want %q", c.raw, got, c.want)
			}
			if strings.Contains(got, "APIKEY") || strings.Contains(got, "pw") {
				t.Errorf("Redact(%q) = %q leaks the secret", c.raw, got)
			}
		})
	}
}

// TestScrubURLs: error texts from the RPC client quote the URL it called (net/http's
// `Post "https://…": …`); every URL in a log line or an exit message is cut to scheme://host.
func TestScrubURLs(t *testing.T) {
	_, err := http.Post("http://user:pw@127.0.0.1:1/v2/APIKEY?apikey=APIKEY", "application/json", nil)
	if err == nil {
		t.Fatal("a request to port 1 succeeded")
	}
	for _, s := range []string{
		err.Error(),
		`dial https://x.example/v2/APIKEY: no such host`,
		`Post "https://x.example/v2/APIKEY": EOF; retry wss://user:pw@ws.example/APIKEY`,
	} {
		got := Scrub(s)
		if strings.Contains(got, "APIKEY") || strings.Contains(got, "pw") {
			t.Errorf("Scrub(%q) = %q leaks the secret", s, got)
		}
	}
	if got := Scrub(`Post "https://x.example/v2/APIKEY": EOF`); got != `Post "https://x.example": EOF` {
		t.Errorf("scrubbed %q", got)
	}
}

// TestLoggerScrubsURLs: the logger cuts URLs in messages, string attributes and
// errors (which the scanner and health checks log from the RPC client).
func TestLoggerScrubsURLs(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf)
	log.Info("calling https://x.example/v2/APIKEY", "rpc", "https://user:pw@h/", "err",
		errors.New(`Post "https://x.example/rpc?apikey=APIKEY": timeout`), slog.Group("g", "u", "https://h/APIKEY"))
	out := buf.String()
	if strings.Contains(out, "APIKEY") || strings.Contains(out, "pw") {
		t.Fatalf("log line leaks: %s", out)
	}
	if !strings.Contains(out, "https://x.example") || !strings.Contains(out, "rpc=https://h") {
		t.Fatalf("log line lost the hosts: %s", out)
	}
}

// TestURLFlagDefault: a flag's default comes from the environment (MP_RPC); the usage text
// printed on -h or a parse error shows only its scheme and host.
func TestURLFlagDefault(t *testing.T) {
	t.Setenv("MP_RPC", "https://user:pw@x.example/v2/APIKEY?apikey=APIKEY")
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	rpc := Flag(fs, "rpc", "MP_RPC", "", "JSON-RPC URL")
	if err := fs.Parse([]string{"--nope"}); err == nil {
		t.Fatal("unknown flag accepted")
	}
	if strings.Contains(buf.String(), "APIKEY") || strings.Contains(buf.String(), "pw") || !strings.Contains(buf.String(), "https://x.example") {
		t.Fatalf("usage: %s", buf.String())
	}
	if *rpc != "https://user:pw@x.example/v2/APIKEY?apikey=APIKEY" {
		t.Fatalf("value %q", *rpc)
	}
	if err := fs.Parse([]string{"--rpc", "http://127.0.0.1:8545"}); err != nil || *rpc != "http://127.0.0.1:8545" {
		t.Fatalf("set: %q %v", *rpc, err)
	}
}
