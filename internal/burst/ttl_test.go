package burst

import (
	"context"
	"testing"
	"time"
)

// assertEveryKeyHasTTL fails for any key without an expiry.
func assertEveryKeyHasTTL(t *testing.T, b backend) int {
	t.Helper()
	ctx := context.Background()
	keys, err := b.rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		ttl, err := b.rdb.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 {
			t.Errorf("key %s has no TTL (PTTL %s)", k, ttl)
		}
	}
	return len(keys)
}

func TestDetector_EveryKeyHasTTL(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		d := New(b.rdb, b.settings)

		record(t, d, series("00gT", 1, 3, b.now(), time.Millisecond)...)
		assertEveryKeyHasTTL(t, b)
		record(t, d, series("00gT", 10, 3, b.now(), time.Millisecond)...) // completes the burst
		assertEveryKeyHasTTL(t, b)
		record(t, d, series("00gT", 20, 3, b.now(), time.Millisecond)...) // during the cooldown
		assertEveryKeyHasTTL(t, b)
		b.advance(b.settings.Cooldown + time.Millisecond)
		runFollowUps(t, d)
		if n := assertEveryKeyHasTTL(t, b); n == 0 {
			t.Fatal("no keys written")
		}
	})
}

func TestDetector_IdleGroupLeavesNothing(t *testing.T) {
	b := newMiniredisBackend(t)
	ctx := context.Background()
	if err := b.rdb.Set(ctx, "unrelated", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	before := b.rdb.DBSize(ctx).Val()
	s := b.settings
	d := New(b.rdb, s)

	record(t, d, series("00gU", 1, 8, b.now(), time.Second)...)
	b.advance(s.Cooldown + time.Millisecond)
	runFollowUps(t, d) // ends the burst: nothing more was removed
	b.advance(s.AlertMaxAge + time.Hour)

	if after := b.rdb.DBSize(ctx).Val(); after != before {
		keys, _ := b.rdb.Keys(ctx, "*").Result()
		t.Errorf("DBSIZE = %d, want %d; keys left: %v", after, before, keys)
	}
}
