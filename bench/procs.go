package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// benchSecret is the hook secret of the benchmarked replica.
const benchSecret = "bench-secret-not-real-0123456789"

// startTimeout bounds how long a process may take to respond after start.
const startTimeout = 30 * time.Second

// process is one child process started by the bench.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func startProcess(name string, cmd *exec.Cmd) (*process, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to timeout, then kills the process. It
// returns the exit code, or -1 when the process had to be killed.
func (p *process) stop(timeout time.Duration) int {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return -1
	}
}

// environment is everything the bench runs against.
type environment struct {
	dir     string
	keepDir bool
	redis   *process
	rdb     *redis.Client
	slack   *fakeSlack
	replica *process
	ceiling *process

	replicaURL string
	ceilingURL string
}

func startEnvironment(ctx context.Context, s settings, log io.Writer) (env *environment, err error) {
	env = &environment{keepDir: s.keepDir}
	defer func() {
		if err != nil {
			env.close(log)
		}
	}()
	if env.dir, err = os.MkdirTemp("", "oktawatch-bench-"); err != nil {
		return env, err
	}
	fmt.Fprintln(log, "building oktawatch")
	bin, err := buildBinary(ctx, env.dir)
	if err != nil {
		return env, err
	}
	if err := env.startRedis(ctx); err != nil {
		return env, err
	}
	if env.slack, err = startFakeSlack(); err != nil {
		return env, err
	}
	if err := env.startReplica(ctx, bin, s.threshold); err != nil {
		return env, err
	}
	return env, env.startCeiling(ctx)
}

func buildBinary(ctx context.Context, dir string) (string, error) {
	root, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(root)) == "" {
		return "", errors.New("run the bench inside the oktawatch module: go env GOMOD found no go.mod")
	}
	bin := filepath.Join(dir, "oktawatch")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/oktawatch")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/oktawatch: %w\n%s", err, out)
	}
	return bin, nil
}

func (env *environment) startRedis(ctx context.Context) error {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return errors.New("redis-server not found in PATH; install it (Debian: apt-get install -y redis-server)")
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--dir", env.dir,
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(env.dir, "redis.log"))
	if env.redis, err = startProcess("redis-server", cmd); err != nil {
		return err
	}
	env.rdb = redis.NewClient(&redis.Options{Addr: addr})
	return waitFor(ctx, env.redis, func() bool { return env.rdb.Ping(ctx).Err() == nil })
}

func (env *environment) startReplica(ctx context.Context, bin string, threshold int) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(env.dir, "replica.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = env.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"OKTAWATCH_LISTEN_ADDR=" + addr,
		"OKTAWATCH_REDIS_URL=redis://" + env.rdb.Options().Addr + "/0",
		"OKTAWATCH_OKTA_AUTH_SECRET=" + benchSecret,
		"OKTAWATCH_SLACK_WEBHOOK_URL=" + env.slack.url(),
		"OKTAWATCH_THRESHOLD=" + strconv.Itoa(threshold),
		"OKTAWATCH_SHUTDOWN_DRAIN=0s",
	}
	if env.replica, err = startProcess("oktawatch", cmd); err != nil {
		return err
	}
	env.replicaURL = "http://" + addr
	if err := waitFor(ctx, env.replica, answers200(env.replicaURL+"/readyz")); err != nil {
		return fmt.Errorf("%w; see %s", err, logFile.Name())
	}
	return nil
}

func (env *environment) startCeiling(ctx context.Context) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, ceilingCommand, addr)
	cmd.Stderr = os.Stderr
	if env.ceiling, err = startProcess("ceiling", cmd); err != nil {
		return err
	}
	env.ceilingURL = "http://" + addr
	return waitFor(ctx, env.ceiling, answers200(env.ceilingURL+"/livez"))
}

// close stops the processes, the replica with SIGTERM as in production, and
// removes the working directory unless -keep was given.
func (env *environment) close(log io.Writer) {
	if env.replica != nil {
		if code := env.replica.stop(30 * time.Second); code != 0 {
			fmt.Fprintf(log, "oktawatch exited with code %d after SIGTERM, want 0\n", code)
		}
	}
	for _, p := range []*process{env.ceiling, env.redis} {
		if p != nil {
			p.stop(5 * time.Second)
		}
	}
	if env.rdb != nil {
		_ = env.rdb.Close()
	}
	if env.slack != nil {
		env.slack.close()
	}
	if env.keepDir {
		fmt.Fprintln(log, "kept working directory", env.dir)
	} else if env.dir != "" {
		_ = os.RemoveAll(env.dir)
	}
}

// waitFor polls ready until it holds, the process exits or startTimeout
// passes.
func waitFor(ctx context.Context, p *process, ready func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for !ready() {
		if p.exited() {
			return fmt.Errorf("%s exited during start", p.name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not respond within %s", p.name, startTimeout)
		case <-time.After(20 * time.Millisecond): // polling interval
		}
	}
	return nil
}

func answers200(url string) func() bool {
	client := &http.Client{Timeout: time.Second}
	return func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// peakRSS returns VmHWM, the peak resident memory of a process, in KiB.
func peakRSS(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if value, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
