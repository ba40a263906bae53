package hook_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/hook"
	"github.com/oktawatch/oktawatch/internal/okta"
)

const fuzzSecret = "test-secret-not-real-fuzz"

// fuzzMaxBody is small enough that the fuzzer reaches the 413 response and
// large enough for the seed deliveries.
const fuzzMaxBody = 8 << 10

// allowedStatuses are the only statuses the hook may return. Any other,
// such as a 500, means an input reached a path the handler does not expect.
var allowedStatuses = map[int]bool{
	http.StatusOK: true, http.StatusBadRequest: true, http.StatusUnauthorized: true,
	http.StatusRequestEntityTooLarge: true, http.StatusServiceUnavailable: true,
}

// lastDelivery keeps what the handler reported to its observer.
type lastDelivery struct {
	mu     sync.Mutex
	calls  int
	events int
	result burst.Result
}

func (l *lastDelivery) Delivery(events int, _ map[okta.SkipReason]int, result burst.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.events = events
	l.result = result
}

func (l *lastDelivery) take() (int, int, burst.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	calls := l.calls
	l.calls = 0
	return calls, l.events, l.result
}

// FuzzHandler sends arbitrary verification requests and deliveries through
// echo to the hook handler, which records in miniredis. The seeds in
// testdata/fuzz/FuzzHandler are deliveries shaped like Okta's, with invented
// ids, plus malformed variants.
func FuzzHandler(f *testing.F) {
	mr := miniredis.RunT(f)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	f.Cleanup(func() { _ = rdb.Close() })
	det := burst.New(rdb, burst.Settings{Threshold: 5, Window: 5 * time.Minute, Cooldown: 15 * time.Minute,
		MaxEventAge: 24 * time.Hour, AlertMaxAge: time.Hour})
	observer := &lastDelivery{}
	h := hook.New(hook.Config{AuthHeader: "Authorization", AuthSecret: fuzzSecret, MaxBodyBytes: fuzzMaxBody},
		det, observer, zap.NewNop())
	e := echo.New()
	e.HTTPErrorHandler = hook.ErrorHandler(zap.NewNop())
	h.Register(e)

	f.Fuzz(func(t *testing.T, body []byte, challenge string, post, authorized bool) {
		req := newFuzzRequest(body, challenge, post, authorized)
		w := httptest.NewRecorder()

		e.ServeHTTP(w, req)

		if !allowedStatuses[w.Code] {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if !authorized && w.Code != http.StatusUnauthorized {
			t.Errorf("request without the secret returned %d, want 401", w.Code)
		}
		calls, events, result := observer.take()
		switch {
		case post && w.Code == http.StatusOK:
			checkRecorded(t, body, calls, events, result)
		case post && calls != 0:
			t.Errorf("delivery returned %d but was reported to the observer", w.Code)
		case !post && w.Code == http.StatusOK:
			checkVerification(t, challenge, w.Body.Bytes())
		}
	})
}

func newFuzzRequest(body []byte, challenge string, post, authorized bool) *http.Request {
	method := http.MethodGet
	if post {
		method = http.MethodPost
	}
	req := httptest.NewRequest(method, hook.Path, bytes.NewReader(body))
	if authorized {
		req.Header.Set("Authorization", fuzzSecret)
	}
	if challenge != "" {
		req.Header.Set(hook.ChallengeHeader, challenge)
	}
	return req
}

// checkRecorded checks that an accepted delivery's removals were all
// accounted for: recorded, known already, or too old.
func checkRecorded(t *testing.T, body []byte, calls, events int, result burst.Result) {
	t.Helper()
	d, err := okta.ParseDelivery(body)
	if err != nil {
		t.Fatalf("accepted a delivery that does not parse: %v", err)
	}
	if calls != 1 || events != d.Events {
		t.Errorf("observer got %d calls with %d events, want 1 call with %d", calls, events, d.Events)
	}
	if n := result.Recorded + result.Duplicates + result.TooOld; n != len(d.Removals) {
		t.Errorf("%d removals recorded, duplicate or too old, want all %d", n, len(d.Removals))
	}
}

func checkVerification(t *testing.T, challenge string, response []byte) {
	t.Helper()
	var got map[string]string
	if err := json.Unmarshal(response, &got); err != nil {
		t.Fatalf("verification response %q is not JSON: %v", response, err)
	}
	// encoding/json replaces each byte of invalid UTF-8 with U+FFFD, as the
	// conversion to runes does.
	if want := string([]rune(challenge)); got["verification"] != want {
		t.Errorf("verification %q, want the challenge %q", got["verification"], want)
	}
}
