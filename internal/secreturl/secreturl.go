// Package secreturl keeps credentials in URLs out of logs, errors and help text. RPC providers
// put API keys in the path (https://x.example/v2/KEY), the query (?apikey=KEY) or the
// userinfo, so a URL is only ever shown as scheme://host[:port].
package secreturl

import (
	"flag"
	"io"
	"log/slog"
	"net/url"
	"regexp"

	"github.com/mpchat/checkout/internal/envflag"
)

// Redact cuts a URL to scheme://host[:port].
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.Scheme == "" || u.Host == "" {
		return "(URL without scheme and host)"
	}
	return u.Scheme + "://" + u.Host
}

// urlPattern finds URLs inside free text: error messages of the RPC client quote the URL they
// called (net/http's `Post "https://…": …`).
var urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://[^\s"'<>]+`)

// Scrub replaces every URL in s by its scheme and host.
func Scrub(s string) string {
	return urlPattern.ReplaceAllStringFunc(s, Redact)
}

// NewLogger is a text logger on w that cuts every URL in the message, a string attribute or
// an error to scheme://host, whichever package logged it.
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: scrubAttr}))
}

func scrubAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); urlPattern.MatchString(s) {
			return slog.String(a.Key, Scrub(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, Scrub(err.Error()))
		}
	}
	return a
}

// value is a flag holding a URL that may carry credentials: its String (what -h and a parse
// error print as the default, taken from the environment) is redacted.
type value struct{ s *string }

func (v value) String() string {
	if v.s == nil || *v.s == "" {
		return ""
	}
	return Redact(*v.s)
}

func (v value) Set(s string) error { *v.s = s; return nil }

// Flag defines a URL flag whose default comes from the environment variable env, else def,
// and is never printed whole.
func Flag(fs *flag.FlagSet, name, env, def, usage string) *string {
	s := envflag.String(env, def)
	fs.Var(value{&s}, name, usage)
	return &s
}
