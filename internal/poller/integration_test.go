package poller

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/oktaapi"
	"github.com/oktawatch/oktawatch/internal/oktaapi/oktatest"
	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/servicetest"
)

const (
	testToken = "test-token-not-real"
	// waitTimeout bounds every wait for an outcome on the real clock.
	waitTimeout = 20 * time.Second
)

// stack is a real redis-server, a real detector and a fake Okta org.
type stack struct {
	rdb      *redis.Client
	detector *burst.Detector
	okta     *oktatest.Server
}

func newStack(t *testing.T) *stack {
	t.Helper()
	rdb := redistest.Server(t).Client()
	return &stack{
		rdb: rdb,
		detector: burst.New(rdb, burst.Settings{
			Threshold: 5, Window: 5 * time.Minute, Cooldown: 15 * time.Minute,
			MaxEventAge: 24 * time.Hour, AlertMaxAge: 24 * time.Hour,
		}),
		okta: oktatest.New(t, testToken),
	}
}

// replica is one in-process poller with its own context, registry and
// request log.
type replica struct {
	poller   *Poller
	reg      *prometheus.Registry
	requests *recordingReader
	stop     func()
}

func (s *stack) startReplica(t *testing.T, owner string, rec Recorder) *replica {
	t.Helper()
	client, err := oktaapi.NewClient(s.okta.URL, testToken, nil, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	reader := &recordingReader{LogReader: client}
	reg := prometheus.NewRegistry()
	p, err := New(Config{
		Interval: 100 * time.Millisecond, Lookback: 15 * time.Minute, LeaseTTL: time.Second,
		Org: client.OrgURL(), Owner: owner,
	}, s.rdb, reader, rec, zaptest.NewLogger(t).Named(owner), reg)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{poller: p, reg: reg, requests: reader, stop: p.Start(context.Background())}
	t.Cleanup(r.stop)
	return r
}

func (r *replica) missed() float64 { return testutil.ToFloat64(r.poller.metrics.missed) }

func (r *replica) caughtUpPolls() float64 {
	return testutil.ToFloat64(r.poller.metrics.polls.WithLabelValues(string(outcomeCaughtUp)))
}

// waitForPolls waits until the replica finished n more polls that caught up.
func (r *replica) waitForPolls(t *testing.T, n int) {
	t.Helper()
	target := r.caughtUpPolls() + float64(n)
	servicetest.Eventually(t, waitTimeout, fmt.Sprintf("%s finished %d more polls", r.poller.cfg.Owner, n),
		func() bool { return r.caughtUpPolls() >= target })
}

// recordingReader records the URL of every System Log request.
type recordingReader struct {
	LogReader
	mu   sync.Mutex
	urls []string
}

func (r *recordingReader) Logs(ctx context.Context, pageURL string) (oktaapi.LogPage, error) {
	r.mu.Lock()
	r.urls = append(r.urls, pageURL)
	r.mu.Unlock()
	return r.LogReader.Logs(ctx, pageURL)
}

func (r *recordingReader) first() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.urls) == 0 {
		return ""
	}
	return r.urls[0]
}

// crashingRecorder records like the detector, but once armed it hangs
// after the next successful Record until the poller's context ends. The
// poller then neither saves the cursor nor renews the lease, as if the
// process had been killed between recording a page and saving the cursor.
type crashingRecorder struct {
	Recorder
	armed atomic.Bool
}

func (c *crashingRecorder) Record(ctx context.Context, removals []okta.Removal, source alert.Source) (burst.Result, error) {
	res, err := c.Recorder.Record(ctx, removals, source)
	if err == nil && c.armed.Load() {
		<-ctx.Done()
		return res, ctx.Err()
	}
	return res, err
}

func alertsByGroup(t *testing.T, rdb redis.UniversalClient) map[string][]alert.Alert {
	t.Helper()
	byGroup := make(map[string][]alert.Alert)
	for _, a := range streamEntries(t, rdb) {
		byGroup[a.GroupID] = append(byGroup[a.GroupID], a)
	}
	return byGroup
}

