package oktaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/oktaapi/oktatest"
)

const removeType = "group.user_membership.remove"

func logEvent(uuid, eventType string, published time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"uuid":%q,"eventType":%q,"published":%q,"outcome":{"result":"SUCCESS"}}`,
		uuid, eventType, published.Format(time.RFC3339Nano)))
}

func eventUUIDs(t *testing.T, events []json.RawMessage) []string {
	t.Helper()
	uuids := make([]string, len(events))
	for i, raw := range events {
		var event struct{ UUID string }
		if err := json.Unmarshal(raw, &event); err != nil {
			t.Fatalf("decode event %d: %v", i, err)
		}
		uuids[i] = event.UUID
	}
	return uuids
}

func TestFirstLogsURL(t *testing.T) {
	since := time.Date(2026, 3, 2, 11, 0, 0, 250e6, time.FixedZone("CET", 3600))
	tests := []struct {
		name       string
		eventTypes []string
		limit      int
		want       string
	}{
		{"one type", []string{removeType}, 500,
			"/api/v1/logs?since=2026-03-02T10%3A00%3A00.250Z&filter=eventType%20eq%20%22group.user_membership.remove%22" +
				"&limit=500&sortOrder=ASCENDING"},
		{"two types", []string{"a.b", "c.d"}, 10,
			"/api/v1/logs?since=2026-03-02T10%3A00%3A00.250Z&filter=eventType%20eq%20%22a.b%22%20or%20eventType%20eq%20%22c.d%22" +
				"&limit=10&sortOrder=ASCENDING"},
		{"limit above maximum", nil, 5000, "/api/v1/logs?since=2026-03-02T10%3A00%3A00.250Z&limit=1000&sortOrder=ASCENDING"},
		{"no limit", nil, 0, "/api/v1/logs?since=2026-03-02T10%3A00%3A00.250Z&sortOrder=ASCENDING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FirstLogsURL(since, tt.eventTypes, tt.limit)

			if got != tt.want {
				t.Errorf("FirstLogsURL =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestFirstLogsURL_FilterDecodes(t *testing.T) {
	got := FirstLogsURL(testStart, []string{removeType, `odd"type`}, 100)

	u, err := url.Parse(got)
	if err != nil {
		t.Fatalf("parse %q: %v", got, err)
	}
	want := `eventType eq "group.user_membership.remove" or eventType eq "odd\"type"`
	if filter := u.Query().Get("filter"); filter != want {
		t.Errorf("filter = %s, want %s", filter, want)
	}
}

func TestClient_LogsFollowsNextLinks(t *testing.T) {
	okta := oktatest.New(t, testToken)
	okta.SetClock(func() time.Time { return testStart })
	okta.AddLogEvents(
		logEvent("e0", removeType, testStart.Add(-2*time.Hour)),
		logEvent("e1", removeType, testStart.Add(-50*time.Minute)),
		logEvent("e2", "group.user_membership.add", testStart.Add(-40*time.Minute)),
		logEvent("e3", removeType, testStart.Add(-30*time.Minute)),
		logEvent("e4", removeType, testStart.Add(-20*time.Minute)),
	)
	c := newTestClient(t, okta.URL, testToken)
	ctx := context.Background()

	first, err := c.Logs(ctx, FirstLogsURL(testStart.Add(-time.Hour), []string{removeType}, 2))
	if err != nil {
		t.Fatalf("first page: %v", err)
	}
	second, err := c.Logs(ctx, first.Next)
	if err != nil {
		t.Fatalf("second page: %v", err)
	}
	okta.AddLogEvents(logEvent("e5", removeType, testStart.Add(-time.Minute)))
	third, err := c.Logs(ctx, second.Next)
	if err != nil {
		t.Fatalf("third page: %v", err)
	}

	pages := [][]string{eventUUIDs(t, first.Events), eventUUIDs(t, second.Events), eventUUIDs(t, third.Events)}
	want := [][]string{{"e1", "e3"}, {"e4"}, {"e5"}}
	if fmt.Sprint(pages) != fmt.Sprint(want) {
		t.Errorf("pages = %v, want %v", pages, want)
	}
	if !strings.HasPrefix(third.Next, okta.URL+"/api/v1/logs?") {
		t.Errorf("third page next = %q, want a next link on the org even at the end of the log", third.Next)
	}
	if !first.RateLimit.Known || first.RateLimit.Limit != 120 || third.RateLimit.Remaining != first.RateLimit.Remaining-2 {
		t.Errorf("rate limits = %+v then %+v, want known and counting down", first.RateLimit, third.RateLimit)
	}
	if want := testStart.Add(time.Minute); !first.RateLimit.Reset.Equal(want) {
		t.Errorf("rate limit reset = %v, want %v", first.RateLimit.Reset, want)
	}
}

