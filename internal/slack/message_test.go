package slack_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/slack"
)

const (
	testGroupID = "00g1test0000000001"
	testOrgURL  = "https://example.okta.com"
)

// burstAlert returns a timely hook alert for three removals within 4m 30s.
// Its times are in CET so that tests see the conversion to UTC.
func burstAlert() alert.Alert {
	first := time.Date(2025, 3, 4, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	actor := okta.Actor{ID: "00u1admin", Type: "User", Login: "jane.admin@example.com", Name: "Jane Admin"}
	return alert.Alert{
		ID:        "alert-0001",
		Kind:      alert.KindBurst,
		Source:    alert.SourceHook,
		GroupID:   testGroupID,
		GroupName: "Engineering",
		Count:     3,
		Total:     3,
		Threshold: 3,
		Window:    5 * time.Minute,
		First:     first,
		Last:      first.Add(4*time.Minute + 30*time.Second),
		Removals: []okta.Removal{
			removal(1, "Alice Example", "alice@example.com", actor),
			removal(2, "Bob Example", "bob@example.com", actor),
			removal(3, "Carol Example", "carol@example.com", actor),
		},
		Actors:     []alert.ActorCount{{Actor: actor, Count: 3}},
		DetectedAt: first.Add(4*time.Minute + 32*time.Second),
	}
}

func removal(n int, name, login string, actor okta.Actor) okta.Removal {
	return okta.Removal{
		EventID:   fmt.Sprintf("event-%04d", n),
		GroupID:   testGroupID,
		GroupName: "Engineering",
		UserID:    fmt.Sprintf("00u%04d", n),
		UserLogin: login,
		UserName:  name,
		Actor:     actor,
	}
}

// withRemovals replaces the alert's removals with n generated ones.
func withRemovals(a alert.Alert, n int, name func(int) (string, string)) alert.Alert {
	a.Removals = nil
	for i := range n {
		displayName, login := name(i)
		a.Removals = append(a.Removals, removal(i, displayName, login, a.Actors[0].Actor))
	}
	a.Count, a.Total = n+a.Omitted, n+a.Omitted
	return a
}

func numberedUser(i int) (string, string) {
	return fmt.Sprintf("User %02d", i), fmt.Sprintf("user%02d@example.com", i)
}

// wireMessage is a built message as Slack receives it.
type wireMessage struct {
	Text   string      `json:"text"`
	Blocks []wireBlock `json:"blocks"`
}

type wireBlock struct {
	Type     string     `json:"type"`
	Text     *wireText  `json:"text"`
	Fields   []wireText `json:"fields"`
	Elements []wireText `json:"elements"`
}

type wireText struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Verbatim bool   `json:"verbatim"`
}

func render(t *testing.T, m slack.Message) wireMessage {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal message: %v", err)
	}
	var w wireMessage
	if err := json.Unmarshal(data, &w); err != nil {
		t.Fatalf("unmarshal message %s: %v", data, err)
	}
	return w
}

// texts returns every text object of the message.
func (w wireMessage) texts() []wireText {
	var texts []wireText
	for _, b := range w.Blocks {
		if b.Text != nil {
			texts = append(texts, *b.Text)
		}
		texts = append(texts, b.Fields...)
		texts = append(texts, b.Elements...)
	}
	return texts
}

// body returns the text of all blocks, one text object per line.
func (w wireMessage) body() string {
	var lines []string
	for _, text := range w.texts() {
		lines = append(lines, text.Text)
	}
	return strings.Join(lines, "\n")
}

func (w wireMessage) header(t *testing.T) string {
	t.Helper()
	if len(w.Blocks) == 0 || w.Blocks[0].Type != "header" || w.Blocks[0].Text == nil {
		t.Fatalf("first block is not a header: %+v", w.Blocks)
	}
	return w.Blocks[0].Text.Text
}

func assertContains(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%s does not contain %q:\n%s", what, want, got)
	}
}

func assertNotContains(t *testing.T, what, got, unwanted string) {
	t.Helper()
	if strings.Contains(got, unwanted) {
		t.Errorf("%s contains %q:\n%s", what, unwanted, got)
	}
}

// assertWithinLimits checks Slack's Block Kit limits on a built message.
func assertWithinLimits(t *testing.T, w wireMessage) {
	t.Helper()
	if strings.TrimSpace(w.Text) == "" {
		t.Errorf("fallback text is empty")
	}
	if len(w.Blocks) > slack.MaxBlocks {
		t.Errorf("message has %d blocks, limit %d", len(w.Blocks), slack.MaxBlocks)
	}
	for i, b := range w.Blocks {
		switch b.Type {
		case "header":
			assertTextLength(t, fmt.Sprintf("block %d header", i), *b.Text, slack.MaxHeaderTextLength)
		case "section":
			if b.Text != nil {
				assertTextLength(t, fmt.Sprintf("block %d section text", i), *b.Text, slack.MaxSectionTextLength)
			}
			if len(b.Fields) > slack.MaxSectionFields {
				t.Errorf("block %d has %d fields, limit %d", i, len(b.Fields), slack.MaxSectionFields)
			}
			for j, field := range b.Fields {
				assertTextLength(t, fmt.Sprintf("block %d field %d", i, j), field, slack.MaxFieldTextLength)
			}
		case "context":
			if len(b.Elements) > slack.MaxContextElements {
				t.Errorf("block %d has %d elements, limit %d", i, len(b.Elements), slack.MaxContextElements)
			}
		}
	}
}

