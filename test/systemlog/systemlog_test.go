package systemlog

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/servicetest"
	"github.com/oktawatch/oktawatch/internal/slack/slacktest"
)

func TestSystemLog_LostBurstsAlertLateOnce(t *testing.T) {
	e := newEnv(t)
	published := time.Now().Add(-3 * time.Minute)
	e.okta.AddLogEvents(removalEvents("fin", "00gSYSLOGFINANCE0001", "Finance-Approvers", 5, published)...)
	e.okta.AddLogEvents(removalEvents("eng", "00gSYSLOGENGINEER002", "Engineering-Oncall", 6, published)...)

	e.startReplica(t)
	e.slack.WaitForAccepted(2, waitTimeout)
	e.waitForMorePolls(t, 5)

	if n := len(e.slack.Requests()); n != 2 {
		t.Errorf("Slack received %d messages, want one per burst: 2", n)
	}
	for _, group := range []string{"00gSYSLOGFINANCE0001", "00gSYSLOGENGINEER002"} {
		messages := messagesAbout(e.slack, group)
		if len(messages) != 1 {
			t.Errorf("group %s: %d messages, want 1", group, len(messages))
			continue
		}
		if text := messages[0].Message.Text; !strings.Contains(text, "found late") {
			t.Errorf("group %s: message text %q does not say the alert is late", group, text)
		}
		if body := string(messages[0].Body); !strings.Contains(body, "The System Log poller found this burst") {
			t.Errorf("group %s: message does not name the System Log poller:\n%s", group, body)
		}
	}
}

func TestSystemLog_BothPathsAlertOnce(t *testing.T) {
	tests := []struct {
		name      string
		hookFirst bool
		wantLate  bool
	}{
		{"hook delivers first", true, false},
		{"system log read first", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			events := removalEvents("both", "00gSYSLOGBOTHPATHS01", "Payroll-Admins", 5, time.Now().Add(-time.Minute))
			replica := e.startReplica(t)

			if tt.hookFirst {
				postDelivery(t, replica, events)
				e.slack.WaitForAccepted(1, waitTimeout)
				e.okta.AddLogEvents(events...)
			} else {
				e.okta.AddLogEvents(events...)
				e.slack.WaitForAccepted(1, waitTimeout)
				postDelivery(t, replica, events)
			}
			e.waitForMorePolls(t, 5)

			requests := e.slack.Requests()
			if len(requests) != 1 {
				t.Fatalf("Slack received %d messages, want 1", len(requests))
			}
			if late := strings.Contains(requests[0].Message.Text, "found late"); late != tt.wantLate {
				t.Errorf("message %q: late = %v, want %v", requests[0].Message.Text, late, tt.wantLate)
			}
		})
	}
}

func TestSystemLog_KilledPollerFailsOver(t *testing.T) {
	e := newEnv(t)
	start := time.Now().Add(-5 * time.Minute)
	first, second := e.startReplica(t), e.startReplica(t)
	servicetest.Eventually(t, waitTimeout, "a replica holds the polling lease",
		func() bool { return e.leaseOwner(t) != "" })
	leader, survivor := first, second
	if !strings.Contains(first.Logs(), e.leaseOwner(t)) {
		leader, survivor = second, first
	}

	e.okta.AddLogEvents(removalEvents("before", "00gSYSLOGBEFOREKILL1", "Treasury", 5, start)...)
	e.slack.WaitForAccepted(1, waitTimeout)
	e.waitForMorePolls(t, 3)
	leader.Kill()
	e.okta.AddLogEvents(removalEvents("after", "00gSYSLOGAFTERKILL02", "Legal", 5, start.Add(time.Minute))...)
	e.slack.WaitForAccepted(2, waitTimeout)
	e.waitForMorePolls(t, 5)

	assertOneMessagePerGroup(t, e.slack, "00gSYSLOGBEFOREKILL1", "00gSYSLOGAFTERKILL02")
	survivorLogs := survivor.Logs()
	if !strings.Contains(survivorLogs, "took over system log polling") {
		t.Errorf("the surviving replica never took over polling; its logs:\n%s", survivorLogs)
	}
	if strings.Contains(survivorLogs, "starting from the lookback") {
		t.Error("the surviving replica started from the lookback instead of the stored cursor")
	}
	if n := servicetest.CountLines(leader.Logs(), `"removal missed by the event hook"`); n != 5 {
		t.Errorf("the killed replica logged %d missed removals, want the 5 before the kill", n)
	}
	missedBySurvivor := servicetest.CountLines(survivorLogs, `"removal missed by the event hook"`)
	missedAfterKill := servicetest.CountLines(survivorLogs, `"event_uuid":"after-`)
	if missedBySurvivor != 5 || missedAfterKill != 5 {
		t.Errorf("the surviving replica logged %d missed removals, %d of them from after the kill; want exactly the 5 from after the kill",
			missedBySurvivor, missedAfterKill)
	}
}

func TestSystemLog_StoppedPollerHandsOverAtOnce(t *testing.T) {
	e := newEnv(t)
	first, second := e.startReplica(t), e.startReplica(t)
	servicetest.Eventually(t, waitTimeout, "a replica holds the polling lease",
		func() bool { return e.leaseOwner(t) != "" })
	leader, survivor := first, second
	if !strings.Contains(first.Logs(), e.leaseOwner(t)) {
		leader, survivor = second, first
	}

	leader.Signal(syscall.SIGTERM)
	if _, err := leader.Wait(waitTimeout); err != nil {
		t.Fatal(err)
	}
	released := e.leaseOwner(t)
	servicetest.Eventually(t, waitTimeout, "the other replica takes over",
		func() bool { return strings.Contains(survivor.Logs(), "took over system log polling") })

	if released != "" && strings.Contains(leader.Logs(), released) {
		t.Errorf("the stopped replica still held the lease %q after it exited", released)
	}
}

func assertOneMessagePerGroup(t *testing.T, s *slacktest.Server, groups ...string) {
	t.Helper()
	if n := len(s.Requests()); n != len(groups) {
		t.Errorf("Slack received %d messages, want %d", n, len(groups))
	}
	for _, group := range groups {
		if n := len(messagesAbout(s, group)); n != 1 {
			t.Errorf("group %s: %d messages, want 1", group, n)
		}
	}
}
