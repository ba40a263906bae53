// Package slacktest provides a scripted fake Slack incoming webhook for
// tests.
//
// The server responds to each request with the next scripted Response, or with
// the default 200 "ok" when the script is empty. In strict mode, which is on
// by default, it first rejects any message that breaks Slack's Block Kit
// limits with 400, so a test whose messages are accepted also shows that
// they stay within those limits.
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/slack"
)

// WebhookPath is the path of URL. It has the shape of a real webhook path
// and an obviously invented token.
const WebhookPath = "/services/T000TEST/B000TEST/not-a-real-token"

// maxRequestBytes caps how much of a request body the server reads.
const maxRequestBytes = 1 << 20

// pollInterval is how often WaitForAccepted checks the recorded requests.
const pollInterval = 5 * time.Millisecond

// Response is one scripted HTTP response.
type Response struct {
	// Status is the HTTP status code; 0 means 200.
	Status int
	Header map[string]string
	Body   string
	// Delay holds the response back, as a slow Slack would. A client that
	// gives up first gets no response.
	Delay time.Duration
	// Hang means the request never gets a response: the server keeps it open
	// until the client cancels or the test ends, then drops the connection.
	Hang bool
}

// Request is one request that reached the server.
type Request struct {
	// Time is the arrival time on the real clock.
	Time   time.Time
	Method string
	Path   string
	Header http.Header
	Body   []byte
	// Message is the decoded body, or the zero Message when the body is not
	// valid JSON.
	Message slack.Message
	// Status is the status code the server responded with, or 0 while the
	// request is delayed or when it never got a response.
	Status int
	// Violation explains why strict mode rejected the request, or is "".
	Violation string
}

// Server is a fake Slack incoming webhook on a loopback port.
type Server struct {
	tb     testing.TB
	server *httptest.Server
	// done is closed when the test ends, to release delayed and hanging
	// requests before the server shuts down.
	done chan struct{}

	mu       sync.Mutex
	script   []Response
	fallback Response
	strict   bool
	requests []Request
}

// New starts a fake webhook that stops when the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		tb:       tb,
		done:     make(chan struct{}),
		fallback: Response{Status: http.StatusOK, Body: "ok"},
		strict:   true,
	}
	s.server = httptest.NewServer(http.HandlerFunc(s.handle))
	// Cleanups run last-in first-out, so the requests are released before
	// Close waits for them.
	tb.Cleanup(s.server.Close)
	tb.Cleanup(func() { close(s.done) })
	return s
}

// URL returns the webhook URL to post to.
func (s *Server) URL() string {
	return s.server.URL + WebhookPath
}

// Enqueue appends responses to the script. Each request takes the next one.
func (s *Server) Enqueue(responses ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, responses...)
}

// Hang appends a response that never comes to the script.
func (s *Server) Hang() {
	s.Enqueue(Response{Hang: true})
}

// SetDefault sets the response for requests that find the script empty.
func (s *Server) SetDefault(r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = r
}

// SetStrict turns the Block Kit limit checks on or off.
func (s *Server) SetStrict(strict bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strict = strict
}

// Requests returns every request so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Accepted returns the requests that got a 2xx status, in arrival
// order.
func (s *Server) Accepted() []Request {
	var accepted []Request
	for _, r := range s.Requests() {
		if r.Status >= 200 && r.Status < 300 {
			accepted = append(accepted, r)
		}
	}
	return accepted
}

// WaitForAccepted waits until at least n requests were accepted and returns
// them. It fails the test when timeout passes first, so it must be called
// from the test's goroutine.
func (s *Server) WaitForAccepted(n int, timeout time.Duration) []Request {
	s.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if accepted := s.Accepted(); len(accepted) >= n {
			return accepted
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("slacktest: %d messages accepted after %s, want %d; requests: %s",
				len(s.Accepted()), timeout, n, s.describeRequests())
			return nil
		}
		time.Sleep(pollInterval)
	}
}

// describeRequests summarises the recorded requests for failure messages.
func (s *Server) describeRequests() string {
	requests := s.Requests()
	if len(requests) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(requests))
	for i, r := range requests {
		part := fmt.Sprintf("#%d %s %d", i+1, r.Method, r.Status)
		if r.Violation != "" {
			part += " (" + r.Violation + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	index, response := s.record(r, body)

	if response.Hang || response.Delay > 0 {
		s.wait(r, response)
	}
	for name, value := range response.Header {
		w.Header().Set(name, value)
	}
	status := response.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, response.Body)

	s.mu.Lock()
	s.requests[index].Status = status
	s.mu.Unlock()
}

// record stores the request and picks its response. A request that strict
// mode rejects does not use up a scripted response.
func (s *Server) record(r *http.Request, body []byte) (int, Response) {
	request := Request{
		Time:   time.Now(),
		Method: r.Method,
		Path:   r.URL.Path,
		Header: r.Header.Clone(),
		Body:   body,
	}
	_ = json.Unmarshal(body, &request.Message)

	s.mu.Lock()
	defer s.mu.Unlock()
	response, violation := s.pick(r, body)
	request.Violation = violation
	s.requests = append(s.requests, request)
	if violation != "" {
		s.tb.Logf("slacktest: rejected request #%d: %s", len(s.requests), violation)
	}
	return len(s.requests) - 1, response
}

// pick returns the response for a request. The caller holds s.mu.
func (s *Server) pick(r *http.Request, body []byte) (Response, string) {
	if r.URL.Path != WebhookPath {
		return Response{Status: http.StatusNotFound, Body: "no_service"}, "unknown webhook path " + r.URL.Path
	}
	if s.strict {
		if status, code, violation := checkRequest(r, body); violation != "" {
			return Response{Status: status, Body: code}, violation
		}
	}
	if len(s.script) == 0 {
		return s.fallback, ""
	}
	next := s.script[0]
	s.script = s.script[1:]
	return next, ""
}

// wait holds a delayed or hanging request. When the client gives up or the
// test ends first, it drops the connection without a response.
func (s *Server) wait(r *http.Request, response Response) {
	var elapsed <-chan time.Time
	if !response.Hang {
		timer := time.NewTimer(response.Delay)
		defer timer.Stop()
		elapsed = timer.C
	}
	select {
	case <-elapsed:
		return
	case <-r.Context().Done():
	case <-s.done:
	}
	// net/http recovers this value and closes the connection silently.
	panic(http.ErrAbortHandler)
}
