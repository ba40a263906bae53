package replay

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/okta"
)

var day = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// removalsAt returns one removal from groupID at each offset from day.
func removalsAt(groupID string, offsets ...time.Duration) []okta.Removal {
	removals := make([]okta.Removal, len(offsets))
	for i, offset := range offsets {
		removals[i] = okta.Removal{
			EventID:   fmt.Sprintf("%s-%d", groupID, i),
			Published: day.Add(offset),
			GroupID:   groupID,
			GroupName: "Group " + groupID,
			UserID:    fmt.Sprintf("00uUSER%04d", i),
			Actor:     okta.Actor{ID: "00uADMIN", Type: "User", Login: "admin@example.com"},
		}
	}
	return removals
}

func runOne(t *testing.T, removals []okta.Removal, s Settings) Result {
	t.Helper()
	results, err := Run(context.Background(), removals, []Settings{s}, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return results[0]
}

func TestRun_FollowUpRunsAtCooldownEnd(t *testing.T) {
	// The burst alerts at 0:10 and its cooldown ends at 10:10. The removal
	// at 10:09 goes into the follow-up at 10:10. The one at 10:11 comes
	// after that follow-up, so it belongs to the next cooldown period and
	// its own follow-up at 20:10.
	removals := removalsAt("00gA", 0, 10*time.Second, 10*time.Minute+9*time.Second, 10*time.Minute+11*time.Second)

	got := runOne(t, removals, Settings{Threshold: 2, Window: time.Minute, Cooldown: 10 * time.Minute})

	if len(got.Bursts) != 1 {
		t.Fatalf("bursts = %+v, want 1", got.Bursts)
	}
	if b := got.Bursts[0]; b.FollowUps != 2 || b.FollowUpRemovals != 2 {
		t.Errorf("burst has %d follow-ups with %d removals, want 2 follow-ups of 1 removal each", b.FollowUps, b.FollowUpRemovals)
	}
}

func TestRun_NewBurstAfterCooldownPeriodsEnd(t *testing.T) {
	// Cooldown periods end at 10:10 (one follow-up for 5:00) and at 20:10
	// (nothing left, so the burst is over). The removals at 25:00 start a
	// second burst.
	removals := removalsAt("00gA", 0, 10*time.Second, 5*time.Minute, 25*time.Minute, 25*time.Minute+10*time.Second)

	got := runOne(t, removals, Settings{Threshold: 2, Window: time.Minute, Cooldown: 10 * time.Minute})

	if len(got.Bursts) != 2 {
		t.Fatalf("bursts = %+v, want 2", got.Bursts)
	}
	first, second := got.Bursts[0], got.Bursts[1]
	if first.FollowUps != 1 || first.FollowUpRemovals != 1 {
		t.Errorf("first burst follow-ups = %d with %d removals, want 1 with 1", first.FollowUps, first.FollowUpRemovals)
	}
	if !second.First.Equal(day.Add(25*time.Minute)) || second.Count != 2 || second.FollowUps != 0 {
		t.Errorf("second burst = %+v, want 2 removals from 25:00 and no follow-up", second)
	}
	if want := day.Add(25*time.Minute + 10*time.Second); !second.DetectedAt.Equal(want) {
		t.Errorf("second burst detected at %s, want the time of its last removal %s", second.DetectedAt, want)
	}
}

func TestRun_DuplicateRemovalCountsOnce(t *testing.T) {
	removals := removalsAt("00gA", 0, 10*time.Second)
	removals = append(removals, removals[1])

	got := runOne(t, removals, Settings{Threshold: 3, Window: time.Minute, Cooldown: 10 * time.Minute})

	if len(got.Bursts) != 0 {
		t.Errorf("bursts = %+v, want none: the third removal is a duplicate", got.Bursts)
	}
}

func TestRun_GroupsAreIndependent(t *testing.T) {
	removals := append(removalsAt("00gA", 0, time.Second), removalsAt("00gB", 2*time.Second)...)

	got := runOne(t, removals, Settings{Threshold: 2, Window: time.Minute, Cooldown: time.Minute})

	if len(got.Bursts) != 1 || got.Bursts[0].GroupID != "00gA" {
		t.Errorf("bursts = %+v, want one for group 00gA", got.Bursts)
	}
}

func TestRun_ProgressCountsEveryStep(t *testing.T) {
	removals := removalsAt("00gA", 0, time.Second, 2*time.Second)
	settings := Combinations([]int{2, 3}, []time.Duration{time.Minute}, []time.Duration{time.Minute, time.Hour})
	var steps atomic.Int64

	results, err := Run(context.Background(), removals, settings, func(n int) { steps.Add(int64(n)) })

	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(results) != 4 || results[3].Settings != settings[3] {
		t.Errorf("results = %+v, want one per settings in order", results)
	}
	if got := steps.Load(); got != 12 {
		t.Errorf("progress steps = %d, want 3 removals × 4 settings", got)
	}
}

func TestRun_StopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := Run(ctx, removalsAt("00gA", 0), []Settings{{Threshold: 2, Window: time.Minute, Cooldown: time.Minute}}, nil)

	if err == nil {
		t.Error("Run succeeded with a cancelled context, want an error")
	}
}

func TestRun_NoRemovals(t *testing.T) {
	got := runOne(t, nil, Settings{Threshold: 2, Window: time.Minute, Cooldown: time.Minute})

	if len(got.Bursts) != 0 {
		t.Errorf("bursts = %+v, want none", got.Bursts)
	}
}

func TestCombinations_ThresholdsVarySlowest(t *testing.T) {
	got := Combinations([]int{3, 5}, []time.Duration{time.Minute, time.Hour}, []time.Duration{time.Second})

	want := []Settings{
		{3, time.Minute, time.Second}, {3, time.Hour, time.Second},
		{5, time.Minute, time.Second}, {5, time.Hour, time.Second},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Combinations = %v, want %v", got, want)
	}
}
