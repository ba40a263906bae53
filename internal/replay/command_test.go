package replay

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

var testDefaults = Defaults{Threshold: "5", Window: "5m", Cooldown: "15m"}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want Request
	}{
		{"file with defaults", []string{"export.json"}, Request{
			Settings: []Settings{{5, 5 * time.Minute, 15 * time.Minute}}, Format: "text", File: "export.json"}},
		{"flags after the file", []string{"export.json", "--threshold", "3", "--format", "json"}, Request{
			Settings: []Settings{{3, 5 * time.Minute, 15 * time.Minute}}, Format: "json", File: "export.json"}},
		{"standard input", []string{"-threshold=4", "-"}, Request{
			Settings: []Settings{{4, 5 * time.Minute, 15 * time.Minute}}, Format: "text", File: "-"}},
		{"sweep", []string{"--threshold", "3,5", "--window", "5m,1h", "--cooldown", "1d", "x.ndjson"}, Request{
			Settings: []Settings{
				{3, 5 * time.Minute, 24 * time.Hour}, {3, time.Hour, 24 * time.Hour},
				{5, 5 * time.Minute, 24 * time.Hour}, {5, time.Hour, 24 * time.Hour},
			}, Format: "text", File: "x.ndjson"}},
		{"from okta", []string{"--from-okta", "--since", "7d"}, Request{
			Settings: []Settings{{5, 5 * time.Minute, 15 * time.Minute}}, Format: "text", FromOkta: true, Since: 7 * 24 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseArgs(tt.args, testDefaults, &bytes.Buffer{})

			if err != nil {
				t.Fatalf("ParseArgs: %v", err)
			}
			if got.Format != tt.want.Format || got.File != tt.want.File || got.FromOkta != tt.want.FromOkta ||
				got.Since != tt.want.Since || len(got.Settings) != len(tt.want.Settings) {
				t.Fatalf("request = %+v, want %+v", got, tt.want)
			}
			for i := range got.Settings {
				if got.Settings[i] != tt.want.Settings[i] {
					t.Errorf("settings[%d] = %+v, want %+v", i, got.Settings[i], tt.want.Settings[i])
				}
			}
		})
	}
}

func TestParseArgs_RejectsBadCommandLines(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no input", nil, "missing input: give the path of a System Log export"},
		{"two files", []string{"a.json", "b.json"}, "replay reads one export at a time"},
		{"file and okta", []string{"a.json", "--from-okta", "--since", "1d"}, "choose one"},
		{"since without okta", []string{"a.json", "--since", "1d"}, "--since works only with --from-okta"},
		{"okta without since", []string{"--from-okta"}, "--from-okta needs --since"},
		{"bad since", []string{"--from-okta", "--since", "last week"}, `--since: "last week" is not a duration`},
		{"bad format", []string{"a.json", "--format", "yaml"}, `--format: "yaml" is not a format`},
		{"bad threshold", []string{"a.json", "--threshold", "3,x"}, `--threshold: "x" is not a whole number`},
		{"zero window", []string{"a.json", "--window", "0s"}, `--window: "0s" is not a positive duration`},
		{"unknown flag", []string{"a.json", "--windows", "5m"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseArgs(tt.args, testDefaults, &bytes.Buffer{})

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseArgs_ReportsEveryBadSetting(t *testing.T) {
	_, err := ParseArgs([]string{"a.json", "--threshold", "0", "--cooldown", "soon"}, testDefaults, &bytes.Buffer{})

	for _, want := range []string{"--threshold", "--cooldown"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to name %s", err, want)
		}
	}
}

func TestParseArgs_HelpPrintsUsage(t *testing.T) {
	var stderr bytes.Buffer

	_, err := ParseArgs([]string{"--help"}, testDefaults, &stderr)

	if err == nil {
		t.Error("ParseArgs(--help) succeeded, want flag.ErrHelp")
	}
	if !strings.Contains(stderr.String(), "usage: oktawatch replay") || !strings.Contains(stderr.String(), "-threshold") {
		t.Errorf("help output lacks the usage or the flags:\n%s", stderr.String())
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"90m", 90 * time.Minute},
		{"36h", 36 * time.Hour},
		{"7d", 7 * 24 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"0d30m", 30 * time.Minute},
	}
	for _, tt := range tests {
		if got, err := ParseDuration(tt.value); err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", tt.value, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "0", "0d", "-5m", "-1d", "d", "xd", "7 days", "99999999d"} {
		if got, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %s, want an error", bad, got)
		}
	}
}

func TestParseThresholds_DropsRepeatsAndSpaces(t *testing.T) {
	got, err := ParseThresholds(" 3, 5,3 ,10")

	if err != nil || len(got) != 3 || got[0] != 3 || got[1] != 5 || got[2] != 10 {
		t.Errorf("ParseThresholds = %v, %v; want [3 5 10]", got, err)
	}
}

func TestReadFile(t *testing.T) {
	stdinEvents, stdinSource, err := ReadFile(Request{File: "-"}, strings.NewReader(`[{"uuid":"a"}]`))
	if err != nil || len(stdinEvents) != 1 || stdinSource != "standard input" {
		t.Errorf("ReadFile(-) = %d events from %q, %v; want 1 from standard input", len(stdinEvents), stdinSource, err)
	}

	_, _, err = ReadFile(Request{File: "testdata/missing.json"}, nil)
	if err == nil || !strings.Contains(err.Error(), "testdata/missing.json") {
		t.Errorf("error = %v, want one naming the missing file", err)
	}

	path := t.TempDir() + "/export.csv"
	if err := os.WriteFile(path, []byte("uuid,published\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = ReadFile(Request{File: path}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("error = %v, want one starting with the file name", err)
	}
}
