package poller

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// LeaseKey is the Redis key of the polling lease. Its value is the owner
// name of the replica that polls. The lease and the cursors share the hash
// tag {systemlog}, so the script that checks the lease and writes a cursor
// touches one Redis Cluster slot.
const LeaseKey = "oktawatch:{systemlog}:lease"

const cursorKeyPrefix = "oktawatch:{systemlog}:cursor:"

// CursorKey returns the key of the stored cursor for the org at orgURL.
func CursorKey(orgURL string) string {
	host := orgURL
	if u, err := url.Parse(orgURL); err == nil && u.Host != "" {
		host = u.Host
	}
	return cursorKeyPrefix + strings.ToLower(host)
}

var (
	// renewScript extends the lease only while this replica still holds it,
	// so a replica that paused past the TTL cannot extend another's lease.
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

	// releaseScript deletes the lease only while this replica holds it.
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

	// saveCursorScript writes the cursor and extends the lease, but only
	// while this replica holds the lease. A replica that lost the lease in
	// the middle of a poll thus cannot move the cursor of the new leader
	// back to an older page.
	saveCursorScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`)
)

// lease is the Redis lock that lets one replica poll at a time.
type lease struct {
	rdb   redis.UniversalClient
	owner string
	ttl   time.Duration
}

func (l *lease) acquire(ctx context.Context) (bool, error) {
	ok, err := l.rdb.SetNX(ctx, LeaseKey, l.owner, l.ttl).Result()
	if err != nil {
		return false, fmt.Errorf("acquire system log lease: %w", err)
	}
	return ok, nil
}

func (l *lease) renew(ctx context.Context) (bool, error) {
	n, err := renewScript.Run(ctx, l.rdb, []string{LeaseKey}, l.owner, l.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew system log lease: %w", err)
	}
	return n == 1, nil
}

func (l *lease) release(ctx context.Context) error {
	if err := releaseScript.Run(ctx, l.rdb, []string{LeaseKey}, l.owner).Err(); err != nil {
		return fmt.Errorf("release system log lease: %w", err)
	}
	return nil
}

// holdLease renews the lease this replica holds, or takes it when it is
// free, and reports whether this replica holds it now.
func (p *Poller) holdLease(ctx context.Context) bool {
	var held bool
	var err error
	if p.leader {
		held, err = p.lease.renew(ctx)
	}
	if !held && err == nil {
		held, err = p.lease.acquire(ctx)
	}
	p.reportLeaseError(ctx, err)
	if err != nil {
		held = false
	}

	switch {
	case held && !p.leader:
		p.log.Info("took over system log polling", zap.String("owner", p.cfg.Owner))
		p.nextPoll = time.Time{}
		p.backOff.Reset()
	case !held && p.leader:
		p.log.Warn("lost system log lease; another replica polls now", zap.String("owner", p.cfg.Owner))
	}
	p.leader = held
	p.metrics.leaseHeld.Set(boolToFloat(held))
	return held
}

// reportLeaseError logs the first failure and the recovery, not every
// heartbeat in between, so an unreachable Redis does not flood the log.
func (p *Poller) reportLeaseError(ctx context.Context, err error) {
	switch {
	case err != nil && ctx.Err() == nil && !p.leaseFailing:
		p.log.Warn("system log lease check failed; polling is paused until redis is reachable", zap.Error(err))
		p.leaseFailing = true
	case err == nil && p.leaseFailing:
		p.log.Info("system log lease check works again")
		p.leaseFailing = false
	}
}

func boolToFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// cursorStore keeps the next link of the last recorded page in Redis.
type cursorStore struct {
	rdb      redis.UniversalClient
	key      string
	owner    string
	ttl      time.Duration
	leaseTTL time.Duration
}

// load returns the stored cursor, or "" when there is none.
func (c *cursorStore) load(ctx context.Context) (string, error) {
	cursor, err := c.rdb.Get(ctx, c.key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read system log cursor %s: %w", c.key, err)
	}
	return cursor, nil
}

// save stores next and reports false when this replica no longer holds the
// lease, in which case nothing was written.
func (c *cursorStore) save(ctx context.Context, next string) (bool, error) {
	n, err := saveCursorScript.Run(ctx, c.rdb, []string{LeaseKey, c.key},
		c.owner, next, c.ttl.Milliseconds(), c.leaseTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("save system log cursor %s: %w", c.key, err)
	}
	return n == 1, nil
}

// remove deletes a cursor that cannot be used, so the next poll starts from
// the lookback.
func (c *cursorStore) remove(ctx context.Context) error {
	if err := c.rdb.Del(ctx, c.key).Err(); err != nil {
		return fmt.Errorf("delete system log cursor %s: %w", c.key, err)
	}
	return nil
}
