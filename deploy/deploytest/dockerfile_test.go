package deploytest

import (
	"encoding/json"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// NOTE: no engine is needed because these tests read the Dockerfile line by
// line. They check the instructions this repository relies on and do not
// replace a docker build.

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	keyword string
	args    string
}

// parseDockerfile splits a Dockerfile into instructions, dropping comments
// and joining lines that end in a backslash.
func parseDockerfile(text string) []instruction {
	var instructions []instruction
	pending := ""
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && pending == "") {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			pending += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		full := pending + trimmed
		pending = ""
		keyword, args, _ := strings.Cut(full, " ")
		instructions = append(instructions, instruction{keyword: strings.ToUpper(keyword), args: strings.TrimSpace(args)})
	}
	return instructions
}

// stages splits instructions at each FROM.
func stages(instructions []instruction) [][]instruction {
	var result [][]instruction
	for _, in := range instructions {
		if in.keyword == "FROM" {
			result = append(result, nil)
		}
		if len(result) > 0 {
			result[len(result)-1] = append(result[len(result)-1], in)
		}
	}
	return result
}

func findInstruction(stage []instruction, keyword, contains string) int {
	return slices.IndexFunc(stage, func(in instruction) bool {
		return in.keyword == keyword && strings.Contains(in.args, contains)
	})
}

// execForm decodes the JSON array of an exec-form instruction.
func execForm(t *testing.T, keyword, args string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		t.Fatalf("%s %s: want the exec form, a JSON array of strings: %v", keyword, args, err)
	}
	return argv
}

func mustStages(t *testing.T) [][]instruction {
	t.Helper()
	result := stages(parseDockerfile(string(readRepoFile(t, "Dockerfile"))))
	if len(result) != 2 {
		t.Fatalf("Dockerfile has %d stages, want 2 (build and runtime)", len(result))
	}
	return result
}

// imageUserID returns the numeric user ID that the runtime stage runs as.
func imageUserID(t *testing.T) int64 {
	t.Helper()
	runtime := mustStages(t)[1]
	i := findInstruction(runtime, "USER", "")
	if i < 0 {
		t.Fatal("runtime stage has no USER")
	}
	user, _, _ := strings.Cut(runtime[i].args, ":")
	id, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		t.Fatalf("USER %s: want a numeric user ID so Kubernetes can verify runAsNonRoot: %v", runtime[i].args, err)
	}
	return id
}

// goLine returns the major.minor release of the go line of go.mod.
func goLine(t *testing.T) string {
	t.Helper()
	match := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(readRepoFile(t, "go.mod"))
	if match == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(match[1])
}

