package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// maxResponseBytes caps how much of Slack's response body Post reads. A
	// webhook responds with "ok" or a short error string.
	maxResponseBytes = 64 << 10
	// defaultTimeout bounds one post when NewClient gets no HTTP client.
	defaultTimeout = 10 * time.Second
)

// errInvalidURL reports a webhook URL that cannot be used. It replaces the
// errors of url.Parse and http.NewRequest, which quote the secret URL.
var errInvalidURL = errors.New("the webhook URL is not an absolute http or https URL; set OKTAWATCH_SLACK_WEBHOOK_URL to the incoming-webhook URL that Slack issued")

// Client posts messages to one Slack incoming webhook. It is safe for
// concurrent use.
type Client struct {
	webhookURL string
	validURL   bool
	endpoint   string
	http       *http.Client
	now        func() time.Time
}

// NewClient returns a client for the webhook URL. A nil httpClient means a
// client with a 10 second timeout. The client never follows redirects, so
// the message cannot be forwarded to a host other than the configured one.
func NewClient(webhookURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultTimeout}
	}
	// Copy so that the caller's client keeps its own redirect policy.
	noRedirects := *httpClient
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	return &Client{
		webhookURL: webhookURL,
		validURL:   validWebhookURL(webhookURL),
		endpoint:   endpointLabel(webhookURL),
		http:       &noRedirects,
		now:        time.Now,
	}
}

// Post sends m to the webhook. It returns nil when Slack responds with 2xx,
// and a *SendError otherwise.
func (c *Client) Post(ctx context.Context, m Message) error {
	if !c.validURL {
		return &SendError{Reason: Rejected, Endpoint: c.endpoint, Err: errInvalidURL}
	}
	body, err := json.Marshal(m)
	if err != nil {
		return &SendError{Reason: Rejected, Endpoint: c.endpoint, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.webhookURL, bytes.NewReader(body))
	if err != nil {
		return &SendError{Reason: Rejected, Endpoint: c.endpoint, Err: errInvalidURL}
	}
	req.Header.Set("Content-Type", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer resp.Body.Close()

	// A read error leaves a partial body, which is still worth reporting,
	// and it cannot undo a 2xx status that Slack already sent.
	responseBody, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return c.statusError(resp, responseBody)
}

func (c *Client) statusError(resp *http.Response, responseBody []byte) *SendError {
	body := trimBody(responseBody)
	e := &SendError{
		Reason:   classifyStatus(resp.StatusCode, body),
		Status:   resp.StatusCode,
		Body:     body,
		Endpoint: c.endpoint,
	}
	if e.Reason == RateLimited {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	}
	return e
}

// transportError classifies a request that got no response. It drops the
// *url.Error wrapper because that error's text contains the full URL.
func (c *Client) transportError(ctx context.Context, err error) *SendError {
	cause := err
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		cause = urlErr.Err
	}
	cause = c.scrub(cause)

	reason := Connection
	var netErr net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		reason = Canceled
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(cause, context.DeadlineExceeded):
		reason = Timeout
	case errors.As(cause, &netErr) && netErr.Timeout():
		reason = Timeout
	}
	return &SendError{Reason: reason, Endpoint: c.endpoint, Err: cause}
}

// scrub replaces an error whose text still contains the webhook URL or its
// path with a copy that shows neither. The transport errors of net/http do
// not contain them, so this is a safety net only.
func (c *Client) scrub(err error) error {
	if err == nil || c.webhookURL == "" {
		return err
	}
	text := err.Error()
	clean := strings.ReplaceAll(text, c.webhookURL, Redacted(c.webhookURL))
	if u, parseErr := url.Parse(c.webhookURL); parseErr == nil {
		for _, path := range []string{u.EscapedPath(), u.Path} {
			if len(path) > 1 {
				clean = strings.ReplaceAll(clean, path, "/[redacted]")
			}
		}
	}
	if clean == text {
		return err
	}
	return errors.New(clean)
}

// validWebhookURL reports whether raw is an absolute http or https URL with
// a host, which is the least a request needs.
func validWebhookURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