func TestPoller_LostRemovalsAlertLateOnce(t *testing.T) {
	s := newStack(t)
	published := time.Now().Add(-3 * time.Minute)
	s.okta.AddLogEvents(burstEvents("fin", "00gFINANCE", 5, published)...)
	s.okta.AddLogEvents(burstEvents("eng", "00gENGINEERING", 6, published)...)

	r := s.startReplica(t, "replica-a", s.detector)
	servicetest.Eventually(t, waitTimeout, "two burst alerts are queued",
		func() bool { return len(streamEntries(t, s.rdb)) >= 2 })
	r.waitForPolls(t, 3)

	byGroup := alertsByGroup(t, s.rdb)
	for _, gid := range []string{"00gFINANCE", "00gENGINEERING"} {
		alerts := byGroup[gid]
		if len(alerts) != 1 {
			t.Errorf("group %s has %d alerts, want 1", gid, len(alerts))
			continue
		}
		if a := alerts[0]; a.Source != alert.SourceSystemLog || !a.Late() {
			t.Errorf("group %s alert has source %s, late %v; want systemlog and late", gid, a.Source, a.Late())
		}
	}
	if got := r.missed(); got != 11 {
		t.Errorf("removals missed by hook = %v, want 11", got)
	}
}

func TestPoller_HookAndSystemLogAlertOnce(t *testing.T) {
	tests := []struct {
		name       string
		hookFirst  bool
		wantSource alert.Source
		wantMissed float64
	}{
		{"hook delivered first", true, alert.SourceHook, 0},
		{"system log read first", false, alert.SourceSystemLog, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			events := burstEvents("dup", "00gFINANCE", 5, time.Now().Add(-2*time.Minute))
			removals := parseAll(t, events)
			s.okta.AddLogEvents(events...)
			if tt.hookFirst {
				recordOrFail(t, s.detector, removals, alert.SourceHook)
			}

			r := s.startReplica(t, "replica-a", s.detector)
			r.waitForPolls(t, 2)
			if !tt.hookFirst {
				recordOrFail(t, s.detector, removals, alert.SourceHook)
			}

			alerts := streamEntries(t, s.rdb)
			if len(alerts) != 1 || alerts[0].Source != tt.wantSource {
				t.Fatalf("alerts = %+v, want one from %s", alerts, tt.wantSource)
			}
			if got := r.missed(); got != tt.wantMissed {
				t.Errorf("removals missed by hook = %v, want %v", got, tt.wantMissed)
			}
		})
	}
}

func TestPoller_FailoverResumesFromStoredCursor(t *testing.T) {
	s := newStack(t)
	start := time.Now().Add(-5 * time.Minute)
	s.okta.AddLogEvents(burstEvents("first", "00gGROUP1", 5, start)...)
	crashing := &crashingRecorder{Recorder: s.detector}
	a := s.startReplica(t, "replica-a", crashing)
	a.waitForPolls(t, 2)
	b := s.startReplica(t, "replica-b", s.detector)
	cursorBeforeCrash := s.rdb.Get(context.Background(), CursorKey(s.okta.URL)).Val()

	crashing.armed.Store(true)
	s.okta.AddLogEvents(burstEvents("second", "00gGROUP2", 5, start.Add(time.Minute))...)
	servicetest.Eventually(t, waitTimeout, "replica-b takes over the lease",
		func() bool { return s.rdb.Get(context.Background(), LeaseKey).Val() == "replica-b" })
	b.waitForPolls(t, 1)
	s.okta.AddLogEvents(burstEvents("third", "00gGROUP3", 5, start.Add(2*time.Minute))...)
	servicetest.Eventually(t, waitTimeout, "replica-b records the third burst",
		func() bool { return b.missed() == 5 })

	if got := b.requests.first(); got != cursorBeforeCrash || got == "" {
		t.Errorf("replica-b's first request = %q, want the cursor replica-a stored, %q", got, cursorBeforeCrash)
	}
	// replica-a hung before it could report the second burst, and
	// replica-b found it already recorded when it read the page again.
	if a.missed() != 5 || b.missed() != 5 {
		t.Errorf("missed by hook: replica-a %v, replica-b %v; want 5 each", a.missed(), b.missed())
	}
	byGroup := alertsByGroup(t, s.rdb)
	for _, gid := range []string{"00gGROUP1", "00gGROUP2", "00gGROUP3"} {
		alerts := byGroup[gid]
		if len(alerts) != 1 || alerts[0].Count != 5 {
			t.Errorf("group %s has alerts %+v, want one of 5 removals", gid, alerts)
		}
	}
}

func parseAll(t *testing.T, events []json.RawMessage) []okta.Removal {
	t.Helper()
	removals := make([]okta.Removal, 0, len(events))
	for _, raw := range events {
		r, skip := okta.ParseEvent(raw)
		if skip != nil {
			t.Fatalf("test event skipped: %+v", skip)
		}
		removals = append(removals, r)
	}
	return removals
}

func recordOrFail(t *testing.T, d *burst.Detector, removals []okta.Removal, source alert.Source) {
	t.Helper()
	if _, err := d.Record(context.Background(), removals, source); err != nil {
		t.Fatalf("record: %v", err)
	}
}
