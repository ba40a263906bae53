package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/okta"
)

// alertMaxAge bounds how long the embedded Redis keeps an alert stream.
// The engine reads each alert as soon as it is queued, so any value works.
const alertMaxAge = time.Hour

// Settings is one combination of detection rules to replay.
type Settings struct {
	Threshold int
	Window    time.Duration
	Cooldown  time.Duration
}

// Burst is one burst that would have alerted, with its follow-ups.
type Burst struct {
	GroupID   string `json:"group_id"`
	GroupName string `json:"group_name"`
	// First and Last are the published times of the earliest and latest
	// removal in the first alert.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Count is the number of removals in the first alert.
	Count  int                `json:"count"`
	Actors []alert.ActorCount `json:"actors"`
	// DetectedAt is the replay time of the first alert: the published time
	// of the removal that completed the burst.
	DetectedAt time.Time `json:"detected_at"`
	// FollowUps is the number of follow-up alerts, and FollowUpRemovals the
	// removals they reported.
	FollowUps        int `json:"follow_ups"`
	FollowUpRemovals int `json:"follow_up_removals"`
}

// Result is the outcome of a replay with one Settings.
type Result struct {
	Settings Settings
	Bursts   []Burst
}

// FollowUps returns the number of follow-up alerts over all bursts.
func (r Result) FollowUps() int {
	n := 0
	for _, b := range r.Bursts {
		n += b.FollowUps
	}
	return n
}

// engine runs a real detector on its own miniredis, whose clock it moves
// from event to event.
type engine struct {
	mr       *miniredis.Miniredis
	rdb      *redis.Client
	detector *burst.Detector
	clock    time.Time
	// nextDue is the earliest end of a cooldown period, or zero when no
	// burst is going on.
	nextDue time.Time
	result  Result
	// latest maps a group to the index of its latest burst in result.Bursts,
	// so follow-ups are added to the burst they belong to.
	latest map[string]int
}

func newEngine(s Settings, start time.Time) (*engine, error) {
	mr, err := miniredis.Run()
	if err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	mr.SetTime(start)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return &engine{
		mr:  mr,
		rdb: rdb,
		detector: burst.New(rdb, burst.Settings{
			Threshold: s.Threshold, Window: s.Window, Cooldown: s.Cooldown,
			MaxEventAge: replayMaxEventAge(s), AlertMaxAge: alertMaxAge,
		}),
		clock:  start,
		result: Result{Settings: s},
		latest: make(map[string]int),
	}, nil
}

// replayMaxEventAge returns the shortest maximum event age that changes no
// alert. The clock follows the events, so no removal is ever too old. The
// age only sets how long the detector keeps a removal, which must be long
// enough to report it in the follow-up at the end of a cooldown period and
// to keep it out of a later burst within one window. Keeping removals no
// longer than that saves time, because miniredis scans every key each time
// its clock moves.
func replayMaxEventAge(s Settings) time.Duration {
	return s.Cooldown + s.Window
}

func (e *engine) close() {
	_ = e.rdb.Close()
	e.mr.Close()
}

// setClock moves Redis time forward to t. SetTime moves what TIME returns,
// and FastForward expires the keys whose TTL ran out on the way.
func (e *engine) setClock(t time.Time) {
	if !t.After(e.clock) {
		return
	}
	e.mr.SetTime(t)
	e.mr.FastForward(t.Sub(e.clock))
	e.clock = t
}

// record feeds one removal at its published time, after ending the
// cooldown periods that were over by then.
func (e *engine) record(ctx context.Context, r okta.Removal) error {
	if err := e.runFollowUpsUntil(ctx, r.Published); err != nil {
		return err
	}
	e.setClock(r.Published)

	res, err := e.detector.Record(ctx, []okta.Removal{r}, alert.SourceReplay)
	if err != nil {
		return fmt.Errorf("record removal %s: %w", r.EventID, err)
	}
	if len(res.Alerts) == 0 {
		return nil
	}
	if err := e.collect(ctx, res.Alerts); err != nil {
		return err
	}
	return e.refreshNextDue(ctx)
}

// runFollowUpsUntil ends, at their own end times, the cooldown periods
// that end at or before t, as the dispatcher does in production when its
// ticker fires.
func (e *engine) runFollowUpsUntil(ctx context.Context, t time.Time) error {
	for !e.nextDue.IsZero() && !e.nextDue.After(t) {
		due := e.nextDue
		e.setClock(due)
		enqueued, err := e.detector.RunDueFollowUps(ctx)
		if err != nil {
			return err
		}
		if err := e.collect(ctx, enqueued); err != nil {
			return err
		}
		if err := e.refreshNextDue(ctx); err != nil {
			return err
		}
		if e.nextDue.Equal(due) {
			return fmt.Errorf("the follow-up due at %s did not run", due.Format(time.RFC3339Nano))
		}
	}
	return nil
}

// finish ends every cooldown period still running after the last removal.
func (e *engine) finish(ctx context.Context) error {
	return e.runFollowUpsUntil(ctx, time.UnixMilli(math.MaxInt64))
}

// refreshNextDue reads the earliest entry of every shard's follow-up
// schedule, scored by due time in Unix milliseconds.
func (e *engine) refreshNextDue(ctx context.Context) error {
	pipe := e.rdb.Pipeline()
	cmds := make([]*redis.ZSliceCmd, burst.Shards)
	for shard := range burst.Shards {
		cmds[shard] = pipe.ZRangeWithScores(ctx, burst.ScheduleKey(shard), 0, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read follow-up schedule: %w", err)
	}

	e.nextDue = time.Time{}
	for _, cmd := range cmds {
		for _, z := range cmd.Val() {
			due := time.UnixMilli(int64(z.Score)).UTC()
			if e.nextDue.IsZero() || due.Before(e.nextDue) {
				e.nextDue = due
			}
		}
	}
	return nil
}

// collect reads the queued alerts from their streams into the result.
func (e *engine) collect(ctx context.Context, enqueued []burst.Enqueued) error {
	for _, q := range enqueued {
		msgs, err := e.rdb.XRange(ctx, burst.StreamKey(q.Shard), q.EntryID, q.EntryID).Result()
		if err != nil {
			return fmt.Errorf("read alert %s: %w", q.EntryID, err)
		}
		if len(msgs) != 1 {
			return fmt.Errorf("alert %s of group %s is missing from its stream", q.EntryID, q.GroupID)
		}
		a, err := burst.ParseEntry(q.Shard, msgs[0].ID, msgs[0].Values)
		if err != nil {
			return fmt.Errorf("parse alert %s: %w", q.EntryID, err)
		}
		e.add(a)
	}
	return nil
}

func (e *engine) add(a alert.Alert) {
	if a.Kind == alert.KindFollowUp {
		if i, ok := e.latest[a.GroupID]; ok {
			e.result.Bursts[i].FollowUps++
			e.result.Bursts[i].FollowUpRemovals += a.Count
		}
		return
	}
	e.latest[a.GroupID] = len(e.result.Bursts)
	e.result.Bursts = append(e.result.Bursts, Burst{
		GroupID: a.GroupID, GroupName: a.GroupName, First: a.First, Last: a.Last,
		Count: a.Count, Actors: a.Actors, DetectedAt: a.DetectedAt,
	})
}
