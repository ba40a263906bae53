package poller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/oktawatch/oktawatch/internal/config"
	"github.com/oktawatch/oktawatch/internal/oktaapi"
)

// runUntil runs the fixture's poller with a sleep that moves the fixed
// clock, until the Okta fake has received n requests.
func runUntil(t *testing.T, f *fixture, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.log.onRequest = func(got int) {
		if got >= n {
			cancel()
		}
	}
	f.poller.sleep = func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		f.clock.Advance(d)
		return nil
	}

	done := make(chan struct{})
	go func() { defer close(done); f.poller.Run(ctx) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("Run did not stop after %d requests; requests so far: %d", n, len(f.log.requested()))
	}
}

func TestRun_BacksOffExponentiallyAfterFailedPolls(t *testing.T) {
	f := newFixture(t, Config{Interval: time.Minute}, nil)
	unavailable := &oktaapi.APIError{Method: "GET", Path: "/api/v1/logs", Status: 503, Summary: "Service Unavailable"}
	for range 5 {
		f.log.add(failure(unavailable))
	}

	runUntil(t, f, 7)

	times := f.log.requestTimes()
	// Each wait is the current back-off interval ±50 %; the interval
	// doubles from one poll interval up to eight.
	bounds := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 8 * time.Minute}
	for i, base := range bounds {
		gap := times[i+1].Sub(times[i])
		if gap < base/2 || gap > base*3/2 {
			t.Errorf("wait after failure %d = %s, want between %s and %s", i+1, gap, base/2, base*3/2)
		}
	}
	if gap := times[6].Sub(times[5]); gap != time.Minute {
		t.Errorf("wait after the first successful poll = %s, want the poll interval 1m0s", gap)
	}
	if got := testutil.ToFloat64(f.poller.metrics.polls.WithLabelValues("failed")); got != 5 {
		t.Errorf("failed polls = %v, want 5", got)
	}
}

func TestRun_LogsRejectedTokenAsError(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	f.log.add(failure(&oktaapi.APIError{Method: "GET", Path: "/api/v1/logs", Status: 401, Hint: oktaapi.HintUnauthorized}))

	runUntil(t, f, 2)

	failures := f.logs.FilterMessage("system log poll failed, retrying").All()
	if len(failures) != 1 || failures[0].Level != zapcore.ErrorLevel {
		t.Errorf("failure log lines = %v, want one at error level", failures)
	}
}

func TestRun_ReleasesLeaseOnStop(t *testing.T) {
	f := newFixture(t, Config{}, nil)

	runUntil(t, f, 1)

	if f.mr.Exists(LeaseKey) {
		t.Errorf("lease %s still exists after Run returned, held by %q", LeaseKey, mustGet(f, LeaseKey))
	}
	if got := testutil.ToFloat64(f.poller.metrics.leaseHeld); got != 0 {
		t.Errorf("lease held gauge = %v after stop, want 0", got)
	}
}

func TestStep_WaitsWhileAnotherReplicaHoldsLease(t *testing.T) {
	f := newFixture(t, Config{LeaseTTL: 3 * time.Second}, nil)
	if err := f.rdb.Set(context.Background(), LeaseKey, "replica-b", 3*time.Second).Err(); err != nil {
		t.Fatal(err)
	}

	wait := f.poller.step(context.Background())

	if n := len(f.log.requested()); n != 0 {
		t.Errorf("%d System Log requests without the lease, want 0", n)
	}
	if wait != time.Second {
		t.Errorf("wait = %s, want a third of the lease TTL", wait)
	}
}

