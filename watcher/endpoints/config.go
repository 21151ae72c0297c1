package endpoints

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

// ParseSpec parses one endpoint as `URL` or `URL|Name: value|Name2: value`: the URL, then
// headers for that endpoint only, separated by "|". Errors never quote the URL or a value.
func ParseSpec(spec string) (Config, error) {
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

// Name is how endpoint i is named in logs, metrics and errors: "#i scheme://host".
func Name(i int, rawURL string) string {
	return fmt.Sprintf("#%d %s", i, secreturl.Redact(rawURL))
}
