// Package okta parses Okta Event Hook deliveries into group-membership
// removals.
package okta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Event types and values this package acts on.
const (
	EventTypeMembershipRemove = "group.user_membership.remove"
	targetTypeGroup           = "UserGroup"
	targetTypeUser            = "User"
	outcomeSuccess            = "SUCCESS"
)

// maxIDLength bounds ids and uuids, which become Redis keys and members.
// Okta's ids are 20 characters and its uuids 36.
const maxIDLength = 128

// SkipReason says why an event was not counted.
type SkipReason string

// Reasons an event is skipped. ReasonOtherType and ReasonNotSuccess are
// expected and silent; the others mean a malformed event and are logged.
const (
	ReasonOtherType    SkipReason = "other_event_type"
	ReasonNotSuccess   SkipReason = "outcome_not_success"
	ReasonInvalidField SkipReason = "invalid_field"
	ReasonMissingUUID  SkipReason = "missing_uuid"
	ReasonMissingGroup SkipReason = "missing_group_target"
	ReasonMissingUser  SkipReason = "missing_user_target"
	ReasonAmbiguous    SkipReason = "ambiguous_target"
	ReasonBadPublished SkipReason = "invalid_published"
	ReasonNotAnObject  SkipReason = "not_an_object"
)

// Skipped is an event that was not counted.
type Skipped struct {
	UUID   string
	Reason SkipReason
	Detail string
}

// Expected reports whether the skip is routine rather than a malformed event.
func (s Skipped) Expected() bool {
	return s.Reason == ReasonOtherType || s.Reason == ReasonNotSuccess
}

// Delivery is what one Event Hook request contained.
type Delivery struct {
	// EventID is the envelope's delivery id, one per request.
	EventID  string
	Events   int
	Removals []Removal
	Skipped  []Skipped
}

// ErrMalformed marks a body that is not an Event Hook envelope.
var ErrMalformed = errors.New("malformed event hook delivery")

type envelope struct {
	EventID string `json:"eventId"`
	Data    *struct {
		Events []json.RawMessage `json:"events"`
	} `json:"data"`
}

type entity struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	AlternateID string `json:"alternateId"`
	DisplayName string `json:"displayName"`
}

type event struct {
	UUID      string  `json:"uuid"`
	Published string  `json:"published"`
	EventType string  `json:"eventType"`
	Actor     *entity `json:"actor"`
	Outcome   *struct {
		Result *string `json:"result"`
	} `json:"outcome"`
	Target []entity `json:"target"`
}

// typedEnvelope decodes the events in the same pass as the envelope, which
// halves the decoding work for the usual, well-formed delivery.
type typedEnvelope struct {
	EventID string `json:"eventId"`
	Data    *struct {
		Events []event `json:"events"`
	} `json:"data"`
}

// ParseDelivery decodes an Event Hook request body. It returns an error
// wrapping ErrMalformed only when the body as a whole is unusable; a bad
// event is reported in Skipped and the other events are still returned.
func ParseDelivery(body []byte) (Delivery, error) {
	var typed typedEnvelope
	if err := json.Unmarshal(body, &typed); err == nil && typed.Data != nil {
		d := Delivery{EventID: typed.EventID, Events: len(typed.Data.Events)}
		for _, ev := range typed.Data.Events {
			d.add(classify(ev))
		}
		return d, nil
	}

	// Some event has a field of the wrong type, or the body is malformed:
	// decode event by event so that one bad event skips only itself.
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Delivery{}, fmt.Errorf("%w: %v", ErrMalformed, describeJSONError(err))
	}
	if env.Data == nil {
		return Delivery{}, fmt.Errorf("%w: missing data.events", ErrMalformed)
	}

	d := Delivery{EventID: env.EventID, Events: len(env.Data.Events)}
	for _, raw := range env.Data.Events {
		d.add(ParseEvent(raw))
	}
	return d, nil
}

func (d *Delivery) add(r Removal, skip *Skipped) {
	if skip != nil {
		d.Skipped = append(d.Skipped, *skip)
		return
	}
	d.Removals = append(d.Removals, r)
}

