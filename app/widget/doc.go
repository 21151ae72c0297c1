// Package widget is the checkout the customer sees: go-app components named for what they
// show (Amount, AddressCopy, QR, Countdown, StatusPanel, AppLink) under one root, Checkout.
//
// The same components run twice. The edge renders them to HTML for the first paint (see
// edge/page), so the page is payable before any WebAssembly arrives; the wasm (wasm/) then
// mounts them in the browser, reads the state the edge embedded in the page, and follows the
// order's public event stream. The package imports the domain (the module root) and go-app
// only: no net/http, so the wasm stays small; the browser's own EventSource and fetch do the
// network work.
package widget
