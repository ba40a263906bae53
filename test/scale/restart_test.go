package scale_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/servicetest"
)

// oktaTimeout is how long Okta waits for the response to a delivery.
const oktaTimeout = 3 * time.Second

// TestSingleRedis_RestartMidBurst restarts the only redis-server between
// the second and third removal of a burst. The server writes every command
// to its append-only file, as a production Redis that must keep removals
// across a restart does, so the burst completes after the restart.
func TestSingleRedis_RestartMidBurst(t *testing.T) {
	srv := redistest.Server(t, "--appendonly", "yes", "--appendfsync", "always")
	d := startDeployment(t, map[string]string{"REDIS_URL": "redis://" + srv.Addr + "/0"}, srv.Client())
	group := groupIDs("RSTRT", 1)[0]
	bodies := singleDeliveries(t, removalEvents(t, group, threshold))
	for _, body := range bodies[:2] {
		if failed := d.deliver(body, recoveryTimeout); failed > 0 {
			t.Fatalf("delivery before the restart failed %d times", failed)
		}
	}

	srv.Stop()
	d.checkOutage(bodies[2])
	srv.Start()
	d.waitUntilEveryReplicaAccepts(bodies[2])
	d.deliverEach(bodies[3:])
	d.slack.WaitForAccepted(1, alertTimeout)
	d.waitForDrainedQueue()

	posts := d.postsPerGroup()
	if posts[group] != 1 || len(d.slack.Accepted()) != 1 {
		t.Fatalf("slack accepted %d posts, %d of them for group %s; want exactly 1", len(d.slack.Accepted()), posts[group], group)
	}
	if text := d.slack.Accepted()[0].Message.Text; !strings.HasPrefix(text, fmt.Sprintf("%d users removed", threshold)) {
		t.Errorf("alert text %q does not report all %d removals from before and after the restart", text, threshold)
	}
}

// checkOutage checks that while Redis is down every replica responds to a
// delivery with 503 within Okta's wait, so that Okta retries it, and
// reports itself not ready. The load balancer passes the 503 on. The
// requests run at once because each takes a while to fail.
func (d *deployment) checkOutage(body []byte) {
	d.t.Helper()
	targets := []string{d.lb.URL}
	for _, r := range d.replicas {
		targets = append(targets, r.URL)
	}
	var wg sync.WaitGroup
	for _, target := range targets {
		wg.Go(func() { d.checkOutageAnswer(target, body) })
	}
	for _, r := range d.replicas {
		wg.Go(func() {
			if status, err := get(r.URL + "/readyz"); err != nil || status != http.StatusServiceUnavailable {
				d.t.Errorf("/readyz of %s during the outage: status %d, error %v; want 503", r.Addr, status, err)
			}
		})
	}
	wg.Wait()
}

func (d *deployment) checkOutageAnswer(target string, body []byte) {
	start := time.Now()
	status, err := post(context.Background(), target, body)
	elapsed := time.Since(start)
	if err != nil || status != http.StatusServiceUnavailable {
		d.t.Errorf("delivery to %s during the outage: status %d, error %v; want 503", target, status, err)
	}
	if elapsed > oktaTimeout {
		d.t.Errorf("delivery to %s during the outage took %s, longer than Okta's %s wait", target, elapsed, oktaTimeout)
	}
}

// waitUntilEveryReplicaAccepts polls every replica with the same delivery,
// which counts once however often it is accepted, until each responds 200,
// then checks that each reports itself ready.
func (d *deployment) waitUntilEveryReplicaAccepts(body []byte) {
	d.t.Helper()
	for _, r := range d.replicas {
		servicetest.Eventually(d.t, recoveryTimeout, "replica "+r.Addr+" accepts deliveries after the restart", func() bool {
			status, err := post(context.Background(), r.URL, body)
			return err == nil && status == http.StatusOK
		})
		if status, err := get(r.URL + "/readyz"); err != nil || status != http.StatusOK {
			d.t.Errorf("/readyz of %s after the restart: status %d, error %v; want 200", r.Addr, status, err)
		}
	}
}
