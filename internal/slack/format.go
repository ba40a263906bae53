package slack

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ellipsis ends a string that was cut to fit a limit.
const ellipsis = "…"

// escapeText returns s with the three characters that Slack treats as
// control characters in mrkdwn replaced by HTML entities, so that text from
// Okta can never form a mention such as <!channel> or a link.
func escapeText(s string) string {
	return mrkdwnEscaper.Replace(s)
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// mrkdwnMarkers are the characters that start or end formatting in Slack's
// mrkdwn: bold, italic, strikethrough and code.
const mrkdwnMarkers = "*_~`"

const zeroWidthSpace = "\u200b"

// isBidiControl reports the Unicode bidirectional embedding, override and
// isolate controls.
func isBidiControl(r rune) bool {
	return (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') ||
		r == '\u200e' || r == '\u200f' || r == '\u061c'
}

// inlineText prepares one Okta-supplied value for a message: control
// characters such as line breaks become spaces, so that a value cannot start
// a new list line, and the result is escaped and cut to at most maxLength
// code points. A cut result ends with "…" and never ends inside a UTF-8
// sequence or inside an escape such as "&amp;".
func inlineText(s string, maxLength int) string {
	if maxLength <= 0 {
		return ""
	}

	var b strings.Builder
	length := 0
	for _, r := range strings.TrimSpace(s) {
		if unicode.IsControl(r) {
			r = ' '
		}
		if isBidiControl(r) {
			continue // would let a name render in another order than it is stored
		}
		unit := escapeText(string(r))
		if strings.ContainsRune(mrkdwnMarkers, r) {
			// A zero-width space after a formatting marker keeps Slack from
			// pairing it with another one, so a name cannot turn the rest of
			// a line bold, struck through or into code.
			unit += zeroWidthSpace
		}
		unitLength := utf8.RuneCountInString(unit)
		if length+unitLength > maxLength {
			return cutEscaped(b.String(), maxLength)
		}
		b.WriteString(unit)
		length += unitLength
	}
	return b.String()
}

// cutEscaped shortens an escaped string that reached maxLength so that "…"
// still fits, dropping whole escape sequences only.
func cutEscaped(s string, maxLength int) string {
	runes := []rune(s)
	end := min(len(runes), maxLength-1)
	if amp := lastEntityStart(runes[:end]); amp >= 0 {
		end = amp
	}
	return string(runes[:end]) + ellipsis
}

// lastEntityStart returns the index of an "&" that starts an escape sequence
// not closed by ";" before the end of runes, or -1 when there is none.
func lastEntityStart(runes []rune) int {
	for i := len(runes) - 1; i >= 0 && i >= len(runes)-len("&amp;"); i-- {
		switch runes[i] {
		case ';':
			return -1
		case '&':
			return i
		}
	}
	return -1
}

// cutText cuts text that is already escaped and formatted to at most
// maxLength code points, with the same guarantees as inlineText.
func cutText(s string, maxLength int) string {
	if utf8.RuneCountInString(s) <= maxLength {
		return s
	}
	if maxLength <= 0 {
		return ""
	}
	return cutEscaped(s, maxLength)
}

// formatDuration renders d for people: "4m 30s", "2h 5m", "under 1s".
// Durations under an hour are rounded to the second, longer ones to the
// minute. Zero and negative durations, which clock skew between Okta and
// Redis can produce, read as "under 1s".
func formatDuration(d time.Duration) string {
	if d < time.Second {
		return "under 1s"
	}
	if d < time.Hour {
		d = d.Round(time.Second)
	} else {
		d = d.Round(time.Minute)
	}

	var parts []string
	units := []struct {
		size   time.Duration
		suffix string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for _, unit := range units {
		if n := d / unit.size; n > 0 {
			parts = append(parts, fmt.Sprintf("%d%s", n, unit.suffix))
			d -= n * unit.size
		}
	}
	return strings.Join(parts, " ")
}

// formatTime renders t in UTC as RFC 3339, or "unknown" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

// pluralize returns "1 user" or "3 users".
func pluralize(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
