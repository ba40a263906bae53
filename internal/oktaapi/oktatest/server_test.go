package oktatest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const testToken = "test-token-not-real"

// call sends a request to the fake and decodes the JSON response into out.
func call(t *testing.T, s *Server, method, path, token, body string, out any) *http.Response {
	t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, reader)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	req.Header.Set("Authorization", "SSWS "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("decode %s %s response: %v", method, path, err)
		}
	}
	return resp
}

func hookBody(uri, secret string) string {
	return fmt.Sprintf(`{"name":"oktawatch","events":{"type":"EVENT_TYPE","items":["group.user_membership.remove"]},`+
		`"channel":{"type":"HTTP","version":"1.0.0","config":{"uri":%q,"headers":[],`+
		`"authScheme":{"type":"HEADER","key":"X-Test-Auth","value":%q}}}}`, uri, secret)
}

func TestServer_RejectsWrongToken(t *testing.T) {
	s := New(t, testToken)
	var body errorBody

	resp := call(t, s, http.MethodGet, "/api/v1/eventHooks", "test-wrong-token", "", &body)

	if resp.StatusCode != http.StatusUnauthorized || body.ErrorCode != "E0000011" || body.ErrorSummary == "" {
		t.Errorf("response = %d %+v, want 401 with E0000011", resp.StatusCode, body)
	}
}

func TestServer_CreateAnswersWithoutSecret(t *testing.T) {
	s := New(t, testToken)
	var created map[string]any

	resp := call(t, s, http.MethodPost, "/api/v1/eventHooks", testToken,
		hookBody("https://oktawatch.example.com/okta/events", "test-secret-not-real"), &created)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if created["status"] != "ACTIVE" || created["verificationStatus"] != "UNVERIFIED" {
		t.Errorf("status, verification = %v, %v; want ACTIVE, UNVERIFIED", created["status"], created["verificationStatus"])
	}
	raw, _ := json.Marshal(created)
	if strings.Contains(string(raw), "test-secret-not-real") {
		t.Errorf("response echoes the auth secret: %s", raw)
	}
}

func TestServer_CreateValidatesBody(t *testing.T) {
	s := New(t, testToken)
	body := strings.Replace(hookBody("https://oktawatch.example.com/okta/events", ""), `"value":""`, `"value":null`, 1)
	var got errorBody

	resp := call(t, s, http.MethodPost, "/api/v1/eventHooks", testToken, body, &got)

	if resp.StatusCode != http.StatusBadRequest || got.ErrorCode != "E0000001" || len(got.ErrorCauses) != 1 {
		t.Errorf("response = %d %+v, want 400 E0000001 with one cause", resp.StatusCode, got)
	}
}

func TestServer_VerifyContactsOnlyLoopback(t *testing.T) {
	s := New(t, testToken)
	id := s.AddHook(Hook{Name: "oktawatch", URI: "https://oktawatch.example.com/okta/events",
		EventTypes: []string{"group.user_membership.remove"}, AuthHeader: "X-Test-Auth", AuthSecret: "test-secret-not-real"})
	var got errorBody

	resp := call(t, s, http.MethodPost, "/api/v1/eventHooks/"+id+"/lifecycle/verify", testToken, "", &got)

	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(got.ErrorCauses[0].ErrorSummary, "only loopback") {
		t.Errorf("response = %d %+v, want 400 naming the loopback rule", resp.StatusCode, got)
	}
	if hook, _ := s.Hook(id); hook.VerificationStatus != "UNVERIFIED" {
		t.Errorf("verification = %s, want UNVERIFIED", hook.VerificationStatus)
	}
}

func TestServer_VerifySendsChallengeAndAuthHeader(t *testing.T) {
	s := New(t, testToken)
	receiver := NewReceiver(t, "X-Test-Auth", "test-secret-not-real")
	id := s.AddHook(Hook{Name: "oktawatch", URI: receiver.URL, EventTypes: []string{"group.user_membership.remove"},
		AuthHeader: "X-Test-Auth", AuthSecret: "test-secret-not-real"})
	var got hookJSON

	resp := call(t, s, http.MethodPost, "/api/v1/eventHooks/"+id+"/lifecycle/verify", testToken, "", &got)

	if resp.StatusCode != http.StatusOK || got.VerificationStatus != "VERIFIED" {
		t.Errorf("response = %d %+v, want 200 VERIFIED", resp.StatusCode, got)
	}
	if receiver.Challenges() != 1 {
		t.Errorf("receiver echoed %d challenges, want 1", receiver.Challenges())
	}
}

func TestServer_DeleteRequiresInactive(t *testing.T) {
	s := New(t, testToken)
	id := s.AddHook(Hook{Name: "oktawatch", URI: "https://a.example/okta/events", EventTypes: []string{"x.y"}})

	resp := call(t, s, http.MethodDelete, "/api/v1/eventHooks/"+id, testToken, "", nil)

	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", resp.StatusCode)
	}
	if _, ok := s.Hook(id); !ok {
		t.Error("active hook was deleted")
	}
}

func TestServer_LogsWithUntilEndsPaging(t *testing.T) {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s := New(t, testToken)
	s.AddLogEvents(
		json.RawMessage(`{"uuid":"a","eventType":"x.y","published":"2026-03-02T09:00:00.000Z"}`),
		json.RawMessage(`{"uuid":"b","eventType":"x.y","published":"2026-03-02T09:30:00.000Z"}`),
	)
	query := url.Values{"since": {start.Add(-2 * time.Hour).Format(time.RFC3339)},
		"until": {start.Format(time.RFC3339)}, "limit": {"5"}}
	var events []json.RawMessage

	resp := call(t, s, http.MethodGet, "/api/v1/logs?"+query.Encode(), testToken, "", &events)

	if len(events) != 2 {
		t.Errorf("got %d events, want 2", len(events))
	}
	for _, link := range resp.Header.Values("Link") {
		if strings.Contains(link, `rel="next"`) {
			t.Errorf("Link %q: want no next link once a query with until is exhausted", link)
		}
	}
}

func TestParseEventTypeFilter(t *testing.T) {
	tests := []struct {
		filter  string
		want    []string
		wantErr bool
	}{
		{`eventType eq "a.b"`, []string{"a.b"}, false},
		{`eventType eq "a.b" or eventType eq "c.d"`, []string{"a.b", "c.d"}, false},
		{`eventType eq "a \"or\" b"`, []string{`a "or" b`}, false},
		{`eventType sw "a"`, nil, true},
		{`eventType eq "a" and eventType eq "b"`, nil, true},
		{`eventType eq "a`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			got, err := parseEventTypeFilter(tt.filter)

			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("types = %q, want %q", got, tt.want)
			}
		})
	}
}
