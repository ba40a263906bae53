package config

import (
	"reflect"
	"strings"

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

// Fields returns every setting as a zap field named after its variable
// (threshold for OKTAWATCH_THRESHOLD), with secrets and the Redis URL's
// password redacted, plus the Redis mode.
func (c Config) Fields() []zapcore.Field {
	fields := []zapcore.Field{
		zap.String("redis_mode", c.Redis.Mode()),
		zap.Bool("systemlog_polling", c.OktaAPIToken != "" && c.OktaOrgURL != "" && c.SystemLogPollInterval > 0),
	}
	return appendFields(fields, reflect.ValueOf(c), "")
}

func appendFields(fields []zapcore.Field, v reflect.Value, prefix string) []zapcore.Field {
	t := v.Type()
	for i := range t.NumField() {
		name := prefix + strings.ToLower(t.Field(i).Tag.Get("envconfig"))
		value := v.Field(i)
		switch {
		case value.Kind() == reflect.Struct:
			fields = appendFields(fields, value, name+"_")
		case value.Type() == reflect.TypeOf(Secret("")):
			fields = append(fields, zap.String(name, value.Interface().(Secret).String()))
		case name == "redis_url":
			fields = append(fields, zap.String(name, redactURL(value.String())))
		default:
			fields = append(fields, zap.Any(name, value.Interface()))
		}
	}
	return fields
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
