package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/timeutil"
)

// start delivers one entry in its own goroutine. Its context is not the
// dispatcher's: a delivery under way outlives the stop of reading and ends
// only when it is done, handed back, or taken over by another replica.
func (d *Dispatcher) start(shard int, msg redis.XMessage) {
	ref := entryRef{shard: shard, id: msg.ID}
	ctx, cancel := context.WithCancel(context.Background())
	if !d.track(ref, cancel) {
		cancel()
		return
	}
	d.inFlight.Add(1)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.inFlight.Add(-1)
		defer d.untrack(ref)
		defer cancel()
		d.deliver(ctx, shard, msg)
	}()
}

func (d *Dispatcher) deliver(ctx context.Context, shard int, msg redis.XMessage) {
	a, err := burst.ParseEntry(shard, msg.ID, msg.Values)
	if err != nil {
		d.log.Error("invalid alert entry in redis; moving it to the dead-letter stream",
			zap.Int("shard", shard), zap.String("alert_entry", msg.ID), zap.Error(err))
		d.deadLetter(shard, msg, a, "invalid_entry", err.Error())
		return
	}
	log := d.log.With(zap.String("alert_id", a.ID), zap.String("group_id", a.GroupID), zap.String("kind", string(a.Kind)))

	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = d.cfg.MinBackoff
	bo.MaxInterval = d.cfg.MaxBackoff
	for attempt := 1; ; attempt++ {
		if age := d.now().Sub(a.DetectedAt); age > d.cfg.MaxAge {
			log.Error("alert undelivered past its maximum age; moving it to the dead-letter stream", zap.Duration("age", age))
			d.deadLetter(shard, msg, a, "max_age", "undelivered after "+age.Round(time.Second).String())
			return
		}
		if err := d.waitForSendSlot(ctx); err != nil {
			return
		}
		owned, err := d.stillOwned(ctx, shard, msg.ID)
		switch {
		case err != nil:
			log.Warn("could not confirm ownership of the alert before sending; retrying", zap.Error(err))
			if timeutil.Sleep(ctx, bo.NextBackOff()) != nil {
				return
			}
			continue
		case !owned:
			log.Warn("alert taken over by another replica before sending; leaving it to that replica")
			return
		}

		err = d.notifier.Notify(ctx, a)
		if err == nil {
			d.succeed(shard, msg, a, log, attempt)
			return
		}
		if ctx.Err() != nil {
			return
		}

		label, permanent, wait := d.classify(err, bo)
		if d.observer != nil {
			d.observer.Failed(a, label)
		}
		if permanent {
			log.Error("alert rejected; moving it to the dead-letter stream", zap.String("reason", label), zap.Error(err))
			d.deadLetter(shard, msg, a, label, err.Error())
			return
		}
		log.Warn("alert delivery failed; retrying", zap.String("reason", label), zap.Int("attempt", attempt),
			zap.Duration("retry_in", wait), zap.Error(err))
		if timeutil.Sleep(ctx, wait) != nil {
			return
		}
	}
}

func (d *Dispatcher) succeed(shard int, msg redis.XMessage, a alert.Alert, log *zap.Logger, attempts int) {
	if d.observer != nil {
		d.observer.Sent(a)
	}
	log.Info("alert sent", zap.Int("count", a.Count), zap.Int("attempts", attempts))
	if err := d.finish(shard, msg, "", ""); err != nil {
		log.Error("alert sent but not acknowledged; another replica may send it again", zap.Error(err))
	}
}

func (d *Dispatcher) deadLetter(shard int, msg redis.XMessage, a alert.Alert, reason, detail string) {
	if d.observer != nil {
		d.observer.DeadLettered(a, reason)
	}
	if err := d.finish(shard, msg, reason, detail); err != nil {
		d.log.Error("failed to move alert to the dead-letter stream", zap.String("alert_entry", msg.ID), zap.Error(err))
	}
}

// classify turns a notifier error into a metric label, whether to give up,
// and how long to wait before the next attempt.
func (d *Dispatcher) classify(err error, bo *backoff.ExponentialBackOff) (string, bool, time.Duration) {
	var f Failure
	if !errors.As(err, &f) {
		return "error", false, bo.NextBackOff()
	}
	if f.Permanent() {
		return f.Label(), true, 0
	}
	if wait := f.Retry(); wait > 0 {
		return f.Label(), false, min(wait, d.cfg.MaxRetryAfter)
	}
	return f.Label(), false, bo.NextBackOff()
}

// waitForSendSlot blocks until this replica holds the shared send slot, a
// Redis key that at most one send per SendInterval can set.
func (d *Dispatcher) waitForSendSlot(ctx context.Context) error {
	for {
		ok, err := d.rdb.SetNX(ctx, d.cfg.RateKey, d.consumer, d.cfg.SendInterval).Result()
		if err == nil && ok {
			return nil
		}
		wait := d.cfg.SendInterval
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.log.Warn("failed to take the send slot; retrying", zap.Error(err))
		} else if ttl, err := d.rdb.PTTL(ctx, d.cfg.RateKey).Result(); err == nil && ttl > 0 {
			wait = ttl
		}
		if timeutil.Sleep(ctx, wait) != nil {
			return ctx.Err()
		}
	}
}
