package replay

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/oktawatch/oktawatch/internal/okta"
)

func TestReadEvents(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"array", `[{"uuid":"a"},{"uuid":"b"}]`, []string{`{"uuid":"a"}`, `{"uuid":"b"}`}},
		{"pretty array with leading space", "\n  [\n  {\"uuid\": \"a\"}\n]\n", []string{`{"uuid": "a"}`}},
		{"empty array", `[]`, nil},
		{"arrays one after another", `[{"uuid":"a"}]` + "\n" + `[{"uuid":"b"}]`, []string{`{"uuid":"a"}`, `{"uuid":"b"}`}},
		{"lines", "{\"uuid\":\"a\"}\n{\"uuid\":\"b\"}\n", []string{`{"uuid":"a"}`, `{"uuid":"b"}`}},
		{"lines with blank lines and CRLF", "{\"uuid\":\"a\"}\r\n\r\n{\"uuid\":\"b\"}", []string{`{"uuid":"a"}`, `{"uuid":"b"}`}},
		{"byte order mark", "\xEF\xBB\xBF[{\"uuid\":\"a\"}]", []string{`{"uuid":"a"}`}},
		{"array element not an object", `[1, {"uuid":"a"}]`, []string{`1`, `{"uuid":"a"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ReadEvents(strings.NewReader(tt.input))

			if err != nil {
				t.Fatalf("ReadEvents: %v", err)
			}
			got := make([]string, len(events))
			for i, raw := range events {
				got[i] = string(raw)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadEvents_RejectsBadInput(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"empty", "  \n", "the input is empty"},
		{"csv", "uuid,published\n", "a CSV export from the Admin Console cannot be replayed"},
		{"bad line", "{\"uuid\":\"a\"}\n{\"uuid\":\n", "line 2: invalid JSON"},
		{"bad array element", `[{"uuid":"a"}, {"uuid":}]`, "event 2: invalid JSON"},
		{"unterminated array", `[{"uuid":"a"}`, "after event 1: invalid JSON"},
		{"trailing object after array", `[{"uuid":"a"}] {"uuid":"b"}`, "expected '[' to start another array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadEvents(strings.NewReader(tt.input))

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestReadEvents_ReportsReadError(t *testing.T) {
	_, err := ReadEvents(iotest.ErrReader(errors.New("disk gone")))

	if err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Errorf("error = %v, want the read error", err)
	}
}

func TestPrepare_SortsByPublishedAndCountsSkips(t *testing.T) {
	event := func(uuid, published, eventType, result string) json.RawMessage {
		return json.RawMessage(`{"uuid":"` + uuid + `","published":"` + published + `","eventType":"` + eventType +
			`","outcome":{"result":"` + result + `"},"target":[{"id":"00uU1","type":"User"},{"id":"00gG1","type":"UserGroup"}]}`)
	}
	const remove = okta.EventTypeMembershipRemove
	events := []json.RawMessage{
		event("late", "2026-03-02T10:05:00.000Z", remove, "SUCCESS"),
		event("tie-1", "2026-03-02T10:01:00.000Z", remove, "SUCCESS"),
		event("early", "2026-03-02T10:00:00.000Z", remove, "SUCCESS"),
		event("tie-2", "2026-03-02T10:01:00.000Z", remove, "SUCCESS"),
		event("add", "2026-03-02T10:02:00.000Z", "group.user_membership.add", "SUCCESS"),
		event("denied", "2026-03-02T10:03:00.000Z", remove, "DENY"),
		event("early", "2026-03-02T10:00:00.000Z", remove, "SUCCESS"),
		json.RawMessage(`"not an object"`),
	}

	in := Prepare(events)

	var order []string
	for _, r := range in.Removals {
		order = append(order, r.EventID)
	}
	if got := strings.Join(order, ","); got != "early,early,tie-1,tie-2,late" {
		t.Errorf("removal order = %s, want early,early,tie-1,tie-2,late", got)
	}
	if in.Events != 8 || in.Duplicates != 1 {
		t.Errorf("events = %d, duplicates = %d; want 8 and 1", in.Events, in.Duplicates)
	}
	wantSkipped := map[okta.SkipReason]int{okta.ReasonOtherType: 1, okta.ReasonNotSuccess: 1, okta.ReasonNotAnObject: 1}
	for reason, n := range wantSkipped {
		if in.Skipped[reason] != n {
			t.Errorf("skipped[%s] = %d, want %d", reason, in.Skipped[reason], n)
		}
	}
	if !in.Removals[0].Published.Equal(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("first removal published %s, want 10:00", in.Removals[0].Published)
	}
}
