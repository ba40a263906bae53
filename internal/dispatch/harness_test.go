package dispatch_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/dispatch"
	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/slack"
	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

// replica is the alert path of one replica, in process: a detector and a
// dispatcher posting to a fake Slack, logging at debug level into logs.
type replica struct {
	detector   *burst.Detector
	dispatcher *dispatch.Dispatcher
	logs       *observer.ObservedLogs
	stop       context.CancelFunc
	done       chan struct{}
}

type setup struct {
	rdb      *redis.Client
	slack    *slacktest.Server
	settings burst.Settings
	cfg      dispatch.Config
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	cfg := dispatch.DefaultConfig()
	cfg.ClaimTimeout = 3 * time.Second
	cfg.PollInterval = 100 * time.Millisecond
	cfg.MinBackoff = 200 * time.Millisecond
	cfg.MaxBackoff = 2 * time.Second
	return &setup{
		rdb:   redistest.Server(t).Client(),
		slack: slacktest.New(t),
		settings: burst.Settings{
			Threshold: 5, Window: time.Minute, Cooldown: 15 * time.Minute,
			MaxEventAge: time.Hour, AlertMaxAge: time.Hour,
		},
		cfg: cfg,
	}
}

func (s *setup) startReplica(t *testing.T) *replica {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	det := burst.New(s.rdb, s.settings)
	client := slack.NewClient(s.slack.URL(), &http.Client{Timeout: 5 * time.Second})
	d := dispatch.New(s.rdb, slack.NewNotifier(client, "https://example.okta.com"), det, nil, s.cfg, log)

	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{detector: det, dispatcher: d, logs: logs, stop: cancel, done: make(chan struct{})}
	go func() {
		d.Run(ctx, ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
		assertNoWebhookPath(t, logs, s.slack.URL())
	})
	return r
}

// burstOf records n removals of group gid published now, one per batch.
func (r *replica) burstOf(t *testing.T, rdb *redis.Client, gid string, n int) []burst.Enqueued {
	t.Helper()
	now, err := rdb.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var queued []burst.Enqueued
	for i := range n {
		res, err := r.detector.Record(context.Background(), []okta.Removal{{
			EventID:   fmt.Sprintf("%s-evt-%03d", gid, i),
			Published: now.Add(time.Duration(i) * time.Millisecond),
			GroupID:   gid, GroupName: "Group " + gid,
			UserID: fmt.Sprintf("00u%017d", i), UserLogin: fmt.Sprintf("user%d@example.com", i), UserName: fmt.Sprintf("User %d", i),
			Actor: okta.Actor{ID: "00uADMIN", Type: "User", Login: "admin@example.com", Name: "Admin"},
		}}, alert.SourceHook)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range res.Alerts {
			r.dispatcher.Kick(a.Shard)
		}
		queued = append(queued, res.Alerts...)
	}
	return queued
}

// assertNoWebhookPath fails when any log line, message or field, contains
// the webhook URL's path, which is the secret part of the URL.
func assertNoWebhookPath(t *testing.T, logs *observer.ObservedLogs, webhook string) {
	t.Helper()
	u, err := url.Parse(webhook)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimPrefix(u.Path, "/services/")
	for _, e := range logs.All() {
		line := e.Message + fmt.Sprint(e.ContextMap())
		if strings.Contains(line, u.Path) || strings.Contains(line, secret) {
			t.Errorf("log line contains the webhook path: %s", line)
		}
	}
}

func deadLetters(t *testing.T, rdb *redis.Client) []redis.XMessage {
	t.Helper()
	var out []redis.XMessage
	for shard := range burst.Shards {
		msgs, err := rdb.XRange(context.Background(), burst.DeadLetterKey(shard), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msgs...)
	}
	return out
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}
