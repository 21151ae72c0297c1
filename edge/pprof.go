//go:build pprof

package main

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
)

// A build with -tags pprof (bench/load -cpuprofile builds one) serves net/http/pprof on
// MP_PPROF_LISTEN. Release builds have no such listener and no such variable.
func init() {
	if addr := os.Getenv("MP_PPROF_LISTEN"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