// ParseEvent turns one System Log event into a Removal, or says why it is
// skipped. It serves Event Hook deliveries, the System Log API and exports.
func ParseEvent(raw json.RawMessage) (Removal, *Skipped) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Removal{}, &Skipped{Reason: ReasonNotAnObject, Detail: "event is not a JSON object"}
	}
	var ev event
	err := json.Unmarshal(trimmed, &ev)
	if ev.EventType != EventTypeMembershipRemove && (err == nil || ev.EventType != "") {
		return Removal{}, &Skipped{UUID: truncate(ev.UUID), Reason: ReasonOtherType, Detail: truncate(ev.EventType)}
	}
	if err != nil {
		return Removal{}, &Skipped{UUID: truncate(ev.UUID), Reason: ReasonInvalidField, Detail: describeJSONError(err)}
	}
	return classify(ev)
}

// classify turns a decoded event into a Removal, or says why it is skipped.
func classify(ev event) (Removal, *Skipped) {
	uuid := truncate(ev.UUID)
	if ev.EventType != EventTypeMembershipRemove {
		return Removal{}, &Skipped{UUID: uuid, Reason: ReasonOtherType, Detail: truncate(ev.EventType)}
	}
	if ev.Outcome != nil && ev.Outcome.Result != nil && *ev.Outcome.Result != outcomeSuccess {
		return Removal{}, &Skipped{UUID: uuid, Reason: ReasonNotSuccess, Detail: truncate(*ev.Outcome.Result)}
	}
	return toRemoval(ev)
}

func toRemoval(ev event) (Removal, *Skipped) {
	uuid := truncate(ev.UUID)
	skip := func(reason SkipReason, format string, args ...any) (Removal, *Skipped) {
		return Removal{}, &Skipped{UUID: uuid, Reason: reason, Detail: fmt.Sprintf(format, args...)}
	}
	if ev.UUID == "" || len(ev.UUID) > maxIDLength {
		return skip(ReasonMissingUUID, "uuid must be 1 to %d characters", maxIDLength)
	}
	published, err := time.Parse(time.RFC3339Nano, ev.Published)
	if err != nil {
		return skip(ReasonBadPublished, "published %q is not an RFC 3339 time", truncate(ev.Published))
	}
	group, n := pickTarget(ev.Target, targetTypeGroup)
	if n == 0 {
		return skip(ReasonMissingGroup, "no target of type %s with an id of at most %d characters", targetTypeGroup, maxIDLength)
	}
	user, m := pickTarget(ev.Target, targetTypeUser)
	if m == 0 {
		return skip(ReasonMissingUser, "no target of type %s with an id of at most %d characters", targetTypeUser, maxIDLength)
	}
	if n > 1 || m > 1 {
		return skip(ReasonAmbiguous, "%d group and %d user targets; expected one of each", n, m)
	}

	r := Removal{
		EventID:   ev.UUID,
		Published: published.UTC(),
		GroupID:   group.ID,
		GroupName: clip(group.DisplayName),
		UserID:    user.ID,
		UserLogin: clip(user.AlternateID),
		UserName:  clip(user.DisplayName),
	}
	if ev.Actor != nil {
		r.Actor = Actor{
			ID:    clip(ev.Actor.ID),
			Type:  clip(ev.Actor.Type),
			Login: clip(ev.Actor.AlternateID),
			Name:  clip(ev.Actor.DisplayName),
		}
	}
	return r, nil
}

// pickTarget returns the target of the given type and how many there are.
// Okta does not keep the order of targets stable, so position means nothing.
func pickTarget(targets []entity, typ string) (entity, int) {
	var found entity
	n := 0
	for _, t := range targets {
		if t.Type == typ && t.ID != "" && len(t.ID) <= maxIDLength {
			found = t
			n++
		}
	}
	return found, n
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("field %q has JSON type %s, expected %s", typeErr.Field, typeErr.Value, typeErr.Type)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("invalid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	}
	return err.Error()
}

// maxTextLength bounds names and logins kept per removal, so a hostile
// delivery cannot make every stored removal large. Okta's own limits are far
// lower.
const maxTextLength = 1024

// truncate shortens a value copied from input into a log field.
func truncate(s string) string { return cut(s, maxIDLength) }

func clip(s string) string { return cut(s, maxTextLength) }

// cut shortens s to at most max bytes on a rune boundary, marking the cut.
func cut(s string, max int) string {
	if len(s) <= max {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	end := max
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return strings.ToValidUTF8(s[:end], "\uFFFD") + "…"
}
