package scale_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/servicetest"
)

// TestScriptFlush_ChangesNoOutcome empties the Lua script cache of every
// Redis node twice: between two removals of a burst, which the detector's
// scripts must survive, and while the burst's alert is being delivered,
// which the dispatcher's claim renewal and acknowledgement must survive.
func TestScriptFlush_ChangesNoOutcome(t *testing.T) {
	for _, topology := range redistest.Topologies() {
		t.Run(topology.Name, func(t *testing.T) {
			env, admin := topology.Start(t)
			d := startDeployment(t, env, admin)
			d.slack.SetDefault(slackDown)
			group := groupIDs("FLUSH", 1)[0]
			bodies := singleDeliveries(t, removalEvents(t, group, threshold))

			d.deliverFirstTry(bodies[:2])
			d.flushScripts()
			d.deliverFirstTry(bodies[2:])
			servicetest.Eventually(t, alertTimeout, "slack is tried with the alert", func() bool {
				return len(d.slackRequestsFor(group)) > 0
			})
			d.flushScripts()
			d.waitPastClaimTimeout(group, time.Now())
			d.checkStillFirstOwner(group)
			d.slack.SetDefault(slackOK)
			d.slack.WaitForAccepted(1, alertTimeout)
			d.waitForDrainedQueue()

			if posts := d.postsPerGroup(); posts[group] != 1 || len(d.slack.Accepted()) != 1 {
				t.Errorf("slack accepted %d posts, %d of them for group %s; want exactly 1", len(d.slack.Accepted()), posts[group], group)
			}
			d.checkLogsFree("CROSSSLOT", "NOSCRIPT", "failed to renew alert claims", takeOverMessage)
		})
	}
}

// deliverFirstTry posts each body once through the load balancer and fails
// the test unless every response is 200.
func (d *deployment) deliverFirstTry(bodies [][]byte) {
	d.t.Helper()
	for i, status := range d.deliverOnce(bodies, len(bodies)) {
		if status != http.StatusOK {
			d.t.Errorf("delivery %d got status %d, want 200 at the first try", i, status)
		}
	}
	if d.t.Failed() {
		d.checkLogsFree("NOSCRIPT")
		d.t.FailNow()
	}
}

// waitPastClaimTimeout waits until the owner of the group's alert tried
// Slack again more than the claim timeout plus two dispatcher polls (one
// second each) after since. An owner that failed to renew its claim since
// then would have lost the alert to another replica by that time.
func (d *deployment) waitPastClaimTimeout(groupID string, since time.Time) {
	d.t.Helper()
	after := since.Add(claimTimeout + 2*time.Second)
	servicetest.Eventually(d.t, alertTimeout, "slack is tried again after the claim timeout", func() bool {
		requests := d.slackRequestsFor(groupID)
		return len(requests) > 0 && requests[len(requests)-1].Time.After(after)
	})
}

// checkStillFirstOwner fails the test unless the group's alert is still
// with the dispatcher that read it first: claim renewals do not count as
// deliveries, a takeover does.
func (d *deployment) checkStillFirstOwner(groupID string) {
	d.t.Helper()
	pending, err := d.redis.XPendingExt(context.Background(), &redis.XPendingExtArgs{
		Stream: burst.StreamKey(burst.ShardOf(groupID)),
		Group:  burst.ConsumerGroup,
		Start:  "-",
		End:    "+",
		Count:  10,
	}).Result()
	if err != nil || len(pending) != 1 {
		d.t.Fatalf("pending alerts of group %s: %v, error %v; want exactly one", groupID, pending, err)
	}
	if pending[0].RetryCount != 1 {
		d.t.Errorf("alert of group %s was delivered %d times to dispatchers, want 1: its owner lost it", groupID, pending[0].RetryCount)
	}
}
