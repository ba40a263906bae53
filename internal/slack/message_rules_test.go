package slack_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/slack"
)

var (
	// entity matches the escapes that may follow an "&" in escaped text.
	entity = regexp.MustCompile(`^&(amp|lt|gt);`)
	// groupLink matches the one link the service builds. Its URL contains
	// no character that could end or split the link markup.
	groupLink = regexp.MustCompile(`<https://example\.okta\.com/admin/group/[^<>|&\s]+\|Open in Okta Admin Console>`)
)

// assertEscaped checks that no text of the message contains "<" or ">"
// other than the group link, and that every "&" starts an escape, so no
// Okta value can form a mention or a link.
func assertEscaped(t *testing.T, w wireMessage) {
	t.Helper()
	texts := append([]string{w.Text}, strings.Split(w.body(), "\n")...)
	for _, text := range texts {
		text = groupLink.ReplaceAllString(text, "")
		if strings.ContainsAny(text, "<>") {
			t.Errorf("text contains unescaped < or >: %q", text)
		}
		for i := strings.Index(text, "&"); i >= 0; i = next(text, i) {
			if !entity.MatchString(text[i:]) {
				t.Errorf("text contains an unescaped &: %q", text)
				break
			}
		}
	}
}

func next(text string, i int) int {
	j := strings.Index(text[i+1:], "&")
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

func TestBuildMessageEscapesOktaStrings(t *testing.T) {
	payloads := []string{"<!channel>", "<@U0TEST01>", "<https://evil.example|click here>", "R&D <b>", "&lt;!here&gt;"}
	fields := map[string]func(a *alert.Alert, payload string){
		"group name": func(a *alert.Alert, p string) { a.GroupName = p },
		"group id":   func(a *alert.Alert, p string) { a.GroupID = p },
		"user name":  func(a *alert.Alert, p string) { a.Removals[0].UserName = p },
		"user login": func(a *alert.Alert, p string) { a.Removals[0].UserLogin = p },
		"user id": func(a *alert.Alert, p string) {
			a.Removals[0].UserName, a.Removals[0].UserLogin, a.Removals[0].UserID = "", "", p
		},
		"actor name":   func(a *alert.Alert, p string) { a.Actors[0].Name = p },
		"actor login":  func(a *alert.Alert, p string) { a.Actors[0].Login = p },
		"alert source": func(a *alert.Alert, p string) { a.Source = alert.Source(p) },
	}
	for field, set := range fields {
		for _, payload := range payloads {
			t.Run(field+" "+payload, func(t *testing.T) {
				a := burstAlert()
				set(&a, payload)

				m := slack.BuildMessage(a, testOrgURL)

				assertEscaped(t, render(t, m))
				data, _ := json.Marshal(m)
				assertNotContains(t, "message JSON", string(data), "<!")
				assertNotContains(t, "message JSON", string(data), "<@")
			})
		}
	}
}

func TestBuildMessageEscapesHeader(t *testing.T) {
	a := burstAlert()
	a.GroupName = "<!channel> & friends"

	w := render(t, slack.BuildMessage(a, ""))

	if got, want := w.header(t), "3 users removed from &lt;!channel&gt; &amp; friends"; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}
	if got := w.Blocks[0].Text.Type; got != "plain_text" {
		t.Errorf("header text type = %q, want plain_text", got)
	}
	assertContains(t, "fallback text", w.Text, "&lt;!channel&gt; &amp; friends")
}

func TestBuildMessageMrkdwnIsVerbatim(t *testing.T) {
	w := render(t, slack.BuildMessage(burstAlert(), testOrgURL))

	for _, text := range w.texts() {
		if text.Type == "mrkdwn" && !text.Verbatim {
			t.Errorf("mrkdwn text %q is not verbatim, so Slack would link URLs and channel names in it", text.Text)
		}
	}
}

func TestBuildMessageSendsOnlyTextAndBlocks(t *testing.T) {
	data, err := json.Marshal(slack.BuildMessage(burstAlert(), testOrgURL))
	if err != nil {
		t.Fatalf("marshal message: %v", err)
	}

	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatalf("unmarshal message: %v", err)
	}

	for key := range keys {
		if key != "text" && key != "blocks" {
			t.Errorf("message has top-level key %q, want only text and blocks", key)
		}
	}
}

