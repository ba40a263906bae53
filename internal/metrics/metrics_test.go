package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/config"
	"github.com/oktawatch/oktawatch/internal/hook"
	"github.com/oktawatch/oktawatch/internal/metrics"
	"github.com/oktawatch/oktawatch/internal/server"
)

const testSecret = "test-secret-not-real"

type fixture struct {
	reg     *prometheus.Registry
	metrics *metrics.Metrics
	mr      *miniredis.Miniredis
	handler http.Handler
}

// newFixture wires the metrics into a hook handler and server on miniredis,
// the way the service does.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	reg.MustRegister(metrics.NewQueueCollector(rdb))
	rdb.AddHook(m.RedisHook())

	det := burst.New(rdb, burst.Settings{Threshold: 3, Window: 5 * time.Minute, Cooldown: 15 * time.Minute,
		MaxEventAge: 24 * time.Hour, AlertMaxAge: time.Hour})
	h := hook.New(hook.Config{AuthHeader: "Authorization", AuthSecret: testSecret, MaxBodyBytes: 1 << 20}, det, m, zap.NewNop())
	cfg := config.Config{ListenAddr: "127.0.0.1:0"}
	srv := server.New(cfg, h, pinger{rdb}, server.Options{Metrics: metrics.Handler(reg), Requests: m}, zap.NewNop())
	return &fixture{reg: reg, metrics: m, mr: mr, handler: srv.Handler()}
}

type pinger struct{ rdb *redis.Client }

func (p pinger) Ping(ctx context.Context) error { return p.rdb.Ping(ctx).Err() }

func (f *fixture) post(t *testing.T, secret string, events ...string) {
	t.Helper()
	body := `{"eventId":"delivery-1","data":{"events":[` + strings.Join(events, ",") + `]}}`
	req := httptest.NewRequest(http.MethodPost, hook.Path, strings.NewReader(body))
	req.Header.Set("Authorization", secret)
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	if secret == testSecret && w.Code != http.StatusOK {
		t.Fatalf("delivery returned %d: %s", w.Code, w.Body)
	}
}

// removal returns a group.user_membership.remove event with invented ids.
func removal(uuid, groupID string, published time.Time) string {
	return fmt.Sprintf(`{"uuid":%q,"published":%q,"eventType":"group.user_membership.remove",
"outcome":{"result":"SUCCESS"},"actor":{"id":"00uTESTADMIN00000001","type":"User"},
"target":[{"id":"00uTESTUSER%09d","type":"User"},{"id":%q,"type":"UserGroup","displayName":"Test Group"}]}`,
		uuid, published.UTC().Format(time.RFC3339Nano), len(uuid), groupID)
}

func TestMetrics_CountersMoveDuringBurst(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	group := "00gTESTGROUP00000001"

	f.post(t, testSecret, removal("uuid-1", group, now.Add(-2*time.Second)), removal("uuid-2", group, now.Add(-time.Second)))
	f.post(t, testSecret,
		removal("uuid-1", group, now.Add(-2*time.Second)), // Okta's redelivery
		removal("uuid-2", group, now.Add(-time.Second)),
		removal("uuid-3", group, now), // completes the burst
		removal("uuid-old", group, now.Add(-48*time.Hour)),
		`{"uuid":"uuid-add","eventType":"group.user_membership.add"}`,
		`{"uuid":"uuid-nogroup","published":"2025-06-12T14:03:19.812Z","eventType":"group.user_membership.remove","target":[]}`,
	)
	f.post(t, "wrong-secret-not-real", removal("uuid-4", group, now))

	want := `
# HELP oktawatch_bursts_detected_total Bursts whose first alert the hook queued.
# TYPE oktawatch_bursts_detected_total counter
oktawatch_bursts_detected_total 1
# HELP oktawatch_hook_duplicates_ignored_total Removals ignored because Redis already had their event uuid, as after Okta's redeliveries.
# TYPE oktawatch_hook_duplicates_ignored_total counter
oktawatch_hook_duplicates_ignored_total 2
# HELP oktawatch_hook_events_received_total System Log events in hook deliveries that were processed; deliveries rejected with an error status are not counted.
# TYPE oktawatch_hook_events_received_total counter
oktawatch_hook_events_received_total 8
# HELP oktawatch_hook_removals_recorded_total Group-membership removals stored in Redis for the first time.
# TYPE oktawatch_hook_removals_recorded_total counter
oktawatch_hook_removals_recorded_total 3
# HELP oktawatch_hook_requests_total Requests to the Okta hook path, by method and HTTP status code.
# TYPE oktawatch_hook_requests_total counter
oktawatch_hook_requests_total{code="200",method="POST"} 2
oktawatch_hook_requests_total{code="401",method="POST"} 1
# HELP oktawatch_alert_queue_depth Alerts in the Redis streams of all shards, queued or being delivered.
# TYPE oktawatch_alert_queue_depth gauge
oktawatch_alert_queue_depth 1
`
	names := []string{"oktawatch_bursts_detected_total", "oktawatch_hook_duplicates_ignored_total",
		"oktawatch_hook_events_received_total", "oktawatch_hook_removals_recorded_total",
		"oktawatch_hook_requests_total", "oktawatch_alert_queue_depth"}
	if err := testutil.GatherAndCompare(f.reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	skipped := map[string]float64{"other_event_type": 1, "missing_group_target": 1, "too_old": 1, "invalid_field": 0}
	for reason, want := range skipped {
		if got := gauge(t, f.reg, "oktawatch_hook_events_skipped_total", "reason", reason); got != want {
			t.Errorf("events skipped with reason %s = %v, want %v", reason, got, want)
		}
	}
	if n := sampleCount(t, f.reg, "oktawatch_hook_request_duration_seconds"); n != 3 {
		t.Errorf("hook request duration has %d observations, want 3", n)
	}
	if n := sampleCount(t, f.reg, "oktawatch_redis_request_duration_seconds"); n < 2 {
		t.Errorf("redis request duration has %d observations, want at least one per delivery", n)
	}
}

func TestMetrics_UnknownMethodsShareOneLabel(t *testing.T) {
	f := newFixture(t)

	for _, method := range []string{"BREW", "PURGE", http.MethodPut, http.MethodGet} {
		f.handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, hook.Path, nil))
	}

	want := `
# HELP oktawatch_hook_requests_total Requests to the Okta hook path, by method and HTTP status code.
# TYPE oktawatch_hook_requests_total counter
oktawatch_hook_requests_total{code="401",method="GET"} 1
oktawatch_hook_requests_total{code="405",method="other"} 3
`
	if err := testutil.GatherAndCompare(f.reg, strings.NewReader(want), "oktawatch_hook_requests_total"); err != nil {
		t.Error(err)
	}
}

