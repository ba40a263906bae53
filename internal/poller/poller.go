// Package poller reads Okta's System Log for group-membership removals that
// the Event Hook did not deliver, and records them like hook deliveries.
//
// Okta delivers each hook event at most twice and then drops it, so the
// System Log is the only complete record. One replica at a time polls it,
// chosen by a lease in Redis. The poller stores the System Log's next link in
// Redis as its cursor, and writes it only after the page's removals were
// recorded. A replica that takes over resumes from that cursor, and a page
// read twice changes nothing because the detector counts each event uuid
// once.
package poller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/oktaapi"
	"github.com/oktawatch/oktawatch/internal/timeutil"
)

// Defaults for the Config fields left at zero.
const (
	DefaultLeaseTTL         = 30 * time.Second
	DefaultCursorTTL        = 7 * 24 * time.Hour
	DefaultMaxPagesPerPoll  = 10
	DefaultRateLimitReserve = 10
)

// maxBackOffFactor caps the wait after repeated failed polls at this many
// poll intervals.
const maxBackOffFactor = 8

// Recorder stores removals and queues the alerts they complete.
type Recorder interface {
	Record(ctx context.Context, removals []okta.Removal, source alert.Source) (burst.Result, error)
}

// LogReader fetches one page of the System Log; *oktaapi.Client is one.
type LogReader interface {
	Logs(ctx context.Context, pageURL string) (oktaapi.LogPage, error)
}

// Config holds the poller's settings.
type Config struct {
	// Interval is the time between polls once the poller has caught up.
	Interval time.Duration
	// Lookback is how far back the first poll starts when Redis stores no
	// cursor.
	Lookback time.Duration
	// LeaseTTL is how long the lease lasts after its last renewal. Replicas
	// check the lease every third of it, so another replica takes over at
	// most 4/3 LeaseTTL after the holder stops renewing.
	LeaseTTL time.Duration
	// CursorTTL is how long the cursor is kept after the last poll. A
	// poller that was off for longer starts again from Lookback.
	CursorTTL time.Duration
	// PageLimit is the number of events requested per page, at most
	// oktaapi.MaxLogsLimit.
	PageLimit int
	// MaxPagesPerPoll bounds one poll. The pages left over are read by the
	// next poll, one interval later, so a backlog does not use up the
	// org's System Log rate limit, which other integrations share.
	MaxPagesPerPoll int
	// RateLimitReserve is the number of requests left in Okta's rate-limit
	// window at or below which the poller waits for the window to reset.
	RateLimitReserve int
	// Org is the Okta org URL. The cursor is stored per org, because a next
	// link of one org is invalid on another.
	Org string
	// Owner names this replica in the lease. New generates a unique name
	// when it is empty.
	Owner string
}

func (c Config) withDefaults() Config {
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.CursorTTL <= 0 {
		c.CursorTTL = DefaultCursorTTL
	}
	if c.PageLimit <= 0 || c.PageLimit > oktaapi.MaxLogsLimit {
		c.PageLimit = oktaapi.MaxLogsLimit
	}
	if c.MaxPagesPerPoll <= 0 {
		c.MaxPagesPerPoll = DefaultMaxPagesPerPoll
	}
	if c.RateLimitReserve <= 0 {
		c.RateLimitReserve = DefaultRateLimitReserve
	}
	if c.Owner == "" {
		c.Owner = newOwner()
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("poller: interval must be positive, got %s", c.Interval))
	}
	if c.Lookback <= 0 {
		errs = append(errs, fmt.Errorf("poller: lookback must be positive, got %s", c.Lookback))
	}
	if c.Org == "" {
		errs = append(errs, errors.New("poller: org URL is empty"))
	}
	return errors.Join(errs...)
}

// newOwner returns the host name, process id and a random suffix, so that
// two replicas never share a lease owner and an operator can tell which
// host holds it.
func newOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(suffix))
}

