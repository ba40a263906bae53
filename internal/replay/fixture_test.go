package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// The counts in these tests are the hand count in testdata/README.md.

var fixtures = []string{"testdata/three-groups.json", "testdata/three-groups.ndjson"}

func replayFixture(t *testing.T, args ...string) string {
	t.Helper()
	req, err := ParseArgs(args, Defaults{Threshold: "5", Window: "5m", Cooldown: "15m"}, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("ParseArgs(%q): %v", args, err)
	}
	events, source, err := ReadFile(req, nil)
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	var stdout bytes.Buffer
	if err := Execute(context.Background(), req, events, source, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	return stdout.String()
}

func TestReplay_FixturePrintsHandCountedBurst(t *testing.T) {
	for _, file := range fixtures {
		t.Run(file, func(t *testing.T) {
			got := replayFixture(t, file)

			want := "Replayed 16 events from " + file + ": 14 removals published from 2026-03-02T10:00:00Z to 2026-03-02T12:02:00Z.\n" +
				"1 removal uuid seen more than once, counted once.\n" +
				"Skipped 2 events: 1 other_event_type, 1 outcome_not_success.\n" +
				"\n" +
				"Threshold 5 within 5m, cooldown 15m: 1 burst would have alerted, with 1 follow-up.\n" +
				"\n" +
				"Finance-Approvers (00gFINANCEAPPRV00001)\n" +
				"  first removal  2026-03-02T10:00:00Z\n" +
				"  last removal   2026-03-02T10:02:00Z\n" +
				"  removals       5\n" +
				"  actors         alice.admin@example.com: 5\n" +
				"  follow-ups     1 with 1 more removal\n"
			if got != want {
				t.Errorf("output:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestReplay_FixtureListsEveryBurstOfLowThreshold(t *testing.T) {
	got := replayFixture(t, "--threshold", "3", "--window", "15m", fixtures[0])

	for _, want := range []string{
		"Threshold 3 within 15m, cooldown 15m: 3 bursts would have alerted, with 2 follow-ups.",
		"Finance-Approvers (00gFINANCEAPPRV00001)\n  first removal  2026-03-02T10:00:00Z\n  last removal   2026-03-02T10:01:00Z\n  removals       3\n",
		"  follow-ups     1 with 3 more removals\n",
		"Engineering-Oncall (00gENGONCALL00000002)\n  first removal  2026-03-02T11:00:00Z\n  last removal   2026-03-02T11:06:00Z\n",
		"  actors         system@okta.com (SystemPrincipal): 3\n  follow-ups     1 with 1 more removal\n",
		"Sales-EMEA (00gSALESEMEA00000003)\n  first removal  2026-03-02T12:00:00Z\n  last removal   2026-03-02T12:02:00Z\n",
		"  actors         bob.admin@example.com: 3\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; output:\n%s", want, got)
		}
	}
}

func TestReplay_FixtureSweepTableMatchesHandCount(t *testing.T) {
	for _, file := range fixtures {
		t.Run(file, func(t *testing.T) {
			got := replayFixture(t, file, "--threshold", "3,5,10", "--window", "5m,15m")

			want := "THRESHOLD  WINDOW  COOLDOWN  BURSTS  FOLLOW-UPS\n" +
				"3          5m      15m       2       1\n" +
				"3          15m     15m       3       2\n" +
				"5          5m      15m       1       1\n" +
				"5          15m     15m       1       1\n" +
				"10         5m      15m       0       0\n" +
				"10         15m     15m       0       0\n"
			if !strings.Contains(got, want) {
				t.Errorf("output:\n%s\nwant the table:\n%s", got, want)
			}
		})
	}
}

func TestReplay_FixtureJSONMatchesHandCount(t *testing.T) {
	out := replayFixture(t, fixtures[1], "--threshold", "3,5,10", "--window", "5m,15m", "--format", "json")

	var got jsonReport
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Events != 16 || got.Removals != 14 || got.Duplicates != 1 || got.Skipped["other_event_type"] != 1 ||
		got.Skipped["outcome_not_success"] != 1 {
		t.Errorf("input summary = %+v, want 16 events, 14 removals, 1 duplicate, 2 skipped", got)
	}
	want := []struct {
		threshold           int
		window              string
		bursts, followUps   int
		firstGroup          string
		firstCount, firstFU int
	}{
		{3, "5m0s", 2, 1, "00gFINANCEAPPRV00001", 3, 1},
		{3, "15m0s", 3, 2, "00gFINANCEAPPRV00001", 3, 1},
		{5, "5m0s", 1, 1, "00gFINANCEAPPRV00001", 5, 1},
		{5, "15m0s", 1, 1, "00gFINANCEAPPRV00001", 5, 1},
		{10, "5m0s", 0, 0, "", 0, 0},
		{10, "15m0s", 0, 0, "", 0, 0},
	}
	if len(got.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(got.Results), len(want))
	}
	for i, w := range want {
		r := got.Results[i]
		if r.Threshold != w.threshold || r.Window != w.window || r.Cooldown != "15m0s" ||
			r.BurstCount != w.bursts || r.FollowUpCount != w.followUps || len(r.Bursts) != w.bursts {
			t.Errorf("result %d = threshold %d window %s cooldown %s: %d bursts (%d listed), %d follow-ups; want %+v",
				i, r.Threshold, r.Window, r.Cooldown, r.BurstCount, len(r.Bursts), r.FollowUpCount, w)
			continue
		}
		if w.bursts > 0 {
			b := r.Bursts[0]
			if b.GroupID != w.firstGroup || b.Count != w.firstCount || b.FollowUps != w.firstFU {
				t.Errorf("result %d first burst = %+v, want group %s with %d removals and %d follow-ups",
					i, b, w.firstGroup, w.firstCount, w.firstFU)
			}
		}
	}
}
