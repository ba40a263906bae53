package scale_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"syscall"
	"testing"
)

// balancer is a round-robin load balancer in front of the replicas. Like
// nginx with proxy_next_upstream error, it passes a request on to the next
// replica when the connection is refused, so a dead replica costs no request
// that never reached it. A request that fails after reaching a replica gets
// 502 Bad Gateway, and the sender retries it as Okta retries a failed
// delivery.
type balancer struct {
	URL string

	backends  []*url.URL
	transport *http.Transport
	next      atomic.Uint64
	served    []atomic.Int64
	// refusedConnections counts the backends skipped because they refused
	// the connection.
	refusedConnections atomic.Int64
}

func newBalancer(t *testing.T, backendURLs []string) *balancer {
	t.Helper()
	b := &balancer{
		transport: http.DefaultTransport.(*http.Transport).Clone(),
		served:    make([]atomic.Int64, len(backendURLs)),
	}
	for _, raw := range backendURLs {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("parse backend URL %q: %v", raw, err)
		}
		b.backends = append(b.backends, u)
	}
	proxy := &httputil.ReverseProxy{
		// The transport picks the backend; the first one only fills in
		// the scheme and host.
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(b.backends[0]) },
		Transport: b,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			t.Logf("load balancer: %v", err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	server := httptest.NewServer(proxy)
	t.Cleanup(server.Close)
	t.Cleanup(b.transport.CloseIdleConnections)
	b.URL = server.URL
	return b
}

// RoundTrip sends req to the next backend in turn, and on to the one after
// it while connections are refused.
func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
	}

	first := b.next.Add(1) - 1
	var lastErr error
	for i := range uint64(len(b.backends)) {
		index := (first + i) % uint64(len(b.backends))
		resp, err := b.transport.RoundTrip(withBackend(req, b.backends[index], body))
		if err == nil {
			b.served[index].Add(1)
			return resp, nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, err
		}
		b.refusedConnections.Add(1)
		lastErr = err
	}
	return nil, lastErr
}

func withBackend(req *http.Request, backend *url.URL, body []byte) *http.Request {
	out := req.Clone(req.Context())
	out.URL.Scheme = backend.Scheme
	out.URL.Host = backend.Host
	out.Host = backend.Host
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	return out
}

// Served returns the number of requests each backend responded to.
func (b *balancer) Served() []int64 {
	counts := make([]int64, len(b.served))
	for i := range b.served {
		counts[i] = b.served[i].Load()
	}
	return counts
}
