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

	"github.com/oktawatch/oktawatch/internal/config"
)

// variable is one environment variable that oktawatch reads.
type variable struct {
	name string
	// defaultValue is the value used when the variable is unset, or "" when
	// the variable has no default.
	defaultValue string
	secret       bool
}

// serviceVariables is every variable the service reads, from the config
// package's struct tags, so a new setting cannot be missed here.
var serviceVariables = func() []variable {
	var out []variable
	for _, v := range config.Variables() {
		out = append(out, variable{name: v.Name, defaultValue: v.Default, secret: v.Secret})
	}
	return out
}()

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
