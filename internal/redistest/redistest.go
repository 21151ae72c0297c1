// Package redistest gives tests a real Redis: a redis-server of their own, started on a free
// loopback port with a temporary directory and stopped when the test binary is done, so tests
// never flush, scan or otherwise touch the machine's shared Redis. Each test also gets its own
// key prefix, so tests in one package can run in parallel on the one server.
package redistest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process owned by the test binary.
type Server struct {
	Addr string
	URL  string
	bin  string
	args []string
	cmd  *exec.Cmd
	dir  string
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
)

// Shared returns the package-wide server, starting it on first use. A package that uses it
// calls StopShared at the end of its TestMain.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if sharedErr != nil {
		t.Fatalf("start redis-server: %v", sharedErr)
	}
	return shared
}

// StopShared stops the package-wide server if one was started.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

// Start runs a fresh redis-server (from PATH) on a free port with persistence off.
func Start() (*Server, error) {
	return start("--save", "", "--appendonly", "no")
}

// StartDurable runs a fresh redis-server the way production should run one: AOF persistence
// with an fsync before every write is acknowledged (appendfsync always), so Kill and Restart
// model a crash of the Redis host that loses no acknowledged write.
func StartDurable() (*Server, error) {
	return start("--save", "", "--appendonly", "yes", "--appendfsync", "always")
}

func start(persistence ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not installed (apt-get install redis-server): %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--maxclients", "20000", "--logfile", filepath.Join(dir, "redis.log")}, persistence...)
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), bin: bin, args: args, dir: dir}
	s.URL = "redis://" + s.Addr + "/0"
	if err := s.run(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// run starts the server process and waits until it answers (after loading its data, if any).
func (s *Server) run() error {
	s.cmd = exec.Command(s.bin, s.args...)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	if err := waitPing(s.Addr); err != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		return err
	}
	return nil
}

// Kill SIGKILLs the server, as a crash would, and keeps its data directory for Restart.
func (s *Server) Kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// Restart starts the server again after Kill, on the same port and data directory, and
// waits until it answers (it has loaded its AOF, when it has one).
func (s *Server) Restart() error {
	return s.run()
}

// Stop kills the server and removes its directory.
func (s *Server) Stop() {
	s.Kill()
	os.RemoveAll(s.dir)
}

// Log is the server's log file (kept until Stop).
func (s *Server) Log() string { return filepath.Join(s.dir, "redis.log") }

// Client returns a client of the server, closed when the test ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a fresh key prefix such as "test:3f9a1c…:".
func Prefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
