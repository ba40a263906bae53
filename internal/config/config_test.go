package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const testSecret = "test-secret-not-real-0123456789"

func TestFromEnv_Defaults(t *testing.T) {
	t.Setenv("OKTAWATCH_OKTA_AUTH_SECRET", testSecret)

	c, err := FromEnv()

	if err != nil {
		t.Fatal(err)
	}
	if c.Threshold != 5 || c.Window != 5*time.Minute || c.Cooldown != 15*time.Minute {
		t.Errorf("detection defaults: %d %s %s", c.Threshold, c.Window, c.Cooldown)
	}
	if c.MaxBodyBytes != 10<<20 || c.OktaAuthHeader != "Authorization" || c.ListenAddr != ":8080" {
		t.Errorf("hook defaults: %d %q %q", c.MaxBodyBytes, c.OktaAuthHeader, c.ListenAddr)
	}
	if !c.Redis.Embedded() || c.Redis.Mode() != "embedded" {
		t.Errorf("redis mode %s, want embedded", c.Redis.Mode())
	}
}

func TestFromEnv_Invalid(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OKTAWATCH_OKTA_AUTH_SECRET": ""}, "OKTAWATCH_OKTA_AUTH_SECRET: missing"},
		{map[string]string{"OKTAWATCH_OKTA_AUTH_SECRET": "change-me-to-a-random-value"}, "placeholder"},
		{map[string]string{"OKTAWATCH_OKTA_AUTH_SECRET": "short"}, "too short"},
		{map[string]string{"OKTAWATCH_THRESHOLD": "0"}, "OKTAWATCH_THRESHOLD: must be at least 1, got 0"},
		{map[string]string{"OKTAWATCH_WINDOW": "five minutes"}, "OKTAWATCH_WINDOW"},
		{map[string]string{"OKTAWATCH_COOLDOWN": "-1s"}, "OKTAWATCH_COOLDOWN: must be a positive duration"},
		{map[string]string{"OKTAWATCH_SLACK_WEBHOOK_URL": "ftp://hooks.example.com/x"}, "OKTAWATCH_SLACK_WEBHOOK_URL: scheme \"ftp\""},
		{map[string]string{"OKTAWATCH_SLACK_WEBHOOK_URL": "hooks.slack.com/services/x"}, "OKTAWATCH_SLACK_WEBHOOK_URL"},
		{map[string]string{"OKTAWATCH_REDIS_URL": "http://localhost:6379"}, "OKTAWATCH_REDIS_URL: invalid value"},
		{map[string]string{"OKTAWATCH_REDIS_URL": "redis://localhost:6379", "OKTAWATCH_REDIS_CLUSTER_ADDRS": "a:1,b:2"}, "choose one Redis mode"},
		{map[string]string{"OKTAWATCH_REDIS_SENTINEL_MASTER": "mymaster"}, "set both or neither"},
		{map[string]string{"OKTAWATCH_MAX_BODY_BYTES": "10"}, "OKTAWATCH_MAX_BODY_BYTES: must be at least 1024"},
		{map[string]string{"OKTAWATCH_OKTA_AUTH_HEADER": "Bad Header"}, "OKTAWATCH_OKTA_AUTH_HEADER: invalid header name"},
		{map[string]string{"OKTAWATCH_WINDOW": "5 minutes"}, `OKTAWATCH_WINDOW: invalid value "5 minutes"; use a duration such as 30s`},
		{map[string]string{"OKTAWATCH_THRESHOLD": "five"}, `OKTAWATCH_THRESHOLD: invalid value "five"; use a whole number`},
		{map[string]string{"OKTAWATCH_SLACK_WEBHOOK_URL": "http://hooks.example.com/services/x"}, "would send a secret in cleartext"},
		{map[string]string{"OKTAWATCH_OKTA_ORG_URL": "http://example.okta.com"}, "OKTAWATCH_OKTA_ORG_URL: plain http"},
		{map[string]string{"OKTAWATCH_REDIS_URL": "redis://change-me-redis-host:6379/0"}, "OKTAWATCH_REDIS_URL: still a change-me placeholder"},
		{map[string]string{"OKTAWATCH_LOG_LEVEL": "verbose"}, `OKTAWATCH_LOG_LEVEL: invalid level "verbose"`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			t.Setenv("OKTAWATCH_OKTA_AUTH_SECRET", testSecret)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := FromEnv()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestFromEnv_PlainHTTPOnLoopback(t *testing.T) {
	t.Setenv("OKTAWATCH_OKTA_AUTH_SECRET", testSecret)
	t.Setenv("OKTAWATCH_SLACK_WEBHOOK_URL", "http://127.0.0.1:9999/services/T0/B0/not-real")
	t.Setenv("OKTAWATCH_OKTA_ORG_URL", "http://localhost:8443")

	if _, err := FromEnv(); err != nil {
		t.Errorf("loopback http rejected: %v", err)
	}
}

func TestFromEnv_RedisURLPasswordNotInError(t *testing.T) {
	t.Setenv("OKTAWATCH_OKTA_AUTH_SECRET", testSecret)
	t.Setenv("OKTAWATCH_REDIS_URL", "tcp://user:hunter2-not-real@localhost:6379")

	_, err := FromEnv()

	if err == nil || strings.Contains(err.Error(), "hunter2-not-real") {
		t.Errorf("err = %v, want an error without the password", err)
	}
}

func TestSecret_NeverPrints(t *testing.T) {
	s := Secret("hunter2-not-real")
	core, logs := observer.New(zap.InfoLevel)
	c := Config{OktaAuthSecret: s, SlackWebhookURL: "https://hooks.example.com/services/T0/B0/not-real", OktaAPIToken: s}

	zap.New(core).Info("config", c.Fields()...)
	printed := fmt.Sprintf("%v %s %+v %#v", s, s, c, c)

	if strings.Contains(printed, "hunter2") || strings.Contains(printed, "/services/") {
		t.Errorf("fmt output leaks a secret: %s", printed)
	}
	for _, f := range logs.All()[0].Context {
		if strings.Contains(f.String, "hunter2") || strings.Contains(f.String, "/services/") {
			t.Errorf("log field %s leaks a secret: %s", f.Key, f.String)
		}
	}
}
