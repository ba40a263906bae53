package oktatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	defaultLogsLimit = 100
	maxLogsLimit     = 1000
	// logsRateLimit is the per-minute limit the fake reports in its
	// X-Rate-Limit-* headers. It never enforces it: use InjectRateLimit.
	logsRateLimit = 120
	// defaultSince is how far back Okta searches without a since parameter.
	defaultSince = 7 * 24 * time.Hour
)

// logEntry is one stored System Log event.
type logEntry struct {
	raw       json.RawMessage
	eventType string
	published time.Time
}

// rateWindow counts System Log requests in the current minute.
type rateWindow struct {
	start time.Time
	used  int
}

// logsQuery is a parsed /api/v1/logs request.
type logsQuery struct {
	after        int
	since, until time.Time
	eventTypes   []string
	limit        int
	params       url.Values
}

// AddLogEvents appends events to the System Log. Each must be a JSON object
// with eventType and an RFC 3339 published time. The log keeps the order in
// which events are added, so a test adds them oldest first. An event added
// later appears after every existing next link, as Okta's late events do.
func (s *Server) AddLogEvents(events ...json.RawMessage) {
	s.tb.Helper()
	entries := make([]logEntry, 0, len(events))
	for i, raw := range events {
		var fields struct {
			EventType string    `json:"eventType"`
			Published time.Time `json:"published"`
		}
		if err := json.Unmarshal(raw, &fields); err != nil || fields.EventType == "" || fields.Published.IsZero() {
			s.tb.Fatalf("oktatest: System Log event %d needs eventType and an RFC 3339 published time: %s", i, raw)
		}
		entries = append(entries, logEntry{raw: raw, eventType: fields.EventType, published: fields.Published})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, entries...)
}

func (s *Server) listLogs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	q, err := parseLogsQuery(r.URL.Query(), now)
	if err != nil {
		validationError(w, "logs", err.Error())
		return
	}

	s.mu.Lock()
	events, nextAfter, full := s.selectLogsLocked(q)
	s.setRateHeadersLocked(w.Header(), now)
	s.mu.Unlock()

	w.Header().Add("Link", fmt.Sprintf("<%s>; rel=\"self\"", s.URL+r.URL.RequestURI()))
	// Without until, Okta always sends a next link so that a poller can
	// come back for newer events. With until it stops when nothing is left.
	if q.until.IsZero() || full {
		next := url.Values{}
		for key, values := range q.params {
			next[key] = values
		}
		next.Set("after", strconv.Itoa(nextAfter))
		w.Header().Add("Link", fmt.Sprintf("<%s/api/v1/logs?%s>; rel=\"next\"", s.URL, next.Encode()))
	}
	writeJSON(w, http.StatusOK, events)
}

// selectLogsLocked returns the matching events from position q.after on, the
// position after the last event examined, and whether the page is full.
func (s *Server) selectLogsLocked(q logsQuery) ([]json.RawMessage, int, bool) {
	events := []json.RawMessage{}
	pos := min(q.after, len(s.logs))
	for ; pos < len(s.logs) && len(events) < q.limit; pos++ {
		entry := s.logs[pos]
		if entry.published.Before(q.since) || (!q.until.IsZero() && !entry.published.Before(q.until)) {
			continue
		}
		if q.eventTypes != nil && !slices.Contains(q.eventTypes, entry.eventType) {
			continue
		}
		events = append(events, entry.raw)
	}
	return events, pos, len(events) == q.limit
}

func (s *Server) setRateHeadersLocked(h http.Header, now time.Time) {
	if now.Sub(s.rateLimit.start) >= time.Minute {
		s.rateLimit = rateWindow{start: now}
	}
	s.rateLimit.used++
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(logsRateLimit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(max(0, logsRateLimit-s.rateLimit.used)))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(s.rateLimit.start.Add(time.Minute).Unix(), 10))
}

func parseLogsQuery(params url.Values, now time.Time) (logsQuery, error) {
	q := logsQuery{since: now.Add(-defaultSince), limit: defaultLogsLimit, params: url.Values{}}
	var err error
	for key, values := range params {
		if key != "after" {
			q.params[key] = values
		}
	}
	if value := params.Get("after"); value != "" {
		if q.after, err = strconv.Atoi(value); err != nil || q.after < 0 {
			return q, fmt.Errorf("after: %q is not a cursor from a next link", value)
		}
	}
	if q.since, err = parseTime(params.Get("since"), q.since); err != nil {
		return q, fmt.Errorf("since: %w", err)
	}
	if q.until, err = parseTime(params.Get("until"), time.Time{}); err != nil {
		return q, fmt.Errorf("until: %w", err)
	}
	if value := params.Get("limit"); value != "" {
		if q.limit, err = strconv.Atoi(value); err != nil || q.limit < 1 || q.limit > maxLogsLimit {
			return q, fmt.Errorf("limit: %q is not between 1 and %d", value, maxLogsLimit)
		}
	}
	if order := params.Get("sortOrder"); order != "" && order != "ASCENDING" {
		return q, fmt.Errorf("sortOrder: the fake supports only ASCENDING, got %q", order)
	}
	if filter := params.Get("filter"); filter != "" {
		if q.eventTypes, err = parseEventTypeFilter(filter); err != nil {
			return q, fmt.Errorf("filter %q: %w", filter, err)
		}
	}
	return q, nil
}

func parseTime(value string, fallback time.Time) (time.Time, error) {
	if value == "" {
		return fallback, nil
	}
	t, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", value)
	}
	return t, nil
}

// parseEventTypeFilter accepts the SCIM filters that select event types:
// eventType eq "a" or eventType eq "b". Okta accepts far more; the fake
// rejects the rest so that a test notices an unexpected filter.
func parseEventTypeFilter(filter string) ([]string, error) {
	var types []string
	rest := strings.TrimSpace(filter)
	for {
		after, ok := strings.CutPrefix(rest, "eventType eq ")
		if !ok {
			return nil, errors.New(`expected eventType eq "..."`)
		}
		literal, remaining, err := cutStringLiteral(strings.TrimSpace(after))
		if err != nil {
			return nil, err
		}
		types = append(types, literal)
		rest = strings.TrimSpace(remaining)
		if rest == "" {
			return types, nil
		}
		if rest, ok = strings.CutPrefix(rest, "or "); !ok {
			return nil, fmt.Errorf("expected or between terms, got %q", rest)
		}
	}
}

// cutStringLiteral decodes the JSON string literal at the start of s.
func cutStringLiteral(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", errors.New("expected a quoted event type")
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			var value string
			if err := json.Unmarshal([]byte(s[:i+1]), &value); err != nil {
				return "", "", fmt.Errorf("invalid string literal %s: %w", s[:i+1], err)
			}
			return value, s[i+1:], nil
		}
	}
	return "", "", errors.New("unterminated string literal")
}
