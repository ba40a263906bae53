package config

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Secret is a string that never prints: fmt verbs, JSON and zap all show
// "[redacted]" (or "" when unset). Call Reveal where the value is really needed.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer so %#v hides the value too.
func (s Secret) GoString() string { return s.String() }

// MarshalText implements encoding.TextMarshaler for JSON and YAML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Fields returns the effective configuration as zap fields, secrets redacted.
func (c Config) Fields() []zapcore.Field {
	return []zapcore.Field{
		zap.String("listen_addr", c.ListenAddr),
		zap.String("redis_mode", c.Redis.Mode()),
		zap.String("redis_url", redactURL(c.Redis.URL)),
		zap.Strings("redis_cluster_addrs", c.Redis.ClusterAddrs),
		zap.String("okta_auth_header", c.OktaAuthHeader),
		zap.String("okta_auth_secret", c.OktaAuthSecret.String()),
		zap.String("okta_org_url", c.OktaOrgURL),
		zap.String("okta_api_token", c.OktaAPIToken.String()),
		zap.String("slack_webhook_url", c.SlackWebhookURL.String()),
		zap.Int("threshold", c.Threshold),
		zap.Duration("window", c.Window),
		zap.Duration("cooldown", c.Cooldown),
		zap.Duration("max_event_age", c.MaxEventAge),
		zap.Int64("max_body_bytes", c.MaxBodyBytes),
		zap.Duration("systemlog_poll_interval", c.SystemLogPollInterval),
	}
}

// Mode names the Redis topology the settings select.
func (r Redis) Mode() string {
	switch {
	case len(r.ClusterAddrs) > 0:
		return "cluster"
	case r.SentinelMaster != "":
		return "sentinel"
	case r.URL != "":
		return "single"
	default:
		return "embedded"
	}
}
