// Package replay runs the burst detector over a System Log export, on an
// embedded Redis whose clock follows the events' published times, and
// reports the alerts that the service would have sent. Several detection
// settings can be replayed at once to compare them.
package replay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/oktawatch/oktawatch/internal/okta"
)

// utf8BOM is skipped at the start of the input; some Windows tools write it.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ReadEvents reads a System Log export and returns its events. The export
// is either what GET /api/v1/logs returns, a JSON array of events (several
// arrays one after another are accepted, as when pages are saved to one
// file), or newline-delimited JSON with one event per line. The first byte
// that is not white space selects the format.
func ReadEvents(r io.Reader) ([]json.RawMessage, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if prefix, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(prefix, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	first, err := firstNonSpace(br)
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the input is empty: expected a JSON array of System Log events or one event per line")
	}
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}

	switch first {
	case '[':
		return readArrays(br)
	case '{':
		return readLines(br)
	default:
		return nil, fmt.Errorf("the input starts with %q, expected '[' (a JSON array as GET /api/v1/logs returns) "+
			"or '{' (one JSON event per line); a CSV export from the Admin Console cannot be replayed, "+
			"so fetch the events with the API or use --from-okta", first)
	}
}

// firstNonSpace returns the first byte that is not JSON white space,
// without consuming it.
func firstNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			return b, br.UnreadByte()
		}
	}
}

func readArrays(r io.Reader) ([]json.RawMessage, error) {
	dec := json.NewDecoder(r)
	var events []json.RawMessage
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return events, nil
		}
		if err != nil {
			return nil, fmt.Errorf("after event %d: invalid JSON: %w", len(events), err)
		}
		if delim, ok := tok.(json.Delim); !ok || delim != '[' {
			return nil, fmt.Errorf("after event %d: found %v, expected '[' to start another array of events", len(events), tok)
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fmt.Errorf("event %d: invalid JSON: %w", len(events)+1, err)
			}
			events = append(events, raw)
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("after event %d: invalid JSON: %w", len(events), err)
		}
	}
}

func readLines(r *bufio.Reader) ([]json.RawMessage, error) {
	var events []json.RawMessage
	for number := 1; ; number++ {
		line, err := r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read line %d: %w", number, err)
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			if !json.Valid(trimmed) {
				return nil, fmt.Errorf("line %d: invalid JSON; each line must hold one complete System Log event", number)
			}
			events = append(events, json.RawMessage(trimmed))
		}
		if errors.Is(err, io.EOF) {
			return events, nil
		}
	}
}

// Input is an export prepared for replay.
type Input struct {
	// Events is the number of events read.
	Events int
	// Removals are the successful removals, oldest first. Removals with the
	// same published time keep the order of the export.
	Removals []okta.Removal
	// Duplicates counts removals whose uuid appeared earlier in the export.
	// They stay in Removals, and the detector counts each uuid once, as it
	// does with Okta's duplicate deliveries.
	Duplicates int
	// Skipped counts the other events by reason.
	Skipped map[okta.SkipReason]int
}

// Prepare parses events into removals sorted by published time, because the
// replay clock can only move forward.
func Prepare(events []json.RawMessage) Input {
	in := Input{Events: len(events), Skipped: make(map[okta.SkipReason]int)}
	seen := make(map[string]bool, len(events))
	for _, raw := range events {
		r, skip := okta.ParseEvent(raw)
		if skip != nil {
			in.Skipped[skip.Reason]++
			continue
		}
		if seen[r.EventID] {
			in.Duplicates++
		}
		seen[r.EventID] = true
		in.Removals = append(in.Removals, r)
	}
	slices.SortStableFunc(in.Removals, func(a, b okta.Removal) int { return a.Published.Compare(b.Published) })
	return in
}