func TestMetrics_DispatchOutcomes(t *testing.T) {
	f := newFixture(t)
	burstAlert := alert.Alert{ID: "00-1-0", Kind: alert.KindBurst, GroupID: "00gTESTGROUP00000001"}

	f.metrics.Failed(burstAlert, "rate_limited")
	f.metrics.Failed(burstAlert, "server_error")
	f.metrics.Sent(burstAlert)
	f.metrics.Sent(alert.Alert{Kind: alert.KindFollowUp})
	f.metrics.DeadLettered(burstAlert, "rejected")

	want := `
# HELP oktawatch_alerts_sent_total Alerts the notifier accepted, by kind (burst or followup).
# TYPE oktawatch_alerts_sent_total counter
oktawatch_alerts_sent_total{kind="burst"} 1
oktawatch_alerts_sent_total{kind="followup"} 1
# HELP oktawatch_alerts_send_failures_total Failed attempts to send an alert, by reason; most are retried.
# TYPE oktawatch_alerts_send_failures_total counter
oktawatch_alerts_send_failures_total{reason="rate_limited"} 1
oktawatch_alerts_send_failures_total{reason="server_error"} 1
# HELP oktawatch_alerts_dead_lettered_total Alerts moved to the dead-letter stream undelivered, by reason.
# TYPE oktawatch_alerts_dead_lettered_total counter
oktawatch_alerts_dead_lettered_total{reason="rejected"} 1
`
	err := testutil.GatherAndCompare(f.reg, strings.NewReader(want),
		"oktawatch_alerts_sent_total", "oktawatch_alerts_send_failures_total", "oktawatch_alerts_dead_lettered_total")
	if err != nil {
		t.Error(err)
	}
}

func TestMetrics_NamesPassLint(t *testing.T) {
	f := newFixture(t)
	f.post(t, testSecret, removal("uuid-1", "00gTESTGROUP00000001", time.Now()))

	problems, err := testutil.GatherAndLint(f.reg)

	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "oktawatch_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

func TestMetrics_EndpointIncludesRuntimeAndProcess(t *testing.T) {
	f := newFixture(t)
	w := httptest.NewRecorder()

	f.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))

	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics returned %d", w.Code)
	}
	body := w.Body.String()
	for _, name := range []string{"go_goroutines ", "process_resident_memory_bytes ", "oktawatch_alert_queue_depth 0"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
	for _, id := range []string{"00gTESTGROUP", "00uTEST", "uuid-"} {
		if strings.Contains(body, id) {
			t.Errorf("/metrics contains the id %q; ids must not become labels", id)
		}
	}
}

func TestQueueCollector_RedisDownLeavesSampleOut(t *testing.T) {
	f := newFixture(t)
	f.mr.Close()

	start := time.Now()
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))

	if w.Code != http.StatusOK {
		t.Errorf("GET /metrics with redis down returned %d, want 200", w.Code)
	}
	if strings.Contains(w.Body.String(), "oktawatch_alert_queue_depth ") {
		t.Errorf("queue depth reported with redis down")
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("scrape took %s with redis down", elapsed)
	}
}

// gauge returns the value of the counter or gauge sample of name whose label
// has value, failing the test when there is none.
func gauge(t *testing.T, g prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range families {
		if family.GetName() != name {
			continue
		}
		for _, m := range family.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no sample %s{%s=%q}", name, label, value)
	return 0
}

// sampleCount returns the number of observations over all series of the
// histogram name.
func sampleCount(t *testing.T, g prometheus.Gatherer, name string) uint64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, family := range families {
		if family.GetName() == name {
			for _, m := range family.GetMetric() {
				n += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}