func TestStep_TakeoverResumesFromCursor(t *testing.T) {
	a := newFixture(t, Config{LeaseTTL: 3 * time.Second, Owner: "replica-a"}, nil)
	a.log.add(page(testOrg + "/api/v1/logs?after=7"))
	a.poller.step(context.Background())
	b, err := New(Config{Interval: time.Minute, Lookback: time.Minute, LeaseTTL: 3 * time.Second, Org: testOrg, Owner: "replica-b"},
		a.rdb, a.log, a.detector, zap.NewNop(), nil, WithClock(a.clock.Now))
	if err != nil {
		t.Fatal(err)
	}

	b.step(context.Background())
	requestsWhileHeld := len(a.log.requested())
	a.clock.Advance(3 * time.Second)
	b.step(context.Background())

	if requestsWhileHeld != 1 {
		t.Errorf("%d requests while replica-a held the lease, want only its own 1", requestsWhileHeld)
	}
	requests := a.log.requested()
	if len(requests) != 2 || requests[1] != testOrg+"/api/v1/logs?after=7" {
		t.Errorf("requests = %v, want replica-b to resume from the stored cursor", requests)
	}
	if owner := mustGet(a, LeaseKey); owner != "replica-b" {
		t.Errorf("lease owner = %q, want replica-b", owner)
	}
}

func TestNew_RegistersMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := Config{Interval: time.Minute, Lookback: time.Minute, Org: testOrg}
	if _, err := New(cfg, nil, &scriptedLog{}, failingRecorder{}, zap.NewNop(), reg); err != nil {
		t.Fatalf("New: %v", err)
	}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range families {
		names = append(names, mf.GetName())
	}
	for _, want := range []string{"oktawatch_systemlog_removals_missed_by_hook_total",
		"oktawatch_systemlog_removals_too_old_total", "oktawatch_systemlog_polls_total", "oktawatch_systemlog_lease_held"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("registered metrics %v lack %s", names, want)
		}
	}
	if _, err := New(cfg, nil, &scriptedLog{}, failingRecorder{}, zap.NewNop(), reg); err == nil {
		t.Error("second New on the same registry succeeded, want a registration error")
	}
}

func TestNew_RejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"zero interval", Config{Lookback: time.Minute, Org: testOrg}, "interval must be positive"},
		{"zero lookback", Config{Interval: time.Minute, Org: testOrg}, "lookback must be positive"},
		{"no org", Config{Interval: time.Minute, Lookback: time.Minute}, "org URL is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, nil, &scriptedLog{}, failingRecorder{}, zap.NewNop(), nil)

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestFromConfig(t *testing.T) {
	base := config.Config{
		OktaOrgURL: "http://127.0.0.1:9", OktaAPIToken: "test-token-not-real",
		SystemLogPollInterval: time.Minute, SystemLogLookback: 15 * time.Minute,
	}
	tests := []struct {
		name    string
		change  func(c *config.Config)
		wantNil bool
		wantErr string
	}{
		{"polling on", func(*config.Config) {}, false, ""},
		{"no token", func(c *config.Config) { c.OktaAPIToken = "" }, true, ""},
		{"interval zero", func(c *config.Config) { c.SystemLogPollInterval = 0 }, true, ""},
		{"no org URL", func(c *config.Config) { c.OktaOrgURL = "" }, true, "OKTAWATCH_OKTA_ORG_URL: missing"},
		{"plain http to another host", func(c *config.Config) { c.OktaOrgURL = "http://example.okta.com" }, true, "must use https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.change(&cfg)

			p, err := FromConfig(cfg, nil, failingRecorder{}, zap.NewNop(), nil)

			if tt.wantErr == "" && err != nil {
				t.Fatalf("FromConfig: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if (p == nil) != tt.wantNil {
				t.Errorf("poller = %v, want nil: %v", p, tt.wantNil)
			}
			if err != nil && strings.Contains(err.Error(), "test-token-not-real") {
				t.Errorf("error %q contains the API token", err)
			}
		})
	}
}

func TestStart_OnNilPollerDoesNothing(t *testing.T) {
	var p *Poller

	stop := p.Start(context.Background())
	stop()
}

func TestLeaseTTLFor(t *testing.T) {
	tests := []struct {
		interval time.Duration
		want     time.Duration
	}{
		{100 * time.Millisecond, time.Second},
		{10 * time.Millisecond, time.Second},
		{2 * time.Second, 20 * time.Second},
		{time.Minute, DefaultLeaseTTL},
	}
	for _, tt := range tests {
		if got := leaseTTLFor(tt.interval); got != tt.want {
			t.Errorf("leaseTTLFor(%s) = %s, want %s", tt.interval, got, tt.want)
		}
	}
}

func mustGet(f *fixture, key string) string {
	value, _ := f.mr.Get(key)
	return value
}
