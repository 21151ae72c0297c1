package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mpchat/checkout/internal/redistest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `edge serve` in-process until the test ends; it returns the error it
// stopped with early, if any, or nil once --listen answers.
func startServe(t *testing.T, args ...string) (string, error) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"--listen", addr, "--redis", redistest.Shared(t).URL,
			"--redis-prefix", redistest.Prefix(), "--log-level", "error", "--web-dir", t.TempDir()}, args...))
	}()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			done <- err
			return "", err
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return "http://" + addr, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("edge serve did not answer")
	return "", nil
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestMetricsArePrivateByDefault: /metrics was on the public listener unless an operator
// moved it. By default it is on 127.0.0.1:9100 now; "public" puts it back on --listen.
func TestMetricsArePrivateByDefault(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		base, err := startServe(t)
		if err != nil {
			// Another process holds the port on this machine: the edge did try the private default.
			if strings.Contains(err.Error(), "--metrics-listen "+defaultMetricsListen) {
				t.Skipf("default metrics port busy here: %v", err)
			}
			t.Fatal(err)
		}
		if got := status(t, base+"/metrics"); got != 404 {
			t.Errorf("/metrics on the public listener: %d, want 404", got)
		}
		if got := status(t, "http://"+defaultMetricsListen+"/metrics"); got != 200 {
			t.Errorf("/metrics on %s: %d, want 200", defaultMetricsListen, got)
		}
	})
	t.Run("public", func(t *testing.T) {
		base, err := startServe(t, "--metrics-listen", "public")
		if err != nil {
			t.Fatal(err)
		}
		if got := status(t, base+"/metrics"); got != 200 {
			t.Errorf("/metrics with --metrics-listen public: %d, want 200", got)
		}
	})
	t.Run("empty is refused", func(t *testing.T) {
		if _, err := startServe(t, "--metrics-listen", ""); err == nil || !strings.Contains(err.Error(), "--metrics-listen") {
			t.Errorf("--metrics-listen \"\": %v, want an error", err)
		}
	})
}
