package replay

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// Usage is the help text of the replay command. The flag defaults are
// printed after it.
const Usage = `usage: oktawatch replay [flags] FILE
       oktawatch replay [flags] -
       oktawatch replay --from-okta --since 7d [flags]

Runs the burst detector over System Log events at their own published times
and prints the bursts that would have alerted. FILE is the JSON array that
GET /api/v1/logs returns, or one JSON event per line; - reads standard input.
--from-okta reads the events from the org in OKTAWATCH_OKTA_ORG_URL with
OKTAWATCH_OKTA_API_TOKEN. Comma-separated lists for --threshold, --window or
--cooldown replay every combination and print how many alerts each produces.

flags:
`

// Defaults are the flag defaults, normally the service's settings from
// OKTAWATCH_THRESHOLD, OKTAWATCH_WINDOW and OKTAWATCH_COOLDOWN.
type Defaults struct {
	Threshold, Window, Cooldown string
}

// Request is a parsed replay command line.
type Request struct {
	Settings []Settings
	// Format is "text" or "json".
	Format string
	// File is the export to read, "-" for standard input, or "" with
	// FromOkta.
	File     string
	FromOkta bool
	// Since is how far back --from-okta reads.
	Since time.Duration
}

// ParseArgs parses the replay command's arguments. Flags may come before or
// after the file. Usage and flag errors are written to stderr.
func ParseArgs(args []string, defaults Defaults, stderr io.Writer) (Request, error) {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, Usage); fs.PrintDefaults() }
	thresholds := fs.String("threshold", defaults.Threshold,
		"removals from one group within the window that make a burst; a list such as 3,5,10 compares several")
	windows := fs.String("window", defaults.Window,
		"time within which the threshold must be reached; a list such as 5m,15m compares several")
	cooldowns := fs.String("cooldown", defaults.Cooldown,
		"time after an alert during which a group's removals go into one follow-up; a list compares several")
	format := fs.String("format", "text", "output format: text, or json for scripts")
	fromOkta := fs.Bool("from-okta", false, "read the System Log from Okta instead of a file")
	since := fs.String("since", "", "with --from-okta, how far back to read, such as 36h or 7d")
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return Request{}, err
	}

	req := Request{Format: *format, FromOkta: *fromOkta}
	var errs []error
	req.Settings, err = parseSettings(*thresholds, *windows, *cooldowns)
	errs = append(errs, err)
	errs = append(errs, req.setInput(positional, *since))
	if req.Format != "text" && req.Format != "json" {
		errs = append(errs, fmt.Errorf("--format: %q is not a format; use text or json", req.Format))
	}
	return req, errors.Join(errs...)
}

// parseInterspersed parses flags that may come before or after the
// positional arguments, as in "replay export.json --threshold 3", and
// returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func parseSettings(thresholds, windows, cooldowns string) ([]Settings, error) {
	t, errThreshold := ParseThresholds(thresholds)
	w, errWindow := ParseDurations("window", windows)
	c, errCooldown := ParseDurations("cooldown", cooldowns)
	if err := errors.Join(errThreshold, errWindow, errCooldown); err != nil {
		return nil, err
	}
	return Combinations(t, w, c), nil
}

func (req *Request) setInput(positional []string, since string) error {
	switch {
	case len(positional) > 1:
		return fmt.Errorf("got %d files %q; replay reads one export at a time", len(positional), positional)
	case req.FromOkta && len(positional) == 1:
		return fmt.Errorf("got both the file %q and --from-okta; choose one", positional[0])
	case !req.FromOkta && since != "":
		return errors.New("--since works only with --from-okta; to replay part of a file, export only that period")
	case !req.FromOkta && len(positional) == 0:
		return errors.New("missing input: give the path of a System Log export, - for standard input, or --from-okta --since 7d")
	case req.FromOkta && since == "":
		return errors.New("--from-okta needs --since, such as --since 7d")
	case req.FromOkta:
		d, err := ParseDuration(since)
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		req.Since = d
		return nil
	}
	req.File = positional[0]
	return nil
}

// ReadFile reads the events of req.File, or of stdin when it is "-", and
// returns them with a name for the report.
func ReadFile(req Request, stdin io.Reader) ([]json.RawMessage, string, error) {
	if req.File == "-" {
		events, err := ReadEvents(stdin)
		if err != nil {
			return nil, "", fmt.Errorf("standard input: %w", err)
		}
		return events, "standard input", nil
	}

	f, err := os.Open(req.File)
	if err != nil {
		return nil, "", fmt.Errorf("open System Log export: %w", err)
	}
	defer f.Close()
	events, err := ReadEvents(f)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", req.File, err)
	}
	return events, req.File, nil
}

// Execute replays events with every Settings of req and writes the report
// to stdout. It draws a progress bar on stderr for a large input when
// stderr is a terminal.
func Execute(ctx context.Context, req Request, events []json.RawMessage, source string, stdout, stderr io.Writer) error {
	in := Prepare(events)

	var progress *Progress
	if in.Events > LargeInput && IsTerminal(stderr) {
		progress = NewProgress(stderr, int64(len(in.Removals)*len(req.Settings)), "replaying")
	}
	results, err := Run(ctx, in.Removals, req.Settings, progress.Add)
	progress.Finish()
	if err != nil {
		return err
	}

	report := Report{Source: source, Input: in, Results: results}
	if req.Format == "json" {
		return WriteJSON(stdout, report)
	}
	return WriteText(stdout, report)
}
