package burst

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// Shards is the number of alert streams. Each group belongs to one shard, and
// all keys of the group and its shard share one Redis Cluster hash tag, so
// every script touches a single slot. Changing it moves groups between
// shards, so it is fixed.
const Shards = 16

// ConsumerGroup is the Redis Streams consumer group of the dispatchers.
const ConsumerGroup = "dispatchers"

const keyPrefix = "oktawatch"

// ShardOf returns the shard of a group.
func ShardOf(groupID string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(groupID))
	return int(h.Sum32() % Shards)
}

func shardTag(shard int) string {
	return fmt.Sprintf("%s:{s%02d}", keyPrefix, shard)
}

// StreamKey returns the key of a shard's alert stream.
func StreamKey(shard int) string { return shardTag(shard) + ":alerts" }

// DeadLetterKey returns the key of a shard's stream of undeliverable alerts.
func DeadLetterKey(shard int) string { return shardTag(shard) + ":dead" }

// ScheduleKey returns the key of a shard's follow-up schedule.
func ScheduleKey(shard int) string { return shardTag(shard) + ":followups" }

// groupKeys names every key of one group.
type groupKeys struct {
	removals, details, reported, cooldown, state, pending string
	stream, schedule                                      string
}

// prefix returns the start shared by the group's own keys.
func (k groupKeys) prefix() string {
	return strings.TrimSuffix(k.removals, "removals")
}

func keysFor(groupID string) groupKeys {
	shard := ShardOf(groupID)
	base := shardTag(shard) + ":g:" + groupID
	return groupKeys{
		removals: base + ":removals",
		details:  base + ":details",
		reported: base + ":reported",
		cooldown: base + ":cooldown",
		state:    base + ":burst",
		pending:  base + ":pending",
		stream:   StreamKey(shard),
		schedule: ScheduleKey(shard),
	}
}
