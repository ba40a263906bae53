package poller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/oktaapi"
)

// outcome labels oktawatch_systemlog_polls_total.
type outcome string

const (
	// outcomeCaughtUp means the poll reached an empty page.
	outcomeCaughtUp outcome = "caught_up"
	// outcomePageCap means the poll stopped at MaxPagesPerPoll with pages
	// left for the next poll.
	outcomePageCap outcome = "page_cap"
	// outcomeRateLimited means the poll stopped to wait for Okta's
	// rate-limit window to reset.
	outcomeRateLimited outcome = "rate_limited"
	// outcomeLeaseLost means another replica took the lease during the poll.
	outcomeLeaseLost outcome = "lease_lost"
	// outcomeFailed means Okta or Redis failed, so the poll is retried
	// after a back-off.
	outcomeFailed outcome = "failed"
)

var outcomes = []outcome{outcomeCaughtUp, outcomePageCap, outcomeRateLimited, outcomeLeaseLost, outcomeFailed}

const (
	// minRateLimitPause applies when the reset time has passed on this
	// clock, which happens with clock skew.
	minRateLimitPause = time.Second
	// maxRateLimitPause caps one wait. Okta's limits for this endpoint are
	// per minute, so a reset further away points to a wrong clock or header.
	maxRateLimitPause = time.Minute
	// maxLoggedPerPage bounds the info lines about missed removals per
	// page, so catching up after a long hook outage does not flood the log.
	maxLoggedPerPage = 50
)

// eventTypes is the System Log filter of every poll.
var eventTypes = []string{okta.EventTypeMembershipRemove}

// pollResult sums up one poll.
type pollResult struct {
	outcome outcome
	pages   int
	events  int
	// missed counts the removals recorded for the first time, which the
	// hook had not delivered.
	missed int
	tooOld int
	// resumeAt is when Okta's rate-limit window resets, or zero when the
	// poller need not wait for it.
	resumeAt time.Time
}

// pollAndSchedule polls once, counts the outcome and sets the time of the
// next poll.
func (p *Poller) pollAndSchedule(ctx context.Context) {
	res, err := p.poll(ctx)
	if ctx.Err() != nil {
		return // shutting down: the poll was cut short, not failed
	}
	if err != nil {
		res.outcome = outcomeFailed
		wait := p.backOff.NextBackOff()
		p.nextPoll = p.now().Add(wait)
		p.logFailure(err, wait, res)
	} else {
		p.backOff.Reset()
		p.nextPoll = p.now().Add(p.cfg.Interval)
		if res.resumeAt.After(p.nextPoll) {
			p.nextPoll = res.resumeAt
			p.log.Info("okta rate limit almost used up; next system log poll waits for the reset",
				zap.Time("resume_at", res.resumeAt))
		}
		p.log.Debug("system log poll finished", zap.String("outcome", string(res.outcome)),
			zap.Int("pages", res.pages), zap.Int("events", res.events), zap.Int("missed", res.missed),
			zap.Int("too_old", res.tooOld))
	}
	p.metrics.polls.WithLabelValues(string(res.outcome)).Inc()
}

// logFailure logs a failed poll at error level when only the operator can
// fix it (a rejected token), and at warn level when a retry may pass.
func (p *Poller) logFailure(err error, wait time.Duration, res pollResult) {
	level := zap.WarnLevel
	var apiErr *oktaapi.APIError
	if errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden) {
		level = zap.ErrorLevel
	}
	p.log.Log(level, "system log poll failed, retrying", zap.Duration("retry_in", wait),
		zap.Int("pages", res.pages), zap.Int("missed", res.missed), zap.Error(err))
}

// poll reads pages from the stored cursor until an empty page, the page
// cap, a low rate limit or an error. The cursor moves past a page only
// after the page's removals were recorded.
func (p *Poller) poll(ctx context.Context) (pollResult, error) {
	var res pollResult
	pageURL, err := p.startURL(ctx)
	if err != nil {
		return res, err
	}

	for res.pages < p.cfg.MaxPagesPerPoll {
		page, err := p.logs.Logs(ctx, pageURL)
		if err != nil {
			return res, fmt.Errorf("read system log page: %w", err)
		}
		res.pages++
		res.events += len(page.Events)
		if err := p.record(ctx, page.Events, &res); err != nil {
			return res, err
		}

		if page.Next == "" {
			return res, errors.New("okta sent a system log page without a next link, so the cursor stays on this page")
		}
		saved, err := p.cursor.save(ctx, page.Next)
		if err != nil {
			return res, err
		}
		if !saved {
			res.outcome = outcomeLeaseLost
			return res, nil
		}
		pageURL = page.Next

		pause := RateLimitPause(page.RateLimit, p.now(), p.cfg.RateLimitReserve)
		if pause > 0 {
			res.resumeAt = p.now().Add(pause)
		}
		switch {
		case len(page.Events) == 0:
			res.outcome = outcomeCaughtUp
			return res, nil
		case pause > 0:
			res.outcome = outcomeRateLimited
			return res, nil
		}
	}
	res.outcome = outcomePageCap
	return res, nil
}

