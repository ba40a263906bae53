package poller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/oktaapi"
)

const testOrg = "http://127.0.0.1:9"

// testStart is the fixed time the unit tests start at.
var testStart = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// removalEvent returns a System Log removal event shaped like Okta's, with
// invented ids.
func removalEvent(uuid, groupID string, published time.Time) json.RawMessage {
	event := map[string]any{
		"uuid":            uuid,
		"published":       published.UTC().Format("2006-01-02T15:04:05.000Z"),
		"eventType":       okta.EventTypeMembershipRemove,
		"displayMessage":  "Remove user from group membership",
		"severity":        "INFO",
		"legacyEventType": "core.user_group_member.user_remove",
		"actor":           map[string]any{"id": "00uTESTADMIN00000001", "type": "User", "alternateId": "admin@example.com", "displayName": "Test Admin"},
		"outcome":         map[string]any{"result": "SUCCESS"},
		"target": []map[string]any{
			{"id": "00uUSER-" + uuid, "type": "User", "alternateId": uuid + "@example.com", "displayName": "User " + uuid},
			{"id": groupID, "type": "UserGroup", "alternateId": "unknown", "displayName": "Group " + groupID},
		},
	}
	raw, _ := json.Marshal(event)
	return raw
}

// burstEvents returns n removals from groupID published one second apart,
// with uuids prefix-0 to prefix-(n-1).
func burstEvents(prefix, groupID string, n int, start time.Time) []json.RawMessage {
	events := make([]json.RawMessage, n)
	for i := range n {
		events[i] = removalEvent(fmt.Sprintf("%s-%d", prefix, i), groupID, start.Add(time.Duration(i)*time.Second))
	}
	return events
}

// scriptedLog is a LogReader that returns scripted pages and records every
// requested URL. Once the script is used up it returns empty pages.
type scriptedLog struct {
	mu       sync.Mutex
	pages    []scriptedPage
	requests []string
	times    []time.Time
	now      func() time.Time
	// onRequest, when set, runs after each request is recorded, with the
	// number of requests so far.
	onRequest func(n int)
}

type scriptedPage struct {
	page oktaapi.LogPage
	err  error
}

func (s *scriptedLog) add(pages ...scriptedPage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages = append(s.pages, pages...)
}

func (s *scriptedLog) Logs(_ context.Context, pageURL string) (oktaapi.LogPage, error) {
	s.mu.Lock()
	s.requests = append(s.requests, pageURL)
	s.times = append(s.times, s.now())
	n, onRequest := len(s.requests), s.onRequest
	next := scriptedPage{page: oktaapi.LogPage{Next: pageURL}}
	if len(s.pages) > 0 {
		next, s.pages = s.pages[0], s.pages[1:]
	}
	s.mu.Unlock()

	if onRequest != nil {
		onRequest(n)
	}
	return next.page, next.err
}

func (s *scriptedLog) requestTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

func (s *scriptedLog) requested() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func page(next string, events ...json.RawMessage) scriptedPage {
	return scriptedPage{page: oktaapi.LogPage{Events: events, Next: next}}
}

func failure(err error) scriptedPage { return scriptedPage{err: err} }

// failingRecorder fails every Record call.
type failingRecorder struct{}

func (failingRecorder) Record(context.Context, []okta.Removal, alert.Source) (burst.Result, error) {
	return burst.Result{}, errors.New("redis is down")
}

// fixture is a poller on miniredis with a real detector, a fixed clock and
// an observed logger.
type fixture struct {
	poller   *Poller
	log      *scriptedLog
	mr       *miniredis.Miniredis
	rdb      *redis.Client
	detector *burst.Detector
	logs     *observer.ObservedLogs
	reg      *prometheus.Registry
	clock    *clock
}

// clock is a settable clock that also moves miniredis, so TTLs expire.
type clock struct {
	mu  sync.Mutex
	now time.Time
	mr  *miniredis.Miniredis
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.mr.SetTime(c.now)
	c.mr.FastForward(d)
}

func newFixture(t *testing.T, cfg Config, rec Recorder, opts ...Option) *fixture {
	t.Helper()
	mr := miniredis.RunT(t)
	mr.SetTime(testStart)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	detector := burst.New(rdb, burst.Settings{
		Threshold: 5, Window: 5 * time.Minute, Cooldown: 15 * time.Minute,
		MaxEventAge: 24 * time.Hour, AlertMaxAge: 24 * time.Hour,
	})
	if rec == nil {
		rec = detector
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Lookback == 0 {
		cfg.Lookback = 15 * time.Minute
	}
	if cfg.Org == "" {
		cfg.Org = testOrg
	}
	if cfg.Owner == "" {
		cfg.Owner = "replica-a"
	}

	core, logs := observer.New(zap.DebugLevel)
	reg := prometheus.NewRegistry()
	clk := &clock{now: testStart, mr: mr}
	reader := &scriptedLog{now: clk.Now}
	opts = append([]Option{WithClock(clk.Now)}, opts...)
	p, err := New(cfg, rdb, reader, rec, zap.New(core), reg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &fixture{poller: p, log: reader, mr: mr, rdb: rdb, detector: detector, logs: logs, reg: reg, clock: clk}
}

// takeLease makes the fixture's poller the lease holder.
func (f *fixture) takeLease(t *testing.T) {
	t.Helper()
	if !f.poller.holdLease(context.Background()) {
		t.Fatal("poller did not get the free lease")
	}
}

func (f *fixture) storedCursor(t *testing.T) string {
	t.Helper()
	cursor, err := f.rdb.Get(context.Background(), CursorKey(testOrg)).Result()
	if errors.Is(err, redis.Nil) {
		return ""
	}
	if err != nil {
		t.Fatalf("read cursor: %v", err)
	}
	return cursor
}

// streamEntries returns every alert in the detector's streams.
func streamEntries(t *testing.T, rdb redis.UniversalClient) []alert.Alert {
	t.Helper()
	var alerts []alert.Alert
	for shard := range burst.Shards {
		msgs, err := rdb.XRange(context.Background(), burst.StreamKey(shard), "-", "+").Result()
		if err != nil {
			t.Fatalf("read stream of shard %d: %v", shard, err)
		}
		for _, msg := range msgs {
			a, err := burst.ParseEntry(shard, msg.ID, msg.Values)
			if err != nil {
				t.Fatalf("parse alert %s: %v", msg.ID, err)
			}
			alerts = append(alerts, a)
		}
	}
	return alerts
}
