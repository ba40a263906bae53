package oktaapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/oktawatch/oktawatch/internal/oktaapi/oktatest"
)

func validOptions(hookURL string) RegisterOptions {
	return RegisterOptions{HookURL: hookURL, AuthHeader: testAuthHeader, AuthSecret: testSecret}
}

// registerSetup is a fake org, a receiver that echoes the verification
// challenge, and a client for the org.
type registerSetup struct {
	okta     *oktatest.Server
	receiver *oktatest.Receiver
	client   *testClient
}

func newRegisterSetup(t *testing.T) registerSetup {
	t.Helper()
	okta := oktatest.New(t, testToken)
	return registerSetup{
		okta:     okta,
		receiver: oktatest.NewReceiver(t, testAuthHeader, testSecret),
		client:   newTestClient(t, okta.URL, testToken),
	}
}

// changeRequests counts requests that change a hook.
func (s registerSetup) changeRequests(id string) map[string]int {
	path := "/api/v1/eventHooks/" + id
	return map[string]int{
		"create":     s.okta.Count(http.MethodPost, "/api/v1/eventHooks"),
		"update":     s.okta.Count(http.MethodPut, path),
		"activate":   s.okta.Count(http.MethodPost, path+"/lifecycle/activate"),
		"deactivate": s.okta.Count(http.MethodPost, path+"/lifecycle/deactivate"),
		"verify":     s.okta.Count(http.MethodPost, path+"/lifecycle/verify"),
		"delete":     s.okta.Count(http.MethodDelete, path),
	}
}

func TestRegister_CreatesAndVerifiesHook(t *testing.T) {
	s := newRegisterSetup(t)
	var out bytes.Buffer

	err := Register(context.Background(), s.client.Client, validOptions(s.receiver.URL), &out)

	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	id := onlyHookID(t, s.okta)
	hook, _ := s.okta.Hook(id)
	if hook.Name != DefaultHookName || hook.URI != s.receiver.URL {
		t.Errorf("hook name, uri = %q, %q; want %q, %q", hook.Name, hook.URI, DefaultHookName, s.receiver.URL)
	}
	if len(hook.EventTypes) != 1 || hook.EventTypes[0] != "group.user_membership.remove" {
		t.Errorf("event types = %v, want [group.user_membership.remove]", hook.EventTypes)
	}
	if hook.AuthHeader != testAuthHeader || hook.AuthSecret != testSecret {
		t.Errorf("auth header %q with the wrong secret, want %q with the test secret", hook.AuthHeader, testAuthHeader)
	}
	if hook.Status != StatusActive || hook.VerificationStatus != VerificationVerified {
		t.Errorf("status, verification = %s, %s; want ACTIVE, VERIFIED", hook.Status, hook.VerificationStatus)
	}
	if got := s.receiver.Challenges(); got != 1 {
		t.Errorf("receiver echoed %d challenges, want 1", got)
	}
	wantOut := fmt.Sprintf("event hook %s %q: status ACTIVE, verification VERIFIED", id, DefaultHookName)
	if !strings.Contains(out.String(), "created event hook "+id) || !strings.Contains(out.String(), wantOut) {
		t.Errorf("output = %q, want the creation and %q", out.String(), wantOut)
	}
}

func TestRegister_SecondRunChangesNothing(t *testing.T) {
	s := newRegisterSetup(t)
	opts := validOptions(s.receiver.URL)
	if err := Register(context.Background(), s.client.Client, opts, &bytes.Buffer{}); err != nil {
		t.Fatalf("first Register: %v", err)
	}
	id := onlyHookID(t, s.okta)
	before := s.changeRequests(id)
	var out bytes.Buffer

	err := Register(context.Background(), s.client.Client, opts, &out)

	if err != nil {
		t.Fatalf("second Register: %v", err)
	}
	after := s.changeRequests(id)
	for name, count := range after {
		if count != before[name] {
			t.Errorf("second run sent %d %s requests, want 0", count-before[name], name)
		}
	}
	if !strings.Contains(out.String(), "is up to date") {
		t.Errorf("output = %q, want it to say the hook is up to date", out.String())
	}
}

func TestRegister_ActivatesInactiveHook(t *testing.T) {
	s := newRegisterSetup(t)
	id := s.okta.AddHook(oktatest.Hook{
		Name: DefaultHookName, URI: s.receiver.URL, EventTypes: DefaultEventTypes(),
		Status: StatusInactive, VerificationStatus: VerificationVerified,
		AuthHeader: testAuthHeader, AuthSecret: testSecret,
	})

	err := Register(context.Background(), s.client.Client, validOptions(s.receiver.URL), &bytes.Buffer{})

	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	requests := s.changeRequests(id)
	if requests["activate"] != 1 || requests["update"] != 0 || requests["verify"] != 0 {
		t.Errorf("requests = %v, want one activate and nothing else", requests)
	}
	if hook, _ := s.okta.Hook(id); hook.Status != StatusActive {
		t.Errorf("status = %s, want ACTIVE", hook.Status)
	}
}

