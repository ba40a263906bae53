package slack

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/alert"
)

// Retry returns the wait that a 429 response requested, or 0.
func (e *SendError) Retry() time.Duration { return e.RetryAfter }

// Label returns the failure reason as a metric and log label.
func (e *SendError) Label() string { return string(e.Reason) }

// Notifier posts alerts to a Slack incoming webhook.
type Notifier struct {
	client *Client
	orgURL string
}

// NewNotifier returns a Notifier that posts through client and links groups
// to the Okta Admin Console of orgURL when it is not empty.
func NewNotifier(client *Client, orgURL string) *Notifier {
	return &Notifier{client: client, orgURL: orgURL}
}

// Notify builds the alert's message and posts it.
func (n *Notifier) Notify(ctx context.Context, a alert.Alert) error {
	return n.client.Post(ctx, BuildMessage(a, n.orgURL))
}

// LogNotifier writes each alert to the log as the JSON message that would
// have been posted, for runs without a webhook URL.
type LogNotifier struct {
	log    *zap.Logger
	orgURL string
}

// NewLogNotifier returns a LogNotifier.
func NewLogNotifier(log *zap.Logger, orgURL string) *LogNotifier {
	return &LogNotifier{log: log, orgURL: orgURL}
}

// Notify logs the message. It fails only if the message cannot be encoded.
func (n *LogNotifier) Notify(_ context.Context, a alert.Alert) error {
	body, err := json.Marshal(BuildMessage(a, n.orgURL))
	if err != nil {
		return err
	}
	n.log.Info("alert (no OKTAWATCH_SLACK_WEBHOOK_URL set, so it is logged instead of posted)",
		zap.String("alert_id", a.ID), zap.String("group_id", a.GroupID), zap.Int("count", a.Count),
		zap.Any("slack_message", json.RawMessage(body)))
	return nil
}
