package oktaapi

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
)

// Defaults for RegisterOptions.
const (
	DefaultHookName = "oktawatch"
	// HookPath is the path on which the oktawatch service receives deliveries.
	HookPath = "/okta/events"
)

// DefaultEventTypes returns the event types a hook subscribes to when
// RegisterOptions.EventTypes is empty.
func DefaultEventTypes() []string {
	return []string{"group.user_membership.remove"}
}

// RegisterOptions describes the event hook that Register creates or updates.
type RegisterOptions struct {
	// HookName identifies the hook in the org; default DefaultHookName.
	HookName string
	// HookURL is the public https URL of the service, ending in HookPath.
	// Plain http is accepted only for 127.0.0.1 or localhost, which tests use.
	HookURL string
	// EventTypes are the subscribed event types; default DefaultEventTypes.
	EventTypes []string
	// AuthHeader and AuthSecret are the header name and shared secret that
	// Okta sends with each delivery and the service checks.
	AuthHeader string
	AuthSecret Secret
	// Force rewrites the hook even when it looks up to date. Okta does not
	// return the secret, so this is the way to push a changed AuthSecret.
	Force bool
}

// Register makes the org have one event hook named opts.HookName that is
// ACTIVE, VERIFIED and delivers opts.EventTypes to opts.HookURL. It creates
// or updates the hook only when needed, so running it again changes
// nothing. It prints each change and the final state to out.
func Register(ctx context.Context, c *Client, opts RegisterOptions, out io.Writer) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	existing, err := findHookByName(ctx, c, opts.HookName)
	if err != nil {
		return err
	}

	hook, changed, err := createOrUpdate(ctx, c, existing, opts, out)
	if err != nil {
		return err
	}
	if hook.Status == StatusInactive {
		activated, err := c.ActivateEventHook(ctx, hook.ID)
		if err != nil {
			return fmt.Errorf("activate event hook %s: %w", hook.ID, err)
		}
		hook = activated
		fmt.Fprintf(out, "activated event hook %s\n", hook.ID)
	}
	// A changed URI or secret is verified again even if Okta still reports
	// VERIFIED, so that a mistake shows up now and not as missing deliveries.
	if changed || hook.VerificationStatus != VerificationVerified {
		if hook, err = verify(ctx, c, hook); err != nil {
			return err
		}
		fmt.Fprintf(out, "verified event hook %s\n", hook.ID)
	}

	fmt.Fprintf(out, "event hook %s %q: status %s, verification %s, uri %s\n",
		hook.ID, hook.Name, hook.Status, hook.VerificationStatus, hook.Channel.Config.URI)
	return nil
}

// createOrUpdate creates the hook when existing is nil and updates it when it
// differs from opts. It reports whether it changed anything.
func createOrUpdate(ctx context.Context, c *Client, existing *EventHook, opts RegisterOptions, out io.Writer) (*EventHook, bool, error) {
	if existing == nil {
		hook, err := c.CreateEventHook(ctx, desiredHook(opts, nil))
		if err != nil {
			return nil, false, fmt.Errorf("create event hook %q: %w", opts.HookName, err)
		}
		fmt.Fprintf(out, "created event hook %s %q\n", hook.ID, hook.Name)
		return hook, true, nil
	}

	reason := updateReason(*existing, opts)
	if reason == "" {
		fmt.Fprintf(out, "event hook %s %q is up to date\n", existing.ID, existing.Name)
		return existing, false, nil
	}
	hook, err := c.UpdateEventHook(ctx, existing.ID, desiredHook(opts, existing))
	if err != nil {
		return nil, false, fmt.Errorf("update event hook %s: %w", existing.ID, err)
	}
	fmt.Fprintf(out, "updated event hook %s (%s)\n", hook.ID, reason)
	return hook, true, nil
}