func TestClient_LogsWaitsOutRateLimit(t *testing.T) {
	okta := oktatest.New(t, testToken)
	okta.InjectRateLimit(1, testStart.Add(30*time.Second))
	c := newTestClient(t, okta.URL, testToken)

	_, err := c.Logs(context.Background(), FirstLogsURL(testStart, []string{removeType}, 10))

	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	if got := c.clock.Sleeps(); len(got) != 1 || got[0] != 30*time.Second {
		t.Errorf("sleeps = %v, want [30s]", got)
	}
}

func TestClient_LogsRejectsForeignNextLink(t *testing.T) {
	var foreignRequests atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignRequests.Add(1)
	}))
	t.Cleanup(foreign.Close)
	tests := []struct {
		name string
		next string
	}{
		{"other host", "https://attacker.example/api/v1/logs?after=1"},
		{"other port on loopback", foreign.URL + "/api/v1/logs?after=1"},
		{"user info", "http://user@" + "127.0.0.1" + "/api/v1/logs?after=1"},
		{"scheme-relative", "//attacker.example/api/v1/logs?after=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("Link", `<`+tt.next+`>; rel="next"`)
				_, _ = w.Write([]byte("[]"))
			}))
			t.Cleanup(org.Close)
			c := newTestClient(t, org.URL, testToken)

			page, err := c.Logs(context.Background(), FirstLogsURL(testStart, nil, 10))

			if err == nil {
				t.Fatalf("Logs succeeded with next %q, want an error", page.Next)
			}
			if !strings.Contains(err.Error(), "is not on the org") {
				t.Errorf("error %q does not say the link is not on the org", err)
			}
			if _, err := c.Logs(context.Background(), tt.next); err == nil {
				t.Errorf("Logs(%q) succeeded, want an error", tt.next)
			}
			if got := foreignRequests.Load(); got != 0 {
				t.Errorf("foreign server received %d requests, want 0", got)
			}
		})
	}
}

func TestClient_LogsRejectsOtherEndpoint(t *testing.T) {
	okta := oktatest.New(t, testToken)
	c := newTestClient(t, okta.URL, testToken)

	_, err := c.Logs(context.Background(), okta.URL+"/api/v1/users")

	if err == nil || !strings.Contains(err.Error(), "/api/v1/logs") {
		t.Errorf("error = %v, want one that names /api/v1/logs", err)
	}
	if got := len(okta.Requests()); got != 0 {
		t.Errorf("sent %d requests, want none", got)
	}
}

func TestNextLink(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    string
		wantErr bool
	}{
		{"separate headers", []string{`<https://o/self>; rel="self"`, `<https://o/next>; rel="next"`}, "https://o/next", false},
		{"one header with commas", []string{`<https://o/self>; rel="self", <https://o/next>; rel="next"`}, "https://o/next", false},
		{"unquoted rel", []string{`<https://o/next>;rel=next`}, "https://o/next", false},
		{"several rel values", []string{`<https://o/next>; rel="last next"`}, "https://o/next", false},
		{"quoted comma in a parameter", []string{`<https://o/a>; title="a, b"; rel="self", <https://o/n>; rel="next"`}, "https://o/n", false},
		{"upper-case rel", []string{`<https://o/next>; REL="Next"`}, "https://o/next", false},
		{"no next", []string{`<https://o/self>; rel="self"`}, "", false},
		{"no header", nil, "", false},
		{"missing bracket", []string{`https://o/next; rel="next"`}, "", true},
		{"unterminated quote", []string{`<https://o/next>; rel="next`}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, value := range tt.headers {
				h.Add("Link", value)
			}

			got, err := nextLink(h)

			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("next = %q, want %q", got, tt.want)
			}
		})
	}
}