// Poller polls the System Log while this replica holds the lease.
type Poller struct {
	cfg     Config
	logs    LogReader
	rec     Recorder
	lease   *lease
	cursor  *cursorStore
	metrics *metrics
	log     *zap.Logger
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error

	// The fields below are used only by the goroutine that runs Run.
	leader       bool
	leaseFailing bool
	nextPoll     time.Time
	backOff      *backoff.ExponentialBackOff
}

// Option changes a Poller built by New.
type Option func(*Poller)

// WithClock sets the clock that schedules polls and rate-limit waits.
func WithClock(now func() time.Time) Option {
	return func(p *Poller) { p.now = now }
}

// WithSleep sets the function that waits between steps of Run. It must
// return an error when ctx ends.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(p *Poller) { p.sleep = sleep }
}

// New returns a Poller. It registers the poller's metrics on reg unless reg
// is nil.
func New(cfg Config, rdb redis.UniversalClient, logs LogReader, rec Recorder, log *zap.Logger,
	reg prometheus.Registerer, opts ...Option) (*Poller, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}

	p := &Poller{
		cfg:     cfg,
		logs:    logs,
		rec:     rec,
		lease:   &lease{rdb: rdb, owner: cfg.Owner, ttl: cfg.LeaseTTL},
		cursor:  &cursorStore{rdb: rdb, key: CursorKey(cfg.Org), owner: cfg.Owner, ttl: cfg.CursorTTL, leaseTTL: cfg.LeaseTTL},
		metrics: m,
		log:     log,
		now:     time.Now,
		sleep:   timeutil.Sleep,
		backOff: newBackOff(cfg.Interval),
	}
	for _, opt := range opts {
		opt(p)
	}
	return p, nil
}

// newBackOff returns the waits after failed polls: one interval, doubling
// up to maxBackOffFactor intervals, each with ±50 % jitter so that replicas
// restarted together do not retry together.
func newBackOff(interval time.Duration) *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = interval
	b.Multiplier = 2
	b.MaxInterval = maxBackOffFactor * interval
	b.Reset()
	return b
}

// Start runs Run in a goroutine and returns a function that stops it and
// waits until the lease is released. On a nil Poller, which FromConfig
// returns when polling is off, it does nothing.
func (p *Poller) Start(ctx context.Context) (stop func()) {
	if p == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Run takes the lease when it is free and polls while it holds it, until
// ctx ends. It then releases the lease so that another replica takes over
// at once. Errors do not end Run, because Okta and Redis failures are
// logged and retried.
func (p *Poller) Run(ctx context.Context) {
	p.log.Info("system log poller started", zap.String("owner", p.cfg.Owner),
		zap.Duration("interval", p.cfg.Interval), zap.Duration("lease_ttl", p.cfg.LeaseTTL))
	defer p.stop()

	var wait time.Duration
	for p.sleep(ctx, wait) == nil {
		wait = p.step(ctx)
	}
}

// step keeps or takes the lease, polls when a poll is due, and returns how
// long to wait before the next step.
func (p *Poller) step(ctx context.Context) time.Duration {
	heartbeat := p.cfg.LeaseTTL / 3
	if !p.holdLease(ctx) {
		return heartbeat
	}
	if p.now().Before(p.nextPoll) {
		return min(heartbeat, p.nextPoll.Sub(p.now()))
	}

	p.pollAndSchedule(ctx)
	return max(0, min(heartbeat, p.nextPoll.Sub(p.now())))
}

// stop releases the lease with a context of its own, because Run's context
// has already ended.
func (p *Poller) stop() {
	if p.leader {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := p.lease.release(ctx); err != nil {
			p.log.Warn("release system log lease failed; another replica takes over when it expires",
				zap.Duration("lease_ttl", p.cfg.LeaseTTL), zap.Error(err))
		}
		p.leader = false
		p.metrics.leaseHeld.Set(0)
	}
	p.log.Info("system log poller stopped", zap.String("owner", p.cfg.Owner))
}
