package store

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/logging"
)

// redisLogger sends go-redis's own messages, such as failed dials during an
// outage, to the service's zap logger instead of plain text on stderr, at
// most one line per message format every ten seconds.
type redisLogger struct {
	log      *zap.Logger
	throttle *logging.Throttle
}

func newRedisLogger(log *zap.Logger) *redisLogger {
	return &redisLogger{log: log, throttle: logging.NewThrottle(10 * time.Second)}
}

// Printf implements go-redis's internal logging interface.
func (l *redisLogger) Printf(_ context.Context, format string, args ...any) {
	ok, suppressed := l.throttle.Allow(format)
	if !ok {
		return
	}
	l.log.Warn("redis client: "+fmt.Sprintf(format, args...), zap.Int("similar_lines_suppressed", suppressed))
}
