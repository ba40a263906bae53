package oktaapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/oktaapi/oktatest"
)

func TestNewClient_RejectsInvalidOrgURL(t *testing.T) {
	tests := []struct {
		name   string
		orgURL string
	}{
		{"empty", ""},
		{"no scheme", "example.okta.com"},
		{"plain http on a public host", "http://example.okta.com"},
		{"path", "https://example.okta.com/api/v1"},
		{"query", "https://example.okta.com/?a=b"},
		{"user info", "https://admin@example.okta.com"},
		{"other scheme", "ftp://example.okta.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(tt.orgURL, testToken, nil, nil)

			if err == nil {
				t.Fatalf("NewClient(%q) succeeded, want an error", tt.orgURL)
			}
			if !strings.Contains(err.Error(), "OKTAWATCH_OKTA_ORG_URL") {
				t.Errorf("error %q does not name OKTAWATCH_OKTA_ORG_URL", err)
			}
			if !strings.Contains(err.Error(), "https://example.okta.com") {
				t.Errorf("error %q does not show a valid example", err)
			}
		})
	}
}

func TestNewClient_AcceptsOrgURL(t *testing.T) {
	for _, orgURL := range []string{
		"https://example.okta.com",
		"https://example.okta.com/",
		"http://127.0.0.1:8080",
		"http://localhost:9000",
		"http://[::1]:9000",
	} {
		if _, err := NewClient(orgURL, testToken, nil, nil); err != nil {
			t.Errorf("NewClient(%q): %v", orgURL, err)
		}
	}
}

func TestNewClient_RejectsInvalidToken(t *testing.T) {
	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"scheme included", "SSWS " + testToken},
		{"trailing newline", testToken + "\n"},
		{"inner space", testToken + " x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient("https://example.okta.com", tt.token, nil, nil)

			if err == nil {
				t.Fatal("NewClient succeeded, want an error")
			}
			if !strings.Contains(err.Error(), "OKTAWATCH_OKTA_API_TOKEN") {
				t.Errorf("error %q does not name OKTAWATCH_OKTA_API_TOKEN", err)
			}
			assertNoSecrets(t, "error", err.Error())
		})
	}
}

func TestClient_WrongTokenGivesUnauthorizedHint(t *testing.T) {
	okta := oktatest.New(t, "test-other-token-not-real")
	c := newTestClient(t, okta.URL, testToken)

	_, err := c.ListEventHooks(context.Background())

	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want *APIError", err)
	}
	if apiErr.Status != http.StatusUnauthorized || apiErr.Code != "E0000011" {
		t.Errorf("status, code = %d, %q; want 401, E0000011", apiErr.Status, apiErr.Code)
	}
	if apiErr.Hint != HintUnauthorized {
		t.Errorf("hint = %q, want %q", apiErr.Hint, HintUnauthorized)
	}
	if !strings.Contains(err.Error(), "OKTAWATCH_OKTA_API_TOKEN") {
		t.Errorf("error %q does not name OKTAWATCH_OKTA_API_TOKEN", err)
	}
	assertNoSecrets(t, "error", err.Error())
}

func TestClient_ForbiddenGivesPermissionHint(t *testing.T) {
	okta := oktatest.New(t, testToken)
	okta.InjectForbidden(1)
	c := newTestClient(t, okta.URL, testToken)

	_, err := c.ListEventHooks(context.Background())

	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want *APIError", err)
	}
	if apiErr.Hint != HintForbidden {
		t.Errorf("hint = %q, want %q", apiErr.Hint, HintForbidden)
	}
}

func TestClient_ForbiddenLogsGiveReadHint(t *testing.T) {
	okta := oktatest.New(t, testToken)
	okta.InjectForbidden(1)
	c := newTestClient(t, okta.URL, testToken)

	_, err := c.Logs(context.Background(), FirstLogsURL(testStart, DefaultEventTypes(), 10))

	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want *APIError", err)
	}
	if apiErr.Hint != HintLogsForbidden {
		t.Errorf("hint = %q, want %q", apiErr.Hint, HintLogsForbidden)
	}
}

func TestClient_RateLimitWaitsUntilReset(t *testing.T) {
	okta := oktatest.New(t, testToken)
	okta.InjectRateLimit(1, testStart.Add(7*time.Second))
	c := newTestClient(t, okta.URL, testToken)

	hooks, err := c.ListEventHooks(context.Background())

	if err != nil {
		t.Fatalf("ListEventHooks: %v", err)
	}
	if len(hooks) != 0 {
		t.Errorf("hooks = %v, want none", hooks)
	}
	if got, want := c.clock.Sleeps(), []time.Duration{7 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("sleeps = %v, want %v", got, want)
	}
	if got := okta.Count(http.MethodGet, "/api/v1/eventHooks"); got != 2 {
		t.Errorf("GET /api/v1/eventHooks sent %d times, want 2", got)
	}
}

