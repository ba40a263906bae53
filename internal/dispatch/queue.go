package dispatch

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/burst"
)

// read takes new alerts from the shards' streams, as many as free capacity
// allows, and starts their delivery.
func (d *Dispatcher) read(ctx context.Context, shards []int) {
	free := d.free()
	if free <= 0 || ctx.Err() != nil {
		return
	}
	count := max(1, free/len(shards))

	pipe := d.rdb.Pipeline()
	cmds := make([]*redis.XStreamSliceCmd, len(shards))
	for i, shard := range shards {
		cmds[i] = pipe.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group:    burst.ConsumerGroup,
			Consumer: d.consumer,
			Streams:  []string{burst.StreamKey(shard), ">"},
			Count:    int64(count),
			Block:    -1,
		})
	}
	_, _ = pipe.Exec(ctx)

	for i, cmd := range cmds {
		streams, err := cmd.Result()
		switch {
		case err == redis.Nil || isNoGroup(err):
			continue
		case err != nil:
			if ctx.Err() == nil {
				d.pollError("failed to read alert stream", err, zap.Int("shard", shards[i]))
			}
			continue // the other shards' entries are this replica's now
		}
		for _, s := range streams {
			for _, msg := range s.Messages {
				d.start(shards[i], msg)
			}
		}
	}
}

// stillOwned renews this replica's claim on one entry and reports whether it
// still owns it. A replica cut off from Redis for longer than the claim
// timeout may have lost the entry to another replica, so it checks right
// before each send. The renewal gives the send a full claim timeout.
func (d *Dispatcher) stillOwned(ctx context.Context, shard int, id string) (bool, error) {
	lost, err := heartbeatScript.Run(ctx, d.rdb, []string{burst.StreamKey(shard)},
		burst.ConsumerGroup, d.consumer, id).StringSlice()
	if isNoGroup(err) {
		return false, nil // another replica delivered it and the emptied stream was deleted
	}
	if err != nil {
		return false, err
	}
	return len(lost) == 0, nil
}

// free returns how many more alerts this replica may take. MaxInFlight is
// a soft bound: one read may go past it by at most one alert per shard.
func (d *Dispatcher) free() int {
	return d.cfg.MaxInFlight - int(d.inFlight.Load())
}

// claimStale takes over alerts that another replica took and stopped
// renewing for longer than the claim timeout.
func (d *Dispatcher) claimStale(ctx context.Context) {
	free := d.free()
	if free <= 0 || ctx.Err() != nil {
		return
	}
	pipe := d.rdb.Pipeline()
	cmds := make([]*redis.XAutoClaimCmd, burst.Shards)
	for shard := range burst.Shards {
		cmds[shard] = pipe.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream:   burst.StreamKey(shard),
			Group:    burst.ConsumerGroup,
			Consumer: d.consumer,
			MinIdle:  d.cfg.ClaimTimeout,
			Start:    "0-0",
			Count:    int64(max(1, free/burst.Shards)),
		})
	}
	_, _ = pipe.Exec(ctx)

	for shard, cmd := range cmds {
		msgs, _, err := cmd.Result()
		switch {
		case err == redis.Nil || isNoGroup(err):
			continue
		case err != nil:
			if ctx.Err() == nil {
				d.pollError("failed to claim stale alerts", err, zap.Int("shard", shard))
			}
			continue
		}
		for _, msg := range msgs {
			d.log.Warn("took over alert from an unresponsive replica", zap.Int("shard", shard), zap.String("alert_entry", msg.ID))
			d.start(shard, msg)
		}
	}
}

// renewClaims resets the idle time of every alert this replica owns and
// stops the deliveries of alerts another replica took over.
func (d *Dispatcher) renewClaims(ctx context.Context) {
	byShard := make(map[int][]any)
	d.mu.Lock()
	for ref := range d.owned {
		byShard[ref.shard] = append(byShard[ref.shard], ref.id)
	}
	d.mu.Unlock()

	for shard, ids := range byShard {
		args := append([]any{burst.ConsumerGroup, d.consumer}, ids...)
		lost, err := heartbeatScript.Run(ctx, d.rdb, []string{burst.StreamKey(shard)}, args...).StringSlice()
		if isNoGroup(err) {
			lost, err = stringsOf(ids), nil // the stream is gone, so every entry was delivered elsewhere
		}
		if err != nil {
			if ctx.Err() == nil {
				d.pollError("failed to renew alert claims", err, zap.Int("shard", shard))
			}
			continue
		}
		for _, id := range lost {
			d.log.Warn("alert taken over by another replica; stopping its delivery here", zap.String("alert_entry", id))
			d.cancel(entryRef{shard: shard, id: id})
		}
	}
}

func stringsOf(values []any) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

func (d *Dispatcher) cancel(ref entryRef) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if cancel, ok := d.owned[ref]; ok {
		cancel()
	}
}

// finish acknowledges an entry, copying it to the dead-letter stream first
// when reason is not empty. It retries briefly because an entry left pending
// would be sent again by another replica.
func (d *Dispatcher) finish(shard int, msg redis.XMessage, reason, detail string) error {
	var ttl int64
	args := []any{burst.ConsumerGroup, msg.ID}
	if reason != "" {
		ttl = d.cfg.DeadLetterTTL.Milliseconds()
		args = append(args, ttl, "reason", reason, "error", detail, "entry_id", msg.ID)
		for k, v := range msg.Values {
			args = append(args, "alert_"+k, v)
		}
	} else {
		args = append(args, ttl)
	}
	keys := []string{burst.StreamKey(shard), burst.DeadLetterKey(shard)}

	var err error
	for attempt := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = finishScript.Run(ctx, d.rdb, keys, args...).Err()
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond) // short spacing between retries, not a wait for an outcome
	}
	return err
}
