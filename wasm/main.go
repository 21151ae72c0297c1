// Command wasm is the checkout's WebAssembly program (GOOS=js GOARCH=wasm): it registers the
// checkout's route and lets go-app take over the page the edge rendered. Build it with
// `make wasm` (-trimpath -ldflags="-s -w"); it imports only the widget, the domain and go-app,
// so no server code weighs on the customer's download.
package main

import (
	"github.com/maxence-charriere/go-app/v9/pkg/app"

	"github.com/mpchat/checkout/app/widget"
)

func main() {
	widget.Register()
	app.RunWhenOnBrowser()
}
