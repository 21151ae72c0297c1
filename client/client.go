// Package client is the Go SDK of the MP Checkout merchant API: it signs requests, creates
// orders with an idempotency key and a safe retry policy (exponential backoff on 5xx and
// timeouts, never on 4xx), and reads orders. The edge verifies signatures with this package's
// Signature, so both sides share one implementation.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	checkout "github.com/mpchat/checkout"
)

// Defaults of Client's fields.
const (
	DefaultMaxRetries = 3
	DefaultTimeout    = 10 * time.Second
)

// Client calls one edge with one API key. Safe for concurrent use.
type Client struct {
	BaseURL    string       // e.g. "https://pay.example.com"
	KeyID      string       // key_…
	Secret     string       // sk_…
	HTTP       *http.Client // default: a client with DefaultTimeout
	MaxRetries int          // retries after the first attempt on 5xx/timeouts; default 3; <0 disables
	// Backoff is the wait before retry n (0-based); default 1s, 2s, 4s… (±10 % jitter), capped at 30 s.
	Backoff func(retry int) time.Duration
	Now     func() time.Time // clock used in signatures; default time.Now
}

// New returns a client with the defaults.
func New(baseURL, keyID, secret string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), KeyID: keyID, Secret: secret}
}

// Error is an API error answer (4xx/5xx) with the server's error body. Code is one of the
// checkout.Code constants (the server's own table), so compare with them:
// apiErr.Code == checkout.CodeInvalidAmount, or errors.Is(err, checkout.CodeInvalidAmount).
type Error struct {
	HTTPStatus int                `json:"-"`
	Type       checkout.ErrorType `json:"type"`
	Code       checkout.Code      `json:"code"`
	Message    string             `json:"message"`
	Param      string             `json:"param,omitempty"`
	RequestID  string             `json:"-"`
}

// CodeUnexpectedResponse is the Code of an answer that carried no API error body (a proxy's
// error page, say). It is the SDK's, not the server's: it is not in the checkout.Code table.
const CodeUnexpectedResponse checkout.Code = "unexpected_response"

// Is reports whether target is e's Code: errors.Is(err, checkout.CodeRateLimited).
func (e *Error) Is(target error) bool {
	c, ok := target.(checkout.Code)
	return ok && c == e.Code
}

func (e *Error) Error() string {
	return fmt.Sprintf("mp checkout: %d %s: %s (param %q, request %s)", e.HTTPStatus, e.Code, e.Message, e.Param, e.RequestID)
}

// OrderParams are the parameters of POST /v1/orders. Amount is a decimal string ("99.99").
// TolerancePercent is a JSON number as text ("0.01"); empty uses the server default.
// IdempotencyKey: when empty, CreateOrder makes one, so its own retries never duplicate.
type OrderParams struct {
	Amount           string            `json:"amount"`
	Currency         string            `json:"currency"`
	Network          checkout.Network  `json:"network"`
	Description      string            `json:"description,omitempty"`
	ReturnURL        string            `json:"return_url,omitempty"`
	WebhookURL       string            `json:"webhook_url,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	IdempotencyKey   string            `json:"idempotency_key,omitempty"`
	TolerancePercent json.Number       `json:"tolerance_percent,omitempty"`
	// AllowNetworkSwitch: true lets the customer switch network on the checkout; nil = the
	// merchant's default.
	AllowNetworkSwitch *bool `json:"allow_network_switch,omitempty"`
}

// CreateOrder creates an order, retrying on 5xx and timeouts with the same idempotency key.
// Currency defaults to USDT.
func (c *Client) CreateOrder(ctx context.Context, p *OrderParams) (*checkout.Order, error) {
	q := *p
	if q.Currency == "" {
		q.Currency = checkout.Currency
	}
	if q.IdempotencyKey == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		q.IdempotencyKey = "sdk_" + hex.EncodeToString(b)
	}
	body, err := json.Marshal(&q)
	if err != nil {
		return nil, fmt.Errorf("encode order params: %w", err)
	}
	var o checkout.Order
	if err := c.call(ctx, http.MethodPost, "/v1/orders", body, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// GetOrder reads an order: the merchant's source of truth for its status.
func (c *Client) GetOrder(ctx context.Context, id string) (*checkout.Order, error) {
	var o checkout.Order
	if err := c.call(ctx, http.MethodGet, "/v1/orders/"+url.PathEscape(id), nil, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// call performs a request with retries and decodes a 2xx JSON answer into out.
func (c *Client) call(ctx context.Context, method, path string, body []byte, out any) error {
	maxRetries := c.MaxRetries
	if maxRetries == 0 {
		maxRetries = DefaultMaxRetries
	}
	var ts int64 // of the last attempt: each retry is signed with a later one
	for retry := 0; ; retry++ {
		ts = max(c.now().Unix(), ts+1)
		resp, data, err := c.do(ctx, method, path, body, ts)
		if err == nil && resp.StatusCode < 300 {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("decode %s %s answer: %w", method, path, err)
			}
			return nil
		}
		if err == nil {
			err = apiError(resp, data)
		}
		if retry >= maxRetries || !shouldRetry(ctx, err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(c.backoff(retry)):
		}
	}
}

// Do sends one signed request (no retries) and returns the response with its body read.
// The edge refuses a state-changing request whose exact signature it has seen (a replay):
// two identical POSTs signed in the same second are one request to it.
func (c *Client) Do(ctx context.Context, method, pathWithQuery string, body []byte) (*http.Response, []byte, error) {
	return c.do(ctx, method, pathWithQuery, body, c.now().Unix())
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// do sends one request signed with timestamp ts. A retry gets a timestamp after the last
// attempt's (at most a few seconds ahead of the clock, well inside the edge's 300 s), so
// its signature differs and the edge's replay check does not take it for a replay.
func (c *Client) do(ctx context.Context, method, pathWithQuery string, body []byte, ts int64) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+pathWithQuery, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", Authorization(c.KeyID, c.Secret, ts, method, pathWithQuery, body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, pathWithQuery, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read answer: %w", method, pathWithQuery, err)
	}
	return resp, data, nil
}

var defaultHTTP = &http.Client{Timeout: DefaultTimeout}

func apiError(resp *http.Response, data []byte) error {
	var body struct {
		Error *Error `json:"error"`
	}
	e := &Error{}
	if json.Unmarshal(data, &body) == nil && body.Error != nil {
		e = body.Error
	} else {
		e.Type, e.Code, e.Message = checkout.APIError, CodeUnexpectedResponse, strings.TrimSpace(string(data))
	}
	e.HTTPStatus = resp.StatusCode
	e.RequestID = resp.Header.Get("Request-Id")
	return e
}

// shouldRetry: 5xx and transport failures (timeouts, resets) are retried; client errors never;
// nothing once the caller's context is done.
func shouldRetry(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatus >= 500
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "connection refused")
}

func (c *Client) backoff(retry int) time.Duration {
	if c.Backoff != nil {
		return c.Backoff(retry)
	}
	d := time.Second << min(retry, 5)
	if d > 30*time.Second {
		d = 30 * time.Second
	}
	j, _ := rand.Int(rand.Reader, big.NewInt(int64(d/5)))
	return d - d/10 + time.Duration(j.Int64()) // ±10 % around d
}
