package slack

import (
	"fmt"
	"net/url"
	"strings"

	blockkit "github.com/slack-go/slack"

	"github.com/oktawatch/oktawatch/internal/alert"
)

// Message is the JSON body of an incoming-webhook request. It leaves out
// link_names and parse on purpose, so Slack turns no plain name into a
// mention.
type Message struct {
	// Text is the notification and fallback text that Slack shows where
	// blocks cannot be shown.
	Text   string          `json:"text"`
	Blocks blockkit.Blocks `json:"blocks,omitzero"`
}

// maxFallbackNameLength caps the group name in the fallback text, which
// appears in push notifications.
const maxFallbackNameLength = 100

// BuildMessage renders a burst alert as a Block Kit message. orgURL is the
// Okta org URL such as https://example.okta.com, and when it is empty the
// message has no link to the Okta Admin Console. Every string that comes from
// Okta is escaped, and every text is cut to fit Slack's limits.
func BuildMessage(a alert.Alert, orgURL string) Message {
	var blocks []blockkit.Block
	blocks = append(blocks, headerBlock(a))
	if a.Late() {
		blocks = append(blocks, mrkdwnSection(lateNotice(a)))
	}
	blocks = append(blocks, factsBlock(a))
	if link := groupLink(orgURL, a.GroupID); link != "" {
		blocks = append(blocks, mrkdwnSection(link))
	}
	blocks = append(blocks, removedUsersBlocks(a)...)
	blocks = append(blocks, actorBlocks(a)...)
	blocks = append(blocks, contextBlock(a))

	return Message{Text: fallbackText(a), Blocks: blockkit.Blocks{BlockSet: blocks}}
}

// groupLabel returns the group's display name, or its id when Okta sent no
// name.
func groupLabel(a alert.Alert) string {
	if strings.TrimSpace(a.GroupName) != "" {
		return a.GroupName
	}
	if strings.TrimSpace(a.GroupID) != "" {
		return a.GroupID
	}
	return "unknown group"
}

// headline returns the sentence shared by the header and the fallback text,
// such as "12 users removed from Engineering" or "3 more users removed from
// Engineering".
func headline(a alert.Alert, group string) string {
	more := ""
	if a.Kind == alert.KindFollowUp {
		more = "more "
	}
	noun := "users"
	if a.Count == 1 {
		noun = "user"
	}
	return fmt.Sprintf("%d %s%s removed from %s", a.Count, more, noun, group)
}

func headerBlock(a alert.Alert) blockkit.Block {
	prefix := headline(a, "")
	group := inlineText(groupLabel(a), MaxHeaderTextLength-len([]rune(prefix)))
	text := blockkit.NewTextBlockObject(blockkit.PlainTextType, prefix+group, false, false)
	return blockkit.NewHeaderBlock(text)
}

// fallbackText states the group, the count and the detection window, so a
// push notification alone reports what happened.
func fallbackText(a alert.Alert) string {
	group := inlineText(groupLabel(a), maxFallbackNameLength)
	text := headline(a, group)
	if a.Kind == alert.KindFollowUp {
		text += fmt.Sprintf(", %d since the burst began", a.Total)
	} else {
		text += " in " + formatDuration(a.Last.Sub(a.First))
	}
	text += fmt.Sprintf(" (threshold %d within %s)", a.Threshold, formatDuration(a.Window))
	if a.Late() {
		text += ", found late"
	}
	return text
}

// lateNotice states how long after the last removal the burst was detected and
// which path found it, because a late alert may describe damage that is
// already done.
func lateNotice(a alert.Alert) string {
	text := fmt.Sprintf(":warning: *Found late:* detected %s after the last removal.", formatDuration(a.Delay()))
	switch a.Source {
	case alert.SourceSystemLog:
		text += " The System Log poller found this burst, not the Okta event hook."
	case alert.SourceReplay:
		text += " An offline replay of an exported System Log found this burst."
	}
	return text
}

func factsBlock(a alert.Alert) blockkit.Block {
	span := fmt.Sprintf("%s in %s", pluralize(a.Count, "user"), formatDuration(a.Last.Sub(a.First)))
	texts := []string{
		"*Group*\n" + inlineText(groupLabel(a), maxNameLength),
		"*Group ID*\n" + inlineText(valueOrUnknown(a.GroupID), maxNameLength),
	}
	if a.Kind == alert.KindFollowUp {
		texts = append(texts, "*Removed since the last message*\n"+span,
			fmt.Sprintf("*Total since the burst began*\n%d", a.Total))
	} else {
		texts = append(texts, "*Removed*\n"+span)
	}
	texts = append(texts,
		fmt.Sprintf("*Detection rule*\n%s within %s", pluralize(a.Threshold, "removal"), formatDuration(a.Window)),
		"*First removal*\n"+formatTime(a.First),
		"*Last removal*\n"+formatTime(a.Last),
	)

	fields := make([]*blockkit.TextBlockObject, 0, len(texts))
	for _, text := range texts[:min(len(texts), MaxSectionFields)] {
		fields = append(fields, mrkdwnText(cutText(text, MaxFieldTextLength)))
	}
	return blockkit.NewSectionBlock(nil, fields, nil)
}

func valueOrUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return s
}

// groupLink returns a mrkdwn link to the group's page in the Okta Admin
// Console, or "" when orgURL is empty or the link would not fit a section.
// The group id is path-escaped, and "&", "<", ">" and "|" are percent-encoded
// as well because they would end or split the <url|label> markup.
func groupLink(orgURL, groupID string) string {
	orgURL = strings.TrimRight(strings.TrimSpace(orgURL), "/")
	if orgURL == "" || groupID == "" {
		return ""
	}
	target := orgURL + "/admin/group/" + url.PathEscape(groupID)
	link := "<" + linkEscaper.Replace(target) + "|Open in Okta Admin Console>"
	if len([]rune(link)) > MaxSectionTextLength {
		// A cut link would point somewhere else, so leave it out.
		return ""
	}
	return link
}

var linkEscaper = strings.NewReplacer("&", "%26", "<", "%3C", ">", "%3E", "|", "%7C")

func contextBlock(a alert.Alert) blockkit.Block {
	text := fmt.Sprintf("Alert %s · source %s · detected %s",
		inlineText(valueOrUnknown(a.ID), maxNameLength),
		inlineText(valueOrUnknown(string(a.Source)), maxNameLength),
		formatTime(a.DetectedAt))
	return blockkit.NewContextBlock("", mrkdwnText(text))
}

// mrkdwnText returns a mrkdwn text object with verbatim set, so that Slack
// does not turn URLs, channel names or mentions in Okta values into links.
// Links that the service writes as <url|label> still work.
func mrkdwnText(text string) *blockkit.TextBlockObject {
	return blockkit.NewTextBlockObject(blockkit.MarkdownType, text, false, true)
}

func mrkdwnSection(text string) blockkit.Block {
	return blockkit.NewSectionBlock(mrkdwnText(cutText(text, MaxSectionTextLength)), nil, nil)
}
