package dispatch_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/okta"
)

// The fake Slack is strict by default: it rejects any message over Block
// Kit's limits with invalid_blocks, which would dead-letter the alert.
func TestDispatch_StrictSlackAcceptsOddBursts(t *testing.T) {
	long := func(prefix string, i int) string {
		return fmt.Sprintf("%s-%03d-", prefix, i) + strings.Repeat("<x&y>", 22)
	}
	cases := []struct {
		name      string
		groupName string
		users     int
		userName  func(i int) string
	}{
		{"sixty users with long names", strings.Repeat("Very-Long-Group-Name ", 10), 60, func(i int) string { return long("user", i) }},
		{"empty group name", "", 5, func(i int) string { return fmt.Sprintf("User %d", i) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t)
			r := s.startReplica(t)
			now, _ := s.rdb.Time(context.Background()).Result()
			var batch []okta.Removal
			for i := range tc.users {
				batch = append(batch, okta.Removal{
					EventID: fmt.Sprintf("odd-%03d", i), Published: now, GroupID: "00gODD", GroupName: tc.groupName,
					UserID: fmt.Sprintf("00u%017d", i), UserLogin: long("login", i), UserName: tc.userName(i),
					Actor: okta.Actor{ID: fmt.Sprintf("00uACTOR%012d", i%13), Login: long("actor", i%13), Name: long("Actor", i%13)},
				})
			}

			res, err := r.detector.Record(context.Background(), batch, alert.SourceHook)
			if err != nil || len(res.Alerts) != 1 {
				t.Fatalf("record: %v, %d alerts", err, len(res.Alerts))
			}
			r.dispatcher.Kick(res.Alerts[0].Shard)
			accepted := s.slack.WaitForAccepted(1, 10*time.Second)

			text := accepted[0].Message.Text
			if !strings.Contains(text, fmt.Sprint(tc.users)) {
				t.Errorf("message %q does not state the count %d", text, tc.users)
			}
			if tc.groupName == "" && !strings.Contains(text, "00gODD") {
				t.Errorf("message %q does not fall back to the group id", text)
			}
			if len(deadLetters(t, s.rdb)) != 0 {
				t.Error("alert was dead-lettered")
			}
		})
	}
}
