package poller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/oktaapi"
)

func TestPoll_FirstStartUsesLookback(t *testing.T) {
	f := newFixture(t, Config{Lookback: 20 * time.Minute, PageLimit: 500}, nil)
	f.takeLease(t)

	if _, err := f.poller.poll(context.Background()); err != nil {
		t.Fatalf("poll: %v", err)
	}

	want := oktaapi.FirstLogsURL(testStart.Add(-20*time.Minute), []string{"group.user_membership.remove"}, 500)
	if got := f.log.requested(); len(got) == 0 || got[0] != want {
		t.Errorf("first request = %v, want %s", got, want)
	}
}

func TestPoll_FollowsPagesUntilEmpty(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	f.takeLease(t)
	f.log.add(
		page("/api/v1/logs?after=2", burstEvents("a", "00gGROUPA", 2, testStart.Add(-time.Minute))...),
		page("/api/v1/logs?after=3", burstEvents("b", "00gGROUPB", 1, testStart.Add(-time.Minute))...),
		page("/api/v1/logs?after=3"),
	)

	res, err := f.poller.poll(context.Background())

	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if res.outcome != outcomeCaughtUp || res.pages != 3 || res.events != 3 || res.missed != 3 {
		t.Errorf("result = %+v, want caught_up after 3 pages with 3 events, all missed", res)
	}
	requests := f.log.requested()
	if want := []string{"/api/v1/logs?after=2", "/api/v1/logs?after=3"}; fmt.Sprint(requests[1:]) != fmt.Sprint(want) {
		t.Errorf("requests after the first = %v, want the next links %v", requests[1:], want)
	}
	if got := f.storedCursor(t); got != "/api/v1/logs?after=3" {
		t.Errorf("stored cursor = %q, want the last next link", got)
	}
}

func TestPoll_ResumesFromStoredCursor(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	f.takeLease(t)
	if err := f.rdb.Set(context.Background(), CursorKey(testOrg), testOrg+"/api/v1/logs?after=42", 0).Err(); err != nil {
		t.Fatal(err)
	}

	if _, err := f.poller.poll(context.Background()); err != nil {
		t.Fatalf("poll: %v", err)
	}

	if got := f.log.requested(); got[0] != testOrg+"/api/v1/logs?after=42" {
		t.Errorf("first request = %s, want the stored cursor", got[0])
	}
}

func TestPoll_UnusableCursorRestartsFromLookback(t *testing.T) {
	tests := []struct {
		name   string
		cursor string
	}{
		{"other host", "https://other.example.com/api/v1/logs?after=1"},
		{"other path", testOrg + "/api/v1/eventHooks"},
		{"not a URL", "%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, nil)
			f.takeLease(t)
			if err := f.rdb.Set(context.Background(), CursorKey(testOrg), tt.cursor, 0).Err(); err != nil {
				t.Fatal(err)
			}

			if _, err := f.poller.poll(context.Background()); err != nil {
				t.Fatalf("poll: %v", err)
			}

			if got := f.log.requested(); !strings.Contains(got[0], "since=") {
				t.Errorf("first request = %s, want a fresh start with since", got[0])
			}
			if n := f.logs.FilterMessageSnippet("cursor is unusable").Len(); n != 1 {
				t.Errorf("%d log lines about the unusable cursor, want 1", n)
			}
		})
	}
}

func TestPoll_StopsAtPageCap(t *testing.T) {
	f := newFixture(t, Config{MaxPagesPerPoll: 3}, nil)
	f.takeLease(t)
	for i := range 5 {
		f.log.add(page(fmt.Sprintf("/api/v1/logs?after=%d", i+1), removalEvent(fmt.Sprintf("e%d", i), "00gGROUPA", testStart)))
	}

	res, err := f.poller.poll(context.Background())

	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if res.outcome != outcomePageCap || len(f.log.requested()) != 3 {
		t.Errorf("outcome %s after %d requests, want page_cap after 3", res.outcome, len(f.log.requested()))
	}
	if got := f.storedCursor(t); got != "/api/v1/logs?after=3" {
		t.Errorf("stored cursor = %q, want the third page's next link", got)
	}
}

