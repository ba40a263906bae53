package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/hook"
)

func TestShutdown_FinishesRequestUnderWay(t *testing.T) {
	rec := &fakeRecorder{}
	srv := newTestServer(t, rec, alwaysUp, Options{}, zap.NewNop())
	active := make(chan struct{}, 1)
	srv.http.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateActive {
			select {
			case active <- struct{}{}:
			default:
			}
		}
	}
	base := serveOnLoopback(t, srv)

	bodyReader, bodyWriter := io.Pipe()
	responses := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, base+hook.Path, bodyReader)
		req.Header.Set("Authorization", testSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("POST: %v", err)
			resp = nil
		}
		responses <- resp
	}()
	half := len(delivery) / 2
	if _, err := bodyWriter.Write([]byte(delivery[:half])); err != nil {
		t.Fatal(err)
	}
	<-active

	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(context.Background(), 0) }()
	waitUntilRefused(t, base)
	if _, err := bodyWriter.Write([]byte(delivery[half:])); err != nil {
		t.Fatal(err)
	}
	_ = bodyWriter.Close()

	resp := <-responses
	if resp == nil {
		t.Fatal("request under way got no response")
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
	if err := <-shutdownErr; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if rec.count() != 1 {
		t.Errorf("recorded %d removals, want 1", rec.count())
	}
}

func TestShutdown_ClosesRequestsPastTimeout(t *testing.T) {
	srv := newTestServer(t, &fakeRecorder{}, alwaysUp, Options{}, zap.NewNop())
	active := make(chan struct{}, 1)
	srv.http.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateActive {
			select {
			case active <- struct{}{}:
			default:
			}
		}
	}
	base := serveOnLoopback(t, srv)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A body that never ends keeps the request under way.
	_, err = io.WriteString(conn, "POST "+hook.Path+" HTTP/1.1\r\nHost: x\r\nAuthorization: "+testSecret+
		"\r\nContent-Length: 100\r\n\r\n{")
	if err != nil {
		t.Fatal(err)
	}
	<-active

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = srv.Shutdown(ctx, 0)

	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want context.DeadlineExceeded", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("read after the shutdown timeout: %v, want the connection closed", err)
	}
}

func TestHookRequests_Observed(t *testing.T) {
	cases := []struct {
		name      string
		method    string
		body      string
		header    map[string]string
		recorder  *fakeRecorder
		oversized bool
		status    int
	}{
		{name: "verification", method: http.MethodGet,
			header: map[string]string{"Authorization": testSecret, hook.ChallengeHeader: "c"}, status: http.StatusOK},
		{name: "missing secret", method: http.MethodGet,
			header: map[string]string{hook.ChallengeHeader: "c"}, status: http.StatusUnauthorized},
		{name: "delivery", method: http.MethodPost, body: delivery,
			header: map[string]string{"Authorization": testSecret}, status: http.StatusOK},
		{name: "malformed delivery", method: http.MethodPost, body: "{",
			header: map[string]string{"Authorization": testSecret}, status: http.StatusBadRequest},
		{name: "declared body over the limit", method: http.MethodPost, body: delivery, oversized: true,
			header: map[string]string{"Authorization": testSecret}, status: http.StatusRequestEntityTooLarge},
		{name: "redis failure", method: http.MethodPost, body: delivery, recorder: &fakeRecorder{err: errors.New("redis down")},
			header: map[string]string{"Authorization": testSecret}, status: http.StatusServiceUnavailable},
		{name: "recovered panic", method: http.MethodPost, body: delivery, recorder: &fakeRecorder{panics: true},
			header: map[string]string{"Authorization": testSecret}, status: http.StatusInternalServerError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.recorder
			if rec == nil {
				rec = &fakeRecorder{}
			}
			obs := &fakeObserver{}
			srv := newTestServer(t, rec, alwaysUp, Options{Requests: obs}, zap.NewNop())
			req := httptest.NewRequest(tc.method, hook.Path, strings.NewReader(tc.body))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			if tc.oversized {
				req.ContentLength = 10_000_000_000
			}
			w := httptest.NewRecorder()

			srv.Handler().ServeHTTP(w, req)

			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			want := []observedRequest{{method: tc.method, status: tc.status}}
			if got := obs.all(); len(got) != 1 || got[0] != want[0] {
				t.Errorf("observed %v, want %v", got, want)
			}
		})
	}
}

func TestHookRequests_OtherPathsNotObserved(t *testing.T) {
	obs := &fakeObserver{}
	srv := newTestServer(t, &fakeRecorder{}, alwaysUp, Options{Requests: obs}, zap.NewNop())

	for _, path := range []string{"/livez", "/readyz", "/metrics", "/no-such-path"} {
		srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}

	if got := obs.all(); len(got) != 0 {
		t.Errorf("observed %v, want nothing", got)
	}
}

func TestMetricsRoute(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "up 1\n") })
	cases := []struct {
		name   string
		opts   Options
		status int
	}{
		{"served when set", Options{Metrics: metrics}, http.StatusOK},
		{"absent when nil", Options{}, http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, &fakeRecorder{}, alwaysUp, tc.opts, zap.NewNop())
			w := httptest.NewRecorder()

			srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))

			if w.Code != tc.status {
				t.Errorf("GET /metrics returned %d, want %d", w.Code, tc.status)
			}
		})
	}
}

// waitUntilRefused waits until the server at base accepts no connection.
func waitUntilRefused(t *testing.T, base string) {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections after shutdown began", addr)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}