func TestBuildMessageCapsLists(t *testing.T) {
	tests := []struct {
		name      string
		removals  int
		omitted   int
		actors    int
		wantLines int
		wantMore  string
	}{
		{"short list has no summary", 3, 0, 1, 3, ""},
		{"exactly the cap has no summary", 20, 0, 1, 20, ""},
		{"long list names twenty", 60, 0, 1, 20, "and 40 more users"},
		{"omitted removals join the summary", 20, 7, 1, 20, "and 7 more users"},
		{"both add up", 25, 5, 1, 20, "and 10 more users"},
		{"no listed removals", 0, 12, 1, 0, "12 users not listed"},
		{"one more is singular", 21, 0, 1, 20, "and 1 more user"},
		{"actors are capped too", 3, 0, 25, 3, "and 5 more actors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := burstAlert()
			a.Omitted = tt.omitted
			a = withRemovals(a, tt.removals, numberedUser)
			actor := a.Actors[0]
			a.Actors = nil
			for i := range tt.actors {
				actor.Name = fmt.Sprintf("Admin %02d", i)
				a.Actors = append(a.Actors, actor)
			}

			w := render(t, slack.BuildMessage(a, ""))

			body := w.body()
			if got := strings.Count(body, "• User "); got != tt.wantLines {
				t.Errorf("message lists %d users, want %d", got, tt.wantLines)
			}
			if got, want := strings.Count(body, "• Admin "), min(tt.actors, 20); got != want {
				t.Errorf("message lists %d actors, want %d", got, want)
			}
			if tt.wantMore != "" {
				assertContains(t, "body", body, tt.wantMore)
			} else {
				assertNotContains(t, "body", body, "more users")
			}
			assertWithinLimits(t, w)
		})
	}
}

func TestBuildMessagePartialActorCountsAreLabelled(t *testing.T) {
	a := burstAlert()
	a.Count, a.Total, a.ActorsCounted = 9000, 9000, 5000

	body := render(t, slack.BuildMessage(a, "")).body()

	assertContains(t, "body", body, "*Removed by (counted over the latest 5000 removals)*")
}

func TestBuildMessageActorCountsAreTotals(t *testing.T) {
	a := burstAlert()
	a.Omitted = 4
	a.Count, a.Total = 7, 7

	body := render(t, slack.BuildMessage(a, "")).body()

	assertContains(t, "body", body, "*Removed by*")
	if strings.Contains(body, "listed users only") {
		t.Errorf("message says actor counts cover only listed users, but they cover all removals: %s", body)
	}
}

func TestBuildMessageMarksLateAlerts(t *testing.T) {
	tests := []struct {
		name        string
		source      alert.Source
		delay       time.Duration
		wantNotice  string
		wantPoller  bool
		wantNoLater bool
	}{
		{"timely hook alert", alert.SourceHook, 2 * time.Second, "", false, true},
		{"hook alert after the window", alert.SourceHook, 12*time.Minute + 30*time.Second, "detected 12m 30s after the last removal", false, false},
		{"system log alert within the window", alert.SourceSystemLog, 3 * time.Minute, "detected 3m after the last removal", true, false},
		{"system log alert hours late", alert.SourceSystemLog, 2*time.Hour + 4*time.Minute + 50*time.Second, "detected 2h 5m after", true, false},
		{"replay", alert.SourceReplay, 48 * time.Hour, "An offline replay of an exported System Log found this burst", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := burstAlert()
			a.Source = tt.source
			a.DetectedAt = a.Last.Add(tt.delay)

			w := render(t, slack.BuildMessage(a, ""))

			body := w.body()
			if tt.wantNoLater {
				assertNotContains(t, "body", body, "Found late")
				assertNotContains(t, "fallback text", w.Text, "found late")
				return
			}
			assertContains(t, "body", body, "*Found late:*")
			assertContains(t, "body", body, tt.wantNotice)
			assertContains(t, "fallback text", w.Text, "found late")
			if tt.wantPoller {
				assertContains(t, "body", body, "The System Log poller found this burst, not the Okta event hook.")
			} else {
				assertNotContains(t, "body", body, "System Log poller")
			}
		})
	}
}