func TestDockerfile_BuildStage(t *testing.T) {
	build := mustStages(t)[0]

	from := build[0].args
	copyModules := findInstruction(build, "COPY", "go.mod go.sum")
	download := findInstruction(build, "RUN", "go mod download")
	copySources := findInstruction(build, "COPY", "internal")
	compile := findInstruction(build, "RUN", "go build")

	if want := "golang:" + goLine(t) + " AS build"; !strings.HasSuffix(from, want) {
		t.Errorf("FROM %s, want an image ending in %q to match the go line of go.mod", from, want)
	}
	if copyModules < 0 || download < copyModules || copySources < download {
		t.Errorf("want COPY go.mod go.sum, then RUN go mod download, then COPY of the sources; got positions %d, %d, %d",
			copyModules, download, copySources)
	}
	if compile < 0 {
		t.Fatal("build stage has no RUN go build")
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`, "-o /out/oktawatch", "./cmd/oktawatch"} {
		if !strings.Contains(build[compile].args, want) {
			t.Errorf("RUN %s: missing %s", build[compile].args, want)
		}
	}
}

func TestDockerfile_RuntimeStage(t *testing.T) {
	runtime := mustStages(t)[1]

	tests := []struct {
		keyword string
		want    string
	}{
		{"FROM", "gcr.io/distroless/static-debian12:nonroot"},
		{"COPY", "--from=build /out/oktawatch /oktawatch"},
		{"USER", "65532:65532"},
		{"EXPOSE", "8080"},
	}
	for _, tt := range tests {
		if i := findInstruction(runtime, tt.keyword, ""); i < 0 || runtime[i].args != tt.want {
			t.Errorf("runtime %s: want %q", tt.keyword, tt.want)
		}
	}

	execTests := []struct {
		keyword string
		want    []string
	}{
		{"ENTRYPOINT", []string{"/oktawatch"}},
		{"CMD", []string{"serve"}},
	}
	for _, tt := range execTests {
		i := findInstruction(runtime, tt.keyword, "")
		if i < 0 {
			t.Errorf("runtime stage has no %s", tt.keyword)
			continue
		}
		if got := execForm(t, tt.keyword, runtime[i].args); !slices.Equal(got, tt.want) {
			t.Errorf("%s = %q, want %q", tt.keyword, got, tt.want)
		}
	}
}

func TestDockerfile_HealthcheckUsesBinary(t *testing.T) {
	runtime := mustStages(t)[1]

	i := findInstruction(runtime, "HEALTHCHECK", "")

	if i < 0 {
		t.Fatal("runtime stage has no HEALTHCHECK")
	}
	_, command, found := strings.Cut(runtime[i].args, " CMD ")
	if !found {
		t.Fatalf("HEALTHCHECK %s: want options followed by CMD [...]", runtime[i].args)
	}
	if got := execForm(t, "HEALTHCHECK CMD", command); !slices.Equal(got, []string{"/oktawatch", "healthcheck"}) {
		t.Errorf("HEALTHCHECK CMD = %q, want [/oktawatch healthcheck] because the image has no shell", got)
	}
}

// dockerignorePattern is one line of .dockerignore.
type dockerignorePattern struct {
	pattern *regexp.Regexp
	negate  bool
}

// parseDockerignore compiles .dockerignore lines with Docker's rules: a
// leading ! re-includes, ** matches any number of directories, * and ? stay
// within one path element, and a pattern that matches a directory also
// matches everything below it.
func parseDockerignore(text string) []dockerignorePattern {
	var patterns []dockerignorePattern
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		negate := strings.HasPrefix(line, "!")
		glob := path.Clean(strings.TrimPrefix(strings.TrimPrefix(line, "!"), "/"))
		patterns = append(patterns, dockerignorePattern{pattern: globToRegexp(glob), negate: negate})
	}
	return patterns
}

func globToRegexp(glob string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch {
		case strings.HasPrefix(glob[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(glob[i:], "**"):
			b.WriteString(".*")
			i++
		case glob[i] == '*':
			b.WriteString("[^/]*")
		case glob[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
		}
	}
	b.WriteString("(/.*)?$")
	return regexp.MustCompile(b.String())
}

// excluded reports whether the last pattern matching name excludes it.
func excluded(patterns []dockerignorePattern, name string) bool {
	result := false
	for _, p := range patterns {
		if p.pattern.MatchString(name) {
			result = !p.negate
		}
	}
	return result
}

func TestDockerignore_SendsOnlyBuildInputs(t *testing.T) {
	patterns := parseDockerignore(string(readRepoFile(t, ".dockerignore")))

	tests := []struct {
		name     string
		excluded bool
	}{
		{"go.mod", false},
		{"go.sum", false},
		{"cmd/oktawatch/main.go", false},
		{"internal/burst/detector.go", false},
		{"internal/burst/record.lua", false},
		{".git/config", true},
		{".env", true},
		{".env.example", true},
		{"docker-compose.yml", true},
		{"deploy/kubernetes/deployment.yaml", true},
		{"internal/okta/testdata/delivery.json", true},
		{"internal/burst/detector_test.go", true},
		{"oktawatch", true},
	}
	for _, tt := range tests {
		if got := excluded(patterns, tt.name); got != tt.excluded {
			t.Errorf("%s: excluded = %v, want %v", tt.name, got, tt.excluded)
		}
	}
}
