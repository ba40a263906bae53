package slack_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/slack"
	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

// postTimeout bounds posts that are expected to get a response. It is long
// because it only guards against a hung test on a loaded machine.
const postTimeout = 30 * time.Second

func post(t *testing.T, client *slack.Client) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), postTimeout)
	defer cancel()
	return client.Post(ctx, slack.BuildMessage(burstAlert(), testOrgURL))
}

func asSendError(t *testing.T, err error) *slack.SendError {
	t.Helper()
	var sendErr *slack.SendError
	if !errors.As(err, &sendErr) {
		t.Fatalf("Post returned %v (%T), want a *slack.SendError", err, err)
	}
	return sendErr
}

func TestClientPostDeliversMessage(t *testing.T) {
	server := slacktest.New(t)
	client := slack.NewClient(server.URL(), nil)
	message := slack.BuildMessage(burstAlert(), testOrgURL)

	err := client.Post(context.Background(), message)

	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	accepted := server.WaitForAccepted(1, postTimeout)
	got := accepted[0]
	if got.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", got.Method)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if got.Message.Text != message.Text {
		t.Errorf("text = %q, want %q", got.Message.Text, message.Text)
	}
	if n, want := len(got.Message.Blocks.BlockSet), len(message.Blocks.BlockSet); n != want {
		t.Errorf("got %d blocks, want %d", n, want)
	}
}

func TestClientPostSucceedsOn2xx(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusCreated, http.StatusNoContent} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			server := slacktest.New(t)
			server.Enqueue(slacktest.Response{Status: status})

			if err := post(t, slack.NewClient(server.URL(), nil)); err != nil {
				t.Errorf("Post: %v, want success", err)
			}
		})
	}
}

func TestClientPostClassifiesResponses(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		reason    slack.Reason
		permanent bool
	}{
		{"rate limited", 429, "rate_limited", slack.RateLimited, false},
		{"server error", 500, "rollup_error", slack.ServerError, false},
		{"bad gateway", 502, "<html>bad gateway</html>", slack.ServerError, false},
		{"unavailable without body", 503, "", slack.ServerError, false},
		{"request timeout", 408, "", slack.Timeout, false},
		{"invalid payload", 400, "invalid_payload", slack.Rejected, true},
		{"no text", 400, "no_text", slack.Rejected, true},
		{"invalid blocks", 400, "invalid_blocks", slack.Rejected, true},
		{"action prohibited", 403, "action_prohibited", slack.Rejected, true},
		{"channel not found", 404, "channel_not_found", slack.Rejected, true},
		{"channel archived", 410, "channel_is_archived", slack.Rejected, true},
		{"no service", 404, "no_service", slack.Rejected, true},
		{"invalid token", 403, "invalid_token", slack.Rejected, true},
		{"no active hooks", 404, "no_active_hooks", slack.Rejected, true},
		{"team disabled", 404, "team_disabled", slack.Rejected, true},
		{"unknown 400 body", 400, "something_new", slack.Rejected, true},
		{"unauthorized without body", 401, "", slack.Rejected, true},
		{"not found without body", 404, "", slack.Rejected, true},
		{"gone without body", 410, "", slack.Rejected, true},
		{"permanent body beats 5xx", 500, "invalid_token", slack.Rejected, true},
		{"body with surrounding space", 400, "  invalid_blocks\n", slack.Rejected, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := slacktest.New(t)
			server.Enqueue(slacktest.Response{Status: tt.status, Body: tt.body})

			sendErr := asSendError(t, post(t, slack.NewClient(server.URL(), nil)))

			if sendErr.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", sendErr.Reason, tt.reason)
			}
			if sendErr.Permanent() != tt.permanent {
				t.Errorf("Permanent() = %v, want %v", sendErr.Permanent(), tt.permanent)
			}
			if sendErr.Status != tt.status {
				t.Errorf("Status = %d, want %d", sendErr.Status, tt.status)
			}
			if want := strings.TrimSpace(tt.body); sendErr.Body != want {
				t.Errorf("Body = %q, want %q", sendErr.Body, want)
			}
		})
	}
}

func TestClientPostReadsRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		retryAfter string
		want       time.Duration
	}{
		{"seconds", "2", 2 * time.Second},
		{"HTTP date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"HTTP date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"missing", "", 0},
		{"invalid", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := slacktest.New(t)
			response := slacktest.Response{Status: 429, Body: "rate_limited"}
			if tt.retryAfter != "" {
				response.Header = map[string]string{"Retry-After": tt.retryAfter}
			}
			server.Enqueue(response)
			client := slack.NewClient(server.URL(), nil)
			client.SetNow(func() time.Time { return now })

			sendErr := asSendError(t, post(t, client))

			if sendErr.RetryAfter != tt.want {
				t.Errorf("RetryAfter = %v, want %v", sendErr.RetryAfter, tt.want)
			}
		})
	}
}

func TestClientPostIgnoresRetryAfterOutside429(t *testing.T) {
	server := slacktest.New(t)
	server.Enqueue(slacktest.Response{Status: 503, Header: map[string]string{"Retry-After": "120"}})

	sendErr := asSendError(t, post(t, slack.NewClient(server.URL(), nil)))

	if sendErr.RetryAfter != 0 {
		t.Errorf("RetryAfter = %v for a 503, want 0", sendErr.RetryAfter)
	}
}

func TestClientPostCutsLongResponse(t *testing.T) {
	server := slacktest.New(t)
	server.Enqueue(slacktest.Response{Status: 500, Body: "  " + strings.Repeat("x", 2000) + "\n"})

	sendErr := asSendError(t, post(t, slack.NewClient(server.URL(), nil)))

	if sendErr.Body != strings.Repeat("x", 512) {
		t.Errorf("Body has %d bytes, want 512 bytes of the trimmed response", len(sendErr.Body))
	}
}

func TestClientPostDoesNotFollowRedirects(t *testing.T) {
	server := slacktest.New(t)
	server.Enqueue(slacktest.Response{
		Status: http.StatusFound,
		Header: map[string]string{"Location": "/services/T000TEST/B000TEST/elsewhere"},
	})

	sendErr := asSendError(t, post(t, slack.NewClient(server.URL(), nil)))

	if sendErr.Reason != slack.Rejected {
		t.Errorf("Reason = %q, want %q", sendErr.Reason, slack.Rejected)
	}
	if n := len(server.Requests()); n != 1 {
		t.Errorf("server got %d requests, want 1", n)
	}
}

func TestClientPostAcceptsEveryBuiltMessage(t *testing.T) {
	followUp := burstAlert()
	followUp.Kind, followUp.Total = alert.KindFollowUp, 40
	late := burstAlert()
	late.Source = alert.SourceSystemLog
	unnamed := burstAlert()
	unnamed.GroupName = ""
	alerts := []alert.Alert{burstAlert(), followUp, late, unnamed, hugeAlert(120), hugeAlert(10000)}
	server := slacktest.New(t)
	client := slack.NewClient(server.URL(), nil)

	for i, a := range alerts {
		if err := client.Post(context.Background(), slack.BuildMessage(a, testOrgURL)); err != nil {
			t.Errorf("alert %d: Post: %v", i, err)
		}
	}

	server.WaitForAccepted(len(alerts), postTimeout)
}

func TestClientPostReadsAtMost64KiB(t *testing.T) {
	const maxWrite = 64 << 20
	written := make(chan int, 1)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		chunk := []byte(strings.Repeat("x", 32<<10))
		total := 0
		// Write until the client stops reading, or give up after 64 MiB so
		// that the handler ends even if the client reads everything.
		for total < maxWrite {
			n, err := w.Write(chunk)
			total += n
			if err != nil {
				break
			}
		}
		written <- total
	}))
	t.Cleanup(server.Close)

	sendErr := asSendError(t, post(t, slack.NewClient(server.URL+slacktest.WebhookPath, nil)))

	if sendErr.Reason != slack.ServerError {
		t.Errorf("Reason = %q, want %q", sendErr.Reason, slack.ServerError)
	}
	if total := <-written; total >= maxWrite {
		t.Errorf("client read the whole %d byte response, want it to stop after 64 KiB", total)
	}
}