func TestRegister_UpdatesChangedHook(t *testing.T) {
	tests := []struct {
		name   string
		change func(h *oktatest.Hook)
	}{
		{"uri changed", func(h *oktatest.Hook) { h.URI = "http://127.0.0.1:1/old/okta/events" }},
		{"event types changed", func(h *oktatest.Hook) { h.EventTypes = []string{"group.user_membership.add"} }},
		{"auth header changed", func(h *oktatest.Hook) { h.AuthHeader = "X-Old-Header" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRegisterSetup(t)
			seed := oktatest.Hook{
				Name: DefaultHookName, URI: s.receiver.URL, EventTypes: DefaultEventTypes(),
				VerificationStatus: VerificationVerified, AuthHeader: testAuthHeader, AuthSecret: testSecret,
				Headers: map[string]string{"X-Extra": "kept"},
			}
			tt.change(&seed)
			id := s.okta.AddHook(seed)

			err := Register(context.Background(), s.client.Client, validOptions(s.receiver.URL), &bytes.Buffer{})

			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			requests := s.changeRequests(id)
			if requests["update"] != 1 || requests["create"] != 0 || requests["verify"] != 1 {
				t.Errorf("requests = %v, want one update and one verify", requests)
			}
			hook, _ := s.okta.Hook(id)
			if hook.URI != s.receiver.URL || hook.AuthHeader != testAuthHeader || hook.EventTypes[0] != DefaultEventTypes()[0] {
				t.Errorf("hook after update = %+v, want the registered uri, header and event types", hook)
			}
			if hook.Headers["X-Extra"] != "kept" {
				t.Errorf("extra headers = %v, want X-Extra kept", hook.Headers)
			}
		})
	}
}

func TestRegister_ForceRewritesSecret(t *testing.T) {
	s := newRegisterSetup(t)
	id := s.okta.AddHook(oktatest.Hook{
		Name: DefaultHookName, URI: s.receiver.URL, EventTypes: DefaultEventTypes(),
		VerificationStatus: VerificationVerified, AuthHeader: testAuthHeader, AuthSecret: "test-old-secret-not-real",
	})
	opts := validOptions(s.receiver.URL)
	opts.Force = true

	err := Register(context.Background(), s.client.Client, opts, &bytes.Buffer{})

	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	requests := s.changeRequests(id)
	if requests["update"] != 1 || requests["verify"] != 1 {
		t.Errorf("requests = %v, want one update and one verify", requests)
	}
	if hook, _ := s.okta.Hook(id); hook.AuthSecret != testSecret {
		t.Error("stored secret is still the old one, want the new one")
	}
}

func TestRegister_HookLimitGivesHint(t *testing.T) {
	s := newRegisterSetup(t)
	for i := range oktatest.DefaultMaxHooks {
		s.okta.AddHook(oktatest.Hook{Name: fmt.Sprintf("other-%d", i), URI: "https://other.example/hook",
			EventTypes: []string{"user.lifecycle.create"}})
	}

	err := Register(context.Background(), s.client.Client, validOptions(s.receiver.URL), &bytes.Buffer{})

	var apiErr *APIError
	if !errors.As(err, &apiErr) || !apiErr.IsHookLimit() {
		t.Fatalf("error = %v, want a hook-limit *APIError", err)
	}
	if !strings.Contains(err.Error(), HintHookLimit) {
		t.Errorf("error %q does not contain the hint %q", err, HintHookLimit)
	}
}

func TestRegister_VerifyFailureNamesTheURI(t *testing.T) {
	s := newRegisterSetup(t)
	wrongSecret := oktatest.NewReceiver(t, testAuthHeader, "test-different-secret-not-real")

	err := Register(context.Background(), s.client.Client, validOptions(wrongSecret.URL), &bytes.Buffer{})

	if err == nil {
		t.Fatal("Register succeeded, want a verification error")
	}
	if !strings.Contains(err.Error(), "verify event hook") || !strings.Contains(err.Error(), wrongSecret.URL) {
		t.Errorf("error %q does not say that verification of %s failed", err, wrongSecret.URL)
	}
	if got := wrongSecret.Rejected(); got != 1 {
		t.Errorf("receiver rejected %d challenges, want 1", got)
	}
	assertNoSecrets(t, "error", err.Error())
}

