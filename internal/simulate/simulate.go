// Package simulate builds realistic Okta Event Hook deliveries of
// group-membership removals and posts them to a running oktawatch, so the
// alert path can be tried without an Okta org.
package simulate

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Options describe one simulated burst.
type Options struct {
	GroupID   string
	GroupName string
	Count     int
	// Published is the time of the first removal; each next one is Spacing later.
	Published  time.Time
	Spacing    time.Duration
	ActorLogin string
}

// Delivery returns an Event Hook envelope with opts.Count removal events,
// shaped like Okta's and with invented ids.
func Delivery(opts Options) ([]byte, error) {
	if opts.Count < 1 {
		return nil, fmt.Errorf("count must be at least 1, got %d", opts.Count)
	}
	events := make([]map[string]any, 0, opts.Count)
	for i := range opts.Count {
		published := opts.Published.Add(time.Duration(i) * opts.Spacing)
		events = append(events, event(opts, i, published))
	}
	envelope := map[string]any{
		"eventType":          "com.okta.event_hook",
		"eventTypeVersion":   "1.0",
		"cloudEventsVersion": "0.1",
		"source":             "https://example.okta.com/api/v1/eventHooks/whoSIMULATED000000",
		"eventId":            newUUID(),
		"eventTime":          time.Now().UTC().Format(time.RFC3339Nano),
		"contentType":        "application/json",
		"data":               map[string]any{"events": events},
	}
	return json.Marshal(envelope)
}

func event(opts Options, i int, published time.Time) map[string]any {
	return map[string]any{
		"uuid":            newUUID(),
		"published":       published.UTC().Format("2006-01-02T15:04:05.000Z"),
		"eventType":       "group.user_membership.remove",
		"version":         "0",
		"displayMessage":  "Remove user from group membership",
		"severity":        "INFO",
		"legacyEventType": "core.user_group_member.user_remove",
		"actor": map[string]any{
			"id": "00uSIMULATEDADMIN001", "type": "User",
			"alternateId": opts.ActorLogin, "displayName": "Simulated Admin",
		},
		"outcome": map[string]any{"result": "SUCCESS", "reason": nil},
		"target": []map[string]any{
			{"id": fmt.Sprintf("00uSIM%014d", i+1), "type": "User",
				"alternateId": fmt.Sprintf("sim.user%d@example.com", i+1), "displayName": fmt.Sprintf("Simulated User %d", i+1)},
			{"id": opts.GroupID, "type": "UserGroup", "alternateId": "unknown", "displayName": opts.GroupName},
		},
		"transaction": map[string]any{"type": "WEB", "id": "simulated", "detail": map[string]any{}},
	}
}

// Post sends body to url with the auth header and returns an error unless
// the service responded with 2xx.
func Post(ctx context.Context, client *http.Client, url, authHeader, authSecret string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request for %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(authHeader, authSecret)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post delivery: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("service responded %s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	return nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
