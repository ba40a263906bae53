package burst

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/okta"
)

func TestDetector_RedeliveredRemovalsCountOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		d := New(b.rdb, b.settings)
		start := b.now().Add(-b.settings.Window / 2)
		first4 := series("00gA", 1, 4, start, time.Millisecond)

		r1 := record(t, d, first4...)
		r2 := record(t, d, first4...)
		r3 := record(t, d, removal("00gA", 5, start.Add(10*time.Millisecond)))

		if len(r1.Alerts) != 0 || len(r2.Alerts) != 0 {
			t.Fatalf("alert before the 5th distinct removal: %+v %+v", r1, r2)
		}
		if r2.Duplicates != 4 || r2.Recorded != 0 {
			t.Errorf("redelivery: recorded %d duplicates %d, want 0 and 4", r2.Recorded, r2.Duplicates)
		}
		if len(r3.Alerts) != 1 {
			t.Fatalf("5th removal: %d alerts, want 1", len(r3.Alerts))
		}
		alerts := streamAlerts(t, b.rdb)
		if len(alerts) != 1 || alerts[0].Count != 5 {
			t.Fatalf("stream holds %+v, want one alert of 5", alerts)
		}
	})
}

func TestDetector_BurstShapes(t *testing.T) {
	cases := []struct {
		name       string
		offsets    func(window time.Duration) []time.Duration
		wantAlerts int
	}{
		{"same millisecond", func(time.Duration) []time.Duration { return make([]time.Duration, 5) }, 1},
		{"spanning more than the window", func(w time.Duration) []time.Duration {
			return []time.Duration{0, w / 4, w / 2, 3 * w / 4, w + time.Millisecond}
		}, 0},
		{"exactly the window apart", func(w time.Duration) []time.Duration {
			return []time.Duration{0, w / 4, w / 2, 3 * w / 4, w}
		}, 1},
		{"newest first", func(w time.Duration) []time.Duration {
			return []time.Duration{w / 2, 2 * w / 5, 3 * w / 10, w / 5, w / 10}
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				d := New(b.rdb, b.settings)
				base := b.now().Add(-b.settings.Window - time.Millisecond)
				total := 0
				for i, off := range tc.offsets(b.settings.Window) {
					total += len(record(t, d, removal("00gB", i, base.Add(off))).Alerts)
				}
				if total != tc.wantAlerts {
					t.Errorf("alerts = %d, want %d", total, tc.wantAlerts)
				}
			})
		})
	}
}

func TestDetector_FifthRemovalTriggersInOneBatch(t *testing.T) {
	b := newMiniredisBackend(t)
	d := New(b.rdb, b.settings)

	res := record(t, d, series("00gC", 1, 7, b.now().Add(-time.Minute), time.Second)...)

	if len(res.Alerts) != 1 {
		t.Fatalf("alerts = %d, want 1", len(res.Alerts))
	}
	if res.Alerts[0].Count != 7 {
		t.Errorf("alert count = %d, want all 7 removals in the window", res.Alerts[0].Count)
	}
}

func TestDetector_OrderAndBatchingDoNotMatter(t *testing.T) {
	b := newMiniredisBackend(t)
	rng := rand.New(rand.NewPCG(1, 2))
	w := b.settings.Window
	base := b.now().Add(-20 * time.Minute)
	// Group E has a burst of 6 at 12-14 minutes; group F never has 5 within a window.
	var all = append(series("00gE", 1, 6, base.Add(12*time.Minute), 20*time.Second), series("00gE", 100, 3, base, w/2)...)
	all = append(all, series("00gF", 1, 8, base, w/4+time.Second)...)

	for trial := range 30 {
		if err := b.rdb.FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		d := New(b.rdb, b.settings)
		perm := rng.Perm(len(all))
		alerts := map[string]int{}
		for i := 0; i < len(perm); {
			size := 1 + rng.IntN(4)
			var batch = all[:0:0]
			for j := i; j < i+size && j < len(perm); j++ {
				batch = append(batch, all[perm[j]])
			}
			if rng.IntN(3) == 0 {
				batch = append(batch, batch[0]) // Okta's duplicate delivery
			}
			for _, a := range record(t, d, batch...).Alerts {
				alerts[a.GroupID]++
			}
			i += size
		}
		if alerts["00gE"] != 1 || alerts["00gF"] != 0 {
			t.Fatalf("trial %d: alerts per group %v, want 00gE:1 and none for 00gF", trial, alerts)
		}
	}
}

