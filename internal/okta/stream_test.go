package okta

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseDelivery_ManyJunkEventsCounted(t *testing.T) {
	const n = 300_000
	body := `{"data":{"events":[` + strings.Repeat(`0,`, n-1) + `0]}}`

	d, err := ParseDelivery([]byte(body))

	if err != nil {
		t.Fatal(err)
	}
	if d.Events != n || d.SkippedByReason[ReasonNotAnObject] != n {
		t.Errorf("events %d, not-an-object skips %d, want %d each", d.Events, d.SkippedByReason[ReasonNotAnObject], n)
	}
	if len(d.Skipped) != MaxSkippedDetails {
		t.Errorf("kept %d skip details, want %d", len(d.Skipped), MaxSkippedDetails)
	}
}

func TestParseDelivery_LargeBodyIsolatesBadEvent(t *testing.T) {
	good := string(readFixture(t, "single-removal.json"))
	start := strings.Index(good, `{`+"\n"+`        "uuid"`)
	end := strings.LastIndex(good, "]")
	event := strings.TrimSpace(good[start:end])
	var events []string
	for i := 0; len(strings.Join(events, ",")) < 512<<10; i++ {
		events = append(events, strings.Replace(event, "7e2b9c40-4789-11f0-9a1b-3f6c2d8e1a57", "uuid-"+string(rune('a'+i%26))+strings.Repeat("x", i%7), 1))
	}
	events = append(events, `{"uuid":"bad-one","eventType":"group.user_membership.remove","target":"oops"}`)
	body := `{"eventId":"big","data":{"events":[` + strings.Join(events, ",") + `]}}`

	d, err := ParseDelivery([]byte(body))

	if err != nil {
		t.Fatal(err)
	}
	if len(d.Removals) != len(events)-1 {
		t.Errorf("removals %d, want %d", len(d.Removals), len(events)-1)
	}
	if d.SkippedByReason[ReasonInvalidField] != 1 || d.Skipped[0].UUID != "bad-one" {
		t.Errorf("skips %v %+v, want the one bad event", d.SkippedByReason, d.Skipped)
	}
}

func TestParseDelivery_TargetsAreCapped(t *testing.T) {
	many := strings.Repeat(`{"id":"x","type":"AppInstance"},`, 200_000)
	body := `{"data":{"events":[{"uuid":"e1","published":"2025-06-12T14:03:19Z","eventType":"group.user_membership.remove",` +
		`"target":[{"id":"00uU","type":"User"},{"id":"00gG","type":"UserGroup"},` + many + `{}]}]}}`

	d, err := ParseDelivery([]byte(body))

	if err != nil {
		t.Fatal(err)
	}
	if len(d.Removals) != 1 || d.Removals[0].GroupID != "00gG" {
		t.Errorf("removals %+v, want the one removal from its first targets", d.Removals)
	}
}

func TestParseDelivery_TrailingDataIsMalformed(t *testing.T) {
	for _, body := range []string{`{"data":{"events":[]}} {}`, `{"data":{"events":[]}}x`} {
		var big bytes.Buffer
		big.WriteString(body)
		if _, err := ParseDelivery(big.Bytes()); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", body, err)
		}
	}
}

func TestParseDelivery_EnvelopeIsStrict(t *testing.T) {
	event := `{"uuid":"e1","published":"2025-06-12T14:03:19Z","eventType":"group.user_membership.remove","target":[{"id":"00uU","type":"User"},{"id":"00gG","type":"UserGroup"}]}`
	cases := map[string]string{
		"repeated events":      `{"data":{"events":[` + event + `],"events":[]}}`,
		"repeated data":        `{"data":{"events":[]},"data":{"events":[` + event + `]}}`,
		"null events":          `{"data":{"events":null}}`,
		"keys in another case": `{"DATA":{"Events":[` + event + `]}}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseDelivery([]byte(body)); !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}
