package deploytest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	nginxInstallHint = "install nginx (Debian: apt-get install -y nginx-light)"
	maxBodyBytes     = 10 << 20
)

// requireNginx returns the nginx binary. /usr/sbin is not in every user's
// PATH, so Debian's location is tried as well.
func requireNginx(t *testing.T) string {
	t.Helper()
	return requireBinary(t, nginxInstallHint, "nginx", "/usr/sbin/nginx")
}

// stageNginx writes a copy of deploy/nginx/nginx.conf into a temporary
// directory and returns the directory and the copy's path. The copy proxies
// to upstream (host:port) in place of the compose service, listens on listen,
// and keeps logs and temporary files in the directory.
func stageNginx(t *testing.T, upstream, listen string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	conf := string(readRepoFile(t, "deploy/nginx/nginx.conf"))
	conf = replaceOnce(t, conf, "http://oktawatch:8080;", "http://"+upstream+";")
	conf = replaceOnce(t, conf, "listen 8080;", "listen "+listen+";")
	conf = replaceOnce(t, conf, "error_log /dev/stderr warn;", "error_log "+filepath.Join(dir, "error.log")+" warn;")
	conf = replaceOnce(t, conf, "access_log /dev/stdout;", "access_log "+filepath.Join(dir, "access.log")+";")
	conf = replaceOnce(t, conf, "http {", fmt.Sprintf("http {\n    client_body_temp_path %s;\n    proxy_temp_path %s;",
		filepath.Join(dir, "client_body"), filepath.Join(dir, "proxy")))
	conf = workerUser(t) + conf

	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatalf("write nginx.conf copy: %v", err)
	}
	return dir, path
}

// workerUser returns a user directive that runs the workers as the current
// user when the test runs as root. Without it the workers would switch to an
// account that cannot enter the test's temporary directory.
func workerUser(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return ""
	}
	current, err := user.Current()
	if err != nil {
		t.Fatalf("look up the current user: %v", err)
	}
	group, err := user.LookupGroupId(current.Gid)
	if err != nil {
		t.Fatalf("look up group %s: %v", current.Gid, err)
	}
	return fmt.Sprintf("user %s %s;\n", current.Username, group.Name)
}

// nginxArgs returns the arguments that run nginx on a staged copy, with the
// prefix, pid file and startup error log inside dir.
func nginxArgs(dir, conf, globals string) []string {
	return []string{
		"-p", dir + string(filepath.Separator),
		"-c", conf,
		"-e", filepath.Join(dir, "error.log"),
		"-g", globals + " pid " + filepath.Join(dir, "nginx.pid") + ";",
	}
}

func readErrorLog(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "error.log"))
	if err != nil {
		return "(no error.log: " + err.Error() + ")"
	}
	return string(data)
}

func TestNginx_ConfigSyntax(t *testing.T) {
	nginx := requireNginx(t)
	dir, conf := stageNginx(t, "127.0.0.1:8080", "127.0.0.1:8080")

	output, err := exec.Command(nginx, append([]string{"-t"}, nginxArgs(dir, conf, "")...)...).CombinedOutput()

	if err != nil {
		t.Fatalf("nginx -t: %v\n%s\nerror.log:\n%s", err, output, readErrorLog(dir))
	}
}

// upstreamRecorder is a stand-in replica that records what reaches it.
type upstreamRecorder struct {
	mu       sync.Mutex
	requests []recordedRequest
}

type recordedRequest struct {
	method    string
	uri       string
	header    http.Header
	bodyBytes int64
}

func (u *upstreamRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	u.mu.Lock()
	u.requests = append(u.requests, recordedRequest{method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), bodyBytes: n})
	u.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// take returns the requests recorded since the last call and clears the record.
func (u *upstreamRecorder) take() []recordedRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	taken := u.requests
	u.requests = nil
	return taken
}

// startNginx runs nginx in the foreground on a staged copy and stops it with
// SIGTERM when the test ends. It returns once the listener accepts.
func startNginx(t *testing.T, upstream string) string {
	t.Helper()
	nginx := requireNginx(t)
	listen := freeLoopbackAddr(t)
	dir, conf := stageNginx(t, upstream, listen)

	var output bytes.Buffer
	cmd := exec.Command(nginx, nginxArgs(dir, conf, "daemon off;")...)
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { stopNginx(t, cmd, exited) })

	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("nginx exited before listening: %v\n%s\nerror.log:\n%s", err, output.String(), readErrorLog(dir))
		default:
		}
		if conn, err := net.DialTimeout("tcp", listen, 100*time.Millisecond); err == nil {
			conn.Close()
			return listen
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nginx did not listen on %s within 15s\nerror.log:\n%s", listen, readErrorLog(dir))
	return ""
}

