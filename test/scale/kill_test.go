package scale_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/servicetest"
)

// takeOverMessage is the log message of a dispatcher that claims an alert
// whose owner stopped renewing it.
const takeOverMessage = "took over alert from an unresponsive replica"

// TestCluster_ReplicaKilledMidBurst kills, with SIGKILL, the replica that
// owns one group's alert while it is retrying a failing Slack, and does so
// between the second and third removal of another group's burst. Slack
// fails until a surviving replica has taken the alert over, so no post can
// be accepted before the kill and lost or repeated by it.
func TestCluster_ReplicaKilledMidBurst(t *testing.T) {
	cluster := redistest.Cluster(t, 3)
	d := startDeployment(t, map[string]string{"REDIS_CLUSTER_ADDRS": strings.Join(cluster.Addrs(), ",")}, cluster.Client())
	d.slack.SetDefault(slackDown)
	groups := groupIDs("KILLD", 2)
	owned, interrupted := groups[0], groups[1]
	d.deliverEach(singleDeliveries(t, removalEvents(t, owned, threshold)))
	servicetest.Eventually(t, alertTimeout, "slack is tried with the alert of group "+owned, func() bool {
		return len(d.slackRequestsFor(owned)) > 0
	})
	victim := d.ownerOf(owned)
	bodies := singleDeliveries(t, removalEvents(t, interrupted, threshold))

	d.deliverEach(bodies[:2])
	victim.Kill()
	failed := d.deliverEach(bodies[2:])
	servicetest.Eventually(t, alertTimeout, "a surviving replica takes the alert over", func() bool {
		return d.countLogLines(takeOverMessage) > 0
	})
	d.slack.SetDefault(slackOK)
	d.slack.WaitForAccepted(len(groups), alertTimeout)
	d.waitForDrainedQueue()

	t.Logf("after the kill: the load balancer skipped %d refused connections, and %d failed delivery attempts were retried",
		d.lb.refusedConnections.Load(), failed)
	posts := d.postsPerGroup()
	for _, id := range groups {
		if posts[id] != 1 {
			t.Errorf("group %s got %d alerts, want 1", id, posts[id])
		}
	}
	if total := len(d.slack.Accepted()); total != len(groups) {
		t.Errorf("slack accepted %d posts, want %d; posts per group: %v", total, len(groups), posts)
	}
	d.checkLogsFree("CROSSSLOT")
}

// consumerPattern finds the Redis Streams consumer name that a replica's
// dispatcher logs when it starts.
var consumerPattern = regexp.MustCompile(`"msg":"dispatcher started".*?"consumer":"([^"]+)"`)

// ownerOf returns the replica whose dispatcher holds the group's pending
// alert.
func (d *deployment) ownerOf(groupID string) *servicetest.Replica {
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
	for _, r := range d.replicas {
		if m := consumerPattern.FindStringSubmatch(r.Logs()); m != nil && m[1] == pending[0].Consumer {
			return r
		}
	}
	d.t.Fatalf("no replica logged dispatcher consumer %q", pending[0].Consumer)
	return nil
}

// countLogLines returns how many log lines of all replicas contain text.
func (d *deployment) countLogLines(text string) int {
	n := 0
	for _, r := range d.replicas {
		n += servicetest.CountLines(r.Logs(), text)
	}
	return n
}
