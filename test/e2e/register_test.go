package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/oktawatch/oktawatch/internal/oktaapi/oktatest"
	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/servicetest"
)

const fakeOktaToken = "test-okta-token-not-real-0000"

// oktaCommand runs `oktawatch okta ARGS` with the given settings and returns
// its combined output and error.
func oktaCommand(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(servicetest.Binary(t), append([]string{"okta"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestRegister_VerifiesAgainstTheRunningService(t *testing.T) {
	redis := redistest.Server(t)
	service := servicetest.Start(t, map[string]string{"REDIS_URL": "redis://" + redis.Addr})
	okta := oktatest.New(t, fakeOktaToken)
	env := map[string]string{
		"OKTAWATCH_OKTA_ORG_URL":     okta.URL,
		"OKTAWATCH_OKTA_API_TOKEN":   fakeOktaToken,
		"OKTAWATCH_OKTA_AUTH_SECRET": servicetest.TestSecret,
	}
	hookURL := service.URL + "/okta/events"

	first, err := oktaCommand(t, env, "register", "--hook-url", hookURL)
	if err != nil {
		t.Fatalf("first register: %v\n%s", err, first)
	}
	requestsAfterFirst := len(okta.Requests())
	second, err := oktaCommand(t, env, "register", "--hook-url", hookURL)
	if err != nil {
		t.Fatalf("second register: %v\n%s", err, second)
	}

	if !strings.Contains(first, "created event hook") || !strings.Contains(first, "verification VERIFIED") {
		t.Errorf("first run output:\n%s", first)
	}
	if servicetest.CountLines(service.Logs(), "responded to okta verification challenge") != 1 {
		t.Errorf("the service did not answer the fake Okta's challenge:\n%s", service.Logs())
	}
	if !strings.Contains(second, "is up to date") {
		t.Errorf("second run output:\n%s", second)
	}
	for _, r := range okta.Requests()[requestsAfterFirst:] {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("second run sent %s; a second register must only read", r)
		}
	}
	for _, out := range []string{first, second} {
		if strings.Contains(out, fakeOktaToken) || strings.Contains(out, servicetest.TestSecret) {
			t.Errorf("output contains a secret:\n%s", out)
		}
	}
}

func TestRegister_WrongTokenGivesHint(t *testing.T) {
	okta := oktatest.New(t, fakeOktaToken)

	out, err := oktaCommand(t, map[string]string{
		"OKTAWATCH_OKTA_ORG_URL":     okta.URL,
		"OKTAWATCH_OKTA_API_TOKEN":   "test-wrong-token-not-real",
		"OKTAWATCH_OKTA_AUTH_SECRET": servicetest.TestSecret,
	}, "status")

	if err == nil {
		t.Fatalf("status with a wrong token succeeded:\n%s", out)
	}
	if !strings.Contains(out, "OKTAWATCH_OKTA_API_TOKEN") || strings.Contains(out, "test-wrong-token-not-real") {
		t.Errorf("output should name the variable and hide the token:\n%s", out)
	}
}
