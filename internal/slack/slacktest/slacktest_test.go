package slacktest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

// waitLimit bounds waits that should end at once; it only guards against a
// hung test on a loaded machine.
const waitLimit = 30 * time.Second

var validMessage = message(section(10))

func TestServerRecordsAcceptedMessage(t *testing.T) {
	server := slacktest.New(t)
	before := time.Now()

	status, responseBody := postJSON(t, server.URL(), validMessage)

	if status != http.StatusOK || responseBody != "ok" {
		t.Fatalf("response = %d %q, want 200 \"ok\"", status, responseBody)
	}
	accepted := server.Accepted()
	if len(accepted) != 1 {
		t.Fatalf("server accepted %d requests, want 1", len(accepted))
	}
	got := accepted[0]
	if got.Path != slacktest.WebhookPath || got.Method != http.MethodPost {
		t.Errorf("request = %s %s, want POST %s", got.Method, got.Path, slacktest.WebhookPath)
	}
	if got.Message.Text != "fallback" {
		t.Errorf("Message.Text = %q, want %q", got.Message.Text, "fallback")
	}
	if n := len(got.Message.Blocks.BlockSet); n != 1 {
		t.Errorf("Message has %d blocks, want 1", n)
	}
	if got.Time.Before(before) || got.Time.After(time.Now()) {
		t.Errorf("arrival time %v is outside the request", got.Time)
	}
	if string(got.Body) != validMessage {
		t.Errorf("Body = %s, want the posted JSON", got.Body)
	}
}

func TestServerURLHasWebhookPath(t *testing.T) {
	server := slacktest.New(t)

	url := server.URL()

	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/services/T000TEST/B000TEST/not-a-real-token") {
		t.Errorf("URL() = %q, want a loopback URL with the test webhook path", url)
	}
}

func TestServerUnknownPathGetsNoService(t *testing.T) {
	server := slacktest.New(t)

	status, responseBody := postJSON(t, strings.TrimSuffix(server.URL(), slacktest.WebhookPath)+"/services/other", validMessage)

	if status != http.StatusNotFound || responseBody != "no_service" {
		t.Errorf("response = %d %q, want 404 \"no_service\"", status, responseBody)
	}
}

// postForHeaders posts a valid message and returns the responseBody with its
// headers.
func postForHeaders(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(validMessage))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	responseBody, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	return resp, string(responseBody)
}

func TestServerFollowsScript(t *testing.T) {
	server := slacktest.New(t)
	server.Enqueue(
		slacktest.Response{Status: 429, Header: map[string]string{"Retry-After": "2"}, Body: "rate_limited"},
		slacktest.Response{Status: 500, Body: "rollup_error"},
	)
	want := []struct {
		status       int
		responseBody string
		retryAfter   string
	}{{429, "rate_limited", "2"}, {500, "rollup_error", ""}, {200, "ok", ""}, {200, "ok", ""}}

	for i, w := range want {
		resp, responseBody := postForHeaders(t, server.URL())

		if resp.StatusCode != w.status || responseBody != w.responseBody {
			t.Errorf("request %d: response = %d %q, want %d %q", i, resp.StatusCode, responseBody, w.status, w.responseBody)
		}
		if got := resp.Header.Get("Retry-After"); got != w.retryAfter {
			t.Errorf("request %d: Retry-After = %q, want %q", i, got, w.retryAfter)
		}
	}
	if n := len(server.Accepted()); n != 2 {
		t.Errorf("server accepted %d requests, want 2", n)
	}
}

func TestServerRejectionKeepsScript(t *testing.T) {
	server := slacktest.New(t)
	server.Enqueue(slacktest.Response{Status: 429, Body: "rate_limited"})

	rejected, _ := postJSON(t, server.URL(), message(header(151)))
	scripted, responseBody := postJSON(t, server.URL(), validMessage)

	if rejected != http.StatusBadRequest {
		t.Errorf("invalid message got %d, want 400", rejected)
	}
	if scripted != 429 || responseBody != "rate_limited" {
		t.Errorf("next valid message got %d %q, want the scripted 429 \"rate_limited\"", scripted, responseBody)
	}
}

func TestServerSetDefault(t *testing.T) {
	server := slacktest.New(t)
	server.SetDefault(slacktest.Response{Status: 503, Body: "unavailable"})

	for i := range 2 {
		status, responseBody := postJSON(t, server.URL(), validMessage)

		if status != 503 || responseBody != "unavailable" {
			t.Errorf("request %d: response = %d %q, want 503 \"unavailable\"", i, status, responseBody)
		}
	}
}

func TestServerHangSendsNoResponse(t *testing.T) {
	server := slacktest.New(t)
	server.Hang()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server.URL(), strings.NewReader(validMessage))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")

	resp, err := http.DefaultClient.Do(req)

	if err == nil {
		resp.Body.Close()
		t.Fatalf("hanging request got responseBody %d, want none", resp.StatusCode)
	}
	if requests := server.Requests(); len(requests) != 1 || requests[0].Status != 0 {
		t.Errorf("requests = %+v, want one without a status", requests)
	}
	if status, _ := postJSON(t, server.URL(), validMessage); status != http.StatusOK {
		t.Errorf("request after the hang got %d, want 200", status)
	}
}

func TestServerDelayHoldsResponse(t *testing.T) {
	const delay = 200 * time.Millisecond
	server := slacktest.New(t)
	server.Enqueue(slacktest.Response{Status: 200, Body: "ok", Delay: delay})
	start := time.Now()

	status, _ := postJSON(t, server.URL(), validMessage)

	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("responseBody came after %s, want at least %s", elapsed, delay)
	}
	if status != http.StatusOK {
		t.Errorf("status = %d, want 200", status)
	}
}

func TestServerDelayEndsWhenClientGivesUp(t *testing.T) {
	server := slacktest.New(t)
	server.Enqueue(slacktest.Response{Delay: time.Hour})
	client := &http.Client{Timeout: 50 * time.Millisecond}

	resp, err := client.Post(server.URL(), "application/json", strings.NewReader(validMessage))

	if err == nil {
		resp.Body.Close()
		t.Fatalf("delayed request got responseBody %d before the client timeout", resp.StatusCode)
	}
	if n := len(server.Accepted()); n != 0 {
		t.Errorf("server accepted %d requests, want 0", n)
	}
}

func TestWaitForAcceptedReturnsMessages(t *testing.T) {
	server := slacktest.New(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2 {
			resp, err := http.Post(server.URL(), "application/json", strings.NewReader(validMessage))
			if err == nil {
				resp.Body.Close()
			}
		}
	}()

	accepted := server.WaitForAccepted(2, waitLimit)

	<-done
	if len(accepted) != 2 {
		t.Errorf("WaitForAccepted returned %d requests, want 2", len(accepted))
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends
// the calling goroutine, as testing.T does.
type fatalRecorder struct {
	testing.TB
	message string
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.message = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitForAcceptedFailsWithClearMessage(t *testing.T) {
	recorder := &fatalRecorder{TB: t}
	server := slacktest.New(recorder)
	postJSON(t, server.URL(), message(header(151)))
	done := make(chan struct{})

	go func() {
		defer close(done)
		server.WaitForAccepted(1, 20*time.Millisecond)
	}()

	<-done
	for _, want := range []string{"0 messages accepted", "want 1", "#1 POST 400", "151 characters, limit 150"} {
		if !strings.Contains(recorder.message, want) {
			t.Errorf("failure message %q does not contain %q", recorder.message, want)
		}
	}
}