func TestBuildMessageLinksToGroup(t *testing.T) {
	tests := []struct {
		name    string
		orgURL  string
		groupID string
		want    string
	}{
		{"no org URL means no link", "", testGroupID, ""},
		{"plain group id", testOrgURL, testGroupID, "<https://example.okta.com/admin/group/00g1test0000000001|Open in Okta Admin Console>"},
		{"trailing slash is dropped", testOrgURL + "/", testGroupID, "<https://example.okta.com/admin/group/00g1test0000000001|Open in Okta Admin Console>"},
		{"group id is path-escaped", testOrgURL, "00g/../1 2?x#y", "<https://example.okta.com/admin/group/00g%2F..%2F1%202%3Fx%23y|Open in Okta Admin Console>"},
		{"markup characters cannot break the link", testOrgURL, "a|b>c<d&e", "<https://example.okta.com/admin/group/a%7Cb%3Ec%3Cd%26e|Open in Okta Admin Console>"},
		{"no group id means no link", testOrgURL, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := burstAlert()
			a.GroupID = tt.groupID

			body := render(t, slack.BuildMessage(a, tt.orgURL)).body()

			if tt.want == "" {
				assertNotContains(t, "body", body, "Open in Okta Admin Console")
				return
			}
			assertContains(t, "body", body, tt.want)
			if got := strings.Count(body, "<"); got != 1 {
				t.Errorf("body has %d links, want 1", got)
			}
		})
	}
}

// longName returns a name of exactly length runes that starts with prefix
// and i and is full of characters that need escaping.
func longName(prefix string, i, length int) string {
	name := fmt.Sprintf("%s%02d ", prefix, i) + strings.Repeat("é&<x", length)
	return string([]rune(name)[:length])
}

// hugeAlert returns a late burst of 60 users and 60 actors whose names and
// logins are nameLength characters long.
func hugeAlert(nameLength int) alert.Alert {
	a := burstAlert()
	a.GroupName = longName("Group", 0, nameLength)
	a = withRemovals(a, 60, func(i int) (string, string) {
		return longName("Name", i, nameLength), longName("login", i, nameLength-12) + "@example.com"
	})
	a.Actors = nil
	for i := range 60 {
		actor := a.Removals[i].Actor
		actor.Name, actor.Login = longName("Admin", i, nameLength), longName("admin", i, nameLength)
		a.Actors = append(a.Actors, alert.ActorCount{Actor: actor, Count: 1})
	}
	a.Source = alert.SourceSystemLog
	a.DetectedAt = a.Last.Add(3 * time.Hour)
	return a
}

func TestBuildMessageStaysWithinSlackLimits(t *testing.T) {
	for _, nameLength := range []int{120, 1000, 10000} {
		t.Run(fmt.Sprintf("names of %d characters", nameLength), func(t *testing.T) {
			a := hugeAlert(nameLength)

			w := render(t, slack.BuildMessage(a, testOrgURL))

			assertWithinLimits(t, w)
			assertEscaped(t, w)
			if !strings.HasPrefix(w.header(t), "60 users removed from ") {
				t.Errorf("header %q does not state the count", w.header(t))
			}
			assertContains(t, "fallback text", w.Text, "60 users removed from")
			assertContains(t, "body", w.body(), "*Removed*\n60 users in 4m 30s")
			assertContains(t, "body", w.body(), "and 40 more users")
			assertContains(t, "body", w.body(), "and 40 more actors")
		})
	}
}

func TestBuildMessageNeutralisesFormattingAndBidi(t *testing.T) {
	a := burstAlert()
	a.GroupName = "*bold* _it_ ~x~ `code` \u202eexe.txt"

	body := render(t, slack.BuildMessage(a, "")).body()

	if strings.Contains(body, "\u202e") {
		t.Error("message keeps a right-to-left override from Okta")
	}
	for _, marker := range []string{"*bold*", "_it_", "~x~", "`code`"} {
		if strings.Contains(body, marker) {
			t.Errorf("message keeps the formatting %q from Okta intact", marker)
		}
	}
	if !strings.Contains(body, "*\u200bbold*\u200b") {
		t.Errorf("markers are not followed by a zero-width space: %s", body)
	}
}
