package oktatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ChallengeHeader is the header that carries the verification challenge.
const ChallengeHeader = "x-okta-verification-challenge"

// verifyTimeout is how long Okta waits for the challenge response.
const verifyTimeout = 3 * time.Second

// verifyHook sends the verification GET to the hook's URI, as Okta does, and
// marks the hook VERIFIED when the response echoes the challenge. Unlike Okta,
// it tries once and contacts only loopback addresses.
func (s *Server) verifyHook(ctx context.Context, w http.ResponseWriter, id string) {
	s.mu.Lock()
	rec := s.findLocked(id)
	if rec == nil {
		s.mu.Unlock()
		notFound(w, id)
		return
	}
	uri, auth, secret := rec.body.Channel.Config.URI, rec.body.Channel.Config.AuthScheme, rec.secret
	headers := append([]headerJSON(nil), rec.body.Channel.Config.Headers...)
	s.mu.Unlock()

	header := http.Header{}
	for _, h := range headers {
		header.Set(h.Key, h.Value)
	}
	if auth != nil {
		header.Set(auth.Key, secret)
	}
	if err := sendChallenge(ctx, uri, header); err != nil {
		validationError(w, "verifyEventHook", "Event hook verification failed: "+err.Error())
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if rec = s.findLocked(id); rec == nil {
		notFound(w, id)
		return
	}
	rec.body.VerificationStatus = "VERIFIED"
	rec.lastUpdated = s.now().UTC()
	writeJSON(w, http.StatusOK, s.hookResponse(rec))
}

// sendChallenge sends the GET challenge to uri and checks the response.
func sendChallenge(ctx context.Context, uri string, header http.Header) error {
	u, err := url.Parse(uri)
	if err != nil || !isLoopback(u.Hostname()) {
		return fmt.Errorf("the fake contacts only loopback URIs, not %q", uri)
	}
	challenge := newChallenge()

	ctx, cancel := context.WithTimeout(ctx, verifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return fmt.Errorf("build challenge request: %w", err)
	}
	req.Header = header
	req.Header.Set(ChallengeHeader, challenge)

	resp, err := loopbackClient().Do(req)
	if err != nil {
		return fmt.Errorf("challenge request failed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the endpoint responded with %d, expected 200", resp.StatusCode)
	}
	var decoded struct {
		Verification string `json:"verification"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&decoded); err != nil {
		return fmt.Errorf("the endpoint's response is not JSON: %w", err)
	}
	if decoded.Verification != challenge {
		return errors.New("the endpoint's response does not contain the challenge")
	}
	return nil
}

func newChallenge() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// loopbackClient follows no redirects and dials only loopback addresses, so
// that no hostname can lead the fake off the machine.
func loopbackClient() *http.Client {
	dialer := &net.Dialer{
		Timeout: verifyTimeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("refusing to dial non-loopback address %s", address)
			}
			return nil
		},
	}
	return &http.Client{
		Transport:     &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
