package checkout

import (
	"errors"
	"fmt"
)

// ErrorType is the broad class of an API error, as in the error body's "type".
type ErrorType string

// The error types.
const (
	InvalidRequest ErrorType = "invalid_request_error" // 400, 404, 409, 422: fix the request
	Authentication ErrorType = "authentication_error"  // 401, 403
	RateLimit      ErrorType = "rate_limit_error"      // 429: slow down, see Retry-After
	APIError       ErrorType = "api_error"             // 5xx: safe to retry
)

// Error is the single error shape of the API:
// {"error":{"type":"…","code":"…","message":"…","param":"…"}}.
type Error struct {
	HTTPStatus int       `json:"-"`
	Type       ErrorType `json:"type"`
	Code       string    `json:"code"`
	Message    string    `json:"message"`
	Param      string    `json:"param,omitempty"`
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s (%s, param %s): %s", e.Code, e.Type, e.Param, e.Message)
	}
	return fmt.Sprintf("%s (%s): %s", e.Code, e.Type, e.Message)
}

// Invalid returns a 400 invalid_request_error about one parameter.
func Invalid(code, param, format string, args ...any) *Error {
	return &Error{HTTPStatus: 400, Type: InvalidRequest, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// NotFound returns the 404 for an order the caller may not see (unknown or another merchant's).
func NotFound(what string) *Error {
	return &Error{HTTPStatus: 404, Type: InvalidRequest, Code: "resource_missing", Message: "no such " + what}
}

// ErrNotFound is the sentinel every storage layer wraps for a missing record, so consumers
// test for it without importing the store.
var ErrNotFound = errors.New("not found")
