package slack

import (
	"fmt"
	"strings"
	"unicode/utf8"

	blockkit "github.com/slack-go/slack"

	"github.com/oktawatch/oktawatch/internal/alert"
)

// moreLineReserve is the room each list section keeps free for the closing
// "and N more users" line.
const moreLineReserve = 64

// removedUsersBlocks lists up to maxListed removed users, oldest first. The
// closing count includes the removals that the alert itself left out.
func removedUsersBlocks(a alert.Alert) []blockkit.Block {
	listed := a.Removals[:min(len(a.Removals), maxListed)]
	lines := make([]string, 0, len(listed))
	for _, r := range listed {
		lines = append(lines, "• "+personLabel(r.UserName, r.UserLogin, r.UserID))
	}

	title := "Removed users"
	if a.Kind == alert.KindFollowUp {
		title = "Newly removed users"
	}
	more := len(a.Removals) - len(listed) + max(a.Omitted, 0)
	return listBlocks(title, lines, more, "user")
}

// actorBlocks lists up to maxListed actors with their removal counts, most
// removals first.
func actorBlocks(a alert.Alert) []blockkit.Block {
	listed := a.Actors[:min(len(a.Actors), maxListed)]
	lines := make([]string, 0, len(listed))
	for _, actor := range listed {
		label := personLabel(actor.Name, actor.Login, actor.ID)
		lines = append(lines, fmt.Sprintf("• %s: %s", label, pluralize(actor.Count, "removal")))
	}

	// The detector counts actors over every removal the alert covers, not
	// only the listed ones, unless the burst is larger than it scans.
	title := "Removed by"
	if a.ActorsCounted > 0 && a.ActorsCounted < a.Count {
		title = fmt.Sprintf("Removed by (counted over the latest %d removals)", a.ActorsCounted)
	}
	return listBlocks(title, lines, len(a.Actors)-len(listed), "actor")
}

// personLabel formats a user or actor as "Display Name (login)", falling
// back to whichever of name, login and id Okta sent.
func personLabel(name, login, id string) string {
	name, login, id = strings.TrimSpace(name), strings.TrimSpace(login), strings.TrimSpace(id)
	if login == "" {
		login = id
	}
	switch {
	case name != "" && login != "" && name != login:
		return inlineText(name, maxNameLength) + " (" + inlineText(login, maxNameLength) + ")"
	case name != "":
		return inlineText(name, maxNameLength)
	default:
		return inlineText(valueOrUnknown(login), maxNameLength)
	}
}

// listBlocks packs a titled bullet list into sections that each fit
// MaxSectionTextLength, at most maxListSections of them. Lines that do not
// fit are added to more, and a closing line "and N more <noun>s" states the
// count, so the message never hides how many entries it left out.
func listBlocks(title string, lines []string, more int, noun string) []blockkit.Block {
	if len(lines) == 0 && more <= 0 {
		return nil
	}

	var blocks []blockkit.Block
	text := "*" + title + "*"
	for i, line := range lines {
		if utf8.RuneCountInString(text)+1+utf8.RuneCountInString(line) > MaxSectionTextLength-moreLineReserve {
			if len(blocks)+1 == maxListSections {
				more += len(lines) - i
				break
			}
			blocks = append(blocks, mrkdwnSection(text))
			text = "*" + title + " (continued)*"
		}
		text += "\n" + line
	}

	switch {
	case more > 0 && len(lines) == 0:
		text += "\n" + pluralize(more, noun) + " not listed"
	case more > 0:
		text += "\nand " + pluralize(more, "more "+noun)
	}
	return append(blocks, mrkdwnSection(text))
}
