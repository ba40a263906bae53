package slack

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	blockkit "github.com/slack-go/slack"
)

func TestInlineText(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		maxLength int
		want      string
	}{
		{"plain text is unchanged", "Engineering", 50, "Engineering"},
		{"mention is escaped", "<!channel>", 50, "&lt;!channel&gt;"},
		{"ampersand is escaped", "R&D", 50, "R&amp;D"},
		{"link markup is escaped", "<https://evil.example|click>", 50, "&lt;https://evil.example|click&gt;"},
		{"line break becomes a space", "Alice\n• Mallory", 50, "Alice • Mallory"},
		{"surrounding space is trimmed", "  Alice  ", 50, "Alice"},
		{"exact fit is not cut", "abcde", 5, "abcde"},
		{"long text is cut with an ellipsis", "abcdefgh", 5, "abcd…"},
		{"cut counts runes, not bytes", "ééééééé", 4, "ééé…"},
		{"cut keeps multi-byte runes whole", "👩‍💻👩‍💻👩‍💻", 4, "👩\u200d💻…"},
		{"cut drops a whole escape", "abc&def", 6, "abc…"},
		{"cut keeps a complete escape", "ab&cdef", 8, "ab&amp;…"},
		{"cut never splits a trailing escape", "a<<<<", 9, "a&lt;…"},
		{"zero length gives empty text", "abc", 0, ""},
		{"invalid UTF-8 becomes a replacement character", "a\xffb", 10, "a\ufffdb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := inlineText(tt.input, tt.maxLength)

			if got != tt.want {
				t.Errorf("inlineText(%q, %d) = %q, want %q", tt.input, tt.maxLength, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > tt.maxLength {
				t.Errorf("inlineText(%q, %d) has %d runes, over the limit", tt.input, tt.maxLength, n)
			}
			if !utf8.ValidString(got) {
				t.Errorf("inlineText(%q, %d) = %q is not valid UTF-8", tt.input, tt.maxLength, got)
			}
		})
	}
}

func TestInlineTextNeverEndsInsideEscape(t *testing.T) {
	input := strings.Repeat("&<>é", 40)

	for maxLength := 1; maxLength <= 200; maxLength++ {
		got := inlineText(input, maxLength)

		if n := utf8.RuneCountInString(got); n > maxLength {
			t.Fatalf("maxLength %d: got %d runes", maxLength, n)
		}
		body := strings.TrimSuffix(got, ellipsis)
		if i := strings.LastIndex(body, "&"); i >= 0 && !strings.Contains(body[i:], ";") {
			t.Fatalf("maxLength %d: %q ends inside an escape", maxLength, got)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{"negative from clock skew", -3 * time.Second, "under 1s"},
		{"zero", 0, "under 1s"},
		{"below a second", 400 * time.Millisecond, "under 1s"},
		{"seconds round to nearest", 44*time.Second + 600*time.Millisecond, "45s"},
		{"minutes and seconds", 4*time.Minute + 30*time.Second, "4m 30s"},
		{"whole minutes", 5 * time.Minute, "5m"},
		{"hours round to the minute", 2*time.Hour + 5*time.Minute + 40*time.Second, "2h 6m"},
		{"days", 26 * time.Hour, "1d 2h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatDuration(tt.in); got != tt.want {
				t.Errorf("formatDuration(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"seconds", "2", 2 * time.Second},
		{"seconds with space", " 30 ", 30 * time.Second},
		{"zero seconds", "0", 0},
		{"HTTP date in the future", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"HTTP date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"missing", "", 0},
		{"negative seconds", "-5", 0},
		{"fractional seconds", "1.5", 0},
		{"not a number or date", "soon", 0},
		{"seconds that overflow a duration", "99999999999999", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRetryAfter(tt.value, now); got != tt.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

func TestTrimBody(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes

	got := trimBody([]byte("  " + long + "\n"))

	if len(got) > maxErrorBodyBytes {
		t.Errorf("trimmed body has %d bytes, want at most %d", len(got), maxErrorBodyBytes)
	}
	if !utf8.ValidString(got) {
		t.Errorf("trimmed body is not valid UTF-8")
	}
	if !strings.HasPrefix(long, got) {
		t.Errorf("trimmed body is not a prefix of the response")
	}
}

func TestListBlocksCapsSections(t *testing.T) {
	line := "• " + strings.Repeat("x", 1000)
	lines := make([]string, 20)
	for i := range lines {
		lines[i] = line
	}

	blocks := listBlocks("Removed users", lines, 3, "user")

	if len(blocks) != maxListSections {
		t.Fatalf("got %d sections, want %d", len(blocks), maxListSections)
	}
	// Two lines fit one section, so five sections list ten and the other
	// ten join the three that were already left out.
	last := blocks[len(blocks)-1]
	text := sectionText(t, last)
	if !strings.HasSuffix(text, "and 13 more users") {
		t.Errorf("last section ends %q, want it to end with %q", text[len(text)-40:], "and 13 more users")
	}
	for i, block := range blocks {
		if n := utf8.RuneCountInString(sectionText(t, block)); n > MaxSectionTextLength {
			t.Errorf("section %d has %d characters, limit %d", i, n, MaxSectionTextLength)
		}
	}
}

func sectionText(t *testing.T, block blockkit.Block) string {
	t.Helper()
	section, ok := block.(*blockkit.SectionBlock)
	if !ok || section.Text == nil {
		t.Fatalf("block %#v is not a section with text", block)
	}
	return section.Text.Text
}
