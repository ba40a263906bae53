package oktaapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/oktawatch/oktawatch/internal/oktaapi/oktatest"
)

func TestStatus_ListsHooksByNameOrURI(t *testing.T) {
	s := newRegisterSetup(t)
	byName := s.okta.AddHook(oktatest.Hook{Name: DefaultHookName, URI: "https://a.example/hook", EventTypes: DefaultEventTypes(),
		VerificationStatus: VerificationVerified})
	byURI := s.okta.AddHook(oktatest.Hook{Name: "old-oktawatch", URI: "https://b.example/okta/events",
		EventTypes: DefaultEventTypes(), Status: StatusInactive})
	other := s.okta.AddHook(oktatest.Hook{Name: "siem", URI: "https://siem.example/ingest", EventTypes: DefaultEventTypes()})
	var out bytes.Buffer

	err := Status(context.Background(), s.client.Client, DefaultHookName, &out)

	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("output has %d lines, want a header and 2 hooks:\n%s", len(lines), out.String())
	}
	if fields := strings.Fields(lines[1]); len(fields) != 5 || fields[0] != byName || fields[2] != StatusActive ||
		fields[3] != VerificationVerified || fields[4] != "https://a.example/hook" {
		t.Errorf("line for the named hook = %q", lines[1])
	}
	if fields := strings.Fields(lines[2]); len(fields) != 5 || fields[0] != byURI || fields[2] != StatusInactive {
		t.Errorf("line for the hook found by uri = %q", lines[2])
	}
	if strings.Contains(out.String(), other) {
		t.Errorf("output lists the unrelated hook %s:\n%s", other, out.String())
	}
}

func TestStatus_SaysWhenNoHookMatches(t *testing.T) {
	s := newRegisterSetup(t)
	s.okta.AddHook(oktatest.Hook{Name: "siem", URI: "https://siem.example/ingest", EventTypes: DefaultEventTypes()})
	var out bytes.Buffer

	err := Status(context.Background(), s.client.Client, DefaultHookName, &out)

	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if !strings.HasPrefix(out.String(), `no event hook named "oktawatch"`) {
		t.Errorf("output = %q, want the no-hook message", out.String())
	}
}

func TestUnregister_DeactivatesAndDeletes(t *testing.T) {
	tests := []struct {
		name           string
		status         string
		wantDeactivate int
	}{
		{"active hook", StatusActive, 1},
		{"inactive hook", StatusInactive, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRegisterSetup(t)
			id := s.okta.AddHook(oktatest.Hook{Name: DefaultHookName, URI: s.receiver.URL,
				EventTypes: DefaultEventTypes(), Status: tt.status})
			var out bytes.Buffer

			err := Unregister(context.Background(), s.client.Client, DefaultHookName, &out)

			if err != nil {
				t.Fatalf("Unregister: %v", err)
			}
			requests := s.changeRequests(id)
			if requests["deactivate"] != tt.wantDeactivate || requests["delete"] != 1 {
				t.Errorf("requests = %v, want %d deactivate and 1 delete", requests, tt.wantDeactivate)
			}
			if _, ok := s.okta.Hook(id); ok {
				t.Error("hook still exists after Unregister")
			}
			if !strings.Contains(out.String(), "deleted event hook "+id) {
				t.Errorf("output = %q, want the deletion", out.String())
			}
		})
	}
}

func TestUnregister_MissingHookIsAnError(t *testing.T) {
	s := newRegisterSetup(t)

	err := Unregister(context.Background(), s.client.Client, DefaultHookName, &bytes.Buffer{})

	if !errors.Is(err, ErrHookNotFound) {
		t.Fatalf("error = %v, want one matching ErrHookNotFound", err)
	}
	if !strings.Contains(err.Error(), `"oktawatch"`) {
		t.Errorf("error %q does not name the hook", err)
	}
}

func TestCommands_OutputHasNoSecrets(t *testing.T) {
	s := newRegisterSetup(t)
	var out bytes.Buffer
	ctx := context.Background()
	opts := validOptions(s.receiver.URL)
	forced := opts
	forced.Force = true

	errs := []error{
		Register(ctx, s.client.Client, opts, &out),
		Register(ctx, s.client.Client, forced, &out),
		Status(ctx, s.client.Client, DefaultHookName, &out),
		Unregister(ctx, s.client.Client, DefaultHookName, &out),
		Unregister(ctx, s.client.Client, DefaultHookName, &out),
	}

	for i, err := range errs[:4] {
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	if errs[4] == nil {
		t.Fatal("second Unregister succeeded, want not found")
	}
	assertNoSecrets(t, "error", errs[4].Error())
	assertNoSecrets(t, "output", out.String())
	s.client.assertLogsHaveNoSecrets(t)
	if !strings.Contains(out.String(), "updated event hook") {
		t.Errorf("output = %q, want the forced update", out.String())
	}
}

func TestSecret_PrintsRedacted(t *testing.T) {
	opts := validOptions("https://oktawatch.example.com/okta/events")
	hook := desiredHook(opts, nil)

	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		assertNoSecrets(t, format, fmt.Sprintf(format, opts))
		assertNoSecrets(t, format, fmt.Sprintf(format, hook.Channel.Config.AuthScheme))
	}
}
