package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/oktaapi"
	"github.com/oktawatch/oktawatch/internal/poller"
	"github.com/oktawatch/oktawatch/internal/timeutil"
)

// FetchOptions are the hooks of FetchEvents. Every field may be left at its
// zero value.
type FetchOptions struct {
	// Now is the clock that rate-limit waits are measured with.
	Now func() time.Time
	// Sleep waits before the next request when Okta's rate limit is nearly
	// used up. It must return an error when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnPage receives the number of events on each page.
	OnPage func(events int)
	// OnRateLimitWait receives each wait for Okta's rate-limit window.
	OnRateLimitWait func(wait time.Duration)
}

// FetchEvents reads the group-membership removals published from since up
// to until from the System Log, oldest first. Because the request has an
// until, Okta stops sending next links at the end, so the read ends too.
func FetchEvents(ctx context.Context, logs poller.LogReader, since, until time.Time, opts FetchOptions) ([]json.RawMessage, error) {
	opts = opts.withDefaults()
	pageURL := oktaapi.FirstLogsURL(since, []string{okta.EventTypeMembershipRemove}, oktaapi.MaxLogsLimit) +
		"&until=" + url.QueryEscape(until.UTC().Format("2006-01-02T15:04:05.000Z"))

	var events []json.RawMessage
	for pages := 1; ; pages++ {
		page, err := logs.Logs(ctx, pageURL)
		if err != nil {
			return nil, fmt.Errorf("fetch System Log page %d: %w", pages, err)
		}
		events = append(events, page.Events...)
		opts.OnPage(len(page.Events))
		if len(page.Events) == 0 || page.Next == "" {
			return events, nil
		}
		pageURL = page.Next

		if wait := poller.RateLimitPause(page.RateLimit, opts.Now(), poller.DefaultRateLimitReserve); wait > 0 {
			opts.OnRateLimitWait(wait)
			if err := opts.Sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("wait for the okta rate limit to reset: %w", err)
			}
		}
	}
}

func (o FetchOptions) withDefaults() FetchOptions {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = timeutil.Sleep
	}
	if o.OnPage == nil {
		o.OnPage = func(int) {}
	}
	if o.OnRateLimitWait == nil {
		o.OnRateLimitWait = func(time.Duration) {}
	}
	return o
}
