package replay

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/okta"
)

// Report is the outcome of a replay: the input and one Result per Settings.
type Report struct {
	// Source names the input, such as a file name or the org URL.
	Source  string
	Input   Input
	Results []Result
}

// WriteText prints a summary of the input and, for a single Settings, every
// burst that would have alerted. For several Settings it prints a table of
// how many alerts each would have produced.
func WriteText(w io.Writer, rep Report) error {
	p := &printer{w: w}
	writeSummary(p, rep)
	if len(rep.Results) == 1 {
		writeBursts(p, rep.Results[0])
	} else {
		writeTable(p, rep.Results)
	}
	return p.err
}

func writeSummary(p *printer, rep Report) {
	in := rep.Input
	p.printf("Replayed %s from %s: %s", plural(in.Events, "event"), rep.Source, plural(len(in.Removals), "removal"))
	if len(in.Removals) > 0 {
		p.printf(" published from %s to %s", formatTime(in.Removals[0].Published), formatTime(in.Removals[len(in.Removals)-1].Published))
	}
	p.printf(".\n")
	if in.Duplicates > 0 {
		p.printf("%s seen more than once, counted once.\n", plural(in.Duplicates, "removal uuid"))
	}
	if len(in.Skipped) > 0 {
		p.printf("Skipped %s: %s.\n", plural(sumCounts(in.Skipped), "event"), describeSkipped(in.Skipped))
	}
}

func writeBursts(p *printer, r Result) {
	s := r.Settings
	p.printf("\nThreshold %d within %s, cooldown %s: %s would have alerted, with %s.\n",
		s.Threshold, formatDuration(s.Window), formatDuration(s.Cooldown),
		plural(len(r.Bursts), "burst"), plural(r.FollowUps(), "follow-up"))
	for _, b := range r.Bursts {
		p.printf("\n%s (%s)\n", groupName(b.GroupName), b.GroupID)
		p.printf("  first removal  %s\n", formatTime(b.First))
		p.printf("  last removal   %s\n", formatTime(b.Last))
		p.printf("  removals       %d\n", b.Count)
		p.printf("  actors         %s\n", describeActors(b.Actors))
		if b.FollowUps > 0 {
			p.printf("  follow-ups     %d with %s\n", b.FollowUps, plural(b.FollowUpRemovals, "more removal"))
		}
	}
}

func writeTable(p *printer, results []Result) {
	p.printf("\n")
	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "THRESHOLD\tWINDOW\tCOOLDOWN\tBURSTS\tFOLLOW-UPS")
	for _, r := range results {
		s := r.Settings
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\n",
			s.Threshold, formatDuration(s.Window), formatDuration(s.Cooldown), len(r.Bursts), r.FollowUps())
	}
	if err := tw.Flush(); err != nil && p.err == nil {
		p.err = err
	}
	p.printf("\nGive one value each to --threshold, --window and --cooldown to list the bursts.\n")
}

// jsonReport is the --format json output.
type jsonReport struct {
	Source     string          `json:"source"`
	Events     int             `json:"events"`
	Removals   int             `json:"removals"`
	Duplicates int             `json:"duplicates"`
	Skipped    map[string]int  `json:"skipped"`
	First      *time.Time      `json:"first,omitempty"`
	Last       *time.Time      `json:"last,omitempty"`
	Results    []jsonSweepItem `json:"results"`
}

type jsonSweepItem struct {
	Threshold     int     `json:"threshold"`
	Window        string  `json:"window"`
	Cooldown      string  `json:"cooldown"`
	BurstCount    int     `json:"burst_count"`
	FollowUpCount int     `json:"follow_up_count"`
	Bursts        []Burst `json:"bursts"`
}

// WriteJSON prints the report as one JSON object. Durations are Go
// duration strings such as "5m0s", and times are RFC 3339 in UTC.
func WriteJSON(w io.Writer, rep Report) error {
	out := jsonReport{
		Source: rep.Source, Events: rep.Input.Events, Removals: len(rep.Input.Removals),
		Duplicates: rep.Input.Duplicates, Skipped: make(map[string]int), Results: []jsonSweepItem{},
	}
	for reason, n := range rep.Input.Skipped {
		out.Skipped[string(reason)] = n
	}
	if n := len(rep.Input.Removals); n > 0 {
		first, last := rep.Input.Removals[0].Published, rep.Input.Removals[n-1].Published
		out.First, out.Last = &first, &last
	}
	for _, r := range rep.Results {
		bursts := r.Bursts
		if bursts == nil {
			bursts = []Burst{}
		}
		out.Results = append(out.Results, jsonSweepItem{
			Threshold: r.Settings.Threshold, Window: r.Settings.Window.String(), Cooldown: r.Settings.Cooldown.String(),
			BurstCount: len(r.Bursts), FollowUpCount: r.FollowUps(), Bursts: bursts,
		})
	}

	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// printer keeps the first write error, so the report functions read as a
// list of lines.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.w.Write(b)
	p.err = err
	return n, err
}

func (p *printer) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(p, format, args...)
}

func describeSkipped(skipped map[okta.SkipReason]int) string {
	reasons := make([]string, 0, len(skipped))
	for reason := range skipped {
		reasons = append(reasons, string(reason))
	}
	slices.Sort(reasons)
	parts := make([]string, len(reasons))
	for i, reason := range reasons {
		parts[i] = fmt.Sprintf("%d %s", skipped[okta.SkipReason(reason)], reason)
	}
	return strings.Join(parts, ", ")
}

func describeActors(actors []alert.ActorCount) string {
	if len(actors) == 0 {
		return "unknown"
	}
	parts := make([]string, len(actors))
	for i, a := range actors {
		name := a.Login
		if name == "" {
			name = a.Name
		}
		if name == "" {
			name = a.ID
		}
		if a.Type != "" && a.Type != "User" {
			name += " (" + a.Type + ")"
		}
		parts[i] = fmt.Sprintf("%s: %d", name, a.Count)
	}
	return strings.Join(parts, ", ")
}

func groupName(name string) string {
	if name == "" {
		return "unnamed group"
	}
	return name
}

func sumCounts(counts map[okta.SkipReason]int) int {
	total := 0
	for _, n := range counts {
		total += n
	}
	return total
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// formatDuration drops the zero units that time.Duration.String adds:
// 5m instead of 5m0s, 1h instead of 1h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