// startURL returns the stored cursor, or the first page of the lookback
// when there is none or the stored one is unusable.
func (p *Poller) startURL(ctx context.Context) (string, error) {
	cursor, err := p.cursor.load(ctx)
	if err != nil {
		return "", err
	}
	if cursor != "" {
		invalid := checkCursor(cursor, p.cfg.Org)
		if invalid == nil {
			return cursor, nil
		}
		p.log.Error("stored system log cursor is unusable; starting again from the lookback",
			zap.String("cursor_key", p.cursor.key), zap.Duration("lookback", p.cfg.Lookback), zap.Error(invalid))
		if err := p.cursor.remove(ctx); err != nil {
			return "", err
		}
	}

	since := p.now().Add(-p.cfg.Lookback)
	p.log.Info("no system log cursor stored; starting from the lookback", zap.Time("since", since))
	return oktaapi.FirstLogsURL(since, eventTypes, p.cfg.PageLimit), nil
}

// checkCursor rejects a stored cursor that is not a System Log URL on the
// org, such as one written by hand or left by a bug.
func checkCursor(cursor, orgURL string) error {
	u, err := url.Parse(cursor)
	if err != nil {
		return fmt.Errorf("cursor %q is not a URL: %w", cursor, err)
	}
	org, err := url.Parse(orgURL)
	if err != nil {
		return fmt.Errorf("org URL %q is invalid: %w", orgURL, err)
	}
	if u.Host != "" && !strings.EqualFold(u.Host, org.Host) {
		return fmt.Errorf("cursor %q is on host %s, not on the org %s", cursor, u.Host, org.Host)
	}
	if u.Path != "/api/v1/logs" {
		return fmt.Errorf("cursor %q has path %q, want /api/v1/logs", cursor, u.Path)
	}
	return nil
}

// record parses one page and records its removals as System Log removals.
func (p *Poller) record(ctx context.Context, events []json.RawMessage, res *pollResult) error {
	removals := make([]okta.Removal, 0, len(events))
	for _, raw := range events {
		r, skip := okta.ParseEvent(raw)
		if skip == nil {
			removals = append(removals, r)
			continue
		}
		if !skip.Expected() {
			p.log.Warn("skipped malformed system log event", zap.String("event_uuid", skip.UUID),
				zap.String("reason", string(skip.Reason)), zap.String("detail", skip.Detail))
		}
	}
	if len(removals) == 0 {
		return nil
	}

	result, err := p.rec.Record(ctx, removals, alert.SourceSystemLog)
	// A failed Record may still have recorded some groups, so what it
	// reports is counted either way.
	p.count(removals, result, res)
	if err != nil {
		return fmt.Errorf("record %d removals from the system log: %w", len(removals), err)
	}
	return nil
}

// count updates the metrics and logs the removals that the hook missed.
func (p *Poller) count(removals []okta.Removal, result burst.Result, res *pollResult) {
	res.missed += len(result.New)
	res.tooOld += result.TooOld
	p.metrics.missed.Add(float64(len(result.New)))
	p.metrics.tooOld.Add(float64(result.TooOld))

	logged := make(map[string]bool, min(len(result.New), maxLoggedPerPage))
	for _, r := range removals {
		key := r.GroupID + "\x00" + r.EventID
		if !result.IsNew(r.GroupID, r.EventID) || logged[key] {
			continue // recorded before, or a duplicate within the page
		}
		if len(logged) == maxLoggedPerPage {
			p.log.Info("more removals missed by the event hook on this page",
				zap.Int("count", len(result.New)-len(logged)))
			break
		}
		logged[key] = true
		p.log.Info("removal missed by the event hook", zap.String("event_uuid", r.EventID),
			zap.String("group_id", r.GroupID), zap.String("group_name", r.GroupName),
			zap.String("user_id", r.UserID), zap.Time("published", r.Published))
	}
}

// RateLimitPause returns how long to wait before the next System Log
// request so that more than reserve requests are left in Okta's rate-limit
// window, or 0 when no wait is needed.
func RateLimitPause(rl oktaapi.RateLimit, now time.Time, reserve int) time.Duration {
	if !rl.Known || rl.Remaining > reserve {
		return 0
	}
	if rl.Reset.IsZero() {
		return maxRateLimitPause
	}
	return min(max(rl.Reset.Sub(now), minRateLimitPause), maxRateLimitPause)
}