func TestClient_RateLimitWaitIsBounded(t *testing.T) {
	tests := []struct {
		name   string
		inject func(*oktatest.Server)
		want   time.Duration
	}{
		{"reset far ahead is capped", func(s *oktatest.Server) { s.InjectRateLimit(1, testStart.Add(10*time.Minute)) }, maxRateLimitWait},
		{"reset in the past waits the minimum", func(s *oktatest.Server) { s.InjectRateLimit(1, testStart.Add(-time.Minute)) }, minRateLimitWait},
		{"missing reset header waits the default", func(s *oktatest.Server) {
			s.InjectError(1, http.StatusTooManyRequests, "E0000047", "Rate limit exceeded")
		}, defaultRateLimitWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			okta := oktatest.New(t, testToken)
			tt.inject(okta)
			c := newTestClient(t, okta.URL, testToken)

			_, err := c.ListEventHooks(context.Background())

			if err != nil {
				t.Fatalf("ListEventHooks: %v", err)
			}
			if got := c.clock.Sleeps(); !slices.Equal(got, []time.Duration{tt.want}) {
				t.Errorf("sleeps = %v, want [%v]", got, tt.want)
			}
		})
	}
}

func TestClient_RateLimitGivesUpAfterRetries(t *testing.T) {
	okta := oktatest.New(t, testToken)
	okta.InjectRateLimit(maxRateLimitRetries+1, testStart.Add(5*time.Second))
	c := newTestClient(t, okta.URL, testToken)

	_, err := c.ListEventHooks(context.Background())

	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests {
		t.Fatalf("error = %v, want a 429 *APIError", err)
	}
	if apiErr.Hint != HintRateLimited {
		t.Errorf("hint = %q, want %q", apiErr.Hint, HintRateLimited)
	}
	if got := len(c.clock.Sleeps()); got != maxRateLimitRetries {
		t.Errorf("slept %d times, want %d", got, maxRateLimitRetries)
	}
}

func TestClient_RetriesServerErrors(t *testing.T) {
	okta := oktatest.New(t, testToken)
	okta.InjectError(2, http.StatusServiceUnavailable, "E0000009", "Internal Server Error")
	c := newTestClient(t, okta.URL, testToken)

	_, err := c.ListEventHooks(context.Background())

	if err != nil {
		t.Fatalf("ListEventHooks: %v", err)
	}
	sleeps := c.clock.Sleeps()
	if len(sleeps) != 2 {
		t.Fatalf("sleeps = %v, want 2", sleeps)
	}
	// The backoff starts at 0.5 s and doubles, with ±50 % jitter.
	if sleeps[0] < 250*time.Millisecond || sleeps[0] > 750*time.Millisecond {
		t.Errorf("first wait = %v, want 0.25 s to 0.75 s", sleeps[0])
	}
	if sleeps[1] < 500*time.Millisecond || sleeps[1] > 1500*time.Millisecond {
		t.Errorf("second wait = %v, want 0.5 s to 1.5 s", sleeps[1])
	}
}

func TestClient_ServerErrorsGiveUpAfterRetries(t *testing.T) {
	okta := oktatest.New(t, testToken)
	okta.InjectError(10, http.StatusInternalServerError, "E0000009", "Internal Server Error")
	c := newTestClient(t, okta.URL, testToken)

	_, err := c.ListEventHooks(context.Background())

	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusInternalServerError {
		t.Fatalf("error = %v, want a 500 *APIError", err)
	}
	if got := okta.Count(http.MethodGet, "/api/v1/eventHooks"); got != maxServerRetries+1 {
		t.Errorf("GET sent %d times, want %d", got, maxServerRetries+1)
	}
}

func TestClient_CreateIsNotRetriedAfterServerError(t *testing.T) {
	okta := oktatest.New(t, testToken)
	okta.InjectError(1, http.StatusInternalServerError, "E0000009", "Internal Server Error")
	c := newTestClient(t, okta.URL, testToken)

	_, err := c.CreateEventHook(context.Background(), desiredHook(validOptions("http://127.0.0.1:1/okta/events"), nil))

	if err == nil {
		t.Fatal("CreateEventHook succeeded, want the 500 error")
	}
	if got := okta.Count(http.MethodPost, "/api/v1/eventHooks"); got != 1 {
		t.Errorf("POST sent %d times, want 1", got)
	}
	if got := c.clock.Sleeps(); len(got) != 0 {
		t.Errorf("sleeps = %v, want none", got)
	}
}

