package server

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
)

// readyTimeout bounds the store ping behind /readyz, well inside the
// one-second timeout that Kubernetes gives a probe by default.
const readyTimeout = 500 * time.Millisecond

// readiness serves /readyz and logs when its result changes, so an
// operator sees when and why a replica left the load balancer without a log
// line per probe.
type readiness struct {
	store    Pinger
	stopping *atomic.Bool
	log      *zap.Logger

	mu        sync.Mutex
	lastCause string
}

func (r *readiness) serve(c echo.Context) error {
	cause, reason := r.check(c.Request().Context())
	r.report(cause, reason)
	if reason != "" {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": reason})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// check returns why the replica should get no traffic: a stable cause
// ("shutting down" or "redis") and the reason with the error's detail. Both
// are "" when the replica is ready.
func (r *readiness) check(ctx context.Context) (cause, reason string) {
	if r.stopping.Load() {
		return "shutting down", "shutting down"
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := r.store.Ping(ctx); err != nil {
		return "redis", "redis: " + err.Error()
	}
	return "", ""
}

// report logs a change of cause only: an error's text changes from probe to
// probe (a local port, a timeout) while the cause stays the same.
func (r *readiness) report(cause, reason string) {
	r.mu.Lock()
	changed := cause != r.lastCause
	r.lastCause = cause
	r.mu.Unlock()
	if !changed {
		return
	}
	if cause == "" {
		r.log.Info("ready again")
		return
	}
	r.log.Warn("not ready", zap.String("reason", reason))
}
