package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/servicetest"
)

func TestReadyz_FollowsRedis(t *testing.T) {
	redisServer := redistest.Server(t)
	rdb := redisServer.Client()
	core, logs := observer.New(zap.InfoLevel)
	pinger := pingerFunc(func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	srv := newTestServer(t, &fakeRecorder{}, pinger, Options{}, zap.New(core))
	url := serveOnLoopback(t, srv) + "/readyz"
	status := func() (int, map[string]string) {
		resp, body, err := getJSON(t, url)
		if err != nil {
			t.Fatalf("GET /readyz: %v", err)
		}
		return resp.StatusCode, body
	}

	if code, body := status(); code != http.StatusOK || body["status"] != "ready" {
		t.Fatalf("with redis up: %d %v, want 200 ready", code, body)
	}

	redisServer.Stop()
	var body map[string]string
	servicetest.Eventually(t, 10*time.Second, "/readyz returns 503 with redis stopped", func() bool {
		var code int
		code, body = status()
		return code == http.StatusServiceUnavailable
	})
	if body["status"] != "not ready" || !strings.HasPrefix(body["reason"], "redis: ") {
		t.Errorf("body with redis stopped = %v, want not ready with a reason starting with redis: ", body)
	}
	if code, _ := status(); code != http.StatusServiceUnavailable {
		t.Errorf("second probe with redis stopped returned %d, want 503", code)
	}

	redisServer.Start()
	servicetest.Eventually(t, 10*time.Second, "/readyz returns 200 after redis restarted", func() bool {
		code, _ := status()
		return code == http.StatusOK
	})

	if n := logs.FilterMessage("not ready").Len(); n != 1 {
		t.Errorf("logged %q %d times over several failed probes, want once", "not ready", n)
	}
	if n := logs.FilterMessage("ready again").Len(); n != 1 {
		t.Errorf("logged %q %d times, want once", "ready again", n)
	}
}

func TestReadyz_PingBoundedByTimeout(t *testing.T) {
	hanging := pingerFunc(func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	srv := newTestServer(t, &fakeRecorder{}, hanging, Options{}, zap.NewNop())
	url := serveOnLoopback(t, srv) + "/readyz"

	start := time.Now()
	resp, body, err := getJSON(t, url)

	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	if !strings.Contains(body["reason"], "deadline exceeded") {
		t.Errorf("reason %q, want the ping's deadline error", body["reason"])
	}
	if elapsed := time.Since(start); elapsed > 4*readyTimeout {
		t.Errorf("responded after %s; the ping should give up after %s", elapsed, readyTimeout)
	}
}

func TestShutdown_ReadinessOffDuringDrain(t *testing.T) {
	srv := newTestServer(t, &fakeRecorder{}, alwaysUp, Options{}, zap.NewNop())
	base := serveOnLoopback(t, srv)
	if resp, _, err := getJSON(t, base+"/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("before shutdown: %v %v, want 200", resp, err)
	}

	drainCtx, endDrain := context.WithCancel(context.Background())
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(drainCtx, time.Hour) }()

	var body map[string]string
	servicetest.Eventually(t, 5*time.Second, "/readyz returns 503 once shutdown began", func() bool {
		readyz, b, err := getJSON(t, base+"/readyz")
		body = b
		return err == nil && readyz.StatusCode == http.StatusServiceUnavailable
	})
	if body["reason"] != "shutting down" {
		t.Errorf("reason %q, want shutting down", body["reason"])
	}
	keepAlive := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	if resp, err := keepAlive.Get(base + "/livez"); err != nil {
		t.Errorf("GET /livez during the drain: %v", err)
	} else {
		resp.Body.Close()
		if !resp.Close {
			t.Errorf("response during the drain keeps the connection open; want Connection: close")
		}
	}
	livez, _, err := getJSON(t, base+"/livez")
	if err != nil || livez.StatusCode != http.StatusOK {
		t.Errorf("/livez during the drain: %v %v, want 200", livez, err)
	}

	endDrain()
	select {
	case <-shutdownErr:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after its context ended")
	}
	if _, _, err := getJSON(t, base+"/livez"); !isConnRefused(err) {
		t.Errorf("GET after shutdown: err %v, want connection refused", err)
	}
}

func TestShutdown_EndsAfterDrain(t *testing.T) {
	srv := newTestServer(t, &fakeRecorder{}, alwaysUp, Options{}, zap.NewNop())
	base := serveOnLoopback(t, srv)

	err := srv.Shutdown(context.Background(), 10*time.Millisecond)

	if err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, _, err := getJSON(t, base+"/livez"); !isConnRefused(err) {
		t.Errorf("GET after shutdown: err %v, want connection refused", err)
	}
}
