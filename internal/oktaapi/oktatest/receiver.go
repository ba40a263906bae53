package oktatest

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// Receiver is a minimal stand-in for the oktawatch service. It handles only
// the verification challenge on GET /okta/events.
type Receiver struct {
	// URL is the hook URI to register, ending in /okta/events.
	URL string

	challenges atomic.Int64
	rejected   atomic.Int64
}

// NewReceiver starts a Receiver that requires authHeader to carry secret and
// stops it when the test ends.
func NewReceiver(tb testing.TB, authHeader, secret string) *Receiver {
	tb.Helper()
	rv := &Receiver{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /okta/events", func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get(authHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			rv.rejected.Add(1)
			http.Error(w, "invalid auth header", http.StatusUnauthorized)
			return
		}
		challenge := r.Header.Get(ChallengeHeader)
		if challenge == "" {
			rv.rejected.Add(1)
			http.Error(w, "missing verification challenge", http.StatusBadRequest)
			return
		}
		rv.challenges.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"verification": challenge})
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	rv.URL = srv.URL + "/okta/events"
	return rv
}

// Challenges returns the number of challenges the receiver echoed.
func (rv *Receiver) Challenges() int { return int(rv.challenges.Load()) }

// Rejected returns the number of challenge requests it rejected.
func (rv *Receiver) Rejected() int { return int(rv.rejected.Load()) }
