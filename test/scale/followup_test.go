package scale_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/servicetest"
)

// followUpCooldown is short so that a burst runs through its cooldown
// periods within seconds, and long enough that the removals sent right
// after the burst arrive during the first period.
const followUpCooldown = 5 * time.Second

// followUpQueuedMessage is the log message of the replica that queues a
// follow-up.
const followUpQueuedMessage = "follow-up queued"

// TestCluster_OneFollowUpPerCooldown sends more removals during a burst's
// cooldown. Every replica checks for due follow-ups, so exactly one of them
// must queue the follow-up, and the burst must end after the next, quiet
// period.
func TestCluster_OneFollowUpPerCooldown(t *testing.T) {
	cluster := redistest.Cluster(t, 3)
	d := startDeployment(t, map[string]string{
		"REDIS_CLUSTER_ADDRS": strings.Join(cluster.Addrs(), ","),
		"COOLDOWN":            followUpCooldown.String(),
	}, cluster.Client())
	group := groupIDs("FOLLW", 1)[0]
	const later = 3
	bodies := singleDeliveries(t, removalEvents(t, group, threshold+later))

	d.deliverEach(bodies[:threshold])
	d.deliverEach(bodies[threshold:])
	d.waitForBurstEnd(group)
	d.waitForDrainedQueue()

	accepted := d.slack.Accepted()
	if len(accepted) != 2 {
		t.Fatalf("slack accepted %d posts, want 2: the burst alert and one follow-up; posts per group: %v", len(accepted), d.postsPerGroup())
	}
	var texts []string
	for _, r := range accepted {
		texts = append(texts, r.Message.Text)
	}
	wantPrefixes := []string{fmt.Sprintf("%d users removed", threshold), fmt.Sprintf("%d more users removed", later)}
	for _, prefix := range wantPrefixes {
		if n := countPrefixed(texts, prefix); n != 1 {
			t.Errorf("%d posts start with %q, want 1; posts: %q", n, prefix, texts)
		}
	}
	if n := d.countLogLines(followUpQueuedMessage); n != 1 {
		t.Errorf("replicas logged %q %d times, want 1", followUpQueuedMessage, n)
	}
	d.checkLogsFree("CROSSSLOT")
}

// waitForBurstEnd waits until the group is off its shard's follow-up
// schedule, which happens when a cooldown period ends without new removals.
// From then on no follow-up can come for the group.
func (d *deployment) waitForBurstEnd(groupID string) {
	d.t.Helper()
	key := burst.ScheduleKey(burst.ShardOf(groupID))
	servicetest.Eventually(d.t, alertTimeout, "the burst of group "+groupID+" ends", func() bool {
		err := d.redis.ZScore(context.Background(), key, groupID).Err()
		return errors.Is(err, redis.Nil)
	})
}

func countPrefixed(texts []string, prefix string) int {
	n := 0
	for _, text := range texts {
		if strings.HasPrefix(text, prefix) {
			n++
		}
	}
	return n
}
