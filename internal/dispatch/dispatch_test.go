package dispatch_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

func TestDispatch_RetryAfterIsRespected(t *testing.T) {
	forms := map[string]func() string{
		"seconds":   func() string { return "2" },
		"http date": func() string { return time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat) },
	}
	for name, retryAfter := range forms {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t)
			s.slack.Enqueue(slacktest.Response{Status: 429, Header: map[string]string{"Retry-After": retryAfter()}, Body: "rate_limited"})
			r := s.startReplica(t)

			r.burstOf(t, s.rdb, "00gRETRY", 5)
			accepted := s.slack.WaitForAccepted(1, 20*time.Second)

			reqs := s.slack.Requests()
			if len(reqs) != 2 || len(accepted) != 1 {
				t.Fatalf("requests %d accepted %d, want 2 and 1", len(reqs), len(accepted))
			}
			// An HTTP date has whole-second precision, so allow for the cut.
			if gap := reqs[1].Time.Sub(reqs[0].Time); gap < 1900*time.Millisecond {
				t.Errorf("retry %s after the 429, want at least 2s", gap)
			}
		})
	}
}

func TestDispatch_ServerErrorsUntilSlackRecovers(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	s.slack.SetDefault(slacktest.Response{Status: 503, Body: "service unavailable"})
	r := s.startReplica(t)
	queued := r.burstOf(t, s.rdb, "00gOUTAGE", 5)
	cooldownKey := ""
	for _, k := range s.rdb.Keys(context.Background(), "*00gOUTAGE:cooldown").Val() {
		cooldownKey = k
	}

	outageEnds := time.Now().Add(20 * time.Second)
	for time.Now().Before(outageEnds) {
		if s.rdb.Exists(context.Background(), cooldownKey).Val() != 1 {
			t.Fatal("cooldown key lost during the outage")
		}
		time.Sleep(200 * time.Millisecond) // sampling the cooldown key through the outage
	}
	s.slack.SetDefault(slacktest.Response{Status: 200, Body: "ok"})
	accepted := s.slack.WaitForAccepted(1, 10*time.Second)

	if len(queued) != 1 || len(accepted) != 1 {
		t.Fatalf("queued %d accepted %d, want 1 and 1", len(queued), len(accepted))
	}
	if n := len(s.slack.Requests()); n < 5 {
		t.Errorf("only %d attempts during a 20s outage; backoff too slow", n)
	}
	if r.logs.FilterMessageSnippet("retrying").Len() == 0 {
		t.Error("no retry was logged")
	}
}

func TestDispatch_PermanentErrorDeadLetters(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	s.slack.SetDefault(slacktest.Response{Status: 400, Body: "invalid_blocks"})
	r := s.startReplica(t)

	r.burstOf(t, s.rdb, "00gBAD", 5)
	eventually(t, 10*time.Second, "the alert is dead-lettered", func() bool { return len(deadLetters(t, s.rdb)) == 1 })

	if n := len(s.slack.Requests()); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}
	dead := deadLetters(t, s.rdb)[0]
	if dead.Values["reason"] != "rejected" || !strings.Contains(dead.Values["error"].(string), "invalid_blocks") {
		t.Errorf("dead letter %v, want reason rejected and Slack's answer", dead.Values)
	}
	if n := r.logs.FilterMessageSnippet("dead-letter").Len(); n != 1 {
		t.Errorf("%d error logs, want 1", n)
	}
	if n := s.rdb.XLen(context.Background(), burst.StreamKey(burst.ShardOf("00gBAD"))).Val(); n != 0 {
		t.Errorf("alert stream still holds %d entries", n)
	}
}

func TestDispatch_ManyBurstsKeepSlackRate(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	replicas := []*replica{s.startReplica(t), s.startReplica(t)}

	for i := range 20 {
		replicas[i%2].burstOf(t, s.rdb, "00gMANY"+string(rune('A'+i)), 5)
	}
	accepted := s.slack.WaitForAccepted(20, 60*time.Second)

	groups := map[string]bool{}
	for _, a := range accepted {
		groups[a.Message.Text] = true
	}
	if len(accepted) != 20 || len(groups) != 20 {
		t.Fatalf("accepted %d posts for %d distinct alerts, want 20 and 20", len(accepted), len(groups))
	}
	reqs := s.slack.Requests()
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].Time.Sub(reqs[i-1].Time); gap < 900*time.Millisecond {
			t.Errorf("requests %d and %d only %s apart, want about one per second", i-1, i, gap)
		}
	}
}

func TestDispatch_FollowUpAfterCooldown(t *testing.T) {
	t.Parallel()
	s := newSetup(t)
	s.settings.Cooldown = 2 * time.Second
	r := s.startReplica(t)

	queued := r.burstOf(t, s.rdb, "00gLONG", 30)
	accepted := s.slack.WaitForAccepted(2, 20*time.Second)

	if len(queued) != 1 {
		t.Fatalf("%d alerts queued by recording, want 1 at the 5th removal", len(queued))
	}
	if !strings.Contains(accepted[0].Message.Text, "5 users removed") {
		t.Errorf("first alert: %q", accepted[0].Message.Text)
	}
	if !strings.Contains(accepted[1].Message.Text, "25 more users removed") || !strings.Contains(accepted[1].Message.Text, "30") {
		t.Errorf("follow-up: %q, want 25 more and a total of 30", accepted[1].Message.Text)
	}
	// Two more cooldown periods pass without removals: the burst ends, and
	// nothing else is posted.
	groupState := s.rdb.Keys(context.Background(), "*00gLONG:burst").Val()
	eventually(t, 20*time.Second, "the burst state is gone", func() bool {
		return s.rdb.Exists(context.Background(), groupState...).Val() == 0
	})
	if n := len(s.slack.Requests()); n != 2 {
		t.Errorf("%d posts, want 2", n)
	}
}
