// Package oktaapi is a client for the parts of the Okta management API that
// oktawatch uses. The okta register, status and unregister commands manage
// event hooks with it. A poller reads the System Log with it to catch up on
// deliveries that Okta lost.
//
// The API token is sent only in the Authorization header, and only to the
// configured org. No error, log line or printed output contains it.
package oktaapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/timeutil"
)

// Environment variable names that error messages point the operator to.
const (
	orgURLVariable = "OKTAWATCH_OKTA_ORG_URL"
	tokenVariable  = "OKTAWATCH_OKTA_API_TOKEN"
)

const (
	// defaultHTTPTimeout bounds one request when the caller passes no client.
	defaultHTTPTimeout = 30 * time.Second
	// maxResponseBytes bounds a response body. A System Log page of 1000
	// events is a few MiB.
	maxResponseBytes = 32 << 20
)

// Secret is a string that prints as [redacted] with fmt, so that a hook or an
// option struct logged by mistake does not reveal it. JSON encoding keeps the
// real value because Okta needs it.
type Secret string

// String returns a placeholder instead of the secret.
func (Secret) String() string { return "[redacted]" }

// GoString returns a placeholder instead of the secret for %#v.
func (Secret) GoString() string { return `"[redacted]"` }

// Client calls the Okta management API of one org with an SSWS API token.
// It is safe for concurrent use.
type Client struct {
	base   *url.URL
	token  Secret
	http   *http.Client
	logger *zap.Logger
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
}

// Option changes a Client built by NewClient.
type Option func(*Client)

// WithClock sets the clock that rate-limit waits and retry budgets are
// measured with.
func WithClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}

// WithSleep sets the function that waits between retries. It must return
// early with an error when ctx ends.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// NewClient returns a client for the org at orgURL, such as
// https://example.okta.com. Plain http is accepted only for a loopback host,
// which tests use. httpClient and logger may be nil.
func NewClient(orgURL, token string, httpClient *http.Client, logger *zap.Logger, opts ...Option) (*Client, error) {
	base, err := parseOrgURL(orgURL)
	if err != nil {
		return nil, err
	}
	if err := validateToken(token); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}

	c := &Client{
		base:   base,
		token:  Secret(token),
		http:   withoutRedirects(httpClient),
		logger: logger.Named("oktaapi"),
		now:    time.Now,
		sleep:  timeutil.Sleep,
	}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// OrgURL returns the org URL that the client sends requests to.
func (c *Client) OrgURL() string {
	return c.base.String()
}

func parseOrgURL(raw string) (*url.URL, error) {
	const example = "set it to your org URL, such as https://example.okta.com"
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("%s is empty: %s", orgURLVariable, example)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("%s %q is not an absolute URL: %s", orgURLVariable, raw, example)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
		return nil, fmt.Errorf("%s %q must use https (plain http only for 127.0.0.1 or localhost): %s",
			orgURLVariable, raw, example)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%s %q must contain only scheme and host, without path, query or user info: %s",
			orgURLVariable, raw, example)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// validateToken checks the token without ever putting it in the error.
func validateToken(token string) error {
	if token == "" {
		return fmt.Errorf("%s is empty: create an API token in the Okta Admin Console (Security > API > Tokens) and set it",
			tokenVariable)
	}
	if strings.HasPrefix(strings.ToUpper(token), "SSWS ") {
		return fmt.Errorf(`%s starts with "SSWS ": set only the token, the client adds the scheme`, tokenVariable)
	}
	for _, r := range token {
		if r <= ' ' || r == 0x7f {
			return fmt.Errorf("%s contains a space or control character: copy the token again without spaces or line breaks",
				tokenVariable)
		}
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withoutRedirects copies httpClient so that redirects are not followed:
// the Okta API does not redirect, and a redirect must not carry the token to
// another host.
func withoutRedirects(httpClient *http.Client) *http.Client {
	var copied http.Client
	if httpClient != nil {
		copied = *httpClient
	} else {
		copied.Timeout = defaultHTTPTimeout
	}
	copied.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &copied
}

// request is one API call. target is a path such as /api/v1/eventHooks, or
// an absolute URL already checked to be on the org.
type request struct {
	method string
	target string
	body   []byte
	// idempotent allows retries after a server error or a connection error,
	// when the first attempt may have taken effect.
	idempotent bool
}

// response is a successful (2xx) response with its body read.
type response struct {
	header http.Header
	body   []byte
}

// call sends r with retries and decodes the JSON response body into out,
// unless out is nil.
func (c *Client) call(ctx context.Context, r request, out any) (*response, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if out == nil || len(resp.body) == 0 {
		return resp, nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return nil, fmt.Errorf("okta api: decode %s %s response: %w", r.method, r.label(), err)
	}
	return resp, nil
}

// send makes one attempt. It returns the response with its body read and
// closed, or a transport error.
func (c *Client) send(ctx context.Context, r request) (*http.Response, []byte, error) {
	target, err := c.base.Parse(r.target)
	if err != nil {
		return nil, nil, fmt.Errorf("okta api: invalid request target %q: %w", r.target, err)
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target.String(), body)
	if err != nil {
		return nil, nil, fmt.Errorf("okta api: build %s %s: %w", r.method, r.label(), err)
	}
	req.Header.Set("Authorization", "SSWS "+string(c.token))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "oktawatch")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, c.redact(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("okta api: read %s %s response: %w", r.method, r.label(), c.redact(err))
	}
	if len(data) > maxResponseBytes {
		return nil, nil, fmt.Errorf("okta api: %s %s response is larger than %d bytes", r.method, r.label(), maxResponseBytes)
	}
	return resp, data, nil
}

// label names the request in messages: the path without the query.
func (r request) label() string {
	if u, err := url.Parse(r.target); err == nil {
		return u.Path
	}
	return "request"
}

// redact removes the token from an error text. Transport errors hold only
// the URL, which contains no secret, but the check costs nothing.
func (c *Client) redact(err error) error {
	if err == nil || !strings.Contains(err.Error(), string(c.token)) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), string(c.token), "[redacted]"))
}
