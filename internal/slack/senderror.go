package slack

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Reason classifies a failed post. It decides whether the caller retries and
// labels the failure in metrics and logs.
type Reason string

const (
	// RateLimited is HTTP 429. SendError.RetryAfter carries Slack's wait time
	// when Slack sent one.
	RateLimited Reason = "rate_limited"
	// ServerError is an HTTP 5xx response without a permanent error body.
	ServerError Reason = "server_error"
	// Timeout is a request that ran out of time, or HTTP 408.
	Timeout Reason = "timeout"
	// Connection is a failure to connect or a connection lost before the
	// response, such as a refused connection, a DNS or a TLS error.
	Connection Reason = "connection"
	// Rejected is a permanent failure: a retry of the same message to the
	// same webhook fails again.
	Rejected Reason = "rejected"
	// Canceled is a post abandoned because the caller canceled its context.
	Canceled Reason = "canceled"
)

// maxErrorBodyBytes caps how much of Slack's response body a SendError keeps.
const maxErrorBodyBytes = 512

// permanentBodies are the error strings that Slack's incoming webhooks
// return for requests that fail the same way on every retry.
var permanentBodies = map[string]string{
	"invalid_payload":     hintInvalidMessage,
	"no_text":             hintInvalidMessage,
	"invalid_blocks":      hintInvalidMessage,
	"channel_not_found":   hintWebhookGone,
	"channel_is_archived": hintWebhookGone,
	"no_service":          hintWebhookGone,
	"invalid_token":       hintWebhookGone,
	"no_active_hooks":     hintWebhookGone,
	"team_disabled":       hintWebhookGone,
	"action_prohibited":   "a Slack workspace setting forbids this webhook to post; ask a Slack admin",
}

const (
	hintInvalidMessage = "Slack rejected the message as invalid, which is a bug in the message builder"
	hintWebhookGone    = "the webhook or its channel no longer exists; set OKTAWATCH_SLACK_WEBHOOK_URL to a working incoming-webhook URL"
)

// SendError is the error that Client.Post returns. Its text names the
// webhook by scheme and host only, because the URL path is the secret that
// lets anyone post to the channel.
type SendError struct {
	Reason Reason
	// Status is the HTTP status code, or 0 when no response arrived.
	Status int
	// Body is Slack's response body, trimmed and cut to at most 512 bytes.
	Body string
	// RetryAfter is the wait that a 429 response requested, or 0 when the
	// Retry-After header was missing or invalid.
	RetryAfter time.Duration
	// Endpoint is the webhook as scheme://host/… for messages.
	Endpoint string
	// Err is the underlying cause, such as context.DeadlineExceeded. It never
	// contains the webhook URL.
	Err error
}

// Error describes the failure with its reason, status and Slack's response body.
func (e *SendError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "post to slack webhook %s failed: %s", e.Endpoint, e.Reason)
	if e.Status != 0 {
		fmt.Fprintf(&b, ", HTTP %d", e.Status)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.Body != "" {
		fmt.Fprintf(&b, ", slack response %q", e.Body)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if hint := e.hint(); hint != "" {
		fmt.Fprintf(&b, " (%s)", hint)
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *SendError) Unwrap() error { return e.Err }

// Permanent reports whether a retry of the same message cannot succeed.
func (e *SendError) Permanent() bool { return e.Reason == Rejected }

func (e *SendError) hint() string {
	if hint, ok := permanentBodies[e.Body]; ok {
		return hint
	}
	switch e.Status {
	case http.StatusNotFound, http.StatusGone:
		return hintWebhookGone
	}
	return ""
}

// classifyStatus returns the reason for a non-2xx response. An error body from
// permanentBodies wins over the status, because Slack has returned those
// with 400, 403, 404, 410 and, before 2016, with 500.
func classifyStatus(status int, body string) Reason {
	if _, ok := permanentBodies[body]; ok {
		return Rejected
	}
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusRequestTimeout:
		return Timeout
	case status >= 500:
		return ServerError
	default:
		// Other 4xx responses reject the request itself. A 1xx or 3xx response
		// means the URL does not point at a webhook, because the client
		// follows no redirects.
		return Rejected
	}
}

// parseRetryAfter reads a Retry-After header value given as seconds or as an
// HTTP date. It returns 0 for a missing, invalid or past value, and the
// caller then falls back to its own backoff.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		if seconds < 0 || seconds > math.MaxInt64/int64(time.Second) {
			return 0
		}
		return time.Duration(seconds) * time.Second
	}
	if date, err := http.ParseTime(value); err == nil {
		return max(date.Sub(now), 0)
	}
	return 0
}

// trimBody returns Slack's response body without surrounding space, cut to at most
// maxErrorBodyBytes without splitting a UTF-8 sequence.
func trimBody(body []byte) string {
	text := strings.TrimSpace(string(body))
	if len(text) <= maxErrorBodyBytes {
		return text
	}
	end := maxErrorBodyBytes
	for end > 0 && !utf8.RuneStart(text[end]) {
		end--
	}
	return text[:end]
}

// Redacted returns a webhook URL as scheme://host/[redacted] for logs and
// configuration dumps. It returns "" for "" and "[redacted]" for a value that
// does not parse as an absolute URL.
func Redacted(webhookURL string) string {
	return redactURL(webhookURL, "/[redacted]")
}

// endpointLabel returns the webhook as scheme://host/… for error messages.
func endpointLabel(webhookURL string) string {
	if webhookURL == "" {
		return "[empty URL]"
	}
	return redactURL(webhookURL, "/…")
}

func redactURL(raw, pathMark string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "[redacted]"
	}
	// u.Host is printed without u.User, so credentials in the URL stay out.
	return u.Scheme + "://" + u.Host + pathMark
}
