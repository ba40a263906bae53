package oktaapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// ErrHookNotFound is returned by Unregister when the org has no hook with
// the requested name.
var ErrHookNotFound = errors.New("event hook not found")

// Status prints the org's event hooks that are named hookName or deliver to
// a URI ending in HookPath, one line each with id, name, status,
// verification status and URI.
func Status(ctx context.Context, c *Client, hookName string, out io.Writer) error {
	if hookName == "" {
		hookName = DefaultHookName
	}
	hooks, err := c.ListEventHooks(ctx)
	if err != nil {
		return fmt.Errorf("list event hooks: %w", err)
	}

	var matching []EventHook
	for _, hook := range hooks {
		if hook.Name == hookName || strings.HasSuffix(hook.Channel.Config.URI, HookPath) {
			matching = append(matching, hook)
		}
	}
	if len(matching) == 0 {
		fmt.Fprintf(out, "no event hook named %q or delivering to a URI ending in %s in %s\n",
			hookName, HookPath, c.OrgURL())
		return nil
	}

	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tSTATUS\tVERIFICATION\tURI")
	for _, hook := range matching {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", hook.ID, hook.Name, hook.Status,
			hook.VerificationStatus, hook.Channel.Config.URI)
	}
	return w.Flush()
}

// Unregister deactivates the event hook named hookName if it is ACTIVE and
// deletes it. It returns an error that matches ErrHookNotFound when the org
// has no such hook.
func Unregister(ctx context.Context, c *Client, hookName string, out io.Writer) error {
	if hookName == "" {
		hookName = DefaultHookName
	}
	hook, err := findHookByName(ctx, c, hookName)
	if err != nil {
		return err
	}
	if hook == nil {
		return fmt.Errorf("%w: no event hook named %q in %s, so there is nothing to unregister "+
			"(oktawatch okta status lists the hooks)", ErrHookNotFound, hookName, c.OrgURL())
	}

	if hook.Status != StatusInactive {
		if _, err := c.DeactivateEventHook(ctx, hook.ID); err != nil {
			return fmt.Errorf("deactivate event hook %s: %w", hook.ID, err)
		}
		fmt.Fprintf(out, "deactivated event hook %s\n", hook.ID)
	}
	if err := c.DeleteEventHook(ctx, hook.ID); err != nil {
		return fmt.Errorf("delete event hook %s: %w", hook.ID, err)
	}
	fmt.Fprintf(out, "deleted event hook %s %q\n", hook.ID, hook.Name)
	return nil
}

// findHookByName returns the hook named name, or nil when there is none.
// Okta allows several hooks with one name; then neither register nor
// unregister can tell which one is meant, so it returns an error.
func findHookByName(ctx context.Context, c *Client, name string) (*EventHook, error) {
	hooks, err := c.ListEventHooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list event hooks: %w", err)
	}
	var found []EventHook
	for _, hook := range hooks {
		if hook.Name == name {
			found = append(found, hook)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	ids := make([]string, len(found))
	for i, hook := range found {
		ids[i] = hook.ID
	}
	return nil, fmt.Errorf("found %d event hooks named %q (%s): delete the extra ones in the Okta Admin Console "+
		"(Workflow > Event Hooks) and run the command again", len(found), name, strings.Join(ids, ", "))
}
