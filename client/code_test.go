package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
)

// TestErrorCodesAreTheServers: the SDK's Error carries the root package's Code, so a merchant
// compares with the same constants the edge answers with, by field or with errors.Is.
func TestErrorCodesAreTheServers(t *testing.T) {
	body := `{"error":{"type":"invalid_request_error","code":"invalid_amount","message":"amount has more than 6 decimals","param":"amount"}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/orders/ord_proxy" {
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	c := client.New(srv.URL, "key_a", "sk_a")
	c.MaxRetries = -1
	_, err := c.CreateOrder(context.Background(), &client.OrderParams{Amount: "1.0000001", Network: checkout.ERC20})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Code != checkout.CodeInvalidAmount || apiErr.HTTPStatus != checkout.CodeInvalidAmount.HTTPStatus() ||
		apiErr.Type != checkout.CodeInvalidAmount.Type() {
		t.Fatalf("err %v, want a client.Error with checkout.CodeInvalidAmount", err)
	}
	if !errors.Is(err, checkout.CodeInvalidAmount) || errors.Is(err, checkout.CodeInvalidNetwork) {
		t.Errorf("errors.Is by code: %v", err)
	}
	_, err = c.GetOrder(context.Background(), "ord_proxy")
	if !errors.Is(err, client.CodeUnexpectedResponse) || client.CodeUnexpectedResponse.Known() {
		t.Errorf("a body without an API error: %v", err)
	}
}
