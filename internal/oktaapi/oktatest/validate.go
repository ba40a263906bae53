package oktatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// decodeHook reads and validates a create or update body. It responds with
// 400 and returns false when the body is invalid.
func decodeHook(w http.ResponseWriter, r *http.Request) (hookJSON, string, bool) {
	var body hookJSON
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		validationError(w, "eventHook", "The request body is not valid JSON: "+err.Error())
		return body, "", false
	}
	if cause := validateHook(body); cause != "" {
		validationError(w, "eventHook", cause)
		return body, "", false
	}
	secret := ""
	if auth := body.Channel.Config.AuthScheme; auth != nil && auth.Value != nil {
		secret = *auth.Value
	}
	return body, secret, true
}

// validateHook returns the reason a create or update body is invalid, or "".
func validateHook(body hookJSON) string {
	config := body.Channel.Config
	switch {
	case body.Name == "":
		return "name: The field cannot be left blank."
	case body.Events.Type != "EVENT_TYPE":
		return fmt.Sprintf("events.type: %q is not EVENT_TYPE.", body.Events.Type)
	case len(body.Events.Items) == 0:
		return "events.items: At least one event type is required."
	case body.Channel.Type != "HTTP" || body.Channel.Version != "1.0.0":
		return fmt.Sprintf("channel: type %q version %q is not HTTP 1.0.0.", body.Channel.Type, body.Channel.Version)
	}
	uri, err := url.Parse(config.URI)
	if err != nil || !(uri.Scheme == "https" || (uri.Scheme == "http" && isLoopback(uri.Hostname()))) {
		return fmt.Sprintf("channel.config.uri: %q is not an https URL.", config.URI)
	}
	if auth := config.AuthScheme; auth != nil {
		if auth.Type != "HEADER" || auth.Key == "" || auth.Value == nil || *auth.Value == "" {
			return "channel.config.authScheme: type HEADER with a key and a value is required."
		}
	}
	return ""
}
