// Package dispatch delivers queued burst alerts from the Redis streams to a
// notifier, once per alert, across all replicas.
//
// Every replica runs a Dispatcher. An alert is taken with XREADGROUP, so one
// consumer owns it. The owner renews its claim while it works and
// acknowledges only after the notifier succeeded. An alert whose owner died
// or hung is claimed by another replica with XAUTOCLAIM once it has been idle
// for the claim timeout. The only way to a duplicate post is a crash between
// the notifier's success and the acknowledgement.
package dispatch

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/logging"
)

// Notifier sends one alert. Its error may implement Failure.
type Notifier interface {
	Notify(ctx context.Context, a alert.Alert) error
}

// Failure is a classified notifier error.
type Failure interface {
	error
	// Permanent reports that retrying cannot succeed.
	Permanent() bool
	// Retry returns how long the destination asked to wait, or 0.
	Retry() time.Duration
	// Label names the failure for logs and metrics, such as "rate_limited".
	Label() string
}

// FollowUps ends due cooldown periods and queues their follow-up alerts.
type FollowUps interface {
	RunDueFollowUps(ctx context.Context) ([]burst.Enqueued, error)
}

// Observer receives delivery outcomes, for metrics. It may be nil.
type Observer interface {
	Sent(a alert.Alert)
	Failed(a alert.Alert, reason string)
	DeadLettered(a alert.Alert, reason string)
}

// Config is the dispatcher's settings.
type Config struct {
	// ClaimTimeout is how long an alert may sit unrenewed before another
	// replica takes it over.
	ClaimTimeout time.Duration
	// MaxRetryAfter caps the wait that a 429 response requests.
	MaxRetryAfter time.Duration
	// MaxAge is how long after detection an alert is dead-lettered undelivered.
	MaxAge time.Duration
	// SendInterval is the minimum time between two sends by all replicas
	// together: Slack accepts about one message per second per webhook.
	SendInterval time.Duration
	// PollInterval is how often the dispatcher looks for new alerts from
	// other replicas, claimable alerts and due follow-ups.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff after a
	// temporary failure without a Retry-After.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxInFlight bounds the alerts one replica owns at a time.
	MaxInFlight int
	// DeadLetterTTL is how long dead-lettered alerts are kept.
	DeadLetterTTL time.Duration
	// RateKey is the Redis key that spaces sends across replicas.
	RateKey string
}

// DefaultConfig returns the settings the service uses unless configured.
func DefaultConfig() Config {
	return Config{
		ClaimTimeout:  30 * time.Second,
		MaxRetryAfter: 5 * time.Minute,
		MaxAge:        24 * time.Hour,
		SendInterval:  time.Second,
		PollInterval:  time.Second,
		MinBackoff:    time.Second,
		MaxBackoff:    time.Minute,
		MaxInFlight:   64,
		DeadLetterTTL: 7 * 24 * time.Hour,
		RateKey:       "oktawatch:slack:send-slot",
	}
}

// Dispatcher delivers alerts. Create it with New and start it with Run.
type Dispatcher struct {
	rdb       redis.UniversalClient
	notifier  Notifier
	followUps FollowUps
	observer  Observer
	cfg       Config
	consumer  string
	log       *zap.Logger
	throttle  *logging.Throttle
	now       func() time.Time

	kick     chan int
	inFlight atomic.Int64

	mu    sync.Mutex
	owned map[entryRef]context.CancelFunc
	wg    sync.WaitGroup
}

type entryRef struct {
	shard int
	id    string
}

// New returns a Dispatcher. followUps and observer may be nil.
func New(rdb redis.UniversalClient, n Notifier, f FollowUps, o Observer, cfg Config, log *zap.Logger) *Dispatcher {
	host, _ := os.Hostname()
	return &Dispatcher{
		rdb:       rdb,
		notifier:  n,
		followUps: f,
		observer:  o,
		cfg:       cfg,
		consumer:  fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()%1e6),
		log:       log,
		throttle:  logging.NewThrottle(10 * time.Second),
		now:       time.Now,
		kick:      make(chan int, burst.Shards),
		owned:     make(map[entryRef]context.CancelFunc),
	}
}

// InFlight returns how many alerts this replica is delivering now.
func (d *Dispatcher) InFlight() int { return int(d.inFlight.Load()) }

