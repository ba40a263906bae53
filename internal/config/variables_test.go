package config

import (
	"os"
	"strings"
	"testing"
)

func TestVariables_MatchWhatEnvconfigReads(t *testing.T) {
	t.Setenv("OKTAWATCH_OKTA_AUTH_SECRET", testSecret)
	t.Setenv("OKTAWATCH_REDIS_TLS_CA_FILE", "")
	t.Setenv("OKTAWATCH_HTTP_IDLE_TIMEOUT", "7s")
	t.Setenv("OKTAWATCH_REDIS_POOL_SIZE", "3")

	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, v := range Variables() {
		names[v.Name] = true
	}

	if c.HTTP.IdleTimeout.Seconds() != 7 || c.Redis.PoolSize != 3 {
		t.Fatalf("nested settings not read: %+v", c)
	}
	for _, want := range []string{"OKTAWATCH_HTTP_IDLE_TIMEOUT", "OKTAWATCH_REDIS_POOL_SIZE", "OKTAWATCH_REDIS_TLS_CA_FILE", "OKTAWATCH_THRESHOLD"} {
		if !names[want] {
			t.Errorf("Variables() lacks %s", want)
		}
	}
}

func TestReadme_DocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Variables() {
		short := strings.TrimPrefix(v.Name, Prefix+"_")
		if !strings.Contains(string(readme), v.Name) && !strings.Contains(string(readme), "…_"+lastWords(short)) {
			t.Errorf("README.md does not mention %s", v.Name)
		}
	}
}

// lastWords returns the part of a variable name after its group, such as
// READ_TIMEOUT for HTTP_READ_TIMEOUT, as the README's table abbreviates it.
func lastWords(name string) string {
	for _, group := range []string{"HTTP_", "REDIS_"} {
		if rest, ok := strings.CutPrefix(name, group); ok {
			return rest
		}
	}
	return name
}
