package okta

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDelivery_SingleRemoval(t *testing.T) {
	d, err := ParseDelivery(readFixture(t, "single-removal.json"))
	if err != nil {
		t.Fatal(err)
	}

	if len(d.Removals) != 1 {
		t.Fatalf("got %d removals, want 1", len(d.Removals))
	}
	want := Removal{
		EventID:   "7e2b9c40-4789-11f0-9a1b-3f6c2d8e1a57",
		Published: time.Date(2025, 6, 12, 14, 3, 19, 812_000_000, time.UTC),
		GroupID:   "00gZ9y8X7w6V5u4T3s2r",
		GroupName: "Finance-Approvers",
		UserID:    "00uA1b2C3d4E5f6G7h8i",
		UserLogin: "maria.silva@acme-test.example",
		UserName:  "Maria Silva",
		Actor:     Actor{ID: "00uQ4d7Hk2LmN8pRs1x5", Type: "User", Login: "it.admin@acme-test.example", Name: "Ines Torres"},
	}
	if got := d.Removals[0]; got != want {
		t.Errorf("removal:\n got %+v\nwant %+v", got, want)
	}
	if d.EventID != "4c1f7a2e-9b3d-4e8f-a6c1-2d7e5f9b0a13" {
		t.Errorf("delivery id = %q", d.EventID)
	}
}

func TestParseDelivery_MixedBatchKeepsGoodEvents(t *testing.T) {
	d, err := ParseDelivery(readFixture(t, "mixed-batch.json"))
	if err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, r := range d.Removals {
		got = append(got, r.EventID)
		if r.GroupID != "00gZ9y8X7w6V5u4T3s2r" {
			t.Errorf("event %s: group id %q, want the UserGroup target's id", r.EventID, r.GroupID)
		}
		if r.UserID == "0oaAPPINSTANCE000001" || r.UserID == r.GroupID {
			t.Errorf("event %s: user id %q taken from the wrong target", r.EventID, r.UserID)
		}
	}
	wantIDs := []string{
		"a0000001-0000-4000-8000-000000000001", // normal
		"a0000001-0000-4000-8000-000000000002", // reversed targets
		"a0000001-0000-4000-8000-000000000003", // extra target
		"a0000001-0000-4000-8000-000000000009", // no outcome, whole seconds
	}
	if len(got) != len(wantIDs) {
		t.Fatalf("removals = %v, want %v", got, wantIDs)
	}
	for i := range wantIDs {
		if got[i] != wantIDs[i] {
			t.Errorf("removal %d = %s, want %s", i, got[i], wantIDs[i])
		}
	}

	reasons := map[SkipReason]int{}
	for _, s := range d.Skipped {
		reasons[s.Reason]++
	}
	wantReasons := map[SkipReason]int{
		ReasonMissingGroup: 1, ReasonInvalidField: 2, ReasonBadPublished: 1,
		ReasonOtherType: 1, ReasonNotSuccess: 1, ReasonMissingUser: 1, ReasonNotAnObject: 1,
	}
	for reason, n := range wantReasons {
		if reasons[reason] != n {
			t.Errorf("skipped with %s: %d, want %d (all: %v)", reason, reasons[reason], n, reasons)
		}
	}
	if d.Events != 12 {
		t.Errorf("events = %d, want 12", d.Events)
	}
}

func TestParseDelivery_Malformed(t *testing.T) {
	cases := map[string]string{
		"not json":            `{"data": {"events": [`,
		"empty body":          ``,
		"array body":          `[1,2,3]`,
		"missing data":        `{"eventType":"com.okta.event_hook"}`,
		"events not an array": `{"data":{"events":"x"}}`,
		"data not an object":  `{"data":5}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseDelivery([]byte(body))
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseDelivery_EmptyEventsIsValid(t *testing.T) {
	d, err := ParseDelivery([]byte(`{"data":{"events":[]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Removals) != 0 || len(d.Skipped) != 0 {
		t.Errorf("got %+v, want nothing", d)
	}
}

func TestParseEvent_Cases(t *testing.T) {
	group := `{"id":"00gGROUP","type":"UserGroup","displayName":"G"}`
	user := `{"id":"00uUSER","type":"User","alternateId":"u@example.com"}`
	event := func(extra string) json.RawMessage {
		return json.RawMessage(`{"uuid":"e1","published":"2025-06-12T14:03:19.812Z","eventType":"group.user_membership.remove"` + extra + `}`)
	}
	cases := []struct {
		name   string
		raw    json.RawMessage
		reason SkipReason // empty: a removal
	}{
		{"targets in any order", event(`,"target":[` + group + `,` + user + `]`), ""},
		{"null outcome result counts", event(`,"outcome":{"result":null},"target":[` + user + `,` + group + `]`), ""},
		{"two groups are ambiguous", event(`,"target":[` + user + `,` + group + `,` + group + `]`), ReasonAmbiguous},
		{"group without id", event(`,"target":[` + user + `,{"type":"UserGroup"}]`), ReasonMissingGroup},
		{"id of wrong type", event(`,"target":[` + user + `,{"id":7,"type":"UserGroup"}]`), ReasonInvalidField},
		{"missing uuid", json.RawMessage(`{"published":"2025-06-12T14:03:19Z","eventType":"group.user_membership.remove","target":[` + user + `,` + group + `]}`), ReasonMissingUUID},
		{"other type with odd fields is ignored quietly", json.RawMessage(`{"eventType":"user.session.start","target":7}`), ReasonOtherType},
		{"event type of wrong type", json.RawMessage(`{"eventType":5}`), ReasonInvalidField},
		{"null event", json.RawMessage(`null`), ReasonNotAnObject},
		{"lone surrogate in group id", event(`,"target":[` + user + `,{"id":"00g\ud800","type":"UserGroup"}]`), ReasonMissingGroup},
		{"newline in uuid", json.RawMessage(`{"uuid":"a\nb","published":"2025-06-12T14:03:19Z","eventType":"group.user_membership.remove","target":[` + user + `,` + group + `]}`), ReasonMissingUUID},
		{"denied outcome", event(`,"outcome":{"result":"DENY"},"target":[` + user + `,` + group + `]`), ReasonNotSuccess},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, skip := ParseEvent(tc.raw)
			if tc.reason == "" {
				if skip != nil {
					t.Fatalf("skipped: %+v", skip)
				}
				if r.GroupID != "00gGROUP" || r.UserID != "00uUSER" {
					t.Errorf("group %q user %q", r.GroupID, r.UserID)
				}
				return
			}
			if skip == nil {
				t.Fatalf("got removal %+v, want skip %s", r, tc.reason)
			}
			if skip.Reason != tc.reason {
				t.Errorf("reason = %s (%s), want %s", skip.Reason, skip.Detail, tc.reason)
			}
		})
	}
}

func TestParseEvent_LongNamesAreClipped(t *testing.T) {
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	raw := json.RawMessage(`{"uuid":"e1","published":"2025-06-12T14:03:19Z","eventType":"group.user_membership.remove",` +
		`"target":[{"id":"00uUSER","type":"User","displayName":"` + string(long) + `"},{"id":"00gG","type":"UserGroup"}]}`)

	r, skip := ParseEvent(raw)

	if skip != nil {
		t.Fatal(skip)
	}
	if len(r.UserName) > maxTextLength+len("…") {
		t.Errorf("user name kept %d bytes, want at most %d", len(r.UserName), maxTextLength)
	}
}
