// Package servicetest builds the oktawatch binary once per test process and
// runs replicas of it as real processes on free loopback ports.
package servicetest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/redistest"
)

// TestSecret is the hook auth secret the replicas are started with.
const TestSecret = "test-secret-not-real-0123456789"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds ./cmd/oktawatch once and returns the path of the binary.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "oktawatch-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "oktawatch")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/oktawatch")
		cmd.Dir = moduleRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Replica is one running oktawatch process.
type Replica struct {
	Addr string
	URL  string

	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	tb   testing.TB
}

// Start runs a replica with the given OKTAWATCH_* settings (without the
// prefix, e.g. "REDIS_URL": "redis://..."), plus a free listen address and
// TestSecret, and waits until /livez responds. The replica is killed when the
// test ends.
func Start(tb testing.TB, env map[string]string) *Replica {
	tb.Helper()
	bin := Binary(tb)
	addr := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(tb))
	settings := map[string]string{
		"LISTEN_ADDR":      addr,
		"OKTA_AUTH_SECRET": TestSecret,
		"LOG_LEVEL":        "debug",
		"SHUTDOWN_DRAIN":   "0s",
	}
	for k, v := range env {
		settings[k] = v
	}
	cmd := exec.Command(bin, "serve")
	cmd.Dir = tb.TempDir() // no .env from the source tree
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range settings {
		cmd.Env = append(cmd.Env, "OKTAWATCH_"+k+"="+v)
	}
	r := &Replica{Addr: addr, URL: "http://" + addr, cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{}), tb: tb}
	cmd.Stdout = r.logs
	cmd.Stderr = r.logs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start oktawatch: %v", err)
	}
	go func() { _ = cmd.Wait(); close(r.done) }()
	tb.Cleanup(func() {
		r.Kill()
		if tb.Failed() {
			tb.Logf("logs of replica %s:\n%s", addr, r.Logs())
		}
	})
	r.waitLive()
	return r
}

func (r *Replica) waitLive() {
	r.tb.Helper()
	Eventually(r.tb, 30*time.Second, "replica "+r.Addr+" answers /livez", func() bool {
		select {
		case <-r.done:
			r.tb.Fatalf("replica %s exited during start:\n%s", r.Addr, r.Logs())
		default:
		}
		resp, err := http.Get(r.URL + "/livez")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// PID returns the replica's process id.
func (r *Replica) PID() int { return r.cmd.Process.Pid }

// Logs returns everything the replica wrote so far.
func (r *Replica) Logs() string { return r.logs.String() }

// Signal sends sig to the replica.
func (r *Replica) Signal(sig syscall.Signal) {
	if r.cmd.Process != nil {
		_ = r.cmd.Process.Signal(sig)
	}
}

// Kill stops the replica with SIGKILL and waits for it to exit.
func (r *Replica) Kill() {
	r.Signal(syscall.SIGKILL)
	<-r.done
}

// Wait waits up to timeout for the replica to exit and returns its exit code.
func (r *Replica) Wait(timeout time.Duration) (int, error) {
	select {
	case <-r.done:
		return r.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		return -1, fmt.Errorf("replica %s still running after %s", r.Addr, timeout)
	}
}

// Eventually polls cond until it is true or timeout passes, then fails the
// test naming what was awaited.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			tb.Fatalf("timed out after %s waiting until %s", timeout, what)
		case <-time.After(25 * time.Millisecond): // polling interval
		}
	}
}

// CountLines returns how many log lines contain substr.
func CountLines(logs, substr string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