func stopNginx(t *testing.T, cmd *exec.Cmd, exited chan error) {
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return // already exited
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Errorf("nginx (pid %d) ignored SIGTERM for 10s; killing it", cmd.Process.Pid)
		_ = cmd.Process.Kill()
		<-exited
	}
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free loopback port: %v", err)
	}
	defer listener.Close()
	return listener.Addr().String()
}

// postWithContentLength sends only the request head with the given
// Content-Length and returns nginx's status, which nginx sends before it
// reads a body that is too large.
func postWithContentLength(t *testing.T, addr string, length int64) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connect to nginx: %v", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	fmt.Fprintf(conn, "POST /okta/events HTTP/1.1\r\nHost: lb\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", length)
	response, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read nginx response: %v", err)
	}
	response.Body.Close()
	return response.StatusCode
}

func TestNginx_ProxiesOnlyServiceEndpoints(t *testing.T) {
	recorder := &upstreamRecorder{}
	upstream := httptest.NewServer(recorder)
	t.Cleanup(upstream.Close)
	addr := startNginx(t, upstream.Listener.Addr().String())
	client := &http.Client{Timeout: 10 * time.Second}

	tests := []struct {
		name       string
		method     string
		path       string
		bodyBytes  int
		wantStatus int
		proxied    bool
	}{
		{"event delivery", http.MethodPost, "/okta/events", 512, http.StatusOK, true},
		{"verification request", http.MethodGet, "/okta/events", 0, http.StatusOK, true},
		{"liveness", http.MethodGet, "/livez", 0, http.StatusOK, true},
		{"readiness", http.MethodGet, "/readyz", 0, http.StatusOK, true},
		{"body of exactly 10 MiB", http.MethodPost, "/okta/events", maxBodyBytes, http.StatusOK, true},
		{"metrics stay private", http.MethodGet, "/metrics", 0, http.StatusNotFound, false},
		{"unknown path", http.MethodGet, "/okta/events/extra", 0, http.StatusNotFound, false},
		{"other method on the hook", http.MethodPut, "/okta/events", 16, http.StatusForbidden, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			request, err := http.NewRequest(tt.method, "http://"+addr+tt.path, bytes.NewReader(make([]byte, tt.bodyBytes)))
			if err != nil {
				t.Fatalf("build request: %v", err)
			}
			request.Header.Set("Authorization", "test-secret-not-real")

			response, err := client.Do(request)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.path, err)
			}
			response.Body.Close()
			reached := recorder.take()

			if response.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", response.StatusCode, tt.wantStatus)
			}
			if !tt.proxied {
				if len(reached) != 0 {
					t.Errorf("%d requests reached the replica, want none", len(reached))
				}
				return
			}
			if len(reached) != 1 {
				t.Fatalf("%d requests reached the replica, want 1", len(reached))
			}
			checkProxied(t, reached[0], tt.method, tt.path, int64(tt.bodyBytes))
		})
	}
}

func checkProxied(t *testing.T, got recordedRequest, method, path string, bodyBytes int64) {
	t.Helper()
	if got.method != method || got.uri != path {
		t.Errorf("replica got %s %s, want %s %s", got.method, got.uri, method, path)
	}
	if got.bodyBytes != bodyBytes {
		t.Errorf("replica got a body of %d bytes, want %d", got.bodyBytes, bodyBytes)
	}
	if value := got.header.Get("Authorization"); value != "test-secret-not-real" {
		t.Errorf("Authorization = %q at the replica, want it passed through", value)
	}
	if value := got.header.Get("X-Forwarded-For"); value != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q, want 127.0.0.1", value)
	}
	if value := got.header.Get("X-Request-Id"); len(value) != 32 {
		t.Errorf("X-Request-ID = %q, want nginx's 32-character request ID", value)
	}
	if value := got.header.Get("X-Forwarded-Proto"); value != "http" {
		t.Errorf("X-Forwarded-Proto = %q, want http", value)
	}
}

func TestNginx_RejectsBodyOverLimit(t *testing.T) {
	recorder := &upstreamRecorder{}
	upstream := httptest.NewServer(recorder)
	t.Cleanup(upstream.Close)
	addr := startNginx(t, upstream.Listener.Addr().String())

	status := postWithContentLength(t, addr, maxBodyBytes+1)

	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", status)
	}
	if reached := recorder.take(); len(reached) != 0 {
		t.Errorf("%d requests reached the replica, want none", len(reached))
	}
}
