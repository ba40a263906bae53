// Package hook serves Okta's Event Hook endpoint: the one-time verification
// GET and the POST deliveries of System Log events.
package hook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/logging"
	"github.com/oktawatch/oktawatch/internal/okta"
)

// Path is the URL path of Okta's verification requests and deliveries.
const Path = "/okta/events"

// ChallengeHeader carries Okta's verification challenge.
const ChallengeHeader = "X-Okta-Verification-Challenge"

// recordTimeout keeps the response to Okta inside its 3 s wait even when
// Redis is slow, so a failed write gets a 503 that Okta retries.
const recordTimeout = 2 * time.Second

// Recorder stores removals and queues the alerts they complete.
type Recorder interface {
	Record(ctx context.Context, removals []okta.Removal, source alert.Source) (burst.Result, error)
}

// Observer receives what the handler did, for metrics. Every method must be
// safe for concurrent use.
type Observer interface {
	Delivery(events int, skipped map[okta.SkipReason]int, result burst.Result)
}

// Config is the handler's settings.
type Config struct {
	AuthHeader   string
	AuthSecret   string
	MaxBodyBytes int64
}

// Handler serves Path.
type Handler struct {
	cfg      Config
	secret   [sha256.Size]byte
	recorder Recorder
	observer Observer
	log      *zap.Logger
	// rejections throttles the warning for failed authentication, which
	// anyone who can reach the endpoint can trigger at will.
	rejections *logging.Throttle
	// bodyBytes is the body size reserved by deliveries under way; it
	// bounds the memory that many large deliveries at once can take.
	bodyBytes      atomic.Int64
	bodyBytesLimit int64
}

// minBodyBytesInFlight is the smallest budget for the bodies of deliveries
// under way; the budget is at least four maximum-size bodies.
const minBodyBytesInFlight = 64 << 20

// New returns a Handler. observer may be nil.
func New(cfg Config, recorder Recorder, observer Observer, log *zap.Logger) *Handler {
	return &Handler{
		cfg:        cfg,
		secret:     sha256.Sum256([]byte(cfg.AuthSecret)),
		recorder:   recorder,
		observer:   observer,
		log:        log,
		rejections: logging.NewThrottle(10 * time.Second),

		bodyBytesLimit: max(minBodyBytesInFlight, 4*cfg.MaxBodyBytes),
	}
}

// Register adds the endpoint's routes to e.
func (h *Handler) Register(e *echo.Echo) {
	// Per-route middleware, not a group, because a group responds to every
	// other method with 404 where 405 is right.
	e.GET(Path, h.verify, h.authenticate)
	e.POST(Path, h.deliver, h.authenticate)
}

// authenticate compares the configured header with the secret in constant
// time. Both sides are hashed first so that the comparison does not leak the
// secret's length either.
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		values := c.Request().Header.Values(h.cfg.AuthHeader)
		if len(values) == 1 {
			presented := sha256.Sum256([]byte(values[0]))
			if subtle.ConstantTimeCompare(presented[:], h.secret[:]) == 1 {
				return next(c)
			}
		}
		if ok, suppressed := h.rejections.Allow("auth"); ok {
			h.log.Warn("rejected request with missing or wrong auth header",
				zap.String("header", h.cfg.AuthHeader), zap.Int("values", len(values)),
				zap.String("remote_ip", c.RealIP()), zap.String("method", c.Request().Method),
				zap.Int("similar_lines_suppressed", suppressed))
		}
		return echo.NewHTTPError(http.StatusUnauthorized, "missing or invalid "+h.cfg.AuthHeader+" header")
	}
}

// verify returns Okta's one-time verification challenge in a JSON body.
func (h *Handler) verify(c echo.Context) error {
	values := c.Request().Header.Values(ChallengeHeader)
	switch {
	case len(values) == 0:
		return echo.NewHTTPError(http.StatusBadRequest, "missing "+ChallengeHeader+" header; only Okta's verification request uses GET")
	case len(values) > 1 || values[0] == "":
		return echo.NewHTTPError(http.StatusBadRequest, "expected exactly one non-empty "+ChallengeHeader+" header")
	}
	c.Response().Header().Set("X-Content-Type-Options", "nosniff")

	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]string{"verification": values[0]}); err != nil {
		return err
	}
	h.log.Info("responded to okta verification challenge")
	return c.JSONBlob(http.StatusOK, bytes.TrimRight(body.Bytes(), "\n"))
}

