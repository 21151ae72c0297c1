package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	checkout "github.com/mpchat/checkout"
	"github.com/mpchat/checkout/client"
)

// Create an order with an idempotency key: a retry with the same key (after a timeout, say)
// returns the same order, never a second one. CreateOrder itself retries 5xx answers and
// timeouts with the same key (1 s, 2 s, 4 s), never a 4xx.
func ExampleClient_CreateOrder() {
	c := client.New(edgeURL, keyID, secret) // e.g. "https://pay.example.com", "key_…", "sk_…"
	ctx := context.Background()
	params := &client.OrderParams{
		Amount:         "99.99",
		Network:        checkout.ERC20,
		Description:    "Order #1001",
		Metadata:       map[string]string{"cart": "7"},
		IdempotencyKey: "checkout_session_a1b2c3", // unique to your checkout session
	}
	o, err := c.CreateOrder(ctx, params)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(o.Status, o.Amount, o.Currency, o.Network, strings.HasPrefix(o.Address, "0x"))
	fmt.Println(o.PaymentURL == "https://pay.example.com/pay/"+o.ID)

	again, err := c.CreateOrder(ctx, params)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same order:", again.ID == o.ID)
	// Output:
	// PENDING 99.99 USDT ERC20 true
	// true
	// same order: true
}

// Read an order: the merchant's source of truth (never the customer's redirect).
func ExampleClient_GetOrder() {
	c := client.New(edgeURL, keyID, secret)
	ctx := context.Background()
	created, err := c.CreateOrder(ctx, &client.OrderParams{Amount: "10", Network: checkout.ERC20, IdempotencyKey: "example-get"})
	if err != nil {
		log.Fatal(err)
	}
	o, err := c.GetOrder(ctx, created.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(o.Status, o.AmountPaid, o.Address == created.Address)
	// Output: PENDING 0 true
}

// API errors are *client.Error with the HTTP status and the error code; a 4xx is never
// retried.
func ExampleError() {
	c := client.New(edgeURL, keyID, secret)
	_, err := c.CreateOrder(context.Background(), &client.OrderParams{Amount: "1.0000001", Network: checkout.ERC20})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.HTTPStatus, apiErr.Code, apiErr.Param)
	}
	// Output: 400 invalid_amount amount
}

// Follow an order's events live. The first message is the current state; then every change
// until a terminal status (PAID, UNDERPAID, EXPIRED, FROZEN, CANCELED), after which FollowOrder returns
// nil. It reconnects by itself with Last-Event-ID; keep e.ID to resume after a restart.
func ExampleClient_FollowOrder() {
	c := client.New(edgeURL, keyID, secret)
	ctx := context.Background()
	o, err := c.CreateOrder(ctx, &client.OrderParams{Amount: "25", Network: checkout.ERC20, IdempotencyKey: "example-follow"})
	if err != nil {
		log.Fatal(err)
	}
	err = c.FollowOrder(ctx, o.ID, "", func(e client.Event) bool {
		fmt.Println(e.Type, e.Status, e.AmountPaid, e.ID != "")
		return e.Status != checkout.StatusPending // here: stop after the first message
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output: order.created PENDING 0 true
}
