package oktaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Values of the event hook fields that Okta fixes.
const (
	EventsTypeEventType = "EVENT_TYPE"
	ChannelTypeHTTP     = "HTTP"
	ChannelVersion      = "1.0.0"
	AuthSchemeHeader    = "HEADER"

	StatusActive   = "ACTIVE"
	StatusInactive = "INACTIVE"

	VerificationVerified   = "VERIFIED"
	VerificationUnverified = "UNVERIFIED"
)

const eventHooksPath = "/api/v1/eventHooks"

// EventHook is an Okta event hook as the management API sends and receives it.
// Okta sets ID, Status and VerificationStatus; requests leave them empty.
type EventHook struct {
	ID                 string      `json:"id,omitempty"`
	Name               string      `json:"name"`
	Status             string      `json:"status,omitempty"`
	VerificationStatus string      `json:"verificationStatus,omitempty"`
	Events             HookEvents  `json:"events"`
	Channel            HookChannel `json:"channel"`
}

// HookEvents is the list of System Log event types a hook subscribes to.
type HookEvents struct {
	Type  string   `json:"type"`
	Items []string `json:"items"`
}

// HookChannel is the delivery channel: an HTTP endpoint and its headers.
type HookChannel struct {
	Type    string        `json:"type"`
	Version string        `json:"version"`
	Config  ChannelConfig `json:"config"`
}

// ChannelConfig is the delivery URI and the headers sent with every delivery.
type ChannelConfig struct {
	URI string `json:"uri"`
	// Headers are extra static headers. Okta echoes their values.
	Headers []HookHeader `json:"headers,omitempty"`
	// AuthScheme is the shared-secret header. Okta does not echo its value.
	AuthScheme *AuthScheme `json:"authScheme,omitempty"`
}

// HookHeader is one static header sent with each delivery.
type HookHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// AuthScheme is the header that carries the shared secret to the receiver.
type AuthScheme struct {
	Type  string `json:"type"`
	Key   string `json:"key"`
	Value Secret `json:"value,omitempty"`
}

// ListEventHooks returns all event hooks of the org.
func (c *Client) ListEventHooks(ctx context.Context) ([]EventHook, error) {
	var hooks []EventHook
	_, err := c.call(ctx, request{method: http.MethodGet, target: eventHooksPath, idempotent: true}, &hooks)
	return hooks, err
}

// GetEventHook returns the hook with the given id. A missing hook gives an
// error that matches ErrNotFound.
func (c *Client) GetEventHook(ctx context.Context, id string) (*EventHook, error) {
	return c.hookCall(ctx, http.MethodGet, id, "", nil)
}

// CreateEventHook creates a hook, which Okta makes ACTIVE and UNVERIFIED. It
// is not retried after a server error because a retry could create a
// duplicate.
func (c *Client) CreateEventHook(ctx context.Context, hook EventHook) (*EventHook, error) {
	body, err := encodeHook(hook)
	if err != nil {
		return nil, err
	}
	var created EventHook
	r := request{method: http.MethodPost, target: eventHooksPath, body: body}
	if _, err := c.call(ctx, r, &created); err != nil {
		return nil, err
	}
	return &created, nil
}

// UpdateEventHook replaces the hook's name, events and channel with PUT.
func (c *Client) UpdateEventHook(ctx context.Context, id string, hook EventHook) (*EventHook, error) {
	hook.ID, hook.Status, hook.VerificationStatus = "", "", ""
	return c.hookCall(ctx, http.MethodPut, id, "", &hook)
}

// ActivateEventHook sets the hook ACTIVE.
func (c *Client) ActivateEventHook(ctx context.Context, id string) (*EventHook, error) {
	return c.hookCall(ctx, http.MethodPost, id, "/lifecycle/activate", nil)
}

// DeactivateEventHook sets the hook INACTIVE.
func (c *Client) DeactivateEventHook(ctx context.Context, id string) (*EventHook, error) {
	return c.hookCall(ctx, http.MethodPost, id, "/lifecycle/deactivate", nil)
}

// VerifyEventHook makes Okta send the verification challenge to the hook's
// URI. Okta responds with 400 when the receiver does not echo the challenge.
func (c *Client) VerifyEventHook(ctx context.Context, id string) (*EventHook, error) {
	return c.hookCall(ctx, http.MethodPost, id, "/lifecycle/verify", nil)
}

// DeleteEventHook deletes the hook. Okta deletes only INACTIVE hooks.
func (c *Client) DeleteEventHook(ctx context.Context, id string) error {
	target, err := hookTarget(id, "")
	if err != nil {
		return err
	}
	_, err = c.call(ctx, request{method: http.MethodDelete, target: target, idempotent: true}, nil)
	return err
}

// hookCall sends a request about one existing hook. These requests are
// idempotent, so they are retried after server errors.
func (c *Client) hookCall(ctx context.Context, method, id, action string, body *EventHook) (*EventHook, error) {
	target, err := hookTarget(id, action)
	if err != nil {
		return nil, err
	}
	r := request{method: method, target: target, idempotent: true}
	if body != nil {
		if r.body, err = encodeHook(*body); err != nil {
			return nil, err
		}
	}
	var hook EventHook
	if _, err := c.call(ctx, r, &hook); err != nil {
		return nil, err
	}
	return &hook, nil
}

func encodeHook(hook EventHook) ([]byte, error) {
	data, err := json.Marshal(hook)
	if err != nil {
		return nil, fmt.Errorf("okta api: encode event hook %q: %w", hook.Name, err)
	}
	return data, nil
}

// hookTarget escapes id so that an id from a file or flag cannot change the path.
func hookTarget(id, action string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("okta api: event hook id is empty: pass an id that oktawatch okta status prints")
	}
	return eventHooksPath + "/" + url.PathEscape(id) + action, nil
}
