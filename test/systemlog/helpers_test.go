// Package systemlog runs real oktawatch replicas with the System Log poller
// against a real redis-server, a fake Okta org and a fake Slack, and checks
// that removals the event hook lost still alert exactly once.
package systemlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/oktaapi/oktatest"
	"github.com/oktawatch/oktawatch/internal/poller"
	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/servicetest"
	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

const (
	testToken = "test-token-not-real"
	// waitTimeout bounds every wait for an outcome. It is generous because
	// the replicas share a loaded 2-core machine with the test.
	waitTimeout = 30 * time.Second
	// pollInterval is the replicas' System Log poll interval; it makes the
	// poller's lease last one second.
	pollInterval = "100ms"
)

// env is the shared backends of one test: Redis, Okta and Slack.
type env struct {
	redis *redistest.Instance
	rdb   *redis.Client
	okta  *oktatest.Server
	slack *slacktest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	instance := redistest.Server(t)
	return &env{redis: instance, rdb: instance.Client(), okta: oktatest.New(t, testToken), slack: slacktest.New(t)}
}

// startReplica starts an oktawatch replica that polls the fake Okta's
// System Log every 100 ms and alerts the fake Slack.
func (e *env) startReplica(t *testing.T) *servicetest.Replica {
	t.Helper()
	return servicetest.Start(t, map[string]string{
		"REDIS_URL":               "redis://" + e.redis.Addr + "/0",
		"OKTA_ORG_URL":            e.okta.URL,
		"OKTA_API_TOKEN":          testToken,
		"SYSTEMLOG_POLL_INTERVAL": pollInterval,
		"SLACK_WEBHOOK_URL":       e.slack.URL(),
	})
}

// logPolls returns how many System Log requests the fake Okta received.
func (e *env) logPolls() int { return e.okta.Count(http.MethodGet, "/api/v1/logs") }

// waitForMorePolls waits until the fake Okta received n more System Log
// requests, so that anything still to come from the pages read so far had
// time to happen.
func (e *env) waitForMorePolls(t *testing.T, n int) {
	t.Helper()
	target := e.logPolls() + n
	servicetest.Eventually(t, waitTimeout, fmt.Sprintf("%d more System Log polls", n),
		func() bool { return e.logPolls() >= target })
}

// leaseOwner returns the owner of the polling lease, or "" when it is free.
func (e *env) leaseOwner(t *testing.T) string {
	t.Helper()
	owner, _ := e.rdb.Get(context.Background(), poller.LeaseKey).Result()
	return owner
}

// removalEvents returns n System Log removal events from one group,
// published one second apart from start, with uuids prefix-0 and up.
func removalEvents(prefix, groupID, groupName string, n int, start time.Time) []json.RawMessage {
	events := make([]json.RawMessage, n)
	for i := range n {
		uuid := fmt.Sprintf("%s-%d", prefix, i)
		event := map[string]any{
			"uuid":            uuid,
			"published":       start.Add(time.Duration(i) * time.Second).UTC().Format("2006-01-02T15:04:05.000Z"),
			"eventType":       "group.user_membership.remove",
			"version":         "0",
			"displayMessage":  "Remove user from group membership",
			"severity":        "INFO",
			"legacyEventType": "core.user_group_member.user_remove",
			"actor":           map[string]any{"id": "00uE2EADMIN000000001", "type": "User", "alternateId": "admin@example.com", "displayName": "Test Admin"},
			"outcome":         map[string]any{"result": "SUCCESS", "reason": nil},
			"target": []map[string]any{
				{"id": fmt.Sprintf("00uSYSLOG%011d", i), "type": "User", "alternateId": uuid + "@example.com", "displayName": "User " + uuid},
				{"id": groupID, "type": "UserGroup", "alternateId": "unknown", "displayName": groupName},
			},
			"transaction": map[string]any{"type": "WEB", "id": "e2eTransaction", "detail": map[string]any{}},
		}
		events[i], _ = json.Marshal(event)
	}
	return events
}

// postDelivery posts the events to the replica's hook in one Event Hook
// envelope and fails the test unless the replica accepts it.
func postDelivery(t *testing.T, r *servicetest.Replica, events []json.RawMessage) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
		"eventId": "systemlog-e2e-delivery", "contentType": "application/json",
		"data": map[string]any{"events": events},
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, r.URL+"/okta/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", servicetest.TestSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post delivery: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delivery answered %s, want 200 or 204", resp.Status)
	}
}

// messagesAbout returns the accepted Slack messages that name the group.
func messagesAbout(s *slacktest.Server, groupID string) []slacktest.Request {
	var found []slacktest.Request
	for _, r := range s.Accepted() {
		if strings.Contains(string(r.Body), groupID) {
			found = append(found, r)
		}
	}
	return found
}
