// Package rpcspec parses how an operator names JSON-RPC endpoints on the command line and in
// the environment (`URL` or `URL|Name: value|…`, headers as `Name: value`), for every command
// that reaches a chain node: the watcher's, and the edge's transaction lookup. Errors never
// quote a URL's secrets or a header's value.
package rpcspec

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mpchat/checkout/internal/secreturl"
)

// Config is one JSON-RPC endpoint: its URL and the headers sent with every request to it
// (a provider's API key, e.g. TRON-PRO-API-KEY). Neither is ever logged.
type Config struct {
	URL     string
	Headers http.Header
}

// Parse parses one endpoint as `URL` or `URL|Name: value|Name2: value`: the URL, then
// headers for that endpoint only, separated by "|". Errors never quote the URL or a value.
func Parse(spec string) (Config, error) {
	parts := strings.Split(strings.TrimSpace(spec), "|")
	c := Config{URL: strings.TrimSpace(parts[0]), Headers: http.Header{}}
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return Config{}, fmt.Errorf("endpoint %s: want an http:// or https:// URL", secreturl.Redact(c.URL))
	}
	for _, h := range parts[1:] {
		name, value, err := ParseHeader(h)
		if err != nil {
			return Config{}, fmt.Errorf("endpoint %s: %w", secreturl.Redact(c.URL), err)
		}
		c.Headers.Add(name, value)
	}
	return c, nil
}

// ParseHeader parses `Name: value`. The error names the header, never its value.
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
		return "", "", fmt.Errorf("header %q: want Name: value", cutName(name))
	}
	if strings.ContainsAny(value, "\r\n") {
		return "", "", fmt.Errorf("header %s: value has a line break", name)
	}
	return http.CanonicalHeaderKey(name), value, nil
}

func cutName(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// SplitList splits a list of endpoints as the environment holds them (MP_RPC): separated by
// commas or newlines; blank items are skipped. (A "|" belongs to one endpoint: its headers.)
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// SplitLines splits a list of headers as the environment holds them (MP_RPC_HEADER): one per
// line; blank lines are skipped.
func SplitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// List is a repeatable string flag (--rpc, --rpc-header) whose default comes from the
// environment (Vals set before parsing); a value given on the command line replaces the
// environment's list. Its String (the default -h prints) never shows a value: URLs and
// headers carry keys.
type List struct {
	Vals []string
	set  bool
}

func (m *List) String() string {
	if m == nil || len(m.Vals) == 0 {
		return ""
	}
	return fmt.Sprintf("(%d from the environment)", len(m.Vals))
}

// Set adds one value (the first replaces the environment's).
func (m *List) Set(v string) error {
	if !m.set {
		m.Vals, m.set = nil, true
	}
	m.Vals = append(m.Vals, v)
	return nil
}
