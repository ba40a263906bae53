package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/config"
	"github.com/oktawatch/oktawatch/internal/hook"
	"github.com/oktawatch/oktawatch/internal/okta"
)

const testSecret = "test-secret-not-real"

// delivery is a hook body with one removal and invented ids.
const delivery = `{"eventId":"d-1","data":{"events":[{"uuid":"e-1","published":"2025-06-12T14:03:19.812Z",
"eventType":"group.user_membership.remove","outcome":{"result":"SUCCESS"},
"target":[{"id":"00uTESTUSER000000001","type":"User"},{"id":"00gTESTGROUP00000001","type":"UserGroup"}]}]}}`

// fakeRecorder records removals in memory, or fails or panics when its err
// or panics field is set.
type fakeRecorder struct {
	mu       sync.Mutex
	removals []okta.Removal
	err      error
	panics   bool
}

func (f *fakeRecorder) Record(_ context.Context, removals []okta.Removal, _ alert.Source) (burst.Result, error) {
	if f.panics {
		panic("recorder failed in a way nobody expected")
	}
	if f.err != nil {
		return burst.Result{}, f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removals = append(f.removals, removals...)
	return burst.Result{Recorded: len(removals)}, nil
}

func (f *fakeRecorder) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.removals)
}

// pingerFunc adapts a function to Pinger.
type pingerFunc func(ctx context.Context) error

func (f pingerFunc) Ping(ctx context.Context) error { return f(ctx) }

var alwaysUp = pingerFunc(func(context.Context) error { return nil })

// observedRequest is one call to ObserveHookRequest.
type observedRequest struct {
	method string
	status int
}

type fakeObserver struct {
	mu       sync.Mutex
	requests []observedRequest
}

func (f *fakeObserver) ObserveHookRequest(method string, status int, elapsed time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, observedRequest{method: method, status: status})
}

func (f *fakeObserver) all() []observedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]observedRequest(nil), f.requests...)
}

func testConfig() config.Config {
	return config.Config{
		ListenAddr: "127.0.0.1:0",
		HTTP: config.HTTP{
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: time.Minute, MaxHeaderBytes: 65536,
		},
	}
}

func newTestServer(t *testing.T, rec hook.Recorder, store Pinger, opts Options, log *zap.Logger) *Server {
	t.Helper()
	h := hook.New(hook.Config{AuthHeader: "Authorization", AuthSecret: testSecret, MaxBodyBytes: 1 << 20}, rec, nil, log)
	return New(testConfig(), h, store, opts, log)
}

// serveOnLoopback runs s on a free loopback port until the test ends and
// returns its base URL.
func serveOnLoopback(t *testing.T, s *Server) string {
	t.Helper()
	l, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	t.Cleanup(func() {
		_ = s.http.Close()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + l.Addr().String()
}

// getJSON sends a GET on a fresh connection and decodes the JSON response.
func getJSON(t *testing.T, url string) (*http.Response, map[string]string, error) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	var body map[string]string
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, nil, errors.New("response is not a JSON object: " + string(raw))
	}
	return resp, body, nil
}

func isConnRefused(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}
