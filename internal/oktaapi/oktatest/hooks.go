package oktatest

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Hook is an event hook as a test seeds or inspects it.
type Hook struct {
	ID                 string
	Name               string
	URI                string
	EventTypes         []string
	Status             string
	VerificationStatus string
	AuthHeader         string
	// AuthSecret is the shared secret. Okta stores it but never returns it.
	AuthSecret string
	// Headers are extra static headers.
	Headers map[string]string
}

// hookRecord is a stored hook: the documented body plus what Okta adds.
type hookRecord struct {
	body        hookJSON
	secret      string
	created     time.Time
	lastUpdated time.Time
}

// hookJSON is the event hook body that the management API documents.
type hookJSON struct {
	ID                 string         `json:"id,omitempty"`
	Status             string         `json:"status,omitempty"`
	VerificationStatus string         `json:"verificationStatus,omitempty"`
	Name               string         `json:"name"`
	Created            *time.Time     `json:"created,omitempty"`
	CreatedBy          string         `json:"createdBy,omitempty"`
	LastUpdated        *time.Time     `json:"lastUpdated,omitempty"`
	Events             eventsJSON     `json:"events"`
	Channel            channelJSON    `json:"channel"`
	Links              map[string]any `json:"_links,omitempty"`
}

type eventsJSON struct {
	Type  string   `json:"type"`
	Items []string `json:"items"`
}

type channelJSON struct {
	Type    string     `json:"type"`
	Version string     `json:"version"`
	Config  configJSON `json:"config"`
}

type configJSON struct {
	URI        string          `json:"uri"`
	Headers    []headerJSON    `json:"headers"`
	AuthScheme *authSchemeJSON `json:"authScheme"`
}

type headerJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// authSchemeJSON has a pointer value so that responses can send "value": null.
type authSchemeJSON struct {
	Type  string  `json:"type"`
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

// AddHook stores a hook as if an admin had created it and returns its id.
// Empty Status and VerificationStatus become ACTIVE and UNVERIFIED.
func (s *Server) AddHook(h Hook) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	body := hookJSON{
		Status:             orDefault(h.Status, "ACTIVE"),
		VerificationStatus: orDefault(h.VerificationStatus, "UNVERIFIED"),
		Name:               h.Name,
		Events:             eventsJSON{Type: "EVENT_TYPE", Items: h.EventTypes},
		Channel:            channelJSON{Type: "HTTP", Version: "1.0.0", Config: configJSON{URI: h.URI}},
	}
	for key, value := range h.Headers {
		body.Channel.Config.Headers = append(body.Channel.Config.Headers, headerJSON{Key: key, Value: value})
	}
	if h.AuthHeader != "" {
		body.Channel.Config.AuthScheme = &authSchemeJSON{Type: "HEADER", Key: h.AuthHeader}
	}
	return s.storeLocked(body, h.AuthSecret).body.ID
}

// Hook returns the stored hook with the given id, secret included.
func (s *Server) Hook(id string) (Hook, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.findLocked(id)
	if rec == nil {
		return Hook{}, false
	}
	h := Hook{
		ID: rec.body.ID, Name: rec.body.Name, URI: rec.body.Channel.Config.URI,
		EventTypes: append([]string(nil), rec.body.Events.Items...), Status: rec.body.Status,
		VerificationStatus: rec.body.VerificationStatus, AuthSecret: rec.secret, Headers: map[string]string{},
	}
	if auth := rec.body.Channel.Config.AuthScheme; auth != nil {
		h.AuthHeader = auth.Key
	}
	for _, header := range rec.body.Channel.Config.Headers {
		h.Headers[header.Key] = header.Value
	}
	return h, true
}

func orDefault(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}

func (s *Server) storeLocked(body hookJSON, secret string) *hookRecord {
	s.nextID++
	body.ID = fmt.Sprintf("whoFakeHook%09d", s.nextID)
	now := s.now().UTC()
	rec := &hookRecord{body: body, secret: secret, created: now, lastUpdated: now}
	s.hooks = append(s.hooks, rec)
	return rec
}