// Kick makes the dispatcher read a shard now rather than at the next poll,
// so an alert queued by this replica is sent without delay.
func (d *Dispatcher) Kick(shard int) {
	select {
	case d.kick <- shard:
	default:
	}
}

// Run reads and delivers alerts until ctx ends. It then stops taking alerts,
// lets deliveries under way finish until drainCtx ends, and hands the rest
// back to the queue so another replica sends them.
func (d *Dispatcher) Run(ctx, drainCtx context.Context) {
	d.log.Info("dispatcher started", zap.String("consumer", d.consumer))
	ticker := time.NewTicker(d.cfg.PollInterval)
	defer ticker.Stop()
	renewCtx, stopRenew := context.WithCancel(context.Background())
	renewDone := make(chan struct{})
	go func() { d.renewLoop(renewCtx); close(renewDone) }()

	d.poll(ctx)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case shard := <-d.kick:
			d.read(ctx, []int{shard})
		case <-ticker.C:
			d.poll(ctx)
		}
	}
	d.drain(drainCtx, func() { stopRenew(); <-renewDone })
}

// renewLoop renews claims on its own schedule, so that a slow read or poll
// never lets this replica's alerts look abandoned. It runs until every
// delivery has ended, because deliveries outlive the stop of reading.
func (d *Dispatcher) renewLoop(ctx context.Context) {
	ticker := time.NewTicker(d.cfg.ClaimTimeout / 3)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			d.renewClaims(ctx)
		}
	}
}

func (d *Dispatcher) poll(ctx context.Context) {
	if d.followUps != nil {
		queued, err := d.followUps.RunDueFollowUps(ctx)
		if err != nil && ctx.Err() == nil {
			d.pollError("failed to run due follow-ups", err)
		}
		for _, q := range queued {
			d.log.Info("follow-up queued", zap.String("group_id", q.GroupID), zap.String("alert_entry", q.EntryID))
		}
	}
	d.claimStale(ctx)
	d.read(ctx, allShards())
}

func allShards() []int {
	shards := make([]int, burst.Shards)
	for i := range shards {
		shards[i] = i
	}
	return shards
}

// drain waits for deliveries under way until drainCtx ends, then cancels
// them. Their entries stay pending and are marked idle, so the next replica
// claims them at once.
func (d *Dispatcher) drain(drainCtx context.Context, stopRenewing func()) {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		stopRenewing()
	case <-drainCtx.Done():
		// Renewal stops first, or its next tick would reset the idle time
		// that hands the alerts over at once.
		stopRenewing()
		handed := d.handBack()
		<-done
		d.log.Info("handed undelivered alerts back to the queue", zap.Int("count", handed))
	}
	d.log.Info("dispatcher stopped")
}

func (d *Dispatcher) handBack() int {
	d.mu.Lock()
	refs := make([]entryRef, 0, len(d.owned))
	for ref, cancel := range d.owned {
		cancel()
		refs = append(refs, ref)
	}
	d.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	idle := d.cfg.ClaimTimeout
	for _, ref := range refs {
		err := d.rdb.Do(ctx, "XCLAIM", burst.StreamKey(ref.shard), burst.ConsumerGroup, d.consumer, 0, ref.id,
			"IDLE", idle.Milliseconds(), "JUSTID").Err()
		if err != nil {
			d.log.Warn("failed to mark alert for takeover; another replica claims it after the claim timeout",
				zap.String("alert_entry", ref.id), zap.Error(err))
		}
	}
	return len(refs)
}

// pollError logs a failure of the periodic work at most once per message
// every ten seconds, because it repeats every poll while Redis is down.
func (d *Dispatcher) pollError(msg string, err error, fields ...zap.Field) {
	ok, suppressed := d.throttle.Allow(msg)
	if !ok {
		return
	}
	fields = append(fields, zap.Error(err), zap.Int("similar_lines_suppressed", suppressed))
	d.log.Error(msg, fields...)
}

func isNoGroup(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOGROUP")
}

func (d *Dispatcher) track(ref entryRef, cancel context.CancelFunc) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.owned[ref]; ok {
		return false
	}
	d.owned[ref] = cancel
	return true
}

func (d *Dispatcher) untrack(ref entryRef) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.owned, ref)
}
