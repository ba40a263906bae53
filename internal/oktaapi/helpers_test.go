package oktaapi

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Invented credentials. They are long and distinctive so that a leak in any
// text is found by a plain substring search.
const (
	testToken      = "test-token-not-real-7f3a9c"
	testAuthHeader = "X-Test-Hook-Auth"
	testSecret     = "test-secret-not-real-b41e"
)

// testStart is a whole second, so waits until a Unix-second reset are exact.
var testStart = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// fakeClock is a clock that moves only when the client sleeps. It records
// each requested sleep.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: testStart} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// testClient is a client with a fake clock and captured logs.
type testClient struct {
	*Client
	clock *fakeClock
	logs  *observer.ObservedLogs
}

func newTestClient(t *testing.T, orgURL, token string) *testClient {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	clock := newFakeClock()
	c, err := NewClient(orgURL, token, nil, zap.New(core), WithClock(clock.Now), WithSleep(clock.Sleep))
	if err != nil {
		t.Fatalf("NewClient(%q): %v", orgURL, err)
	}
	return &testClient{Client: c, clock: clock, logs: logs}
}

// assertNoSecrets fails when text contains the API token or the hook secret.
func assertNoSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, secret := range []string{testToken, testSecret} {
		if strings.Contains(text, secret) {
			t.Errorf("%s contains a secret: %s", where, text)
		}
	}
}

// assertLogsHaveNoSecrets checks every captured log message and field.
func (tc *testClient) assertLogsHaveNoSecrets(t *testing.T) {
	t.Helper()
	for _, entry := range tc.logs.All() {
		assertNoSecrets(t, "log line", fmt.Sprint(entry.Message, " ", entry.ContextMap()))
	}
}
