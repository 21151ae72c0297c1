// Command hello is a go-app hello world, built by bench/widget as the size baseline of the
// checkout's wasm (same toolchain, same flags, same run).
package main

import "github.com/maxence-charriere/go-app/v9/pkg/app"

type hello struct{ app.Compo }

func (h *hello) Render() app.UI { return app.H1().Text("Hello, world") }

func main() {
	app.Route("/", &hello{})
	app.RunWhenOnBrowser()
}
