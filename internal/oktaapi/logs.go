package oktaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	logsPath = "/api/v1/logs"
	// MaxLogsLimit is the largest page size the System Log API accepts.
	MaxLogsLimit = 1000
)

// LogPage is one page of System Log events.
type LogPage struct {
	// Events are the raw System Log events, oldest first when the query
	// used sortOrder=ASCENDING.
	Events []json.RawMessage
	// Next is the URL of the next page from the Link header, checked to be
	// on the org. Without an until parameter Okta always sends one, so a
	// poller stores it as its cursor and requests it again later. It is
	// empty when Okta sent none.
	Next string
	// RateLimit is the rate-limit state that Okta reported with the page.
	RateLimit RateLimit
}

// RateLimit is the X-Rate-Limit-* headers of a response. Known is false when
// Okta sent no usable X-Rate-Limit-Remaining header.
type RateLimit struct {
	Known     bool
	Limit     int
	Remaining int
	// Reset is when the current rate-limit window ends, zero if unknown.
	Reset time.Time
}

// FirstLogsURL returns the path and query of the first System Log request for
// events of the given types published at or after since, oldest first. A
// limit of zero or less leaves Okta's default page size, and a limit above
// MaxLogsLimit is lowered to it.
func FirstLogsURL(since time.Time, eventTypes []string, limit int) string {
	params := []string{"since=" + queryEscape(since.UTC().Format("2006-01-02T15:04:05.000Z"))}
	if len(eventTypes) > 0 {
		params = append(params, "filter="+queryEscape(eventTypeFilter(eventTypes)))
	}
	if limit > 0 {
		params = append(params, "limit="+strconv.Itoa(min(limit, MaxLogsLimit)))
	}
	params = append(params, "sortOrder=ASCENDING")
	return logsPath + "?" + strings.Join(params, "&")
}

// eventTypeFilter builds a SCIM filter such as
// eventType eq "a" or eventType eq "b". A SCIM string literal follows JSON
// string syntax, so json.Marshal quotes each type.
func eventTypeFilter(eventTypes []string) string {
	terms := make([]string, len(eventTypes))
	for i, eventType := range eventTypes {
		quoted, _ := json.Marshal(eventType)
		terms[i] = "eventType eq " + string(quoted)
	}
	return strings.Join(terms, " or ")
}

// queryEscape escapes a query value with %20 for spaces: "+" means a space
// only in form encoding, and a SCIM filter is full of spaces.
func queryEscape(value string) string {
	return strings.ReplaceAll(url.QueryEscape(value), "+", "%20")
}

// Logs fetches one page of the System Log. pageURL is either a path from
// FirstLogsURL or a Next link from an earlier page. Absolute URLs must be on
// the org, so that a hostile response cannot send the token to another host.
func (c *Client) Logs(ctx context.Context, pageURL string) (LogPage, error) {
	target, err := c.checkLogsURL(pageURL)
	if err != nil {
		return LogPage{}, err
	}

	resp, err := c.call(ctx, request{method: http.MethodGet, target: target, idempotent: true}, nil)
	if err != nil {
		return LogPage{}, err
	}

	var page LogPage
	if err := json.Unmarshal(resp.body, &page.Events); err != nil {
		return LogPage{}, fmt.Errorf("okta api: decode System Log page: %w", err)
	}
	next, err := nextLink(resp.header)
	if err != nil {
		return LogPage{}, fmt.Errorf("okta api: System Log page: %w", err)
	}
	if next != "" {
		if page.Next, err = c.checkLogsURL(next); err != nil {
			return LogPage{}, fmt.Errorf("okta api: System Log next link: %w", err)
		}
	}
	page.RateLimit = parseRateLimit(resp.header)
	return page, nil
}

// checkLogsURL resolves pageURL against the org and rejects a URL on another
// scheme, host or port, with user info, or outside the System Log endpoint.
func (c *Client) checkLogsURL(pageURL string) (string, error) {
	u, err := url.Parse(pageURL)
	if err != nil {
		return "", fmt.Errorf("okta api: System Log URL %q is invalid: %w", pageURL, err)
	}
	resolved := c.base.ResolveReference(u)
	if !sameOrigin(resolved, c.base) || u.User != nil {
		return "", fmt.Errorf("okta api: System Log URL %q is not on the org %s: "+
			"start again from FirstLogsURL and check that %s is right", pageURL, c.base, orgURLVariable)
	}
	if resolved.Path != logsPath {
		return "", fmt.Errorf("okta api: System Log URL %q has path %q, want %s", pageURL, resolved.Path, logsPath)
	}
	return resolved.String(), nil
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if port := u.Port(); port != "" {
		return port
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

func parseRateLimit(h http.Header) RateLimit {
	var rl RateLimit
	remaining, err := strconv.Atoi(h.Get("X-Rate-Limit-Remaining"))
	if err != nil {
		return rl
	}
	rl.Known, rl.Remaining = true, remaining
	rl.Limit, _ = strconv.Atoi(h.Get("X-Rate-Limit-Limit"))
	if reset, ok := parseUnixSeconds(h.Get("X-Rate-Limit-Reset")); ok {
		rl.Reset = reset
	}
	return rl
}
