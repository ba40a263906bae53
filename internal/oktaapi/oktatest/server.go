// Package oktatest provides a fake Okta org for tests: an httptest server
// that implements the event hook endpoints and the System Log endpoint of the
// management API, with scripted failures and request counts.
//
// The fake defines its own wire types instead of importing oktaapi's, so that
// a mistake in the client's JSON shapes shows up as a failing test.
package oktatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// DefaultMaxHooks is the number of event hooks an Okta org allows.
const DefaultMaxHooks = 25

// Server is a fake Okta org. Its methods are safe for concurrent use, except
// that AddLogEvents must run on the test's goroutine because it can fail the
// test.
type Server struct {
	// URL is the org URL, such as http://127.0.0.1:12345.
	URL string

	tb    testing.TB
	token string
	srv   *httptest.Server

	mu        sync.Mutex
	now       func() time.Time
	hooks     []*hookRecord
	nextID    int
	maxHooks  int
	injected  []injectedError
	counts    map[string]int
	requests  []string
	logs      []logEntry
	rateLimit rateWindow
}

// injectedError is a scripted error response for the next request.
type injectedError struct {
	status int
	header http.Header
	body   errorBody
}

// New starts a fake org that accepts only "Authorization: SSWS <token>" and
// stops it when the test ends.
func New(tb testing.TB, token string) *Server {
	tb.Helper()
	s := &Server{
		tb:       tb,
		token:    token,
		now:      time.Now,
		maxHooks: DefaultMaxHooks,
		counts:   make(map[string]int),
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/eventHooks", s.listHooks)
	mux.HandleFunc("POST /api/v1/eventHooks", s.createHook)
	mux.HandleFunc("GET /api/v1/eventHooks/{id}", s.getHook)
	mux.HandleFunc("PUT /api/v1/eventHooks/{id}", s.updateHook)
	mux.HandleFunc("DELETE /api/v1/eventHooks/{id}", s.deleteHook)
	mux.HandleFunc("POST /api/v1/eventHooks/{id}/lifecycle/{action}", s.lifecycle)
	mux.HandleFunc("GET /api/v1/logs", s.listLogs)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w, r.URL.Path) })

	s.srv = httptest.NewServer(s.middleware(mux))
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// SetClock sets the clock used for timestamps and rate-limit windows.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetMaxHooks sets how many hooks the org allows before creating one fails
// with Okta's hook-limit error.
func (s *Server) SetMaxHooks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxHooks = n
}

// InjectRateLimit makes the next count requests fail with 429 and an
// X-Rate-Limit-Reset header of reset.
func (s *Server) InjectRateLimit(count int, reset time.Time) {
	header := http.Header{}
	header.Set("X-Rate-Limit-Limit", "120")
	header.Set("X-Rate-Limit-Remaining", "0")
	header.Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
	s.inject(count, http.StatusTooManyRequests, header, newErrorBody("E0000047", "Rate limit exceeded for this endpoint"))
}

// InjectForbidden makes the next count requests fail with 403, as when the
// token's admin may not manage event hooks.
func (s *Server) InjectForbidden(count int) {
	s.inject(count, http.StatusForbidden, nil, newErrorBody("E0000006", "The caller has no permission for this action"))
}

// InjectError makes the next count requests fail with status and an Okta
// error body.
func (s *Server) InjectError(count, status int, code, summary string, causes ...string) {
	s.inject(count, status, nil, newErrorBody(code, summary, causes...))
}

func (s *Server) inject(count, status int, header http.Header, body errorBody) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range count {
		s.injected = append(s.injected, injectedError{status: status, header: header, body: body})
	}
}

// Count returns how many requests the server received with method and path,
// such as "POST" and "/api/v1/eventHooks/who1/lifecycle/verify".
func (s *Server) Count(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[method+" "+path]
}

// Requests returns "METHOD path" for every request received, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// middleware counts each request, sends scripted error responses, and checks
// the Authorization header, in that order.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		key := r.Method + " " + r.URL.Path
		s.counts[key]++
		s.requests = append(s.requests, key)
		var injected *injectedError
		if len(s.injected) > 0 {
			injected = &s.injected[0]
			s.injected = s.injected[1:]
		}
		s.mu.Unlock()

		if injected != nil {
			for name, values := range injected.header {
				w.Header()[name] = values
			}
			writeJSON(w, injected.status, injected.body)
			return
		}
		if r.Header.Get("Authorization") != "SSWS "+s.token {
			writeJSON(w, http.StatusUnauthorized, newErrorBody("E0000011", "Invalid token provided"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errorBody is the JSON body of an Okta error response.
type errorBody struct {
	ErrorCode    string       `json:"errorCode"`
	ErrorSummary string       `json:"errorSummary"`
	ErrorLink    string       `json:"errorLink"`
	ErrorID      string       `json:"errorId"`
	ErrorCauses  []errorCause `json:"errorCauses"`
}

type errorCause struct {
	ErrorSummary string `json:"errorSummary"`
}

func newErrorBody(code, summary string, causes ...string) errorBody {
	body := errorBody{ErrorCode: code, ErrorSummary: summary, ErrorLink: code, ErrorID: "oaeFakeErrorId", ErrorCauses: []errorCause{}}
	for _, cause := range causes {
		body.ErrorCauses = append(body.ErrorCauses, errorCause{ErrorSummary: cause})
	}
	return body
}

func writeJSON(w http.ResponseWriter, status int, value any) {
	data, err := json.Marshal(value)
	if err != nil {
		http.Error(w, fmt.Sprintf("encode response: %v", err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// validationError responds with 400 the way Okta reports an invalid request body.
func validationError(w http.ResponseWriter, summary string, causes ...string) {
	writeJSON(w, http.StatusBadRequest, newErrorBody("E0000001", "Api validation failed: "+summary, causes...))
}

func notFound(w http.ResponseWriter, what string) {
	writeJSON(w, http.StatusNotFound, newErrorBody("E0000007", "Not found: Resource not found: "+what))
}