func TestRegister_DuplicateNamesAreAnError(t *testing.T) {
	s := newRegisterSetup(t)
	first := s.okta.AddHook(oktatest.Hook{Name: DefaultHookName, URI: s.receiver.URL, EventTypes: DefaultEventTypes()})
	second := s.okta.AddHook(oktatest.Hook{Name: DefaultHookName, URI: s.receiver.URL, EventTypes: DefaultEventTypes()})

	err := Register(context.Background(), s.client.Client, validOptions(s.receiver.URL), &bytes.Buffer{})

	if err == nil || !strings.Contains(err.Error(), first) || !strings.Contains(err.Error(), second) {
		t.Errorf("error = %v, want one that lists %s and %s", err, first, second)
	}
}

func TestRegister_RejectsInvalidOptions(t *testing.T) {
	tests := []struct {
		name   string
		change func(*RegisterOptions)
		want   string
	}{
		{"plain http on a public host", func(o *RegisterOptions) { o.HookURL = "http://oktawatch.example.com/okta/events" }, "https"},
		{"wrong path", func(o *RegisterOptions) { o.HookURL = "https://oktawatch.example.com/events" }, "/okta/events"},
		{"query", func(o *RegisterOptions) { o.HookURL = "https://oktawatch.example.com/okta/events?x=1" }, "/okta/events"},
		{"empty URL", func(o *RegisterOptions) { o.HookURL = "" }, "hook URL"},
		{"empty header", func(o *RegisterOptions) { o.AuthHeader = "" }, "auth header"},
		{"header with a space", func(o *RegisterOptions) { o.AuthHeader = "X Auth" }, "auth header"},
		{"empty secret", func(o *RegisterOptions) { o.AuthSecret = "" }, "secret is empty"},
		{"secret with a newline", func(o *RegisterOptions) { o.AuthSecret = testSecret + "\n" }, "control character"},
		{"blank event type", func(o *RegisterOptions) { o.EventTypes = []string{"group.user_membership.remove", " "} }, "event type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRegisterSetup(t)
			opts := validOptions("https://oktawatch.example.com/okta/events")
			tt.change(&opts)

			err := Register(context.Background(), s.client.Client, opts, &bytes.Buffer{})

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
			if err != nil {
				assertNoSecrets(t, "error", err.Error())
			}
			if got := len(s.okta.Requests()); got != 0 {
				t.Errorf("sent %d requests, want none", got)
			}
		})
	}
}

func TestUpdateReason(t *testing.T) {
	opts := validOptions("https://oktawatch.example.com/okta/events").mustDefaults(t)
	current := desiredHook(opts, nil)
	tests := []struct {
		name   string
		change func(h *EventHook)
		want   string
	}{
		{"identical", func(h *EventHook) {}, ""},
		{"secret not returned", func(h *EventHook) { h.Channel.Config.AuthScheme.Value = "" }, ""},
		{"header name in another case", func(h *EventHook) { h.Channel.Config.AuthScheme.Key = "x-test-hook-auth" }, ""},
		{"event types in another order", func(h *EventHook) {
			h.Events.Items = []string{"b", "a"}
		}, "event types changed"},
		{"returned secret differs", func(h *EventHook) { h.Channel.Config.AuthScheme.Value = "test-old-not-real" }, "auth secret changed"},
		{"no auth scheme", func(h *EventHook) { h.Channel.Config.AuthScheme = nil }, "auth header changed"},
		{"other uri", func(h *EventHook) { h.Channel.Config.URI = "https://other.example/okta/events" }, "uri changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			existing := current
			auth := *current.Channel.Config.AuthScheme
			existing.Channel.Config.AuthScheme = &auth
			tt.change(&existing)

			got := updateReason(existing, opts)

			if got != tt.want {
				t.Errorf("updateReason = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUpdateReason_EventTypesAsSet(t *testing.T) {
	opts := validOptions("https://oktawatch.example.com/okta/events")
	opts.EventTypes = []string{"a", "b"}
	existing := desiredHook(opts, nil)
	existing.Events.Items = []string{"b", "a"}

	if got := updateReason(existing, opts); got != "" {
		t.Errorf("updateReason = %q, want no change for reordered event types", got)
	}
}

func (opts RegisterOptions) mustDefaults(t *testing.T) RegisterOptions {
	t.Helper()
	opts, err := opts.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults: %v", err)
	}
	return opts
}

func onlyHookID(t *testing.T, okta *oktatest.Server) string {
	t.Helper()
	c := newTestClient(t, okta.URL, testToken)
	hooks, err := c.ListEventHooks(context.Background())
	if err != nil || len(hooks) != 1 {
		t.Fatalf("hooks = %v, %v; want exactly one", hooks, err)
	}
	return hooks[0].ID
}
