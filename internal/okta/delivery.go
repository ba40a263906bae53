// Package okta parses Okta Event Hook deliveries into group-membership
// removals.
package okta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unicode"
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

// SkipReason is the reason an event was not counted.
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

// Delivery is the parsed content of one Event Hook request.
type Delivery struct {
	// EventID is the envelope's delivery id, one per request.
	EventID  string
	Events   int
	Removals []Removal
	// Skipped details the first MaxSkippedDetails skipped events;
	// SkippedByReason counts all of them.
	Skipped         []Skipped
	SkippedByReason map[SkipReason]int
}

// MaxSkippedDetails bounds the skipped events a Delivery describes one by
// one, so a delivery of millions of junk events costs counters, not memory.
const MaxSkippedDetails = 20

// maxTargets bounds the targets kept per event; Okta sends two.
const maxTargets = 16

// ErrMalformed marks a body that is not an Event Hook envelope.
var ErrMalformed = errors.New("malformed event hook delivery")

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
	Target targets `json:"target"`
}

// targets keeps at most maxTargets entries of an event's target array while
// decoding, so one event with millions of targets cannot exhaust memory.
type targets []entity

// UnmarshalJSON implements json.Unmarshaler.
func (t *targets) UnmarshalJSON(b []byte) error {
	if len(b) <= 4096 && len(b) > 0 && b[0] == '[' {
		var all []entity
		if err := json.Unmarshal(b, &all); err != nil {
			return err
		}
		*t = all[:min(len(all), maxTargets)]
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		*t = nil
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return &json.UnmarshalTypeError{Value: jsonKind(tok), Type: reflect.TypeOf(*t), Field: "target"}
	}
	kept := targets{}
	for dec.More() {
		var e entity
		if err := dec.Decode(&e); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				typeErr.Field = "target." + typeErr.Field
			}
			return err
		}
		if len(kept) < maxTargets {
			kept = append(kept, e)
		}
	}
	*t = kept
	return nil
}

func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	case json.Delim:
		return "object"
	}
	return "value"
}

// ParseDelivery decodes an Event Hook request body. It returns an error
// wrapping ErrMalformed only when the body as a whole is unusable. A bad
// event is counted in SkippedByReason, and the other events are still
// returned. Events are decoded one at a time, so memory stays bounded by the
// removals found, whatever the number of events. Object keys match exactly
// and may not repeat, so no two readers of a body can see different events.
func ParseDelivery(body []byte) (Delivery, error) {
	d := Delivery{SkippedByReason: map[SkipReason]int{}}
	dec := json.NewDecoder(bytes.NewReader(body))
	foundEvents, err := d.decodeEnvelope(dec)
	if err != nil {
		return Delivery{}, fmt.Errorf("%w: %v", ErrMalformed, describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Delivery{}, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	if !foundEvents {
		return Delivery{}, fmt.Errorf("%w: missing data.events", ErrMalformed)
	}
	return d, nil
}

func (d *Delivery) decodeEnvelope(dec *json.Decoder) (bool, error) {
	return decodeObject(dec, func(key string) (bool, error) {
		switch key {
		case "eventId":
			var id any
			err := dec.Decode(&id)
			d.EventID, _ = id.(string)
			d.EventID = truncate(d.EventID)
			return false, err
		case "data":
			return decodeObject(dec, func(key string) (bool, error) {
				if key != "events" {
					return false, skipValue(dec)
				}
				return true, d.decodeEvents(dec)
			})
		default:
			return false, skipValue(dec)
		}
	})
}

// decodeObject reads one JSON object from dec and calls field for each key,
// with dec positioned at the key's value. It reports whether any call
// reported true.
func decodeObject(dec *json.Decoder, field func(key string) (bool, error)) (bool, error) {
	if err := expectDelim(dec, '{', "an object"); err != nil {
		return false, err
	}
	found := false
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false, err
		}
		key := tok.(string)
		if seen[key] {
			return false, fmt.Errorf("key %q appears twice", truncate(key))
		}
		seen[key] = true
		ok, err := field(key)
		if err != nil {
			return false, err
		}
		found = found || ok
	}
	_, err := dec.Token() // the closing brace
	return found, err
}

func (d *Delivery) decodeEvents(dec *json.Decoder) error {
	if err := expectDelim(dec, '[', "an array of events"); err != nil {
		return err
	}
	for dec.More() {
		var ev event
		err := dec.Decode(&ev)
		var typeErr *json.UnmarshalTypeError
		switch {
		case err == nil:
			d.add(classify(ev))
		case errors.As(err, &typeErr) && typeErr.Field == "":
			d.add(Removal{}, &Skipped{Reason: ReasonNotAnObject, Detail: "event is a JSON " + typeErr.Value + ", not an object"})
		case errors.As(err, &typeErr):
			d.add(invalidField(ev, err))
		default:
			return err // a syntax error: the rest of the body cannot be read
		}
		d.Events++
	}
	_, err := dec.Token() // the closing bracket
	return err
}

func expectDelim(dec *json.Decoder, want json.Delim, what string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if got, ok := tok.(json.Delim); !ok || got != want {
		return fmt.Errorf("expected %s, found %v", what, tok)
	}
	return nil
}

func skipValue(dec *json.Decoder) error {
	var skip json.RawMessage
	return dec.Decode(&skip)
}

func (d *Delivery) add(r Removal, skip *Skipped) {
	if skip == nil {
		d.Removals = append(d.Removals, r)
		return
	}
	d.SkippedByReason[skip.Reason]++
	if len(d.Skipped) < MaxSkippedDetails {
		d.Skipped = append(d.Skipped, *skip)
	}
}

// ParseEvent turns one System Log event into a Removal, or reports why it is
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
		return invalidField(ev, err)
	}
	return classify(ev)
}

// invalidField skips an event with a field of the wrong JSON type, unless
// it is not a removal at all, which is skipped quietly.
func invalidField(ev event, err error) (Removal, *Skipped) {
	if ev.EventType != "" && ev.EventType != EventTypeMembershipRemove {
		return Removal{}, &Skipped{UUID: truncate(ev.UUID), Reason: ReasonOtherType, Detail: truncate(ev.EventType)}
	}
	return Removal{}, &Skipped{UUID: truncate(ev.UUID), Reason: ReasonInvalidField, Detail: describeJSONError(err)}
}

// classify turns a decoded event into a Removal, or reports why it is skipped.
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
	if !validID(ev.UUID) {
		return skip(ReasonMissingUUID, "uuid must be 1 to %d printable UTF-8 characters", maxIDLength)
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
		if t.Type == typ && validID(t.ID) {
			found = t
			n++
		}
	}
	return found, n
}

// validID accepts ids that are 1 to maxIDLength bytes of printable UTF-8.
// Invalid UTF-8 and lone surrogates decode to U+FFFD, so two different ids
// could otherwise collapse into one group or one event.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLength {
		return false
	}
	for _, r := range id {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return false
		}
	}
	return true
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