func assertTextLength(t *testing.T, what string, text wireText, maxLength int) {
	t.Helper()
	n := utf8.RuneCountInString(text.Text)
	if n == 0 || n > maxLength {
		t.Errorf("%s has %d characters, want 1 to %d", what, n, maxLength)
	}
	if !utf8.ValidString(text.Text) {
		t.Errorf("%s is not valid UTF-8", what)
	}
}

func TestBuildMessageBurst(t *testing.T) {
	a := burstAlert()

	w := render(t, slack.BuildMessage(a, ""))

	if got, want := w.header(t), "3 users removed from Engineering"; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}
	assertContains(t, "fallback text", w.Text, "3 users removed from Engineering")
	assertContains(t, "fallback text", w.Text, "within 5m")
	body := w.body()
	assertContains(t, "body", body, "*Group*\nEngineering")
	assertContains(t, "body", body, "*Group ID*\n"+testGroupID)
	assertContains(t, "body", body, "*Removed*\n3 users in 4m 30s")
	assertContains(t, "body", body, "*Detection rule*\n3 removals within 5m")
	assertContains(t, "body", body, "*First removal*\n2025-03-04T10:00:00Z")
	assertContains(t, "body", body, "*Last removal*\n2025-03-04T10:04:30Z")
	assertContains(t, "body", body, "*Removed users*\n• Alice Example (alice@example.com)\n• Bob Example (bob@example.com)")
	assertContains(t, "body", body, "*Removed by*\n• Jane Admin (jane.admin@example.com): 3 removals")
	assertContains(t, "body", body, "Alert alert-0001")
	assertNotContains(t, "body", body, "Found late")
	assertNotContains(t, "body", body, "Total since the burst began")
	assertNotContains(t, "body", body, "Okta Admin Console")
	assertWithinLimits(t, w)
}

func TestBuildMessageFollowUp(t *testing.T) {
	a := burstAlert()
	a.Kind = alert.KindFollowUp
	a.Removals = a.Removals[:2]
	a.Count, a.Total = 2, 15
	a.Actors[0].Count = 2

	w := render(t, slack.BuildMessage(a, ""))

	if got, want := w.header(t), "2 more users removed from Engineering"; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}
	assertContains(t, "fallback text", w.Text, "2 more users removed from Engineering, 15 since the burst began")
	assertContains(t, "fallback text", w.Text, "within 5m")
	body := w.body()
	assertContains(t, "body", body, "*Total since the burst began*\n15")
	assertContains(t, "body", body, "*Removed since the last message*\n2 users")
	assertContains(t, "body", body, "*Newly removed users*\n• Alice Example (alice@example.com)\n• Bob Example (bob@example.com)")
	assertContains(t, "body", body, "Jane Admin (jane.admin@example.com): 2 removals")
	assertWithinLimits(t, w)
}

func TestBuildMessageSingleRemoval(t *testing.T) {
	a := burstAlert()
	a.Removals = a.Removals[:1]
	a.Count, a.Total, a.Threshold = 1, 1, 1
	a.Last = a.First
	a.Actors[0].Count = 1

	w := render(t, slack.BuildMessage(a, ""))

	if got, want := w.header(t), "1 user removed from Engineering"; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}
	assertContains(t, "body", w.body(), "*Removed*\n1 user in under 1s")
	assertContains(t, "body", w.body(), "(jane.admin@example.com): 1 removal")
}

func TestBuildMessageEmptyGroupNameUsesID(t *testing.T) {
	a := burstAlert()
	a.GroupName = "  "

	w := render(t, slack.BuildMessage(a, ""))

	if got, want := w.header(t), "3 users removed from "+testGroupID; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}
	assertContains(t, "fallback text", w.Text, "removed from "+testGroupID)
	assertContains(t, "body", w.body(), "*Group*\n"+testGroupID)
}

func TestBuildMessageDisplaysPeopleByWhatOktaSent(t *testing.T) {
	tests := []struct {
		name, displayName, login, want string
	}{
		{"name and login", "Alice Example", "alice@example.com", "• Alice Example (alice@example.com)"},
		{"login only", "", "alice@example.com", "• alice@example.com"},
		{"name equal to login", "alice@example.com", "alice@example.com", "• alice@example.com\n"},
		{"name without login falls back to the id", "Alice Example", "", "• Alice Example (00u0000)"},
		{"neither name nor login", "", "", "• 00u0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := withRemovals(burstAlert(), 1, func(int) (string, string) { return tt.displayName, tt.login })

			body := render(t, slack.BuildMessage(a, "")).body() + "\n"

			assertContains(t, "body", body, tt.want)
		})
	}
}
