package endpoints

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind classifies a failed call. Every failure has one; none of them is ever read as "no
// transfers" (an answer that is not a JSON-RPC result is an error of some kind).
type Kind string

// The kinds of failure, and what the pool does about each.
const (
	// RateLimited: the provider refused for load (HTTP 429; 403 or 503 with Retry-After;
	// TRON's "lack of computing resources" answered with HTTP 200 outside the JSON-RPC
	// envelope; JSON-RPC errors naming a rate or request limit). The endpoint is benched for
	// its Retry-After, else an exponential backoff with jitter.
	RateLimited Kind = "rate_limited"
	// RangeTooLarge: eth_getLogs over more blocks than the node allows (TRON: -32602 "exceed
	// max block range: 5000"). The range is split and retried; the endpoint stays healthy.
	RangeTooLarge Kind = "range_too_large"
	// TooManyResults: eth_getLogs would return more logs than the node allows (TRON -32005,
	// "query returned more than 10000 results" elsewhere). The range is split and retried.
	TooManyResults Kind = "too_many_results"
	// Transient: a timeout, a refused or dropped connection, a truncated or undecodable
	// answer, a 5xx, a server-side JSON-RPC error. Benched briefly (backoff with jitter).
	Transient Kind = "transient"
	// Fatal: the endpoint cannot serve this client as configured (401, 403 without
	// Retry-After, 404, method not found, invalid params). Benched for long; logged loudly.
	Fatal Kind = "fatal"
)

// Kinds lists every Kind (metrics labels).
var Kinds = []Kind{RateLimited, RangeTooLarge, TooManyResults, Transient, Fatal}

// Error is a failed call to one endpoint. Its text names the endpoint by index and
// scheme://host only, never its URL or headers.
type Error struct {
	Endpoint   string        // "#0 https://host"
	Method     string        // JSON-RPC method
	Kind       Kind          // classification
	HTTPStatus int           // HTTP status, when the answer had one
	Code       int           // JSON-RPC error code, when the answer had one
	RetryAfter time.Duration // the provider's Retry-After, if any
	Msg        string        // what went wrong (the node's message, cut and scrubbed)
	// Limit is the block range the node said it allows (TRON: "exceed max block range: N"), or 0.
	Limit uint64
}

func (e *Error) Error() string {
	s := fmt.Sprintf("rpc %s %s: %s", e.Endpoint, e.Method, e.Kind)
	if e.HTTPStatus != 0 && e.HTTPStatus != http.StatusOK {
		s += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.Code != 0 {
		s += fmt.Sprintf(" (code %d)", e.Code)
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// KindOf is the Kind of err if it is (or wraps) an *Error, else "".
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// lackOfResources is what java-tron's rate limiter answers, with HTTP 200 and outside the
// JSON-RPC envelope.
const lackOfResources = "lack of computing resources"

// classifyHTTP classifies a non-200 answer.
func classifyHTTP(status int, retryAfter time.Duration) Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case (status == http.StatusForbidden || status == http.StatusServiceUnavailable) && retryAfter > 0:
		return RateLimited // TronGrid-style: over the key's quota, come back later
	case status == http.StatusRequestTimeout || status >= 500:
		return Transient
	default:
		return Fatal // 401, 403, 404, 405, 413…: this endpoint, as configured, cannot serve
	}
}

// classifyRPC classifies a JSON-RPC error member.
func classifyRPC(method string, code int, msg string) (Kind, uint64) {
	m := strings.ToLower(msg)
	if i := strings.Index(m, "exceed max block range"); i >= 0 {
		var limit uint64
		if j := strings.LastIndexByte(m, ':'); j > i {
			limit, _ = strconv.ParseUint(strings.TrimSpace(m[j+1:]), 10, 64)
		}
		return RangeTooLarge, limit
	}
	switch {
	case strings.Contains(m, lackOfResources), strings.Contains(m, "rate limit"), strings.Contains(m, "too many requests"),
		strings.Contains(m, "request limit"), strings.Contains(m, "compute units"), strings.Contains(m, "capacity"), code == 429:
		return RateLimited, 0
	case strings.Contains(m, "block range"), strings.Contains(m, "range too large"), strings.Contains(m, "too many blocks"):
		return RangeTooLarge, 0
	case strings.Contains(m, "more than") && strings.Contains(m, "result"), strings.Contains(m, "too many results"),
		strings.Contains(m, "response size"), strings.Contains(m, "response too large"):
		return TooManyResults, 0
	case code == -32005 && method == "eth_getLogs":
		return TooManyResults, 0 // java-tron's JsonRpcTooManyResultException
	case code == -32005:
		return RateLimited, 0 // "limit exceeded" (EIP-1474)
	case code == -32601, code == -32602, code == -32600, code == -32700:
		return Fatal, 0
	default:
		return Transient, 0 // -32000/-32603: server-side (block not found yet, internal error)
	}
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