func TestPoll_CursorStaysWhenPageFails(t *testing.T) {
	tests := []struct {
		name string
		rec  Recorder
		page scriptedPage
	}{
		{"record fails", failingRecorder{}, page("/api/v1/logs?after=9", removalEvent("e1", "00gGROUPA", testStart))},
		{"okta fails", nil, failure(&oktaapi.APIError{Method: "GET", Path: "/api/v1/logs", Status: 503})},
		{"no next link", nil, page("", removalEvent("e1", "00gGROUPA", testStart))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, tt.rec)
			f.takeLease(t)
			if err := f.rdb.Set(context.Background(), CursorKey(testOrg), "/api/v1/logs?after=1", 0).Err(); err != nil {
				t.Fatal(err)
			}
			f.log.add(tt.page)

			_, err := f.poller.poll(context.Background())

			if err == nil {
				t.Fatal("poll succeeded, want an error")
			}
			if got := f.storedCursor(t); got != "/api/v1/logs?after=1" {
				t.Errorf("stored cursor = %q, want it unchanged", got)
			}
		})
	}
}

func TestPoll_LostLeaseKeepsCursor(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	f.takeLease(t)
	if err := f.rdb.Set(context.Background(), LeaseKey, "replica-b", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	f.log.add(page("/api/v1/logs?after=1", removalEvent("e1", "00gGROUPA", testStart)))

	res, err := f.poller.poll(context.Background())

	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if res.outcome != outcomeLeaseLost {
		t.Errorf("outcome = %s, want lease_lost", res.outcome)
	}
	if got := f.storedCursor(t); got != "" {
		t.Errorf("stored cursor = %q, want none written without the lease", got)
	}
}

func TestPoll_StopsWhenRateLimitIsLow(t *testing.T) {
	f := newFixture(t, Config{Interval: 10 * time.Second, RateLimitReserve: 10}, nil)
	f.takeLease(t)
	low := page("/api/v1/logs?after=1", removalEvent("e1", "00gGROUPA", testStart))
	low.page.RateLimit = oktaapi.RateLimit{Known: true, Limit: 120, Remaining: 10, Reset: testStart.Add(40 * time.Second)}
	f.log.add(low, page("/api/v1/logs?after=2", removalEvent("e2", "00gGROUPA", testStart)))

	f.poller.pollAndSchedule(context.Background())

	if n := len(f.log.requested()); n != 1 {
		t.Errorf("%d requests, want 1: the poll must stop at the low rate limit", n)
	}
	if want := testStart.Add(40 * time.Second); !f.poller.nextPoll.Equal(want) {
		t.Errorf("next poll at %s, want the rate-limit reset %s", f.poller.nextPoll, want)
	}
	if got := testutil.ToFloat64(f.poller.metrics.polls.WithLabelValues("rate_limited")); got != 1 {
		t.Errorf("rate_limited polls = %v, want 1", got)
	}
}

func TestRateLimitPause(t *testing.T) {
	now := testStart
	tests := []struct {
		name string
		rl   oktaapi.RateLimit
		want time.Duration
	}{
		{"unknown", oktaapi.RateLimit{}, 0},
		{"plenty left", oktaapi.RateLimit{Known: true, Remaining: 11, Reset: now.Add(30 * time.Second)}, 0},
		{"at the reserve", oktaapi.RateLimit{Known: true, Remaining: 10, Reset: now.Add(30 * time.Second)}, 30 * time.Second},
		{"reset passed", oktaapi.RateLimit{Known: true, Remaining: 0, Reset: now.Add(-5 * time.Second)}, time.Second},
		{"reset far away", oktaapi.RateLimit{Known: true, Remaining: 0, Reset: now.Add(time.Hour)}, time.Minute},
		{"reset unknown", oktaapi.RateLimit{Known: true, Remaining: 0}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RateLimitPause(tt.rl, now, 10); got != tt.want {
				t.Errorf("RateLimitPause = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPoll_CountsMissedAndTooOldRemovals(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	f.takeLease(t)
	hookEvents := burstEvents("hook", "00gGROUPA", 2, testStart.Add(-time.Minute))
	for _, raw := range hookEvents {
		recordRaw(t, f, raw, alert.SourceHook)
	}
	lost := removalEvent("lost", "00gGROUPA", testStart.Add(-30*time.Second))
	ancient := removalEvent("ancient", "00gGROUPA", testStart.Add(-48*time.Hour))
	f.log.add(page("/api/v1/logs?after=4", append(hookEvents, lost, ancient, lost)...))

	f.poller.pollAndSchedule(context.Background())

	if got := testutil.ToFloat64(f.poller.metrics.missed); got != 1 {
		t.Errorf("missed by hook = %v, want 1", got)
	}
	if got := testutil.ToFloat64(f.poller.metrics.tooOld); got != 1 {
		t.Errorf("too old = %v, want 1", got)
	}
	missedLogs := f.logs.FilterMessage("removal missed by the event hook").All()
	if len(missedLogs) != 1 || missedLogs[0].ContextMap()["event_uuid"] != "lost" ||
		missedLogs[0].ContextMap()["group_id"] != "00gGROUPA" {
		t.Errorf("missed-removal log lines = %v, want one for event lost of group 00gGROUPA", missedLogs)
	}
	if got := testutil.ToFloat64(f.poller.metrics.polls.WithLabelValues("caught_up")); got != 1 {
		t.Errorf("caught_up polls = %v, want 1", got)
	}
}

func TestPoll_SkipsOtherEventsAndLogsMalformedOnes(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	f.takeLease(t)
	other := []byte(`{"uuid":"add-1","eventType":"group.user_membership.add","published":"2026-03-02T09:59:00.000Z"}`)
	malformed := []byte(`{"uuid":"bad-1","eventType":"group.user_membership.remove","published":"yesterday"}`)
	f.log.add(page("/api/v1/logs?after=3", other, malformed, removalEvent("good-1", "00gGROUPA", testStart)))

	res, err := f.poller.poll(context.Background())

	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if res.missed != 1 {
		t.Errorf("missed = %d, want only the valid removal", res.missed)
	}
	skipped := f.logs.FilterMessage("skipped malformed system log event").All()
	if len(skipped) != 1 || skipped[0].ContextMap()["event_uuid"] != "bad-1" {
		t.Errorf("malformed-event log lines = %v, want one for bad-1", skipped)
	}
}

func TestPoll_CapsMissedRemovalLogLines(t *testing.T) {
	f := newFixture(t, Config{}, nil)
	f.takeLease(t)
	f.log.add(page("/api/v1/logs?after=80", burstEvents("many", "00gGROUPA", 80, testStart.Add(-10*time.Minute))...))

	if _, err := f.poller.poll(context.Background()); err != nil {
		t.Fatalf("poll: %v", err)
	}

	if n := f.logs.FilterMessage("removal missed by the event hook").Len(); n != maxLoggedPerPage {
		t.Errorf("%d missed-removal lines, want %d", n, maxLoggedPerPage)
	}
	summary := f.logs.FilterMessage("more removals missed by the event hook on this page").All()
	if len(summary) != 1 || summary[0].ContextMap()["count"] != int64(30) {
		t.Errorf("summary lines = %v, want one with count 30", summary)
	}
}

func recordRaw(t *testing.T, f *fixture, raw []byte, source alert.Source) {
	t.Helper()
	r, skip := okta.ParseEvent(raw)
	if skip != nil {
		t.Fatalf("test event skipped: %+v", skip)
	}
	if _, err := f.detector.Record(context.Background(), []okta.Removal{r}, source); err != nil {
		t.Fatalf("record: %v", err)
	}
}
