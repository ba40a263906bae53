package burst

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/redistest"
)

// backend is a Redis the detector runs on, with a way to read and move its
// clock. miniredis moves its clock at once; a real redis-server's clock is
// the wall clock, so its settings are scaled down and advance waits.
type backend struct {
	name     string
	rdb      *redis.Client
	settings Settings
	now      func() time.Time
	advance  func(d time.Duration)
}

func backends(t *testing.T) []func(t *testing.T) backend {
	return []func(t *testing.T) backend{newMiniredisBackend, newRealBackend}
}

// forEachBackend runs fn against miniredis and against a real redis-server.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("miniredis", func(t *testing.T) { fn(t, newMiniredisBackend(t)) })
	t.Run("redis-server", func(t *testing.T) { fn(t, newRealBackend(t)) })
}

func newMiniredisBackend(t *testing.T) backend {
	m := miniredis.RunT(t)
	clock := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	m.SetTime(clock)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return backend{
		name: "miniredis",
		rdb:  rdb,
		settings: Settings{
			Threshold: 5, Window: 5 * time.Minute, Cooldown: 15 * time.Minute,
			MaxEventAge: 24 * time.Hour, AlertMaxAge: 24 * time.Hour,
		},
		now: func() time.Time { return clock },
		advance: func(d time.Duration) {
			clock = clock.Add(d)
			m.SetTime(clock)
			m.FastForward(d)
		},
	}
}

func newRealBackend(t *testing.T) backend {
	rdb := redistest.Server(t).Client()
	now := func() time.Time {
		tm, err := rdb.Time(context.Background()).Result()
		if err != nil {
			t.Fatalf("redis TIME: %v", err)
		}
		return tm
	}
	return backend{
		name: "redis-server",
		rdb:  rdb,
		settings: Settings{
			Threshold: 5, Window: time.Second, Cooldown: 2 * time.Second,
			MaxEventAge: 3 * time.Second, AlertMaxAge: time.Hour,
		},
		now: now,
		advance: func(d time.Duration) {
			target := now().Add(d)
			deadline := time.Now().Add(d + 10*time.Second)
			for now().Before(target) {
				if time.Now().After(deadline) {
					t.Fatalf("redis clock did not advance by %s", d)
				}
				time.Sleep(10 * time.Millisecond) // polling the Redis clock
			}
		},
	}
}

var _ = backends

// removal returns a removal from group gid with a uuid derived from n.
func removal(gid string, n int, published time.Time) okta.Removal {
	return okta.Removal{
		EventID:   fmt.Sprintf("evt-%s-%04d", gid, n),
		Published: published,
		GroupID:   gid,
		GroupName: "Group " + gid,
		UserID:    fmt.Sprintf("00uUSER%06d", n),
		UserLogin: fmt.Sprintf("user%d@example.com", n),
		UserName:  fmt.Sprintf("User %d", n),
		Actor:     okta.Actor{ID: "00uADMIN", Type: "User", Login: "admin@example.com", Name: "Admin"},
	}
}

// series returns n removals of group gid published step apart from start.
func series(gid string, first, n int, start time.Time, step time.Duration) []okta.Removal {
	out := make([]okta.Removal, 0, n)
	for i := range n {
		out = append(out, removal(gid, first+i, start.Add(time.Duration(i)*step)))
	}
	return out
}

func record(t *testing.T, d *Detector, removals ...okta.Removal) Result {
	t.Helper()
	res, err := d.Record(context.Background(), removals, alert.SourceHook)
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	return res
}

// streamAlerts returns every alert in every shard's stream.
func streamAlerts(t *testing.T, rdb *redis.Client) []alert.Alert {
	t.Helper()
	var out []alert.Alert
	for shard := range Shards {
		msgs, err := rdb.XRange(context.Background(), StreamKey(shard), "-", "+").Result()
		if err != nil {
			t.Fatalf("xrange: %v", err)
		}
		for _, m := range msgs {
			a, err := ParseEntry(shard, m.ID, m.Values)
			if err != nil {
				t.Fatalf("parse entry %s: %v", m.ID, err)
			}
			out = append(out, a)
		}
	}
	return out
}