func TestClient_RetriesConnectionErrors(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("[]"))
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL, testToken)

	_, err := c.ListEventHooks(context.Background())

	if err != nil {
		t.Fatalf("ListEventHooks: %v", err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("server saw %d requests, want 2", got)
	}
	if got := len(c.clock.Sleeps()); got != 1 {
		t.Errorf("slept %d times, want 1", got)
	}
}

func TestClient_DoesNotFollowRedirects(t *testing.T) {
	var leaked atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
	}))
	t.Cleanup(other.Close)
	redirecting := httptest.NewServer(http.RedirectHandler(other.URL+"/api/v1/eventHooks", http.StatusFound))
	t.Cleanup(redirecting.Close)
	c := newTestClient(t, redirecting.URL, testToken)

	_, err := c.ListEventHooks(context.Background())

	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusFound {
		t.Errorf("error = %v, want a 302 *APIError", err)
	}
	if got := leaked.Load(); got != 0 {
		t.Errorf("redirect target received %d requests, want 0", got)
	}
}

func TestClient_SecretsNeverInErrorsOrLogs(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A hostile server that echoes the Authorization header back.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"errorCode":"E0000001","errorSummary":"bad ` + r.Header.Get("Authorization") +
			`","errorCauses":[{"errorSummary":"` + r.Header.Get("Authorization") + `"}]}`))
	}))
	t.Cleanup(echo.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	badJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("{not json"))
	}))
	t.Cleanup(badJSON.Close)

	for _, orgURL := range []string{echo.URL, closed.URL, badJSON.URL} {
		c := newTestClient(t, orgURL, testToken)

		_, err := c.ListEventHooks(context.Background())

		if err == nil {
			t.Fatalf("%s: ListEventHooks succeeded, want an error", orgURL)
		}
		assertNoSecrets(t, "error", err.Error())
		c.assertLogsHaveNoSecrets(t)
	}
}

func TestAPIError_Hints(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantHint string
	}{
		{"invalid token", 401, `{"errorCode":"E0000011","errorSummary":"Invalid token provided"}`, HintUnauthorized},
		{"missing permission", 403, `{"errorCode":"E0000006","errorSummary":"You do not have permission"}`, HintForbidden},
		{"hook limit in a cause", 400, `{"errorCode":"E0000001","errorSummary":"Api validation failed: eventHook",` +
			`"errorCauses":[{"errorSummary":"The org has reached the maximum of 25 event hooks."}]}`, HintHookLimit},
		{"hook limit as 403", 403, `{"errorCode":"E0000001","errorSummary":"Event hook limit reached"}`, HintHookLimit},
		{"other validation error", 400, `{"errorCode":"E0000001","errorSummary":"Api validation failed: name"}`, ""},
		{"non-JSON 502", 502, `<html>bad gateway</html>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status}

			err := newAPIError(request{method: "GET", target: "/api/v1/eventHooks"}, resp, []byte(tt.body), testToken)

			if err.Hint != tt.wantHint {
				t.Errorf("hint = %q, want %q", err.Hint, tt.wantHint)
			}
			if tt.wantHint != "" && !strings.Contains(err.Error(), tt.wantHint) {
				t.Errorf("error %q does not contain the hint", err)
			}
		})
	}
}

func TestAPIError_NotFoundMatchesErrNotFound(t *testing.T) {
	okta := oktatest.New(t, testToken)
	c := newTestClient(t, okta.URL, testToken)

	_, err := c.GetEventHook(context.Background(), "whoMissing")

	if !errors.Is(err, ErrNotFound) {
		t.Errorf("error = %v, want one matching ErrNotFound", err)
	}
}

func TestClient_StopsWaitingWhenContextEnds(t *testing.T) {
	okta := oktatest.New(t, testToken)
	okta.InjectRateLimit(1, testStart.Add(30*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sleepCanceled := func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}
	c, err := NewClient(okta.URL, testToken, nil, nil, WithClock(func() time.Time { return testStart }), WithSleep(sleepCanceled))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}

	_, err = c.ListEventHooks(ctx)

	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if got := okta.Count(http.MethodGet, "/api/v1/eventHooks"); got != 1 {
		t.Errorf("GET sent %d times, want 1", got)
	}
}
