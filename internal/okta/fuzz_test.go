package okta_test

import (
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/oktawatch/oktawatch/internal/okta"
)

// Limits that ParseDelivery promises for what it returns. Ids become Redis
// keys and members; names and logins are stored with every removal.
const (
	maxIDBytes   = 128
	maxTextBytes = 1024 + len("…")
)

var skipReasons = map[okta.SkipReason]bool{
	okta.ReasonOtherType: true, okta.ReasonNotSuccess: true, okta.ReasonInvalidField: true,
	okta.ReasonMissingUUID: true, okta.ReasonMissingGroup: true, okta.ReasonMissingUser: true,
	okta.ReasonAmbiguous: true, okta.ReasonBadPublished: true, okta.ReasonNotAnObject: true,
}

// FuzzParseDelivery feeds arbitrary bodies to ParseDelivery. The seeds in
// testdata/fuzz/FuzzParseDelivery are deliveries shaped like Okta's, with
// invented ids, plus malformed variants.
func FuzzParseDelivery(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := okta.ParseDelivery(body)

		if err != nil {
			if !errors.Is(err, okta.ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			if !reflect.DeepEqual(d, okta.Delivery{}) {
				t.Errorf("error %v came with a non-empty delivery %+v", err, d)
			}
			return
		}
		if d.Events != len(d.Removals)+len(d.Skipped) {
			t.Errorf("%d events, but %d removals and %d skipped", d.Events, len(d.Removals), len(d.Skipped))
		}
		for _, r := range d.Removals {
			checkRemoval(t, r)
		}
		for _, s := range d.Skipped {
			checkSkipped(t, s)
		}
		again, _ := okta.ParseDelivery(body)
		if !reflect.DeepEqual(d, again) {
			t.Errorf("two parses of the same body differ:\n%+v\n%+v", d, again)
		}
	})
}

func checkRemoval(t *testing.T, r okta.Removal) {
	t.Helper()
	ids := map[string]string{"event id": r.EventID, "group id": r.GroupID, "user id": r.UserID}
	for name, id := range ids {
		if id == "" || len(id) > maxIDBytes {
			t.Errorf("removal %q: %s %q must have 1 to %d bytes", r.EventID, name, id, maxIDBytes)
		}
	}
	if r.Published.IsZero() || r.Published.Location().String() != "UTC" {
		t.Errorf("removal %q: published %v must be a UTC time", r.EventID, r.Published)
	}
	texts := map[string]string{
		"group name": r.GroupName, "user login": r.UserLogin, "user name": r.UserName,
		"actor id": r.Actor.ID, "actor type": r.Actor.Type, "actor login": r.Actor.Login, "actor name": r.Actor.Name,
	}
	for name, text := range texts {
		if len(text) > maxTextBytes || !utf8.ValidString(text) {
			t.Errorf("removal %q: %s %q must be valid UTF-8 of at most %d bytes", r.EventID, name, text, maxTextBytes)
		}
	}
}

func checkSkipped(t *testing.T, s okta.Skipped) {
	t.Helper()
	if !skipReasons[s.Reason] {
		t.Errorf("skipped event %q has unknown reason %q", s.UUID, s.Reason)
	}
	if len(s.UUID) > maxIDBytes+len("…") || !utf8.ValidString(s.UUID) {
		t.Errorf("skipped event uuid %q must be valid UTF-8 of at most %d bytes, as it goes into logs", s.UUID, maxIDBytes)
	}
}
