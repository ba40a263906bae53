package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/oktaapi"
	"github.com/oktawatch/oktawatch/internal/oktaapi/oktatest"
)

const testToken = "test-token-not-real"

func logEvent(uuid, eventType string, published time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"uuid":%q,"eventType":%q,"published":%q,"outcome":{"result":"SUCCESS"}}`,
		uuid, eventType, published.UTC().Format(time.RFC3339Nano)))
}

func TestFetchEvents_ReadsAllPages(t *testing.T) {
	until := time.Now().UTC().Truncate(time.Second)
	since := until.Add(-24 * time.Hour)
	fake := oktatest.New(t, testToken)
	fake.AddLogEvents(logEvent("before", "group.user_membership.remove", since.Add(-time.Minute)))
	for i := range 1100 {
		fake.AddLogEvents(logEvent(fmt.Sprintf("in-%04d", i), "group.user_membership.remove", since.Add(time.Duration(i)*time.Second)))
	}
	fake.AddLogEvents(
		logEvent("other-type", "group.user_membership.add", since.Add(time.Hour)),
		logEvent("after", "group.user_membership.remove", until.Add(time.Second)),
	)
	client, err := oktaapi.NewClient(fake.URL, testToken, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pageSizes []int

	events, err := FetchEvents(context.Background(), client, since, until, FetchOptions{
		OnPage: func(n int) { pageSizes = append(pageSizes, n) },
	})

	if err != nil {
		t.Fatalf("FetchEvents: %v", err)
	}
	if len(events) != 1100 {
		t.Fatalf("%d events, want the 1100 removals between since and until", len(events))
	}
	if first, last := string(events[0]), string(events[1099]); !strings.Contains(first, `"in-0000"`) || !strings.Contains(last, `"in-1099"`) {
		t.Errorf("first and last events = %s and %s, want in-0000 and in-1099", first, last)
	}
	if fmt.Sprint(pageSizes) != "[1000 100]" {
		t.Errorf("page sizes = %v, want [1000 100]: the read must end when Okta sends no next link", pageSizes)
	}
}

// pagedLog returns the given pages in order, then empty pages.
type pagedLog struct {
	pages []oktaapi.LogPage
	err   error
	urls  []string
}

func (p *pagedLog) Logs(_ context.Context, pageURL string) (oktaapi.LogPage, error) {
	p.urls = append(p.urls, pageURL)
	if p.err != nil {
		return oktaapi.LogPage{}, p.err
	}
	if len(p.pages) == 0 {
		return oktaapi.LogPage{Next: pageURL}, nil
	}
	next := p.pages[0]
	p.pages = p.pages[1:]
	return next, nil
}

func TestFetchEvents_WaitsWhenRateLimitIsLow(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	reader := &pagedLog{pages: []oktaapi.LogPage{{
		Events:    []json.RawMessage{logEvent("a", "group.user_membership.remove", now)},
		Next:      "/api/v1/logs?after=1",
		RateLimit: oktaapi.RateLimit{Known: true, Limit: 120, Remaining: 3, Reset: now.Add(25 * time.Second)},
	}}}
	var slept, announced []time.Duration

	events, err := FetchEvents(context.Background(), reader, now.Add(-time.Hour), now, FetchOptions{
		Now:             func() time.Time { return now },
		Sleep:           func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
		OnRateLimitWait: func(d time.Duration) { announced = append(announced, d) },
	})

	if err != nil || len(events) != 1 {
		t.Fatalf("FetchEvents = %d events, %v; want 1", len(events), err)
	}
	if fmt.Sprint(slept) != "[25s]" || fmt.Sprint(announced) != "[25s]" {
		t.Errorf("slept %v and announced %v, want one 25s wait for the reset", slept, announced)
	}
	if !strings.Contains(reader.urls[0], "&until=2026-03-02T10%3A00%3A00.000Z") || reader.urls[1] != "/api/v1/logs?after=1" {
		t.Errorf("requested %v, want an until on the first URL and then the next link", reader.urls)
	}
}

func TestFetchEvents_ReturnsOktaError(t *testing.T) {
	reader := &pagedLog{err: &oktaapi.APIError{Method: "GET", Path: "/api/v1/logs", Status: 403, Hint: "needs a better token"}}

	_, err := FetchEvents(context.Background(), reader, time.Now().Add(-time.Hour), time.Now(), FetchOptions{})

	if err == nil || !strings.Contains(err.Error(), "fetch System Log page 1") || !strings.Contains(err.Error(), "403") {
		t.Errorf("error = %v, want the page number and Okta's status", err)
	}
}
