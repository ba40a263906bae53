// Package e2e runs the real oktawatch binary against a real redis-server
// and a fake Slack, and posts Okta-shaped deliveries to it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/servicetest"
	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

// delivery builds an Okta envelope with one event per uuid, in the given
// order, from the event template in testdata (group target listed first).
func delivery(t *testing.T, group string, published time.Time, uuids ...string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/removal-event.json")
	if err != nil {
		t.Fatal(err)
	}
	var events []json.RawMessage
	for i, id := range uuids {
		ev := strings.NewReplacer(
			"{{uuid}}", id,
			"{{published}}", published.Add(time.Duration(i)*time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z"),
			"{{group}}", group,
			"{{user}}", fmt.Sprintf("00uE2E%014d", i),
		).Replace(string(raw))
		events = append(events, json.RawMessage(ev))
	}
	body, err := json.Marshal(map[string]any{
		"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
		"eventId": "e2e-delivery", "contentType": "application/json",
		"data": map[string]any{"events": events},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// post sends a delivery and returns the status and the response time.
func post(t *testing.T, r *servicetest.Replica, body []byte) (int, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.URL+"/okta/events", bytes.NewReader(body))
	req.Header.Set("Authorization", servicetest.TestSecret)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

func uuids(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s-0000-4000-8000-%012d", prefix, i))
	}
	return out
}

func TestService_OneAlertWhileSlackIsSlow(t *testing.T) {
	redis := redistest.Server(t)
	fake := slacktest.New(t)
	fake.SetDefault(slacktest.Response{Status: 200, Body: "ok", Delay: 5 * time.Second})
	r := servicetest.Start(t, map[string]string{"REDIS_URL": "redis://" + redis.Addr, "SLACK_WEBHOOK_URL": fake.URL()})
	now := time.Now()

	var slowest time.Duration
	steps := [][]byte{
		delivery(t, "00gE2EGROUP000000001", now, uuids("a1", 1, 4)...), // four removals
		delivery(t, "00gE2EGROUP000000001", now, uuids("a1", 1, 4)...), // the same four again
	}
	for _, body := range steps {
		status, took := post(t, r, body)
		if status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		slowest = max(slowest, took)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("%d posts before the fifth removal", n)
	}
	status, took := post(t, r, delivery(t, "00gE2EGROUP000000001", now.Add(time.Second), uuids("a1", 5, 5)...))
	slowest = max(slowest, took)

	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	accepted := fake.WaitForAccepted(1, 20*time.Second)
	if !strings.Contains(accepted[0].Message.Text, "5 users removed") {
		t.Errorf("alert text %q", accepted[0].Message.Text)
	}
	if slowest > 500*time.Millisecond {
		t.Errorf("slowest answer took %s while Slack takes 5s; the request path must not wait for Slack", slowest)
	}
	// A sixth removal in the cooldown queues nothing new: the only post is
	// still the first once this removal's log line is out.
	post(t, r, delivery(t, "00gE2EGROUP000000001", now.Add(2*time.Second), uuids("a1", 6, 6)...))
	servicetest.Eventually(t, 10*time.Second, "the sixth removal is recorded", func() bool {
		return servicetest.CountLines(r.Logs(), `"removal recorded"`) == 6
	})
	if n := servicetest.CountLines(r.Logs(), `"burst detected"`); n != 1 {
		t.Errorf("%d bursts detected, want 1", n)
	}
}

func TestService_IdleGroupLeavesNoKeys(t *testing.T) {
	redis := redistest.Server(t)
	fake := slacktest.New(t)
	client := redis.Client()
	baseline := client.DBSize(context.Background()).Val()
	r := servicetest.Start(t, map[string]string{
		"REDIS_URL": "redis://" + redis.Addr, "SLACK_WEBHOOK_URL": fake.URL(),
		"WINDOW": "1s", "COOLDOWN": "2s", "MAX_EVENT_AGE": "1s",
	})

	status, _ := post(t, r, delivery(t, "00gE2EGROUP000000002", time.Now(), uuids("b2", 1, 7)...))
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	fake.WaitForAccepted(1, 10*time.Second)

	// Window plus cooldown is 3 s; the follow-up check runs every second.
	servicetest.Eventually(t, 15*time.Second, "DBSIZE is back to its baseline", func() bool {
		return client.DBSize(context.Background()).Val() == baseline
	})
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
}

func TestService_SecretsStayOutOfOutput(t *testing.T) {
	redis := redistest.Server(t)
	closedPort := redistest.FreePort(t)
	webhookPath := "/services/T0000TEST/B0000TEST/not-a-real-webhook-secret"
	r := servicetest.Start(t, map[string]string{
		"REDIS_URL":         "redis://" + redis.Addr,
		"SLACK_WEBHOOK_URL": fmt.Sprintf("http://127.0.0.1:%d%s", closedPort, webhookPath),
	})

	post(t, r, delivery(t, "00gE2EGROUP000000003", time.Now(), uuids("c3", 1, 5)...))
	req, _ := http.NewRequest(http.MethodPost, r.URL+"/okta/events", strings.NewReader("{}"))
	req.Header.Set("Authorization", "a-wrong-secret-value")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	servicetest.Eventually(t, 15*time.Second, "a failed Slack attempt is retried", func() bool {
		return servicetest.CountLines(r.Logs(), "retrying") >= 2
	})

	logs := r.Logs()
	for _, secret := range []string{webhookPath, "not-a-real-webhook-secret", servicetest.TestSecret, "a-wrong-secret-value"} {
		if strings.Contains(logs, secret) {
			t.Errorf("output contains %q", secret)
		}
	}
}

func TestService_CrashedReplicaAlertIsTakenOver(t *testing.T) {
	redis := redistest.Server(t)
	fake := slacktest.New(t)
	fake.Hang() // the first post never gets a response
	env := map[string]string{
		"REDIS_URL": "redis://" + redis.Addr, "SLACK_WEBHOOK_URL": fake.URL(), "ALERT_CLAIM_TIMEOUT": "3s",
	}
	first := servicetest.Start(t, env)

	post(t, first, delivery(t, "00gE2EGROUP000000004", time.Now(), uuids("d4", 1, 5)...))
	servicetest.Eventually(t, 10*time.Second, "the first replica's post reaches Slack", func() bool {
		return len(fake.Requests()) == 1
	})
	first.Kill()
	second := servicetest.Start(t, env)
	killedAt := time.Now()
	accepted := fake.WaitForAccepted(1, 15*time.Second)

	if took := time.Since(killedAt); took > 3*time.Second+5*time.Second {
		t.Errorf("takeover took %s with a 3s claim timeout", took)
	}
	if len(accepted) != 1 {
		t.Errorf("%d accepted posts, want 1", len(accepted))
	}
	if servicetest.CountLines(second.Logs(), "took over alert") != 1 {
		t.Errorf("second replica did not log the takeover:\n%s", second.Logs())
	}
}
