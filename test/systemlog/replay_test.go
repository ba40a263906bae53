package systemlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/oktaapi/oktatest"
	"github.com/oktawatch/oktawatch/internal/servicetest"
)

// fixtureDir holds the replay fixtures and their hand count.
const fixtureDir = "../../internal/replay/testdata"

// runReplay runs "oktawatch replay" with args, the given OKTAWATCH_*
// variables (without the prefix) and stdin, in an empty directory so that
// no .env is read, and returns its output and exit code.
func runReplay(t *testing.T, env map[string]string, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(servicetest.Binary(t), append([]string{"replay"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for key, value := range env {
		cmd.Env = append(cmd.Env, "OKTAWATCH_"+key+"="+value)
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut

	err := cmd.Run()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("run oktawatch replay: %v", err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

func absFixture(t *testing.T, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplayCommand_FileSweepMatchesHandCount(t *testing.T) {
	stdout, stderr, code := runReplay(t, nil, nil,
		absFixture(t, "three-groups.json"), "--threshold", "3,5,10", "--window", "5m,15m", "--format", "json")

	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	var report struct {
		Results []struct {
			Threshold     int    `json:"threshold"`
			Window        string `json:"window"`
			BurstCount    int    `json:"burst_count"`
			FollowUpCount int    `json:"follow_up_count"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	var got []string
	for _, r := range report.Results {
		got = append(got, fmt.Sprintf("%d %s %d %d", r.Threshold, r.Window, r.BurstCount, r.FollowUpCount))
	}
	want := []string{"3 5m0s 2 1", "3 15m0s 3 2", "5 5m0s 1 1", "5 15m0s 1 1", "10 5m0s 0 0", "10 15m0s 0 0"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("sweep = %q, want the hand count %q", got, want)
	}
}

func TestReplayCommand_ReadsStandardInput(t *testing.T) {
	ndjson, err := os.ReadFile(filepath.Join(fixtureDir, "three-groups.ndjson"))
	if err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code := runReplay(t, map[string]string{"THRESHOLD": "3"}, ndjson, "-", "--window", "15m")

	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "from standard input") ||
		!strings.Contains(stdout, "Threshold 3 within 15m, cooldown 15m: 3 bursts would have alerted, with 2 follow-ups.") {
		t.Errorf("output does not report the 3 hand-counted bursts with OKTAWATCH_THRESHOLD=3:\n%s", stdout)
	}
}

func TestReplayCommand_FromOktaPrintsBursts(t *testing.T) {
	fake := oktatest.New(t, testToken)
	fake.AddLogEvents(removalEvents("old", "00gREPLAYOLDGROUP001", "Outside-The-Range", 5, time.Now().Add(-50*time.Hour))...)
	fake.AddLogEvents(removalEvents("new", "00gREPLAYRECENT00002", "Recent-Burst", 6, time.Now().Add(-2*time.Hour))...)

	stdout, stderr, code := runReplay(t, map[string]string{"OKTA_ORG_URL": fake.URL, "OKTA_API_TOKEN": testToken}, nil,
		"--from-okta", "--since", "2d")

	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"Replayed 6 events from " + fake.URL, "1 burst would have alerted",
		"Recent-Burst (00gREPLAYRECENT00002)", "  removals       5\n", "  follow-ups     1 with 1 more removal"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout+stderr, testToken) {
		t.Error("the output contains the API token")
	}
}

func TestReplayCommand_RejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no input", nil, nil, "missing input"},
		{"missing file", []string{"no-such-export.json"}, nil, "open System Log export"},
		{"from okta without token", []string{"--from-okta", "--since", "1d"}, nil, "OKTAWATCH_OKTA_API_TOKEN: missing"},
		{"bad threshold from the environment", []string{"-"}, map[string]string{"THRESHOLD": "many"}, `--threshold: "many"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runReplay(t, tt.env, nil, tt.args...)

			if code != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit code %d, stderr %q; want 1 and a message containing %q", code, stderr, tt.want)
			}
		})
	}
}
