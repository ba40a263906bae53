// Package redistest starts real redis-server processes on free loopback
// ports for tests.
//
// A test that needs a real server calls Server or Cluster. When the
// redis-server binary is missing the test is skipped with a message that explains
// how to install it, except under CI (CI=true), where a missing binary fails
// the test so that a green run always means the real server was exercised.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 20 * time.Second

// Binary returns the path of the named Redis binary (redis-server or
// redis-cli), skipping or failing the test when it is not installed.
func Binary(tb testing.TB, name string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not found in PATH; install it (Debian: apt-get install -y redis-server redis-tools) to run this test against a real Redis", name)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Instance is one redis-server process started by a test.
type Instance struct {
	Addr string
	Dir  string
	Port int

	cmd  *exec.Cmd
	args []string
	tb   testing.TB
}

// Server starts a standalone redis-server on a free loopback port and stops
// it when the test ends. Extra arguments are passed to redis-server as is.
func Server(tb testing.TB, extra ...string) *Instance {
	tb.Helper()
	bin := Binary(tb, "redis-server")
	port := FreePort(tb)
	dir := tb.TempDir()
	args := append([]string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--protected-mode", "yes",
		"--logfile", filepath.Join(dir, "redis.log"),
	}, extra...)
	inst := &Instance{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, Port: port, args: append([]string{bin}, args...), tb: tb}
	inst.Start()
	tb.Cleanup(inst.Stop)
	return inst
}

// Start runs the server process (again, after Stop) and waits until it
// responds to PING.
func (i *Instance) Start() {
	i.tb.Helper()
	i.cmd = exec.Command(i.args[0], i.args[1:]...)
	if err := i.cmd.Start(); err != nil {
		i.tb.Fatalf("start redis-server on %s: %v", i.Addr, err)
	}
	waitForPing(i.tb, i.Addr)
}

// Stop kills the server process and waits for it to exit. It is safe to call
// more than once.
func (i *Instance) Stop() {
	if i.cmd == nil || i.cmd.Process == nil {
		return
	}
	_ = i.cmd.Process.Kill()
	_ = i.cmd.Wait()
	i.cmd = nil
}

// Client returns a go-redis client for the instance, closed when the test ends.
func (i *Instance) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: i.Addr})
	i.tb.Cleanup(func() { _ = c.Close() })
	return c
}

func waitForPing(tb testing.TB, addr string) {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redis-server on %s did not respond to PING within %s: %v", addr, startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a guess at readiness
	}
}
