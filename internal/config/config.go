// Package config reads and validates oktawatch's settings from the
// environment.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/kelseyhightower/envconfig"
	"go.uber.org/zap/zapcore"
)

// Prefix is the prefix of every environment variable oktawatch reads.
const Prefix = "OKTAWATCH"

// minSecretLength is the shortest hook secret accepted. The secret is the
// only thing that keeps strangers from posting removals.
const minSecretLength = 16

// Config holds every setting of the service. Field tags give each variable's
// name (Prefix + "_" + split_words name) and default.
type Config struct {
	ListenAddr string `envconfig:"LISTEN_ADDR" default:":8080"`
	LogLevel   string `envconfig:"LOG_LEVEL" default:"info"`

	Redis Redis `envconfig:"REDIS"`

	OktaAuthHeader string `envconfig:"OKTA_AUTH_HEADER" default:"Authorization"`
	OktaAuthSecret Secret `envconfig:"OKTA_AUTH_SECRET"`
	OktaOrgURL     string `envconfig:"OKTA_ORG_URL"`
	OktaAPIToken   Secret `envconfig:"OKTA_API_TOKEN"`

	SlackWebhookURL    Secret        `envconfig:"SLACK_WEBHOOK_URL"`
	SlackMaxRetryAfter time.Duration `envconfig:"SLACK_MAX_RETRY_AFTER" default:"5m"`
	AlertClaimTimeout  time.Duration `envconfig:"ALERT_CLAIM_TIMEOUT" default:"30s"`
	AlertMaxAge        time.Duration `envconfig:"ALERT_MAX_AGE" default:"24h"`

	Threshold   int           `envconfig:"THRESHOLD" default:"5"`
	Window      time.Duration `envconfig:"WINDOW" default:"5m"`
	Cooldown    time.Duration `envconfig:"COOLDOWN" default:"15m"`
	MaxEventAge time.Duration `envconfig:"MAX_EVENT_AGE" default:"24h"`

	MaxBodyBytes int64 `envconfig:"MAX_BODY_BYTES" default:"10485760"`
	HTTP         HTTP  `envconfig:"HTTP"`

	ShutdownDrain   time.Duration `envconfig:"SHUTDOWN_DRAIN" default:"5s"`
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"20s"`

	SystemLogPollInterval time.Duration `envconfig:"SYSTEMLOG_POLL_INTERVAL" default:"1m"`
	SystemLogLookback     time.Duration `envconfig:"SYSTEMLOG_LOOKBACK" default:"15m"`
}

// Redis selects and tunes the Redis connection. With URL, ClusterAddrs and
// SentinelMaster all empty, the service runs an embedded in-process Redis.
type Redis struct {
	URL            string   `envconfig:"URL"`
	ClusterAddrs   []string `envconfig:"CLUSTER_ADDRS"`
	SentinelMaster string   `envconfig:"SENTINEL_MASTER"`
	SentinelAddrs  []string `envconfig:"SENTINEL_ADDRS"`
	Username       string   `envconfig:"USERNAME"`
	Password       Secret   `envconfig:"PASSWORD"`
	TLS            bool     `envconfig:"TLS"`
	// TLSCAFile is a PEM file of CA certificates to trust for Redis's TLS
	// certificate in place of the system's.
	TLSCAFile string `envconfig:"TLS_CA_FILE"`

	PoolSize     int           `envconfig:"POOL_SIZE" default:"0"`
	DialTimeout  time.Duration `envconfig:"DIAL_TIMEOUT" default:"1s"`
	ReadTimeout  time.Duration `envconfig:"READ_TIMEOUT" default:"500ms"`
	WriteTimeout time.Duration `envconfig:"WRITE_TIMEOUT" default:"500ms"`
}

// HTTP bounds what one client may cost the server.
type HTTP struct {
	ReadHeaderTimeout time.Duration `envconfig:"READ_HEADER_TIMEOUT" default:"5s"`
	ReadTimeout       time.Duration `envconfig:"READ_TIMEOUT" default:"30s"`
	WriteTimeout      time.Duration `envconfig:"WRITE_TIMEOUT" default:"30s"`
	IdleTimeout       time.Duration `envconfig:"IDLE_TIMEOUT" default:"120s"`
	MaxHeaderBytes    int           `envconfig:"MAX_HEADER_BYTES" default:"65536"`
}

// Embedded reports whether no external Redis is configured.
func (r Redis) Embedded() bool {
	return r.URL == "" && len(r.ClusterAddrs) == 0 && r.SentinelMaster == "" && len(r.SentinelAddrs) == 0
}

// Load reads .env from the working directory when it exists (variables
// already in the process environment win), then the environment, and
// validates the result.
func Load() (Config, error) {
	if err := godotenv.Load(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf("read .env: %w", err)
	}
	return FromEnv()
}

// FromEnv reads the process environment only and validates the result.
func FromEnv() (Config, error) {
	var c Config
	if err := envconfig.Process(Prefix, &c); err != nil {
		return Config{}, describeParseError(err)
	}
	if err := errors.Join(placeholders(), c.Validate()); err != nil {
		return Config{}, err
	}
	return c, nil
}

// describeParseError turns envconfig's error into one that names the
// variable, the value and the expected format.
func describeParseError(err error) error {
	var pe *envconfig.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	format := map[string]string{
		"time.Duration": "a duration such as 30s, 5m or 1h30m",
		"int":           "a whole number",
		"int64":         "a whole number",
		"bool":          "true or false",
	}[pe.TypeName]
	if format == "" {
		format = "a value of type " + pe.TypeName
	}
	return fmt.Errorf("%s: invalid value %q; use %s", pe.KeyName, pe.Value, format)
}

// placeholders rejects any variable still set to a "change-me" placeholder
// from .env.example or the Kubernetes secret template.
func placeholders() error {
	var errs []error
	for _, v := range Variables() {
		if strings.Contains(os.Getenv(v.Name), "change-me") {
			errs = append(errs, fmt.Errorf("%s: still a change-me placeholder from the example files; set a real value or remove the variable", v.Name))
		}
	}
	return errors.Join(errs...)
}

// Validate checks every setting, including rules that span several settings,
// and returns all problems at once.
func (c Config) Validate() error {
	var errs []error
	add := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s_%s: %s", Prefix, name, fmt.Sprintf(format, args...)))
	}

	switch secret := c.OktaAuthSecret.Reveal(); {
	case secret == "":
		add("OKTA_AUTH_SECRET", "missing; set it to the shared secret configured on the Okta Event Hook (at least %d random characters)", minSecretLength)
	case len(secret) < minSecretLength:
		add("OKTA_AUTH_SECRET", "too short (%d characters); use at least %d random characters", len(secret), minSecretLength)
	}
	if strings.TrimSpace(c.OktaAuthHeader) == "" || strings.ContainsAny(c.OktaAuthHeader, " :\t\r\n") {
		add("OKTA_AUTH_HEADER", "invalid header name %q; use a plain HTTP header name such as Authorization", c.OktaAuthHeader)
	}
	if _, err := zapcore.ParseLevel(c.LogLevel); err != nil {
		add("LOG_LEVEL", "invalid level %q; use debug, info, warn or error", c.LogLevel)
	}
	if c.Threshold < 1 {
		add("THRESHOLD", "must be at least 1, got %d", c.Threshold)
	}
	positive := []struct {
		name  string
		value time.Duration
	}{
		{"WINDOW", c.Window}, {"COOLDOWN", c.Cooldown}, {"MAX_EVENT_AGE", c.MaxEventAge},
		{"ALERT_CLAIM_TIMEOUT", c.AlertClaimTimeout}, {"ALERT_MAX_AGE", c.AlertMaxAge},
		{"SLACK_MAX_RETRY_AFTER", c.SlackMaxRetryAfter}, {"SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
		{"HTTP_READ_HEADER_TIMEOUT", c.HTTP.ReadHeaderTimeout}, {"HTTP_READ_TIMEOUT", c.HTTP.ReadTimeout},
		{"HTTP_WRITE_TIMEOUT", c.HTTP.WriteTimeout}, {"HTTP_IDLE_TIMEOUT", c.HTTP.IdleTimeout},
		{"REDIS_DIAL_TIMEOUT", c.Redis.DialTimeout}, {"REDIS_READ_TIMEOUT", c.Redis.ReadTimeout},
		{"REDIS_WRITE_TIMEOUT", c.Redis.WriteTimeout},
	}
	for _, p := range positive {
		if p.value <= 0 {
			add(p.name, "must be a positive duration such as 30s or 5m, got %s", p.value)
		}
	}
	if c.ShutdownDrain < 0 {
		add("SHUTDOWN_DRAIN", "must not be negative, got %s", c.ShutdownDrain)
	}
	if c.SystemLogPollInterval < 0 {
		add("SYSTEMLOG_POLL_INTERVAL", "must not be negative (0 turns polling off), got %s", c.SystemLogPollInterval)
	}
	if c.SystemLogLookback <= 0 {
		add("SYSTEMLOG_LOOKBACK", "must be a positive duration, got %s", c.SystemLogLookback)
	}
	if c.MaxBodyBytes < 1024 {
		add("MAX_BODY_BYTES", "must be at least 1024 bytes, got %d", c.MaxBodyBytes)
	}
	if c.HTTP.MaxHeaderBytes < 4096 {
		add("HTTP_MAX_HEADER_BYTES", "must be at least 4096 bytes, got %d", c.HTTP.MaxHeaderBytes)
	}
	if c.Redis.PoolSize < 0 {
		add("REDIS_POOL_SIZE", "must not be negative (0 picks 10 per CPU), got %d", c.Redis.PoolSize)
	}
	if c.SlackWebhookURL != "" {
		if err := checkHTTPURL(string(c.SlackWebhookURL)); err != nil {
			add("SLACK_WEBHOOK_URL", "%v; use the incoming-webhook URL Slack gave you, https://hooks.slack.com/services/...", err)
		}
	}
	if c.OktaOrgURL != "" {
		if err := checkHTTPURL(c.OktaOrgURL); err != nil {
			add("OKTA_ORG_URL", "%v; use your org's base URL, such as https://example.okta.com", err)
		}
	}
	errs = append(errs, c.Redis.validate()...)
	return errors.Join(errs...)
}

func (r Redis) validate() []error {
	var errs []error
	modes := 0
	for _, set := range []bool{r.URL != "", len(r.ClusterAddrs) > 0, r.SentinelMaster != "" || len(r.SentinelAddrs) > 0} {
		if set {
			modes++
		}
	}
	if modes > 1 {
		errs = append(errs, fmt.Errorf("%s_REDIS_URL, %s_REDIS_CLUSTER_ADDRS and %s_REDIS_SENTINEL_*: more than one is set; choose one Redis mode", Prefix, Prefix, Prefix))
	}
	if (r.SentinelMaster == "") != (len(r.SentinelAddrs) == 0) {
		errs = append(errs, fmt.Errorf("%s_REDIS_SENTINEL_MASTER and %s_REDIS_SENTINEL_ADDRS: set both or neither", Prefix, Prefix))
	}
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s_REDIS_URL: invalid value %q; use redis://host:6379/0 or rediss://host:6380/0 for TLS", Prefix, redactURL(r.URL)))
		}
	}
	if r.TLSCAFile != "" {
		if _, err := os.Stat(r.TLSCAFile); err != nil {
			errs = append(errs, fmt.Errorf("%s_REDIS_TLS_CA_FILE: cannot read %q: %v; point it at a PEM file of CA certificates", Prefix, r.TLSCAFile, err))
		}
	}
	for _, addr := range append(append([]string(nil), r.ClusterAddrs...), r.SentinelAddrs...) {
		if !strings.Contains(addr, ":") {
			errs = append(errs, fmt.Errorf("%s_REDIS_CLUSTER_ADDRS or _SENTINEL_ADDRS: invalid address %q; use host:port", Prefix, addr))
		}
	}
	return errs
}

// checkHTTPURL accepts https URLs, and plain http only on loopback, where
// tests and local fakes run: the Slack webhook URL is a bearer secret and the
// Okta org gets an API token, neither of which may travel in cleartext.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL")
	}
	switch {
	case u.Scheme == "":
		return errors.New("missing https:// at the start")
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("scheme %q is not https", u.Scheme)
	case u.Host == "":
		return errors.New("the URL has no host")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return fmt.Errorf("plain http to %s would send a secret in cleartext; use https (http is accepted only for 127.0.0.1 and localhost)", u.Hostname())
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL removes the password of a Redis URL so it can appear in errors.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable URL redacted]"
	}
	return u.Redacted()
}

// OktaAPI is the settings of the commands that call Okta's management API.
type OktaAPI struct {
	OrgURL     string
	APIToken   Secret
	AuthHeader string
	AuthSecret Secret
}

// LoadOktaAPI reads .env and the environment like Load, but checks only the
// settings the Okta API commands use, so `okta status` works without the
// service's other settings.
func LoadOktaAPI() (OktaAPI, error) {
	if err := godotenv.Load(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return OktaAPI{}, fmt.Errorf("read .env: %w", err)
	}
	var c Config
	if err := envconfig.Process(Prefix, &c); err != nil {
		return OktaAPI{}, err
	}
	var errs []error
	if c.OktaOrgURL == "" {
		errs = append(errs, fmt.Errorf("%s_OKTA_ORG_URL: missing; set it to your org's base URL, such as https://example.okta.com", Prefix))
	}
	if c.OktaAPIToken == "" {
		errs = append(errs, fmt.Errorf("%s_OKTA_API_TOKEN: missing; create an API token in the Okta Admin Console (Security > API > Tokens)", Prefix))
	}
	return OktaAPI{OrgURL: c.OktaOrgURL, APIToken: c.OktaAPIToken, AuthHeader: c.OktaAuthHeader, AuthSecret: c.OktaAuthSecret}, errors.Join(errs...)
}
