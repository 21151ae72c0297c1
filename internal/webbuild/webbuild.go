// Package webbuild builds the checkout's browser assets: the wasm (GOOS=js GOARCH=wasm,
// -trimpath -ldflags="-s -w" -gcflags=all=-l), the toolchain's own wasm_exec.js (go-app's copy only knows
// Go 1.21's), and a gzip and a brotli copy of each, which the edge serves precompressed.
// `make wasm` runs it through cmd/webbuild; browser tests call Build themselves, so
// `go test ./...` needs no earlier step.
package webbuild

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/andybalholm/brotli"
)

// Files are the generated assets, relative to the output directory.
var Files = []string{"app.wasm", "wasm_exec.js"}

// Options tune a build.
type Options struct {
	// BrotliQuality is the brotli level, 0-11; 0 means 11 (the smallest, slow: for
	// releases). Tests use a lower one.
	BrotliQuality int
	// Stderr receives the compiler's output; nil discards it.
	Stderr io.Writer
	// Package is the main package to build; default "./wasm" (bench/widget builds a go-app
	// hello world beside it as a baseline).
	Package string
}

// Build compiles ./wasm of the module at moduleDir into outDir and writes the compressed
// copies. It uses the `go` on PATH, the same toolchain as the edge, so wasm_exec.js matches.
func Build(ctx context.Context, moduleDir, outDir string, opt Options) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("webbuild: %w", err)
	}
	wasm := filepath.Join(outDir, "app.wasm")
	pkg := opt.Package
	if pkg == "" {
		pkg = "./wasm"
	}
	// -gcflags=all=-l turns inlining off: the raw wasm grows (~7.7 → 8.4 MB) but it
	// compresses better (brotli ~1.51 → 1.42 MB), and the bytes on the wire are what a
	// customer on a slow network waits for; the checkout's UI code is not speed-bound.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-gcflags=all=-l", "-o", wasm, pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if opt.Stderr != nil {
		cmd.Stderr = io.MultiWriter(&stderr, opt.Stderr)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("webbuild: go build %s: %w: %s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	root, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("webbuild: go env GOROOT: %w", err)
	}
	js, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return fmt.Errorf("webbuild: the toolchain's wasm_exec.js: %w", err)
	}
	if err := os.WriteFile(filepath.Join(outDir, "wasm_exec.js"), js, 0o644); err != nil {
		return fmt.Errorf("webbuild: %w", err)
	}
	for _, f := range Files {
		if err := Compress(filepath.Join(outDir, f), opt.BrotliQuality); err != nil {
			return err
		}
	}
	return nil
}

// Compress writes path.gz (gzip, best compression) and path.br (brotli at quality q; 0 = 11).
func Compress(path string, q int) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("webbuild: %w", err)
	}
	gz, err := Gzip(raw)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".gz", gz, 0o644); err != nil {
		return fmt.Errorf("webbuild: %w", err)
	}
	br, err := Brotli(raw, q)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".br", br, 0o644); err != nil {
		return fmt.Errorf("webbuild: %w", err)
	}
	return nil
}

// Gzip compresses b at the best level.
func Gzip(b []byte) ([]byte, error) {
	var out bytes.Buffer
	w, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("webbuild: gzip: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return nil, fmt.Errorf("webbuild: gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("webbuild: gzip: %w", err)
	}
	return out.Bytes(), nil
}

// Brotli compresses b at quality q (0 = 11) with the largest window, which matters for a
// multi-megabyte wasm.
func Brotli(b []byte, q int) ([]byte, error) {
	if q <= 0 || q > brotli.BestCompression {
		q = brotli.BestCompression
	}
	var out bytes.Buffer
	w := brotli.NewWriterOptions(&out, brotli.WriterOptions{Quality: q, LGWin: 24})
	if _, err := w.Write(b); err != nil {
		return nil, fmt.Errorf("webbuild: brotli: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("webbuild: brotli: %w", err)
	}
	return out.Bytes(), nil
}
