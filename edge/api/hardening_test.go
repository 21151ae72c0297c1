package api_test

import (
	"net/http"
	"testing"
)

// noFollow is an HTTP client that shows redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestNoRedirectFromHostHeader: the router's trailing-slash and fixed-path redirects were
// absolute URLs built from the request's Host, so anyone could make the edge answer with a
// Location on their own host (cache poisoning, open redirect). Such paths are 404 now.
func TestNoRedirectFromHostHeader(t *testing.T) {
	e := newEdge(t, edgeOpts{})
	for _, path := range []string{
		"/v1/checkout/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ/", // trailing slash
		"/V1/CHECKOUT/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ",  // fixed (case-insensitive) path
		"/v1//checkout/ord_01HZZZZZZZZZZZZZZZZZZZZZZZ", // fixed (cleaned) path
		"/healthz/",
	} {
		req, _ := http.NewRequest("GET", e.url+path, nil)
		req.Host = "evil.example"
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "" || resp.StatusCode != 404 {
			t.Errorf("GET %s with Host evil.example: %d Location %q, want 404 without Location", path, resp.StatusCode, loc)
		}
	}
}
