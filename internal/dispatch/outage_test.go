package dispatch_test

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

// A Redis outage longer than the claim timeout while the owner is between
// attempts: afterwards another replica may claim the alert, but only one of
// the two may post it.
func TestDispatch_OutageLongerThanClaimTimeoutPostsOnce(t *testing.T) {
	s := newSetup(t)
	pid := redisPID(t, s)
	s.slack.Enqueue(slacktest.Response{Status: 503, Body: "service unavailable"})
	owner := s.startReplica(t)
	other := s.startReplica(t)

	owner.burstOf(t, s.rdb, "00gOUTAGE2", 5)
	eventually(t, 10*time.Second, "the first attempt reaches Slack", func() bool { return len(s.slack.Requests()) >= 1 })
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The outage itself: it must outlast the 3 s claim timeout.
	time.Sleep(s.cfg.ClaimTimeout + time.Second)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	s.slack.WaitForAccepted(1, 20*time.Second)
	eventually(t, 20*time.Second, "both replicas finish the delivery", func() bool {
		return owner.dispatcher.InFlight() == 0 && other.dispatcher.InFlight() == 0
	})

	if n := len(s.slack.Accepted()); n != 1 {
		t.Errorf("alert posted %d times, want 1", n)
	}
}

func redisPID(t *testing.T, s *setup) int {
	t.Helper()
	info, err := s.rdb.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, err := strconv.Atoi(v)
			if err == nil {
				return pid
			}
		}
	}
	t.Fatal("redis INFO has no process_id")
	return 0
}
