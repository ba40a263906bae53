package slacktest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

// send posts body to url and returns the status and responseBody.
func send(t *testing.T, method, url, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s request: %v", method, err)
	}
	defer resp.Body.Close()
	responseBody, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	return resp.StatusCode, string(responseBody)
}

func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	return send(t, http.MethodPost, url, "application/json", body)
}

func text(kind string, length int) string {
	return fmt.Sprintf(`{"type":%q,"text":%q}`, kind, strings.Repeat("é", length))
}

func section(length int) string {
	return `{"type":"section","text":` + text("mrkdwn", length) + `}`
}

func header(length int) string {
	return `{"type":"header","text":` + text("plain_text", length) + `}`
}

func repeatJSON(item string, n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = item
	}
	return strings.Join(items, ",")
}

func message(blocks ...string) string {
	return `{"text":"fallback","blocks":[` + strings.Join(blocks, ",") + `]}`
}

func TestStrictModeRejectsViolations(t *testing.T) {
	tests := []struct {
		name         string
		method       string
		contentType  string
		body         string
		status       int
		responseBody string
		violation    string
	}{
		{"invalid JSON", "", "", `{"text":`, 400, "invalid_payload", "not valid JSON"},
		{"form content type", "", "application/x-www-form-urlencoded", message(section(1)), 400, "invalid_payload", "content type"},
		{"GET request", http.MethodGet, "", message(section(1)), 405, "invalid_method", "not POST"},
		{"missing text", "", "", `{"blocks":[` + section(1) + `]}`, 400, "no_text", "text is missing"},
		{"blank text", "", "", `{"text":"  ","blocks":[]}`, 400, "no_text", "text is missing"},
		{"51 blocks", "", "", message(repeatJSON(section(1), 51)), 400, "invalid_blocks", "51 blocks, limit 50"},
		{"header of 151 characters", "", "", message(header(151)), 400, "invalid_blocks", "151 characters, limit 150"},
		{"header in mrkdwn", "", "", message(`{"type":"header","text":` + text("mrkdwn", 5) + `}`), 400, "invalid_blocks", "want plain_text"},
		{"header without text", "", "", message(`{"type":"header"}`), 400, "invalid_blocks", "text is missing"},
		{"empty header text", "", "", message(header(0)), 400, "invalid_blocks", "empty"},
		{"section text of 3001 characters", "", "", message(section(3001)), 400, "invalid_blocks", "3001 characters, limit 3000"},
		{"section without text or fields", "", "", message(`{"type":"section"}`), 400, "invalid_blocks", "neither text nor fields"},
		{"11 fields", "", "", message(`{"type":"section","fields":[` + repeatJSON(text("mrkdwn", 1), 11) + `]}`), 400, "invalid_blocks", "11 fields, limit 10"},
		{"field of 2001 characters", "", "", message(`{"type":"section","fields":[` + text("mrkdwn", 2001) + `]}`), 400, "invalid_blocks", "field 0 has 2001 characters, limit 2000"},
		{"11 context elements", "", "", message(`{"type":"context","elements":[` + repeatJSON(text("mrkdwn", 1), 11) + `]}`), 400, "invalid_blocks", "11 elements, limit 10"},
		{"empty context", "", "", message(`{"type":"context","elements":[]}`), 400, "invalid_blocks", "no elements"},
		{"unknown text type", "", "", message(`{"type":"section","text":` + text("markdown", 1) + `}`), 400, "invalid_blocks", "want plain_text or mrkdwn"},
		{"block without type", "", "", message(`{"text":` + text("mrkdwn", 1) + `}`), 400, "invalid_blocks", "type is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := slacktest.New(t)
			method, contentType := tt.method, tt.contentType
			if method == "" {
				method = http.MethodPost
			}
			if contentType == "" {
				contentType = "application/json"
			}

			status, responseBody := send(t, method, server.URL(), contentType, tt.body)

			if status != tt.status || responseBody != tt.responseBody {
				t.Errorf("response = %d %q, want %d %q", status, responseBody, tt.status, tt.responseBody)
			}
			requests := server.Requests()
			if len(requests) != 1 {
				t.Fatalf("server recorded %d requests, want 1", len(requests))
			}
			if !strings.Contains(requests[0].Violation, tt.violation) {
				t.Errorf("Violation = %q, want it to contain %q", requests[0].Violation, tt.violation)
			}
			if n := len(server.Accepted()); n != 0 {
				t.Errorf("server accepted %d requests, want 0", n)
			}
		})
	}
}

func TestStrictModeAcceptsLimits(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
	}{
		{"50 blocks", "", message(repeatJSON(section(1), 50))},
		{"header of 150 characters", "", message(header(150))},
		{"section text of 3000 characters", "", message(section(3000))},
		{"10 fields of 2000 characters", "", message(`{"type":"section","fields":[` + repeatJSON(text("mrkdwn", 2000), 10) + `]}`)},
		{"10 context elements", "", message(`{"type":"context","elements":[` + repeatJSON(text("mrkdwn", 1), 10) + `]}`)},
		{"other block types", "", message(`{"type":"divider"}`, `{"type":"actions","elements":[]}`)},
		{"JSON with charset", "application/json; charset=utf-8", message(section(1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := slacktest.New(t)
			contentType := tt.contentType
			if contentType == "" {
				contentType = "application/json"
			}

			status, responseBody := send(t, http.MethodPost, server.URL(), contentType, tt.body)

			if status != http.StatusOK || responseBody != "ok" {
				t.Errorf("response = %d %q, want 200 \"ok\"; violation: %q", status, responseBody, server.Requests()[0].Violation)
			}
		})
	}
}

func TestLaxModeAcceptsViolations(t *testing.T) {
	server := slacktest.New(t)
	server.SetStrict(false)

	status, responseBody := postJSON(t, server.URL(), message(header(500)))

	if status != http.StatusOK || responseBody != "ok" {
		t.Errorf("response = %d %q, want 200 \"ok\"", status, responseBody)
	}
	if n := len(server.Accepted()); n != 1 {
		t.Errorf("server accepted %d requests, want 1", n)
	}
}
