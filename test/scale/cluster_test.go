package scale_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/redistest"
)

// Size of the load in TestCluster_OneAlertPerBurst. The dispatchers post
// about one alert a second, so burstGroupCount sets most of the run time.
const (
	burstGroupCount = 20
	quietGroupCount = 10
	senders         = 8
)

func TestCluster_OneAlertPerBurst(t *testing.T) {
	cluster := redistest.Cluster(t, 3)
	d := startDeployment(t, map[string]string{"REDIS_CLUSTER_ADDRS": strings.Join(cluster.Addrs(), ",")}, cluster.Client())
	burstGroups := groupIDs("BURST", burstGroupCount)
	quietGroups := groupIDs("QUIET", quietGroupCount)
	bodies := mixedDeliveries(t, burstGroups, quietGroups)

	statuses := d.deliverOnce(bodies, senders)
	perStatus := make(map[int]int)
	for _, status := range statuses {
		perStatus[status]++
	}
	if perStatus[http.StatusOK] != len(bodies) {
		t.Errorf("deliveries per status code (0: no response): %v; want all %d with 200", perStatus, len(bodies))
		d.checkLogsFree("CROSSSLOT")
		t.FailNow()
	}
	d.slack.WaitForAccepted(len(burstGroups), alertTimeout)
	d.waitForDrainedQueue()

	posts := d.postsPerGroup()
	for _, id := range burstGroups {
		if posts[id] != 1 {
			t.Errorf("group %s at the threshold got %d alerts, want 1", id, posts[id])
		}
	}
	for _, id := range quietGroups {
		if posts[id] != 0 {
			t.Errorf("group %s below the threshold got %d alerts, want 0", id, posts[id])
		}
	}
	if total := len(d.slack.Accepted()); total != len(burstGroups) {
		t.Errorf("slack accepted %d posts, want %d; posts per group: %v", total, len(burstGroups), posts)
	}
	for i, n := range d.lb.Served() {
		if n == 0 {
			t.Errorf("replica %s served no delivery; the load balancer did not spread the load", d.replicas[i].Addr)
		}
	}
	d.checkLogsFree("CROSSSLOT")
	checkEveryPrimaryUsed(t, cluster.Client())
}

// mixedDeliveries shuffles the removals of all groups, burst groups at the
// threshold and quiet groups one below it, into deliveries of one to four
// events that mix groups. Every third delivery is sent twice, as Okta does
// when a response does not reach it. The seed is fixed so that a failure
// can be replayed.
func mixedDeliveries(t *testing.T, burstGroups, quietGroups []string) [][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var events []json.RawMessage
	for _, id := range burstGroups {
		events = append(events, removalEvents(t, id, threshold)...)
	}
	for _, id := range quietGroups {
		events = append(events, removalEvents(t, id, threshold-1)...)
	}
	rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })

	var bodies [][]byte
	for len(events) > 0 {
		n := min(len(events), 1+rng.IntN(4))
		bodies = append(bodies, delivery(t, events[:n]...))
		events = events[n:]
	}
	for i := 0; i < len(bodies); i += 3 {
		bodies = append(bodies, bodies[i])
	}
	rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	return bodies
}

// checkEveryPrimaryUsed fails the test when a cluster primary holds no key,
// which would mean the groups never spread over the cluster.
func checkEveryPrimaryUsed(t *testing.T, client *redis.ClusterClient) {
	t.Helper()
	err := client.ForEachMaster(context.Background(), func(ctx context.Context, node *redis.Client) error {
		if n := node.DBSize(ctx).Val(); n == 0 {
			t.Errorf("cluster primary %s holds no key", node.Options().Addr)
		}
		return nil
	})
	if err != nil {
		t.Errorf("read key counts of the primaries: %v", err)
	}
}
