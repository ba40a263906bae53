// Package logging holds helpers shared by the service's zap loggers.
package logging

import (
	"sync"
	"time"
)

// Throttle lets one log line per key through per interval and counts the
// lines it held back, so a failure that repeats every poll is logged with
// how often it happened instead of flooding the log.
type Throttle struct {
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	seen map[string]*throttleEntry
}

type throttleEntry struct {
	last       time.Time
	suppressed int
}

// NewThrottle returns a Throttle that allows one line per key per interval.
func NewThrottle(interval time.Duration) *Throttle {
	return &Throttle{interval: interval, now: time.Now, seen: make(map[string]*throttleEntry)}
}

// Allow reports whether a line for key may be written now, and how many
// lines for key were held back since the last one written.
func (t *Throttle) Allow(key string) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	e, ok := t.seen[key]
	if !ok {
		if len(t.seen) > 1000 {
			clear(t.seen) // bounds memory when keys carry varying text
		}
		t.seen[key] = &throttleEntry{last: now}
		return true, 0
	}
	if now.Sub(e.last) < t.interval {
		e.suppressed++
		return false, 0
	}
	suppressed := e.suppressed
	e.last, e.suppressed = now, 0
	return true, suppressed
}
