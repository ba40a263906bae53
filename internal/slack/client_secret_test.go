package slack_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/slack"
	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

// secretParts are the pieces of the test webhook path that must never
// appear in an error.
var secretParts = []string{"/services", "T000TEST", "B000TEST", "not-a-real-token"}

func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		for _, part := range secretParts {
			if strings.Contains(text, part) {
				t.Errorf("error text contains %q of the webhook path: %s", part, text)
			}
		}
	}
}

// closedPortURL returns a webhook URL on a loopback port that nothing
// listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := listener.Addr().String()
	if err := listener.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	return "http://" + addr + slacktest.WebhookPath
}

// waitForRequest waits until the server has received n requests.
func waitForRequest(t *testing.T, server *slacktest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(postTimeout)
	for len(server.Requests()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("server got %d requests after %s, want %d", len(server.Requests()), postTimeout, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestClientPostFailuresHideWebhookPath(t *testing.T) {
	tests := []struct {
		name   string
		run    func(t *testing.T) error
		reason slack.Reason
		cause  error
	}{
		{"closed port", func(t *testing.T) error {
			return post(t, slack.NewClient(closedPortURL(t), nil))
		}, slack.Connection, nil},
		{"server error", func(t *testing.T) error {
			server := slacktest.New(t)
			server.Enqueue(slacktest.Response{Status: 500, Body: "rollup_error"})
			return post(t, slack.NewClient(server.URL(), nil))
		}, slack.ServerError, nil},
		{"rate limited", func(t *testing.T) error {
			server := slacktest.New(t)
			server.Enqueue(slacktest.Response{Status: 429, Header: map[string]string{"Retry-After": "2"}, Body: "rate_limited"})
			return post(t, slack.NewClient(server.URL(), nil))
		}, slack.RateLimited, nil},
		{"hanging server and context deadline", func(t *testing.T) error {
			server := slacktest.New(t)
			server.Hang()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			return slack.NewClient(server.URL(), nil).Post(ctx, slack.BuildMessage(burstAlert(), ""))
		}, slack.Timeout, context.DeadlineExceeded},
		{"hanging server and client timeout", func(t *testing.T) error {
			server := slacktest.New(t)
			server.Hang()
			return post(t, slack.NewClient(server.URL(), &http.Client{Timeout: 50 * time.Millisecond}))
		}, slack.Timeout, nil},
		{"canceled while waiting", func(t *testing.T) error {
			server := slacktest.New(t)
			server.Hang()
			ctx, cancel := context.WithCancel(context.Background())
			result := make(chan error, 1)
			go func() { result <- slack.NewClient(server.URL(), nil).Post(ctx, slack.BuildMessage(burstAlert(), "")) }()
			waitForRequest(t, server, 1)
			cancel()
			return <-result
		}, slack.Canceled, context.Canceled},
		{"URL that does not parse", func(t *testing.T) error {
			return post(t, slack.NewClient("http://127.0.0.1:1"+slacktest.WebhookPath+"\x7f", nil))
		}, slack.Rejected, nil},
		{"URL without scheme", func(t *testing.T) error {
			return post(t, slack.NewClient("127.0.0.1:1"+slacktest.WebhookPath, nil))
		}, slack.Rejected, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(t)

			sendErr := asSendError(t, err)
			if sendErr.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q (error: %v)", sendErr.Reason, tt.reason, err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("error %v does not wrap %v", err, tt.cause)
			}
			assertNoSecret(t, err)
		})
	}
}

func TestSendErrorText(t *testing.T) {
	server := slacktest.New(t)
	server.Enqueue(slacktest.Response{Status: 429, Header: map[string]string{"Retry-After": "2"}, Body: "rate_limited"})

	err := post(t, slack.NewClient(server.URL(), nil))

	text := err.Error()
	host := strings.TrimPrefix(strings.TrimSuffix(server.URL(), slacktest.WebhookPath), "http://")
	for _, want := range []string{"http://" + host + "/…", "rate_limited", "HTTP 429", "retry after 2s", `"rate_limited"`} {
		if !strings.Contains(text, want) {
			t.Errorf("error text %q does not contain %q", text, want)
		}
	}
}

func TestRedacted(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"webhook URL", "https://hooks.slack.com" + slacktest.WebhookPath, "https://hooks.slack.com/[redacted]"},
		{"loopback with port", "http://127.0.0.1:8080" + slacktest.WebhookPath, "http://127.0.0.1:8080/[redacted]"},
		{"credentials are dropped", "https://user:test-secret-not-real@hooks.slack.com/services/x", "https://hooks.slack.com/[redacted]"},
		{"empty", "", ""},
		{"not absolute", "hooks.slack.com" + slacktest.WebhookPath, "[redacted]"},
		{"does not parse", "https://hooks.slack.com" + slacktest.WebhookPath + "\x7f", "[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := slack.Redacted(tt.in); got != tt.want {
				t.Errorf("Redacted(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
