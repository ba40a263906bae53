package dispatch_test

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

func TestDispatch_AlertPastMaxAgeIsDeadLettered(t *testing.T) {
	m := miniredis.RunT(t)
	// The alert is stamped with Redis time, set two days back, so by the
	// dispatcher's clock it is older than its one-day maximum age.
	m.SetTime(time.Now().Add(-48 * time.Hour))
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	s := newSetup(t)
	s.rdb = rdb
	s.settings.AlertMaxAge = 24 * time.Hour
	s.cfg.MaxAge = 24 * time.Hour
	s.slack.SetDefault(slacktest.Response{Status: 200, Body: "ok"})
	r := s.startReplica(t)

	r.burstOf(t, rdb, "00gSTALE", 5)
	eventually(t, 10*time.Second, "the alert is dead-lettered", func() bool { return len(deadLetters(t, rdb)) == 1 })

	if reason := deadLetters(t, rdb)[0].Values["reason"]; reason != "max_age" {
		t.Errorf("reason = %v, want max_age", reason)
	}
	if n := len(s.slack.Requests()); n != 0 {
		t.Errorf("%d posts for an expired alert, want 0", n)
	}
}
