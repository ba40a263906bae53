package deploytest

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

// envLine matches a variable line of .env.example, active or commented out.
var envLine = regexp.MustCompile(`^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$`)

// envEntry is one variable line of .env.example.
type envEntry struct {
	name   string
	value  string
	active bool
	// comment is the comment line just above the variable.
	comment string
}

// parseEnvExample returns the variable lines of .env.example in file order.
func parseEnvExample(t *testing.T) []envEntry {
	t.Helper()
	var entries []envEntry
	previous := ""
	for _, line := range strings.Split(string(readRepoFile(t, ".env.example")), "\n") {
		line = strings.TrimSpace(line)
		match := envLine.FindStringSubmatch(line)
		if match != nil {
			entry := envEntry{name: match[2], value: match[3], active: match[1] == ""}
			if !envLine.MatchString(previous) && strings.HasPrefix(previous, "#") {
				entry.comment = previous
			}
			entries = append(entries, entry)
		}
		previous = line
	}
	return entries
}

func TestEnvExample_VariablesAreReadByService(t *testing.T) {
	seen := map[string]bool{}

	for _, entry := range parseEnvExample(t) {
		if seen[entry.name] {
			t.Errorf("%s appears more than once", entry.name)
		}
		seen[entry.name] = true
		if entry.name == "NGROK_AUTHTOKEN" {
			continue
		}
		if _, ok := lookupVariable(entry.name); !ok {
			t.Errorf("%s is not a variable oktawatch reads; fix the name or remove the line", entry.name)
		}
	}
}

func TestEnvExample_DocumentsEveryVariable(t *testing.T) {
	documented := map[string]bool{}
	for _, entry := range parseEnvExample(t) {
		documented[entry.name] = true
	}

	for _, v := range append(serviceVariables, variable{name: "NGROK_AUTHTOKEN", secret: true}) {
		if !documented[v.name] {
			t.Errorf("%s is missing from .env.example", v.name)
		}
	}
}

func TestEnvExample_EveryVariableHasComment(t *testing.T) {
	for _, entry := range parseEnvExample(t) {
		if entry.comment == "" {
			t.Errorf("%s has no comment line above it", entry.name)
		}
	}
}

func TestEnvExample_ValuesAreDefaultsOrPlaceholders(t *testing.T) {
	for _, entry := range parseEnvExample(t) {
		v, known := lookupVariable(entry.name)
		switch {
		case entry.name == "NGROK_AUTHTOKEN" || v.secret:
			if !strings.HasPrefix(entry.value, "change-me-") {
				t.Errorf("%s=%q: a secret must be a change-me-... placeholder", entry.name, entry.value)
			}
		case !known:
			// Reported by TestEnvExample_VariablesAreReadByService.
		case v.defaultValue == "" && entry.active:
			t.Errorf("%s has no default, so its line must be commented out; an empty or example value would change the behaviour", entry.name)
		case v.defaultValue != "" && entry.value != v.defaultValue:
			t.Errorf("%s=%q, want the default %q", entry.name, entry.value, v.defaultValue)
		}
	}
}

func TestEnvExample_ParsesAsDotenv(t *testing.T) {
	want := map[string]string{}
	for _, entry := range parseEnvExample(t) {
		if entry.active {
			want[entry.name] = entry.value
		}
	}

	got, err := dotenv.Parse(bytes.NewReader(readRepoFile(t, ".env.example")))

	if err != nil {
		t.Fatalf("parse .env.example as compose reads it: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("compose reads %d variables, the line scan finds %d active ones", len(got), len(want))
	}
	for name, value := range want {
		if got[name] != value {
			t.Errorf("%s: compose reads %q, want %q", name, got[name], value)
		}
	}
}
