package oktaapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Hints that APIError adds for the failures an operator can fix.
const (
	HintUnauthorized = "check " + tokenVariable + ": the token is invalid or expired"
	HintForbidden    = "the token's admin lacks permission to manage event hooks " +
		"(needs okta.eventHooks.manage or a super admin token)"
	HintLogsForbidden = "the token's admin may not read the System Log " +
		"(needs okta.logs.read or a read-only admin token)"
	HintHookLimit   = "an org allows at most 25 event hooks: remove an unused one"
	HintRateLimited = "Okta still returned 429 after several waits: try again in a minute"
)

// ErrNotFound matches an *APIError with status 404 in errors.Is.
var ErrNotFound = errors.New("okta api: not found")

// APIError is a non-2xx response from Okta.
type APIError struct {
	Method string
	// Path is the request path without the query.
	Path   string
	Status int
	// Code and Summary are Okta's errorCode and errorSummary, empty when the
	// body was not an Okta error.
	Code    string
	Summary string
	// Causes lists the errorSummary of each errorCauses entry.
	Causes []string
	// Hint is the operator's next step, or empty.
	Hint string
}

// Error formats the status, Okta's summary and causes, and the hint.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "okta api: %s %s returned %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Summary != "" {
		fmt.Fprintf(&b, " %q", e.Summary)
	}
	if len(e.Causes) > 0 {
		fmt.Fprintf(&b, " (causes: %s)", strings.Join(e.Causes, "; "))
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, ": %s", e.Hint)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// IsHookLimit reports whether Okta rejected the request because the org has
// the maximum number of event hooks.
func (e *APIError) IsHookLimit() bool {
	if e.Status != http.StatusBadRequest && e.Status != http.StatusForbidden {
		return false
	}
	for _, text := range append([]string{e.Summary}, e.Causes...) {
		lower := strings.ToLower(text)
		if strings.Contains(lower, "limit") || strings.Contains(lower, "maximum") {
			return true
		}
	}
	return false
}

// oktaErrorBody is the JSON body of an Okta error response.
type oktaErrorBody struct {
	ErrorCode    string `json:"errorCode"`
	ErrorSummary string `json:"errorSummary"`
	ErrorCauses  []struct {
		ErrorSummary string `json:"errorSummary"`
	} `json:"errorCauses"`
}

// newAPIError builds the error for a non-2xx response. Texts from the body
// are cleaned of the token, in case a proxy or a hostile server echoes it.
func newAPIError(r request, resp *http.Response, body []byte, token Secret) *APIError {
	e := &APIError{Method: r.method, Path: r.label(), Status: resp.StatusCode}

	var parsed oktaErrorBody
	if json.Unmarshal(body, &parsed) == nil && (parsed.ErrorCode != "" || parsed.ErrorSummary != "") {
		e.Code = cleanText(parsed.ErrorCode, token)
		e.Summary = cleanText(parsed.ErrorSummary, token)
		for _, cause := range parsed.ErrorCauses {
			if cause.ErrorSummary != "" {
				e.Causes = append(e.Causes, cleanText(cause.ErrorSummary, token))
			}
		}
	} else {
		e.Summary = http.StatusText(resp.StatusCode)
	}

	e.Hint = hintFor(e)
	return e
}

func hintFor(e *APIError) string {
	switch {
	case e.IsHookLimit():
		return HintHookLimit
	case e.Status == http.StatusUnauthorized:
		return HintUnauthorized
	case e.Status == http.StatusForbidden && strings.HasPrefix(e.Path, logsPath):
		return HintLogsForbidden
	case e.Status == http.StatusForbidden:
		return HintForbidden
	case e.Status == http.StatusTooManyRequests:
		return HintRateLimited
	}
	return ""
}

// cleanText redacts the token and bounds the length of a server-provided text.
func cleanText(text string, token Secret) string {
	const maxLen = 500
	if token != "" {
		text = strings.ReplaceAll(text, string(token), "[redacted]")
	}
	if len(text) > maxLen {
		cut := maxLen
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "..."
	}
	return text
}
