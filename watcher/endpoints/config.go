package endpoints

import (
	"fmt"

	"github.com/mpchat/checkout/internal/rpcspec"
	"github.com/mpchat/checkout/internal/secreturl"
)

// Config is one JSON-RPC endpoint: its URL and the headers sent with every request to it
// (a provider's API key, e.g. TRON-PRO-API-KEY). Neither is ever logged.
type Config = rpcspec.Config

// ParseSpec parses one endpoint as `URL` or `URL|Name: value|Name2: value`: the URL, then
// headers for that endpoint only, separated by "|". Errors never quote the URL or a value.
// (The syntax is shared with the edge's transaction lookup: package rpcspec.)
func ParseSpec(spec string) (Config, error) { return rpcspec.Parse(spec) }

// ParseHeader parses `Name: value`. The error names the header, never its value.
func ParseHeader(s string) (name, value string, err error) { return rpcspec.ParseHeader(s) }

// SplitList splits a list of endpoints as the environment holds them (MP_RPC): separated by
// commas or newlines; blank items are skipped. (A "|" belongs to one endpoint: its headers.)
func SplitList(s string) []string { return rpcspec.SplitList(s) }

// Name is how endpoint i is named in logs, metrics and errors: "#i scheme://host".
func Name(i int, rawURL string) string {
	return fmt.Sprintf("#%d %s", i, secreturl.Redact(rawURL))
}
