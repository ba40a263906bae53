// Package deploytest checks the packaging files (Dockerfile, .dockerignore,
// docker-compose.yml, .env.example and deploy/) by parsing them with the
// parsers of the tools that read them, and runs nginx on its configuration
// when the binary is installed.
package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// variable is one environment variable that oktawatch reads.
type variable struct {
	name string
	// defaultValue is the value used when the variable is unset, or "" when
	// the variable has no default.
	defaultValue string
	secret       bool
}

// TODO: replace this list with the one the config package exports, so a new
// setting cannot be missed here. Until then it mirrors internal/config.
var serviceVariables = []variable{
	{name: "OKTAWATCH_LISTEN_ADDR", defaultValue: ":8080"},
	{name: "OKTAWATCH_LOG_LEVEL", defaultValue: "info"},
	{name: "OKTAWATCH_REDIS_URL"},
	{name: "OKTAWATCH_REDIS_CLUSTER_ADDRS"},
	{name: "OKTAWATCH_REDIS_SENTINEL_MASTER"},
	{name: "OKTAWATCH_REDIS_SENTINEL_ADDRS"},
	{name: "OKTAWATCH_REDIS_USERNAME"},
	{name: "OKTAWATCH_REDIS_PASSWORD", secret: true},
	{name: "OKTAWATCH_REDIS_TLS"},
	{name: "OKTAWATCH_REDIS_POOL_SIZE"},
	{name: "OKTAWATCH_REDIS_DIAL_TIMEOUT", defaultValue: "1s"},
	{name: "OKTAWATCH_REDIS_READ_TIMEOUT", defaultValue: "500ms"},
	{name: "OKTAWATCH_REDIS_WRITE_TIMEOUT", defaultValue: "500ms"},
	{name: "OKTAWATCH_OKTA_AUTH_HEADER", defaultValue: "Authorization"},
	{name: "OKTAWATCH_OKTA_AUTH_SECRET", secret: true},
	{name: "OKTAWATCH_OKTA_ORG_URL"},
	{name: "OKTAWATCH_OKTA_API_TOKEN", secret: true},
	{name: "OKTAWATCH_SLACK_WEBHOOK_URL", secret: true},
	{name: "OKTAWATCH_THRESHOLD", defaultValue: "5"},
	{name: "OKTAWATCH_WINDOW", defaultValue: "5m"},
	{name: "OKTAWATCH_COOLDOWN", defaultValue: "15m"},
	{name: "OKTAWATCH_MAX_EVENT_AGE", defaultValue: "24h"},
	{name: "OKTAWATCH_MAX_BODY_BYTES", defaultValue: "10485760"},
	{name: "OKTAWATCH_ALERT_CLAIM_TIMEOUT", defaultValue: "30s"},
	{name: "OKTAWATCH_ALERT_MAX_AGE", defaultValue: "24h"},
	{name: "OKTAWATCH_SLACK_MAX_RETRY_AFTER", defaultValue: "5m"},
	{name: "OKTAWATCH_SHUTDOWN_DRAIN", defaultValue: "5s"},
	{name: "OKTAWATCH_SHUTDOWN_TIMEOUT", defaultValue: "20s"},
	{name: "OKTAWATCH_HTTP_READ_HEADER_TIMEOUT", defaultValue: "5s"},
	{name: "OKTAWATCH_HTTP_READ_TIMEOUT", defaultValue: "30s"},
	{name: "OKTAWATCH_HTTP_WRITE_TIMEOUT", defaultValue: "30s"},
	{name: "OKTAWATCH_HTTP_IDLE_TIMEOUT", defaultValue: "120s"},
	{name: "OKTAWATCH_HTTP_MAX_HEADER_BYTES", defaultValue: "65536"},
	{name: "OKTAWATCH_SYSTEMLOG_POLL_INTERVAL", defaultValue: "1m"},
	{name: "OKTAWATCH_SYSTEMLOG_LOOKBACK", defaultValue: "15m"},
}

// lookupVariable returns the service variable with the given name.
func lookupVariable(name string) (variable, bool) {
	for _, v := range serviceVariables {
		if v.name == name {
			return v, true
		}
	}
	return variable{}, false
}

// repoRoot returns the directory of the repository's go.mod, found by
// walking up from the test's working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("get working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's working directory; run the tests inside the repository")
		}
		dir = parent
	}
}

// readRepoFile returns the content of a file given relative to the
// repository root.
func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return data
}

// replaceOnce replaces old with new in text and fails the test unless old
// occurs exactly once, so a rewrite of a copied file cannot silently miss.
func replaceOnce(t *testing.T, text, old, new string) string {
	t.Helper()
	if n := strings.Count(text, old); n != 1 {
		t.Fatalf("expected %q exactly once in the file, found it %d times; update the test together with the file", old, n)
	}
	return strings.Replace(text, old, new, 1)
}

// requireBinary returns the first of candidates that is an executable,
// looked up in PATH unless it is an absolute path. When none is found the
// test is skipped, except under CI=true, where it fails.
func requireBinary(t *testing.T, installHint string, candidates ...string) string {
	t.Helper()
	for _, candidate := range candidates {
		if path, err := exec.LookPath(candidate); err == nil {
			return path
		}
	}
	msg := strings.Join(candidates, " and ") + " not found; " + installHint + " to run this test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// mustParseDuration parses a Go duration such as "5s" and fails the test,
// naming the setting, when it is invalid.
func mustParseDuration(t *testing.T, name, value string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(value)
	if err != nil {
		t.Fatalf("%s: invalid duration %q: %v", name, value, err)
	}
	return d
}
