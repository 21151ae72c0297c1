package main

import (
	"flag"
	"io"
	"log/slog"
	"net/url"
	"regexp"

	"github.com/mpchat/checkout/internal/envflag"
)

// redact cuts a URL to scheme://host[:port] for logs and messages. RPC providers put API keys
// in the path (https://x.example/v2/KEY), the query (?apikey=KEY) or the userinfo, so none of
// those is ever shown.
func redact(raw string) string {
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

// scrubURLs replaces every URL in s by its scheme and host.
func scrubURLs(s string) string {
	return urlPattern.ReplaceAllStringFunc(s, redact)
}

// newLogger is the watcher's logger: text on w, with every URL in the message, a string
// attribute or an error cut to scheme://host, whichever package logged it.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: scrubAttr}))
}

func scrubAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); urlPattern.MatchString(s) {
			return slog.String(a.Key, scrubURLs(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, scrubURLs(err.Error()))
		}
	}
	return a
}

// urlValue is a flag holding a URL that may carry credentials: its String (what -h and a
// parse error print as the default, taken from the environment) is redacted.
type urlValue struct{ s *string }

func (v urlValue) String() string {
	if v.s == nil || *v.s == "" {
		return ""
	}
	return redact(*v.s)
}

func (v urlValue) Set(s string) error { *v.s = s; return nil }

// urlFlag defines a URL flag whose default comes from the environment variable env, else def.
func urlFlag(fs *flag.FlagSet, name, env, def, usage string) *string {
	s := envflag.String(env, def)
	fs.Var(urlValue{&s}, name, usage)
	return &s
}
