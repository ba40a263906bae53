package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/oktawatch/oktawatch/internal/dispatch"
	"github.com/oktawatch/oktawatch/internal/hook"
	"github.com/oktawatch/oktawatch/internal/simulate"
)

// alertTimeout bounds the wait for one alert at the fake Slack.
const alertTimeout = 10 * time.Second

// alertResult holds, per burst, the time from sending the request that
// completes the burst to the fake Slack receiving the alert, and that
// request's response time.
type alertResult struct {
	// load is the rate of single-removal requests sent meanwhile, or 0.
	load    int
	toSlack []time.Duration // sorted
	answer  []time.Duration // sorted
}

// measureAlerts raises one burst per group, one group at a time, first on
// an idle replica, then while the replica serves -rate-single requests per
// second of other removals.
func measureAlerts(ctx context.Context, env *environment, s settings) ([]alertResult, error) {
	idle, err := measureBursts(ctx, env, s, "idle")
	if err != nil {
		return nil, err
	}

	bodies, err := newBodyTemplate(1)
	if err != nil {
		return nil, err
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		_, _ = attack(loadCtx, env.replicaURL, bodies, vegeta.Rate{Freq: s.rateOne, Per: time.Second}, 0, 0)
	}()
	loaded, err := measureBursts(ctx, env, s, "load")
	stopLoad()
	<-loadDone
	loaded.load = s.rateOne
	return []alertResult{idle, loaded}, err
}

// measureBursts measures -bursts alerts. Replicas share one Slack send slot
// per second (dispatch.Config.SendInterval). Before each burst the bench
// deletes the slot key, so each alert is the first in over a second, as the
// first alert of a burst usually is, and the run needs no second per burst.
func measureBursts(ctx context.Context, env *environment, s settings, run string) (alertResult, error) {
	var res alertResult
	client := &http.Client{Timeout: 10 * time.Second}
	slot := dispatch.DefaultConfig().RateKey
	for i := range s.bursts {
		group := fmt.Sprintf("00gB%s%012d", strings.ToUpper(run[:4]), i) // 20 characters, as Okta's ids
		name := fmt.Sprintf("Bench-Alert-Group-%s-%d", run, i)
		if err := postDelivery(ctx, client, env.replicaURL, group, name, s.threshold-1); err != nil {
			return res, fmt.Errorf("removals before the threshold: %w", err)
		}
		if err := env.rdb.Del(ctx, slot).Err(); err != nil {
			return res, err
		}

		start := time.Now()
		if err := postDelivery(ctx, client, env.replicaURL, group, name, 1); err != nil {
			return res, fmt.Errorf("removal that completes the burst: %w", err)
		}
		res.answer = append(res.answer, time.Since(start))
		at, err := env.slack.waitFor(ctx, name)
		if err != nil {
			return res, err
		}
		res.toSlack = append(res.toSlack, at.Sub(start))
	}
	slices.Sort(res.toSlack)
	slices.Sort(res.answer)
	return res, nil
}

func postDelivery(ctx context.Context, client *http.Client, base, group, name string, count int) error {
	body, err := simulate.Delivery(simulate.Options{
		GroupID: group, GroupName: name, Count: count,
		Published: time.Now().UTC().Add(-time.Duration(count) * time.Millisecond), Spacing: time.Millisecond,
		ActorLogin: "bench.admin@example.com",
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+hook.Path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", benchSecret)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("hook returned %s: %s", resp.Status, answer)
	}
	return nil
}

// waitFor returns when the message naming group arrived. Messages about
// other groups, which no bench phase should cause, are an error.
func (f *fakeSlack) waitFor(ctx context.Context, group string) (time.Time, error) {
	timer := time.NewTimer(alertTimeout)
	defer timer.Stop()
	select {
	case a := <-f.arrivals:
		if !strings.Contains(a.body, group) {
			return time.Time{}, fmt.Errorf("fake slack got a message that does not name %s: %.300s", group, a.body)
		}
		return a.at, nil
	case <-timer.C:
		return time.Time{}, fmt.Errorf("no alert for %s reached the fake slack within %s", group, alertTimeout)
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
}
