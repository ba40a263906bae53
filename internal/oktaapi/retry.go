package oktaapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.uber.org/zap"
)

const (
	// maxRateLimitRetries is the number of 429 responses one call waits out
	// before it gives up.
	maxRateLimitRetries = 3
	// maxRateLimitWait caps one wait for X-Rate-Limit-Reset. Okta's
	// management API limits are per minute, so a reset further away points
	// to a wrong clock or header.
	maxRateLimitWait = 60 * time.Second
	// minRateLimitWait applies when the reset time has already passed on our
	// clock, which happens with clock skew.
	minRateLimitWait = time.Second
	// defaultRateLimitWait applies when a 429 has no usable
	// X-Rate-Limit-Reset header.
	defaultRateLimitWait = 10 * time.Second

	// maxServerRetries and maxServerElapsed bound retries after 5xx responses
	// and connection errors, so a command fails within seconds when Okta is
	// down instead of hanging.
	maxServerRetries = 3
	maxServerElapsed = 15 * time.Second
)

// do sends r until the response is not a 429 and, for idempotent requests,
// not a retryable failure. A final non-2xx response becomes an *APIError.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	serverBackOff := newServerBackOff()
	start := c.now()
	rateLimited, serverRetries := 0, 0
	for {
		resp, body, err := c.send(ctx, r)

		var wait time.Duration
		switch {
		case err == nil && resp.StatusCode == http.StatusTooManyRequests:
			if rateLimited >= maxRateLimitRetries {
				return nil, newAPIError(r, resp, body, c.token)
			}
			rateLimited++
			wait = c.rateLimitWait(resp.Header)
			c.logger.Warn("okta rate limit reached, waiting",
				zap.String("method", r.method), zap.String("path", r.label()), zap.Duration("wait", wait))

		case r.idempotent && isRetryable(ctx, resp, err):
			next := serverBackOff.NextBackOff()
			if serverRetries >= maxServerRetries || c.now().Sub(start)+next > maxServerElapsed {
				return nil, c.finalError(r, resp, body, err)
			}
			serverRetries++
			wait = next
			c.logger.Warn("okta request failed, retrying", zap.String("method", r.method),
				zap.String("path", r.label()), zap.Duration("wait", wait), zap.Error(c.finalError(r, resp, body, err)))

		default:
			if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
				return nil, c.finalError(r, resp, body, err)
			}
			return &response{header: resp.Header, body: body}, nil
		}

		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("okta api: %s %s: wait before retry: %w", r.method, r.label(), err)
		}
	}
}

// newServerBackOff returns the intervals between retries after server
// errors: 0.5 s, 1 s and 2 s, each with ±50 % jitter.
func newServerBackOff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 500 * time.Millisecond
	b.Multiplier = 2
	b.MaxInterval = 4 * time.Second
	b.Reset()
	return b
}

// isRetryable reports whether the failure may pass on a second attempt: a
// 5xx response or a transport error that the caller's context did not cause.
func isRetryable(ctx context.Context, resp *http.Response, err error) bool {
	if err != nil {
		return ctx.Err() == nil
	}
	return resp.StatusCode >= 500
}

func (c *Client) finalError(r request, resp *http.Response, body []byte, err error) error {
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("okta api: %s %s: %w", r.method, r.label(), err)
	}
	return newAPIError(r, resp, body, c.token)
}

// rateLimitWait returns how long to wait until X-Rate-Limit-Reset, a Unix
// time in seconds, clamped to [minRateLimitWait, maxRateLimitWait].
func (c *Client) rateLimitWait(h http.Header) time.Duration {
	reset, ok := parseUnixSeconds(h.Get("X-Rate-Limit-Reset"))
	if !ok {
		return defaultRateLimitWait
	}
	wait := reset.Sub(c.now())
	return min(max(wait, minRateLimitWait), maxRateLimitWait)
}

func parseUnixSeconds(value string) (time.Time, bool) {
	seconds, err := strconv.ParseInt(value, 10, 64)
	if err != nil || seconds <= 0 {
		return time.Time{}, false
	}
	return time.Unix(seconds, 0), true
}