func (s *Server) findLocked(id string) *hookRecord {
	for _, rec := range s.hooks {
		if rec.body.ID == id {
			return rec
		}
	}
	return nil
}

// hookResponse returns the hook as Okta sends it: with timestamps and links, and
// with the auth secret value replaced by null.
func (s *Server) hookResponse(rec *hookRecord) hookJSON {
	body := rec.body
	body.Created, body.LastUpdated = &rec.created, &rec.lastUpdated
	body.CreatedBy = "00uFakeAdmin000000001"
	body.Events.Items = append([]string(nil), rec.body.Events.Items...)
	body.Channel.Config.Headers = append([]headerJSON{}, rec.body.Channel.Config.Headers...)
	if auth := rec.body.Channel.Config.AuthScheme; auth != nil {
		body.Channel.Config.AuthScheme = &authSchemeJSON{Type: auth.Type, Key: auth.Key}
	}
	self := s.URL + "/api/v1/eventHooks/" + url.PathEscape(rec.body.ID)
	body.Links = map[string]any{"self": map[string]any{"href": self}}
	return body
}

func (s *Server) listHooks(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hooks := make([]hookJSON, 0, len(s.hooks))
	for _, rec := range s.hooks {
		hooks = append(hooks, s.hookResponse(rec))
	}
	writeJSON(w, http.StatusOK, hooks)
}

func (s *Server) getHook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.findLocked(r.PathValue("id"))
	if rec == nil {
		notFound(w, r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, s.hookResponse(rec))
}

func (s *Server) createHook(w http.ResponseWriter, r *http.Request) {
	body, secret, ok := decodeHook(w, r)
	if !ok {
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.hooks) >= s.maxHooks {
		validationError(w, "eventHook",
			fmt.Sprintf("The org has reached the maximum of %d event hooks.", s.maxHooks))
		return
	}
	body.Status, body.VerificationStatus = "ACTIVE", "UNVERIFIED"
	writeJSON(w, http.StatusOK, s.hookResponse(s.storeLocked(body, secret)))
}

// updateHook replaces name, events and channel. A new URI makes the hook
// UNVERIFIED again because Okta has not checked the new endpoint.
func (s *Server) updateHook(w http.ResponseWriter, r *http.Request) {
	body, secret, ok := decodeHook(w, r)
	if !ok {
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.findLocked(r.PathValue("id"))
	if rec == nil {
		notFound(w, r.PathValue("id"))
		return
	}
	if body.Channel.Config.URI != rec.body.Channel.Config.URI {
		rec.body.VerificationStatus = "UNVERIFIED"
	}
	rec.body.Name, rec.body.Events, rec.body.Channel = body.Name, body.Events, body.Channel
	rec.secret = secret
	rec.lastUpdated = s.now().UTC()
	writeJSON(w, http.StatusOK, s.hookResponse(rec))
}

func (s *Server) deleteHook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, rec := range s.hooks {
		if rec.body.ID != r.PathValue("id") {
			continue
		}
		if rec.body.Status != "INACTIVE" {
			validationError(w, "eventHook", "Only an INACTIVE event hook can be deleted.")
			return
		}
		s.hooks = append(s.hooks[:i], s.hooks[i+1:]...)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	notFound(w, r.PathValue("id"))
}

func (s *Server) lifecycle(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	if action == "verify" {
		s.verifyHook(r.Context(), w, id)
		return
	}
	status := map[string]string{"activate": "ACTIVE", "deactivate": "INACTIVE"}[action]
	if status == "" {
		notFound(w, "lifecycle operation "+action)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.findLocked(id)
	if rec == nil {
		notFound(w, id)
		return
	}
	rec.body.Status = status
	rec.lastUpdated = s.now().UTC()
	writeJSON(w, http.StatusOK, s.hookResponse(rec))
}
