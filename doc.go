// Package checkout holds the domain shared by every part of MP Checkout: orders and their
// statuses, the status rules that say what a transfer or the passing of time does to an order
// (Rules, in rules.go), USDT amounts in integer base units, networks, the transfers watchers
// report and the events an order emits, plus the error type the API speaks.
//
// It imports the standard library only and builds for GOOS=js GOARCH=wasm, so the checkout
// widget renders exactly the types the edge serves. The edge and the watchers never import each
// other: their contract is this package plus the Redis stream formats documented in docs/architecture.md.
package checkout