func TestDetector_CooldownThenNewBurst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := b.settings
		d := New(b.rdb, s)

		first := record(t, d, series("00gG", 1, 5, b.now(), time.Millisecond)...)
		during := record(t, d, series("00gG", 10, 5, b.now(), time.Millisecond)...)

		if len(first.Alerts) != 1 || len(during.Alerts) != 0 {
			t.Fatalf("alerts first=%d during cooldown=%d, want 1 and 0", len(first.Alerts), len(during.Alerts))
		}

		// End the first cooldown period (its follow-up reports the 5 extra
		// removals), then a second, quiet one, which ends the burst.
		b.advance(s.Cooldown + time.Millisecond)
		followUps := runFollowUps(t, d)
		b.advance(s.Cooldown + time.Millisecond)
		ended := runFollowUps(t, d)
		if len(followUps) != 1 || len(ended) != 0 {
			t.Fatalf("follow-ups after periods: %d then %d, want 1 then 0", len(followUps), len(ended))
		}

		again := record(t, d, series("00gG", 20, 5, b.now(), time.Millisecond)...)
		if len(again.Alerts) != 1 {
			t.Errorf("new burst after the cooldown: %d alerts, want 1", len(again.Alerts))
		}
	})
}

func runFollowUps(t *testing.T, d *Detector) []Enqueued {
	t.Helper()
	out, err := d.RunDueFollowUps(context.Background())
	if err != nil {
		t.Fatalf("follow-ups: %v", err)
	}
	return out
}

func TestDetector_FollowUpReportsTheRestOnce(t *testing.T) {
	b := newMiniredisBackend(t)
	d := New(b.rdb, b.settings)
	start := b.now().Add(-time.Minute)

	var alertsAt []int
	for i := 1; i <= 30; i++ {
		if len(record(t, d, removal("00gH", i, start.Add(time.Duration(i)*time.Second))).Alerts) > 0 {
			alertsAt = append(alertsAt, i)
		}
	}
	early := runFollowUps(t, d)
	b.advance(b.settings.Cooldown)
	due := runFollowUps(t, d)
	b.advance(b.settings.Cooldown)
	quiet := runFollowUps(t, d)

	if len(alertsAt) != 1 || alertsAt[0] != 5 {
		t.Fatalf("alerts at removals %v, want only at the 5th", alertsAt)
	}
	if len(early) != 0 || len(due) != 1 || len(quiet) != 0 {
		t.Fatalf("follow-ups before/at/after the cooldown end: %d/%d/%d, want 0/1/0", len(early), len(due), len(quiet))
	}
	alerts := streamAlerts(t, b.rdb)
	if len(alerts) != 2 {
		t.Fatalf("stream holds %d alerts, want 2", len(alerts))
	}
	f := alerts[1]
	if f.Kind != alert.KindFollowUp || f.Count != 25 || f.Total != 30 {
		t.Errorf("follow-up kind=%s count=%d total=%d, want followup 25 30", f.Kind, f.Count, f.Total)
	}
	if len(f.Removals) != 25 || f.Removals[0].EventID != "evt-00gH-0006" {
		t.Errorf("follow-up lists %d removals starting at %q", len(f.Removals), f.Removals[0].EventID)
	}
	if len(f.Actors) != 1 || f.Actors[0].Count != 25 {
		t.Errorf("follow-up actors = %+v", f.Actors)
	}
}