// deliver records the removals of one delivery. Okta gets its response as soon
// as Redis has them: alerts go through the queue, so nothing here waits for
// Slack.
func (h *Handler) deliver(c echo.Context) error {
	release, err := h.reserveBody(c.Request())
	if err != nil {
		return err
	}
	defer release()

	body, err := h.readBody(c)
	if err != nil {
		return err
	}

	delivery, err := okta.ParseDelivery(body)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	h.logSkipped(delivery)

	ctx, cancel := context.WithTimeout(c.Request().Context(), recordTimeout)
	defer cancel()
	result, err := h.recorder.Record(ctx, delivery.Removals, alert.SourceHook)
	if err != nil {
		h.log.Error("failed to record removals; responding 503 so okta retries",
			zap.String("delivery_id", delivery.EventID), zap.Int("removals", len(delivery.Removals)), zap.Error(err))
		return echo.NewHTTPError(http.StatusServiceUnavailable, "removals could not be recorded; retry later")
	}

	h.logRecorded(delivery, result)
	if h.observer != nil {
		h.observer.Delivery(delivery.Events, delivery.SkippedByReason, result)
	}
	return c.NoContent(http.StatusOK)
}

func (h *Handler) readBody(c echo.Context) ([]byte, error) {
	req := c.Request()
	if req.ContentLength > h.cfg.MaxBodyBytes {
		return nil, tooLarge(h.cfg.MaxBodyBytes)
	}
	// A declared length sizes the buffer once instead of letting it double
	// its way up, which would hold up to twice the body in memory.
	buf := bytes.NewBuffer(make([]byte, 0, max(req.ContentLength, 0)+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Response(), req.Body, h.cfg.MaxBodyBytes))
	body := buf.Bytes()
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, tooLarge(h.cfg.MaxBodyBytes)
	case err != nil:
		return nil, echo.NewHTTPError(http.StatusBadRequest, "failed to read request body: "+err.Error())
	}
	return body, nil
}

// reserveBody counts the request's body, by its declared length or the
// maximum when it is streamed, against the budget for deliveries under way,
// and responds with 503 when the budget is spent, so Okta retries later.
func (h *Handler) reserveBody(req *http.Request) (func(), error) {
	size := req.ContentLength
	if size < 0 || size > h.cfg.MaxBodyBytes {
		size = h.cfg.MaxBodyBytes
	}
	if h.bodyBytes.Add(size) > h.bodyBytesLimit {
		h.bodyBytes.Add(-size)
		if ok, suppressed := h.rejections.Allow("busy"); ok {
			h.log.Warn("rejected delivery: too many large deliveries under way",
				zap.Int64("budget_bytes", h.bodyBytesLimit), zap.Int("similar_lines_suppressed", suppressed))
		}
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "too many large deliveries under way; retry later")
	}
	return func() { h.bodyBytes.Add(-size) }, nil
}

func tooLarge(limit int64) error {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
		"request body exceeds the limit of "+formatBytes(limit)+" set by OKTAWATCH_MAX_BODY_BYTES")
}

// logSkipped warns once per malformed event, for the first
// okta.MaxSkippedDetails of a delivery, then once with the counts of all.
func (h *Handler) logSkipped(d okta.Delivery) {
	malformed := 0
	for reason, n := range d.SkippedByReason {
		if !(okta.Skipped{Reason: reason}).Expected() {
			malformed += n
		}
	}
	logged := 0
	for _, s := range d.Skipped {
		if s.Expected() {
			continue
		}
		logged++
		h.log.Warn("skipped malformed event", zap.String("event_uuid", s.UUID),
			zap.String("reason", string(s.Reason)), zap.String("detail", s.Detail), zap.String("delivery_id", d.EventID))
	}
	if malformed > logged {
		h.log.Warn("skipped more malformed events than are logged one by one", zap.String("delivery_id", d.EventID),
			zap.Int("not_logged", malformed-logged), zap.Any("skipped_by_reason", d.SkippedByReason))
	}
}

func (h *Handler) logRecorded(d okta.Delivery, res burst.Result) {
	logged := make(map[string]bool, len(res.New))
	for _, r := range d.Removals {
		key := r.GroupID + "\x00" + r.EventID
		if !res.IsNew(r.GroupID, r.EventID) || logged[key] {
			continue // recorded before, or repeated within this delivery
		}
		logged[key] = true
		h.log.Info("removal recorded", zap.String("event_uuid", r.EventID), zap.String("group_id", r.GroupID),
			zap.String("group_name", r.GroupName), zap.String("user_id", r.UserID), zap.String("user_login", r.UserLogin),
			zap.String("actor_id", r.Actor.ID), zap.String("actor_login", r.Actor.Login), zap.Time("published", r.Published))
	}
	if res.Duplicates > 0 || res.TooOld > 0 || res.Future > 0 {
		h.log.Info("removals not counted", zap.String("delivery_id", d.EventID), zap.Int("duplicates", res.Duplicates),
			zap.Int("too_old", res.TooOld), zap.Int("published_in_future", res.Future))
	}
	for _, a := range res.Alerts {
		h.log.Info("burst detected", zap.String("group_id", a.GroupID), zap.Int("count", a.Count), zap.String("alert_entry", a.EntryID))
	}
}
