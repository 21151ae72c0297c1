// Command webbuild builds the checkout's browser assets into a directory (default public/web):
// app.wasm and wasm_exec.js with their .gz and .br copies. `make wasm` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mpchat/checkout/internal/webbuild"
)

func main() {
	out := flag.String("o", "public/web", "output directory")
	q := flag.Int("brotli", 11, "brotli quality, 1-11")
	flag.Parse()
	if err := webbuild.Build(context.Background(), ".", *out, webbuild.Options{BrotliQuality: *q, Stderr: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, f := range webbuild.Files {
		for _, ext := range []string{"", ".gz", ".br"} {
			if st, err := os.Stat(filepath.Join(*out, f+ext)); err == nil {
				fmt.Printf("%-20s %9d bytes\n", f+ext, st.Size())
			}
		}
	}
}