func TestDetector_AlertContent(t *testing.T) {
	b := newMiniredisBackend(t)
	d := New(b.rdb, Settings{Threshold: 3, Window: time.Minute, Cooldown: time.Hour, MaxEventAge: time.Hour, AlertMaxAge: time.Hour, MaxListed: 2})
	start := b.now().Add(-30 * time.Second)
	rs := series("00gI", 1, 3, start, 10*time.Second)
	rs[2].Actor.ID, rs[2].Actor.Login = "00uOTHER", "other@example.com"
	rs[2].GroupName = "Renamed"

	record(t, d, rs...)

	a := streamAlerts(t, b.rdb)[0]
	if a.Count != 3 || a.Total != 3 || a.Threshold != 3 || a.Window != time.Minute {
		t.Errorf("counts: %+v", a)
	}
	if !a.First.Equal(start) || !a.Last.Equal(start.Add(20*time.Second)) {
		t.Errorf("first %s last %s", a.First, a.Last)
	}
	if len(a.Removals) != 2 || a.Omitted != 1 {
		t.Errorf("listed %d omitted %d, want 2 and 1", len(a.Removals), a.Omitted)
	}
	if a.GroupName != "Renamed" {
		t.Errorf("group name %q, want the newest name", a.GroupName)
	}
	if len(a.Actors) != 2 || a.Actors[0].Count+a.Actors[1].Count != 3 {
		t.Errorf("actors %+v, want two actors covering all 3 removals", a.Actors)
	}
	if !a.DetectedAt.Equal(b.now()) {
		t.Errorf("detected at %s, want redis time %s", a.DetectedAt, b.now())
	}
}

func TestDetector_TooOldAndFutureRemovals(t *testing.T) {
	b := newMiniredisBackend(t)
	d := New(b.rdb, b.settings)
	now := b.now()

	old := record(t, d, series("00gJ", 1, 5, now.Add(-b.settings.MaxEventAge-time.Hour), time.Second)...)
	skewed := record(t, d, series("00gK", 1, 5, now.Add(MaxClockSkew/2), time.Second)...)
	farAhead := record(t, d, series("00gM", 1, 5, now.Add(time.Hour), time.Hour)...)

	if old.TooOld != 5 || len(old.Alerts) != 0 {
		t.Errorf("old removals: %+v, want 5 too old and no alert", old)
	}
	// Within the clock skew, future times count as Redis now.
	if len(skewed.Alerts) != 1 {
		t.Errorf("slightly future removals: %d alerts, want 1", len(skewed.Alerts))
	}
	if farAhead.Future != 5 || farAhead.Recorded != 0 || len(farAhead.Alerts) != 0 {
		t.Errorf("far future removals: %+v, want 5 rejected and no alert", farAhead)
	}
}

func TestDetector_LateBurstAlertsOnItsOwnTimes(t *testing.T) {
	b := newMiniredisBackend(t)
	d := New(b.rdb, b.settings)
	start := b.now().Add(-3 * time.Hour)

	res, err := d.Record(context.Background(), series("00gL", 1, 5, start, time.Second), alert.SourceSystemLog)
	if err != nil {
		t.Fatal(err)
	}

	if len(res.Alerts) != 1 {
		t.Fatalf("alerts = %d, want 1", len(res.Alerts))
	}
	a := streamAlerts(t, b.rdb)[0]
	if !a.Late() || a.Source != alert.SourceSystemLog {
		t.Errorf("late=%v source=%s, want a late alert from the system log", a.Late(), a.Source)
	}
}

func TestDetector_LargeBurstBoundsItsSummary(t *testing.T) {
	b := newMiniredisBackend(t)
	d := New(b.rdb, b.settings)

	res := record(t, d, series("00gN", 1, 6000, b.now().Add(-time.Minute), time.Millisecond)...)

	if len(res.Alerts) != 1 {
		t.Fatalf("alerts = %d, want 1", len(res.Alerts))
	}
	a := streamAlerts(t, b.rdb)[0]
	if a.Count != 6000 || a.ActorsCounted != 5000 {
		t.Errorf("count %d actors counted %d, want 6000 and 5000", a.Count, a.ActorsCounted)
	}
	if len(a.Removals) != DefaultMaxListed || a.Omitted != 6000-DefaultMaxListed {
		t.Errorf("listed %d omitted %d", len(a.Removals), a.Omitted)
	}
	if a.Removals[0].EventID != "evt-00gN-0001" {
		t.Errorf("first listed %s, want the oldest removal", a.Removals[0].EventID)
	}
}

