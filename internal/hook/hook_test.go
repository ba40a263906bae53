package hook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/oktawatch/oktawatch/internal/burst"
)

const testSecret = "test-secret-not-real"

type fixture struct {
	srv  *httptest.Server
	mr   *miniredis.Miniredis
	rdb  *redis.Client
	logs *observer.ObservedLogs
}

func newFixture(t *testing.T, maxBody int64) *fixture {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)

	det := burst.New(rdb, burst.Settings{Threshold: 5, Window: 5 * time.Minute, Cooldown: 15 * time.Minute,
		MaxEventAge: 100000 * time.Hour, AlertMaxAge: time.Hour})
	h := New(Config{AuthHeader: "Authorization", AuthSecret: testSecret, MaxBodyBytes: maxBody}, det, nil, log)
	e := echo.New()
	e.HTTPErrorHandler = ErrorHandler(log)
	h.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, mr: mr, rdb: rdb, logs: logs}
}

func (f *fixture) do(t *testing.T, method string, body io.Reader, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+Path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = []string{v} // as written, so lowercase names reach the server lowercase
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func fixtureBody(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "okta", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVerify_EchoesChallenge(t *testing.T) {
	f := newFixture(t, 1<<20)
	challenge := `Zx9"<b>&\u00e9-é`

	resp, body := f.do(t, http.MethodGet, nil, map[string]string{
		"x-okta-verification-challenge": challenge, "Authorization": testSecret,
	})

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	want := `{"verification":"Zx9\"<b>&\\u00e9-é"}`
	if body != want {
		t.Errorf("body %s, want %s", body, want)
	}
	if n := f.rdb.DBSize(context.Background()).Val(); n != 0 {
		t.Errorf("verification wrote %d keys", n)
	}
}

func TestVerify_Rejections(t *testing.T) {
	cases := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no challenge", map[string]string{"Authorization": testSecret}, http.StatusBadRequest},
		{"empty challenge", map[string]string{"Authorization": testSecret, ChallengeHeader: ""}, http.StatusBadRequest},
		{"wrong secret", map[string]string{"Authorization": "wrong", ChallengeHeader: "c"}, http.StatusUnauthorized},
		{"secret prefix", map[string]string{"Authorization": testSecret[:5], ChallengeHeader: "c"}, http.StatusUnauthorized},
		{"no auth header", map[string]string{ChallengeHeader: "c"}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1<<20)
			resp, body := f.do(t, http.MethodGet, nil, tc.header)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
}

func TestDeliver_WrongSecretRecordsNothing(t *testing.T) {
	f := newFixture(t, 1<<20)

	resp, _ := f.do(t, http.MethodPost, strings.NewReader(fixtureBody(t, "single-removal.json")),
		map[string]string{"Authorization": "presented-wrong-value"})

	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n := f.rdb.DBSize(context.Background()).Val(); n != 0 {
		t.Errorf("wrote %d keys", n)
	}
	if f.logs.FilterMessageSnippet("rejected request").Len() != 1 {
		t.Errorf("want one warning, got %v", f.logs.All())
	}
	for _, e := range f.logs.All() {
		for _, field := range e.Context {
			if strings.Contains(field.String, "presented-wrong-value") || strings.Contains(field.String, testSecret) {
				t.Errorf("log line %q contains the presented value or the secret", e.Message)
			}
		}
	}
}

func TestDeliver_MixedBatch(t *testing.T) {
	f := newFixture(t, 1<<20)

	resp, body := f.do(t, http.MethodPost, strings.NewReader(fixtureBody(t, "mixed-batch.json")),
		map[string]string{"Authorization": testSecret, "Content-Type": "application/json"})

	if resp.StatusCode != http.StatusOK || body != "" {
		t.Fatalf("status %d body %q, want 200 and empty", resp.StatusCode, body)
	}
	keys := f.mr.Keys()
	var removalsKey string
	for _, k := range keys {
		if strings.HasSuffix(k, ":g:00gZ9y8X7w6V5u4T3s2r:removals") {
			removalsKey = k
		}
	}
	if n := f.rdb.ZCard(context.Background(), removalsKey).Val(); n != 4 {
		t.Errorf("recorded %d removals, want 4 (keys %v)", n, keys)
	}
	if n := f.logs.FilterMessage("removal recorded").Len(); n != 4 {
		t.Errorf("%d 'removal recorded' lines, want 4", n)
	}
	warnings := f.logs.FilterMessage("skipped malformed event")
	if warnings.Len() != 6 {
		t.Errorf("%d warnings, want 6 (missing group, 2 invalid fields, bad time, missing user, not an object)", warnings.Len())
	}
	if warnings.FilterField(zap.String("event_uuid", "a0000001-0000-4000-8000-000000000004")).Len() != 1 {
		t.Error("no warning names the uuid of the event without a group")
	}
}

func TestDeliver_BadBodies(t *testing.T) {
	cases := []struct {
		name   string
		body   io.Reader
		length int64 // -1: chunked
		status int
	}{
		{"malformed json", strings.NewReader(`{"data":`), 8, http.StatusBadRequest},
		{"declared too large", strings.NewReader(`{}`), 10_000_000_000, http.StatusRequestEntityTooLarge},
		{"streamed too large", io.LimitReader(zeroReader{}, 3<<20), -1, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1<<20)
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+Path, tc.body)
			req.ContentLength = tc.length
			req.Header.Set("Authorization", testSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				if tc.length > 1<<30 {
					return // the server responded 413 and closed before the client sent the body
				}
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestHook_OtherMethodsGet405(t *testing.T) {
	f := newFixture(t, 1<<20)
	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		resp, _ := f.do(t, method, nil, map[string]string{"Authorization": testSecret})
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405", method, resp.StatusCode)
		}
	}
}

func TestDeliver_RedisDownAnswers503(t *testing.T) {
	f := newFixture(t, 1<<20)
	f.mr.Close()

	resp, body := f.do(t, http.MethodPost, strings.NewReader(fixtureBody(t, "single-removal.json")),
		map[string]string{"Authorization": testSecret})

	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d (%s), want 503", resp.StatusCode, body)
	}
	if f.logs.FilterMessageSnippet("failed to record removals").Len() != 1 {
		t.Error("want one error log for the failed write")
	}
}

func TestDeliver_RepeatedEventLogsOnce(t *testing.T) {
	f := newFixture(t, 1<<20)
	single := fixtureBody(t, "single-removal.json")
	start := strings.Index(single, `"events": [`) + len(`"events": [`)
	end := strings.LastIndex(single, "]")
	event := single[start:end]
	body := single[:start] + event + "," + event + "," + event + single[end:]

	resp, _ := f.do(t, http.MethodPost, strings.NewReader(body), map[string]string{"Authorization": testSecret})

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n := f.logs.FilterMessage("removal recorded").Len(); n != 1 {
		t.Errorf("%d 'removal recorded' lines for one event sent three times, want 1", n)
	}
}

func TestDeliver_BodyBudgetSpentAnswers503(t *testing.T) {
	h := New(Config{AuthHeader: "Authorization", AuthSecret: testSecret, MaxBodyBytes: 1 << 20}, nil, nil, zap.NewNop())
	e := echo.New()
	e.HTTPErrorHandler = ErrorHandler(zap.NewNop())
	h.Register(e)
	h.bodyBytes.Store(h.bodyBytesLimit) // as if deliveries under way held the whole budget

	req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(`{"data":{"events":[]}}`))
	req.Header.Set("Authorization", testSecret)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)

	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
	if got := h.bodyBytes.Load(); got != h.bodyBytesLimit {
		t.Errorf("budget in use %d after the rejection, want it unchanged at %d", got, h.bodyBytesLimit)
	}
}
