package burst

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/alert"
)

// maxDuePerShard bounds the follow-ups one call ends per shard, so a backlog
// is worked off over several calls instead of in one long pipeline.
const maxDuePerShard = 100

// RunDueFollowUps ends every cooldown period that is over, on all shards, and
// queues a follow-up alert for each burst that went on during its period. Any
// replica may call it at any time: the script checks and moves each schedule
// entry atomically, so a period ends once.
func (d *Detector) RunDueFollowUps(ctx context.Context) ([]Enqueued, error) {
	now, err := d.rdb.Time(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("read redis time: %w", err)
	}

	pipe := d.rdb.Pipeline()
	due := make([]*redis.StringSliceCmd, Shards)
	for shard := range Shards {
		due[shard] = pipe.ZRangeByScore(ctx, ScheduleKey(shard), &redis.ZRangeBy{
			Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: maxDuePerShard,
		})
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("read follow-up schedule: %w", err)
	}

	var calls []scriptCall
	var groups []string
	for shard := range Shards {
		for _, gid := range due[shard].Val() {
			calls = append(calls, d.followUpCall(gid))
			groups = append(groups, gid)
		}
	}
	replies, err := runScripts(ctx, d.rdb, calls)
	if err != nil {
		return nil, fmt.Errorf("end cooldown periods: %w", err)
	}

	var out []Enqueued
	for i, reply := range replies {
		if id, _ := reply.(string); id != "" {
			out = append(out, Enqueued{GroupID: groups[i], Shard: ShardOf(groups[i]), EntryID: id})
		}
	}
	return out, nil
}

func (d *Detector) followUpCall(groupID string) scriptCall {
	k := keysFor(groupID)
	s := d.settings
	return scriptCall{
		script: followUpScript,
		keys:   []string{k.schedule, k.state, k.pending, k.details, k.reported, k.cooldown, k.stream},
		args: []any{groupID, s.Cooldown.Milliseconds(), s.MaxListed, d.streamTTL().Milliseconds(), ConsumerGroup,
			(s.MaxEventAge + s.Window).Milliseconds(), s.Threshold, s.Window.Milliseconds(), string(alert.SourceHook)},
	}
}
