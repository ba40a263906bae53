// Package scale_test runs several oktawatch replicas as real processes behind
// a load balancer, against a real Redis Cluster or a single redis-server. It
// checks that each burst still makes exactly one Slack alert, and each
// cooldown period at most one follow-up.
package scale_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/servicetest"
	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

// Settings of the replicas that the tests depend on.
const (
	replicaCount = 3
	threshold    = 5
	// claimTimeout is short so that a killed replica's alert is taken over
	// within seconds. Each owner renews its claim every third of it.
	claimTimeout = 3 * time.Second
)

// Deadlines of the waits. The dispatchers share one Slack send slot a
// second, so alertTimeout leaves room for a few dozen alerts on a loaded
// machine.
const (
	alertTimeout    = 90 * time.Second
	drainTimeout    = 30 * time.Second
	recoveryTimeout = 15 * time.Second
)

// deployment is a set of replicas behind a load balancer, with a fake Slack
// and a direct Redis client for checks and fault injection.
type deployment struct {
	t        *testing.T
	replicas []*servicetest.Replica
	lb       *balancer
	slack    *slacktest.Server
	redis    redis.UniversalClient
}

// startDeployment starts replicaCount replicas with the given settings
// (without the OKTAWATCH_ prefix), which select the Redis and may override
// the Slack URL, threshold and claim timeout set here. admin must reach the
// same Redis.
func startDeployment(t *testing.T, settings map[string]string, admin redis.UniversalClient) *deployment {
	t.Helper()
	d := &deployment{t: t, slack: slacktest.New(t), redis: admin}
	env := map[string]string{
		"SLACK_WEBHOOK_URL":   d.slack.URL(),
		"THRESHOLD":           fmt.Sprint(threshold),
		"ALERT_CLAIM_TIMEOUT": claimTimeout.String(),
	}
	for k, v := range settings {
		env[k] = v
	}
	urls := make([]string, 0, replicaCount)
	for range replicaCount {
		r := servicetest.Start(t, env)
		d.replicas = append(d.replicas, r)
		urls = append(urls, r.URL)
	}
	d.lb = newBalancer(t, urls)
	return d
}

// slackOK and slackDown are the fake Slack's responses while it works and
// while it fails with a retryable error.
var (
	slackOK   = slacktest.Response{Status: http.StatusOK, Body: "ok"}
	slackDown = slacktest.Response{Status: http.StatusServiceUnavailable, Body: "service_unavailable"}
)

// groupIDPattern matches the group ids that groupIDs makes.
var groupIDPattern = regexp.MustCompile(`00g[A-Z]{5}[0-9]{12}`)

// groupIDs returns n invented Okta group ids, 20 characters like Okta's, of
// the form 00g + prefix + 12 digits. The first ones fall into different
// alert shards, so that with enough groups every shard, and every cluster
// primary that holds one, takes part.
func groupIDs(prefix string, n int) []string {
	if !regexp.MustCompile(`^[A-Z]{5}$`).MatchString(prefix) {
		panic("groupIDs: prefix must be 5 capital letters, got " + prefix)
	}
	var picked, rest []string
	covered := make(map[int]bool)
	for i := 0; len(picked) < n; i++ {
		id := fmt.Sprintf("00g%s%012d", prefix, i)
		shard := burst.ShardOf(id)
		switch {
		case !covered[shard]:
			covered[shard] = true
			picked = append(picked, id)
		case len(covered) == burst.Shards && len(rest) > 0:
			picked = append(picked, rest[0])
			rest = rest[1:]
		default:
			rest = append(rest, id)
		}
	}
	return picked
}

// postsPerGroup counts the posts Slack accepted per group id found in the
// message. A post that names no group id is counted under "".
func (d *deployment) postsPerGroup() map[string]int {
	counts := make(map[string]int)
	for _, r := range d.slack.Accepted() {
		ids := make(map[string]bool)
		for _, id := range groupIDPattern.FindAllString(string(r.Body), -1) {
			ids[id] = true
		}
		if len(ids) == 0 {
			counts[""]++
		}
		for id := range ids {
			counts[id]++
		}
	}
	return counts
}

// slackRequestsFor returns every request that reached the fake Slack about
// the group, accepted or not.
func (d *deployment) slackRequestsFor(groupID string) []slacktest.Request {
	var out []slacktest.Request
	for _, r := range d.slack.Requests() {
		if strings.Contains(string(r.Body), groupID) {
			out = append(out, r)
		}
	}
	return out
}

// waitForDrainedQueue waits until every shard's alert stream is empty, and
// fails the test when an alert was dead-lettered.
//
// It is what proves that no second alert follows. Every request that
// completed a burst returned only after the burst's alert was in a stream,
// and a dispatcher deletes an entry only after Slack accepted it (or after
// moving it to the dead-letter stream). So once the last request has
// returned and the streams are empty, every alert was posted. Only a
// follow-up at the end of a cooldown (15 minutes unless a test sets it)
// could add a post. One more post is possible in principle: a replica whose
// claim went unrenewed for the whole claim timeout and which was still
// posting when another replica took the alert over. Owners renew every
// claimTimeout/3, so that takes a stall of two seconds.
func (d *deployment) waitForDrainedQueue() {
	d.t.Helper()
	ctx := context.Background()
	servicetest.Eventually(d.t, drainTimeout, "every alert stream is empty", func() bool {
		for shard := range burst.Shards {
			if n, err := d.redis.XLen(ctx, burst.StreamKey(shard)).Result(); err != nil || n > 0 {
				return false
			}
		}
		return true
	})
	for shard := range burst.Shards {
		if n := d.redis.XLen(ctx, burst.DeadLetterKey(shard)).Val(); n > 0 {
			d.t.Errorf("%d alerts of shard %d were dead-lettered instead of posted", n, shard)
		}
	}
}

// checkLogsFree fails the test for every replica that logged a line
// containing one of the given texts, quoting the first such line.
func (d *deployment) checkLogsFree(texts ...string) {
	d.t.Helper()
	for _, r := range d.replicas {
		logs := r.Logs()
		for _, text := range texts {
			if n := servicetest.CountLines(logs, text); n > 0 {
				d.t.Errorf("replica %s logged %d lines with %q, the first: %s", r.Addr, n, text, firstLineWith(logs, text))
			}
		}
	}
}

func firstLineWith(logs, text string) string {
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, text) {
			return line
		}
	}
	return ""
}

// flushScripts runs SCRIPT FLUSH on the server or on every cluster primary.
func (d *deployment) flushScripts() {
	d.t.Helper()
	ctx := context.Background()
	var err error
	switch c := d.redis.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return n.ScriptFlush(ctx).Err() })
	default:
		err = c.ScriptFlush(ctx).Err()
	}
	if err != nil {
		d.t.Fatalf("SCRIPT FLUSH: %v", err)
	}
}