func TestDetector_ManyGroupsInOneDelivery(t *testing.T) {
	b := newMiniredisBackend(t)
	d := New(b.rdb, b.settings)
	var batch []okta.Removal
	for g := range 2*maxPipelineCalls + 10 {
		batch = append(batch, series(fmt.Sprintf("00gMANY%05d", g), 1, 1, b.now(), 0)...)
	}

	res := record(t, d, batch...)

	if res.Recorded != len(batch) {
		t.Errorf("recorded %d of %d removals", res.Recorded, len(batch))
	}
}

func TestDetector_CorruptedGroupKeyNamesTheGroup(t *testing.T) {
	b := newMiniredisBackend(t)
	d := New(b.rdb, b.settings)
	if err := b.rdb.Set(context.Background(), keysFor("00gBROKEN").removals, "not a sorted set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	batch := append(series("00gFINE", 1, 1, b.now(), 0), series("00gBROKEN", 1, 1, b.now(), 0)...)

	_, err := d.Record(context.Background(), batch, alert.SourceHook)

	if err == nil || !strings.Contains(err.Error(), `"00gBROKEN"`) || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Errorf("err = %v, want WRONGTYPE naming group 00gBROKEN", err)
	}
	if n := b.rdb.ZCard(context.Background(), keysFor("00gFINE").removals).Val(); n != 1 {
		t.Errorf("the other group's removal was not recorded: ZCARD %d", n)
	}
}

func TestDetector_BatchLongerThanWindowReportsEveryRemoval(t *testing.T) {
	b := newMiniredisBackend(t)
	d := New(b.rdb, b.settings)
	start := b.now().Add(-time.Hour)

	// A System Log page of ten removals a minute apart: the first six fit in
	// one 5-minute window, the other four follow.
	res, err := d.Record(context.Background(), series("00gPAGE", 1, 10, start, time.Minute), alert.SourceSystemLog)
	if err != nil {
		t.Fatal(err)
	}
	b.advance(b.settings.Cooldown + time.Millisecond)
	followUps := runFollowUps(t, d)

	if len(res.Alerts) != 1 || len(followUps) != 1 {
		t.Fatalf("alerts %d follow-ups %d, want 1 and 1", len(res.Alerts), len(followUps))
	}
	alerts := streamAlerts(t, b.rdb)
	if alerts[0].Count+alerts[1].Count != 10 || alerts[1].Total != 10 {
		t.Errorf("alert %d + follow-up %d (total %d), want all 10 removals reported", alerts[0].Count, alerts[1].Count, alerts[1].Total)
	}
	if alerts[1].Source != alert.SourceSystemLog {
		t.Errorf("follow-up source %q, want the burst's source", alerts[1].Source)
	}
}

func TestDetector_PendingDetailsSurvivePruning(t *testing.T) {
	b := newMiniredisBackend(t)
	d := New(b.rdb, b.settings)
	record(t, d, series("00gPEND", 1, 5, b.now(), time.Second)...)

	// A late removal during the cooldown, just inside the maximum age, then
	// another removal after it has aged out of the kept range.
	late := removal("00gPEND", 50, b.now().Add(-b.settings.MaxEventAge+time.Minute))
	record(t, d, late)
	b.advance(b.settings.Window + 2*time.Minute)
	record(t, d, removal("00gPEND", 51, b.now()))
	b.advance(b.settings.Cooldown)
	runFollowUps(t, d)

	f := streamAlerts(t, b.rdb)[1]
	if f.Count != 2 || len(f.Removals) != 2 || f.Omitted != 0 {
		t.Errorf("follow-up count %d listed %d omitted %d, want both removals listed", f.Count, len(f.Removals), f.Omitted)
	}
}