func verify(ctx context.Context, c *Client, hook *EventHook) (*EventHook, error) {
	verified, err := c.VerifyEventHook(ctx, hook.ID)
	if err != nil {
		return nil, fmt.Errorf("verify event hook %s: %w (check that %s is reachable from Okta, "+
			"responds to the verification GET, and that the service uses the same auth header and secret)",
			hook.ID, err, hook.Channel.Config.URI)
	}
	return verified, nil
}

// desiredHook builds the hook from opts. Extra static headers of an existing
// hook are kept, because an admin may have added them on purpose.
func desiredHook(opts RegisterOptions, existing *EventHook) EventHook {
	hook := EventHook{
		Name:   opts.HookName,
		Events: HookEvents{Type: EventsTypeEventType, Items: opts.EventTypes},
		Channel: HookChannel{
			Type:    ChannelTypeHTTP,
			Version: ChannelVersion,
			Config: ChannelConfig{
				URI:        opts.HookURL,
				AuthScheme: &AuthScheme{Type: AuthSchemeHeader, Key: opts.AuthHeader, Value: opts.AuthSecret},
			},
		},
	}
	if existing != nil {
		hook.Channel.Config.Headers = existing.Channel.Config.Headers
	}
	return hook
}

// updateReason returns why the existing hook differs from opts, or "" when
// it does not. Okta does not return the auth secret, so an empty value means
// unknown and only a returned value that differs counts as a change.
func updateReason(existing EventHook, opts RegisterOptions) string {
	config := existing.Channel.Config
	auth := config.AuthScheme
	switch {
	case opts.Force:
		return "forced"
	case config.URI != opts.HookURL:
		return "uri changed"
	case existing.Events.Type != EventsTypeEventType || !sameSet(existing.Events.Items, opts.EventTypes):
		return "event types changed"
	case auth == nil || auth.Type != AuthSchemeHeader || !strings.EqualFold(auth.Key, opts.AuthHeader):
		return "auth header changed"
	case auth.Value != "" && auth.Value != opts.AuthSecret:
		return "auth secret changed"
	}
	return ""
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func (opts RegisterOptions) withDefaults() (RegisterOptions, error) {
	if opts.HookName == "" {
		opts.HookName = DefaultHookName
	}
	if len(opts.EventTypes) == 0 {
		opts.EventTypes = DefaultEventTypes()
	}
	if err := validateHookURL(opts.HookURL); err != nil {
		return opts, err
	}
	if err := validateEventTypes(opts.EventTypes); err != nil {
		return opts, err
	}
	return opts, validateAuth(opts.AuthHeader, opts.AuthSecret)
}

func validateHookURL(raw string) error {
	const fix = "set it to the service's public https URL, such as https://oktawatch.example.com" + HookPath
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" {
		return fmt.Errorf("hook URL %q is not an absolute URL: %s", raw, fix)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
		return fmt.Errorf("hook URL %q must use https, because Okta delivers only over https: %s", raw, fix)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || !strings.HasSuffix(u.Path, HookPath) {
		return fmt.Errorf("hook URL %q must end in %s, without query or user info: %s", raw, HookPath, fix)
	}
	return nil
}

func validateEventTypes(eventTypes []string) error {
	for _, eventType := range eventTypes {
		if eventType == "" || strings.ContainsFunc(eventType, isSpaceOrControl) {
			return fmt.Errorf("event type %q is invalid: use a System Log event type such as group.user_membership.remove",
				eventType)
		}
	}
	return nil
}

// validateAuth checks the header name and secret. The secret never appears
// in the error.
func validateAuth(header string, secret Secret) error {
	if header == "" || strings.ContainsFunc(header, func(r rune) bool { return !isTokenChar(r) }) {
		return fmt.Errorf("hook auth header name %q is invalid: set it to the header name that the oktawatch service checks", header)
	}
	if secret == "" {
		return fmt.Errorf("hook auth secret is empty: set it to the shared secret that the oktawatch service checks")
	}
	if strings.ContainsFunc(string(secret), func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("hook auth secret contains a control character: set it again without line breaks")
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// isTokenChar reports whether r may appear in an HTTP header name (RFC 9110 token).
func isTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}
