// Package burst detects bursts of Okta group-membership removals in Redis
// and queues their alerts.
//
// Each group's removals live in a sorted set scored by the event's published
// time (Unix milliseconds) with the event uuid as member, so a redelivered
// event counts once and arrival order does not matter. One Lua script per
// group records a batch, prunes, counts and, when a burst is complete, takes
// the group's SET NX PX cooldown and appends the alert to the shard's stream,
// all in one atomic step.
package burst

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/okta"
)

var (
	//go:embed lib.lua
	libSource string
	//go:embed record.lua
	recordSource string
	//go:embed followup.lua
	followUpSource string

	recordScript   = newScript(recordSource)
	followUpScript = newScript(followUpSource)
)

// Settings are the detection rules.
type Settings struct {
	// Threshold is the number of distinct removals from one group, published
	// within Window of each other, that makes a burst.
	Threshold int
	Window    time.Duration
	// Cooldown is how long after an alert the group sends no new alert;
	// removals during it are reported in one follow-up at its end.
	Cooldown time.Duration
	// MaxEventAge is the maximum age, by Redis time, of a removal that counts.
	MaxEventAge time.Duration
	// AlertMaxAge bounds how long a queued alert is kept.
	AlertMaxAge time.Duration
	// MaxListed caps the removals stored in one alert; counts stay exact.
	MaxListed int
}

// MaxClockSkew is how far ahead of Redis time a removal may be published and
// still count, as published now. Okta and Redis keep their clocks by NTP, so
// anything further ahead is not a real removal time.
const MaxClockSkew = 5 * time.Minute

// DefaultMaxListed is the number of removals stored in one alert. A Slack
// message lists far fewer; the rest is kept for the log notifier and replay.
const DefaultMaxListed = 100

// Detector records removals and queues alerts.
type Detector struct {
	rdb      redis.UniversalClient
	settings Settings
}

// New returns a Detector on rdb.
func New(rdb redis.UniversalClient, s Settings) *Detector {
	if s.MaxListed <= 0 {
		s.MaxListed = DefaultMaxListed
	}
	return &Detector{rdb: rdb, settings: s}
}

// Settings returns the detector's rules.
func (d *Detector) Settings() Settings { return d.settings }

// Enqueued is one alert the detector appended to a shard's stream.
type Enqueued struct {
	GroupID string
	Shard   int
	EntryID string
	Count   int
}

// Result sums up one Record call.
type Result struct {
	Recorded   int
	Duplicates int
	TooOld     int
	// Future counts removals published more than MaxClockSkew after Redis
	// time, which are not counted.
	Future int
	// New holds the removals recorded for the first time, keyed by newKey
	// of group id and uuid; use IsNew to look one up.
	New    map[string]bool
	Alerts []Enqueued
}

// Record stores removals and queues an alert for every burst they complete.
// It makes one pipelined Redis round trip with one script call per group in
// the batch. When it returns an error, some groups may have been recorded;
// recording them again is harmless because event uuids count once.
func (d *Detector) Record(ctx context.Context, removals []okta.Removal, source alert.Source) (Result, error) {
	groups, order := groupByID(removals)
	calls := make([]scriptCall, 0, len(order))
	for _, gid := range order {
		call, err := d.recordCall(gid, groups[gid], source)
		if err != nil {
			return Result{}, err
		}
		calls = append(calls, call)
	}

	replies, err := runScripts(ctx, d.rdb, calls)
	var callErr *callError
	if errors.As(err, &callErr) {
		gid := order[callErr.index]
		if !strings.HasPrefix(callErr.Error(), "WRONGTYPE") {
			return Result{}, fmt.Errorf("record removals of group %q: %w", gid, err)
		}
		return Result{}, fmt.Errorf("record removals of group %q: %w; a key of this group holds data oktawatch did not write, "+
			"so check the keys matching %s* and delete them if nothing else owns them", gid, err, keysFor(gid).prefix())
	}
	if err != nil {
		return Result{}, fmt.Errorf("record removals: %w", err)
	}

	var res Result
	for i, reply := range replies {
		if err := res.add(order[i], reply); err != nil {
			return res, fmt.Errorf("record removals of group %q: %w", order[i], err)
		}
	}
	return res, nil
}

func (d *Detector) recordCall(groupID string, removals []okta.Removal, source alert.Source) (scriptCall, error) {
	k := keysFor(groupID)
	s := d.settings
	args := make([]any, 0, 10+3*len(removals))
	args = append(args, s.Threshold, s.Window.Milliseconds(), s.Cooldown.Milliseconds(), s.MaxEventAge.Milliseconds(),
		groupID, string(source), s.MaxListed, d.streamTTL().Milliseconds(), ConsumerGroup, MaxClockSkew.Milliseconds())
	for _, r := range removals {
		detail, err := json.Marshal(r)
		if err != nil {
			return scriptCall{}, fmt.Errorf("encode removal %s: %w", r.EventID, err)
		}
		args = append(args, r.EventID, r.Published.UnixMilli(), detail)
	}
	return scriptCall{
		script: recordScript,
		keys:   []string{k.removals, k.details, k.reported, k.cooldown, k.state, k.pending, k.stream, k.schedule},
		args:   args,
	}, nil
}

// streamTTL keeps a shard's stream a little longer than its oldest alert may
// wait, so an idle shard leaves nothing behind.
func (d *Detector) streamTTL() time.Duration {
	return d.settings.AlertMaxAge + time.Hour
}

func (r *Result) add(groupID string, reply any) error {
	fields, ok := reply.([]any)
	if !ok || len(fields) != 7 {
		return fmt.Errorf("unexpected script reply %v", reply)
	}
	nums := make([]int, 0, 4)
	for _, i := range []int{0, 1, 2, 4, 6} {
		n, ok := fields[i].(int64)
		if !ok {
			return fmt.Errorf("unexpected script reply %v", reply)
		}
		nums = append(nums, int(n))
	}
	r.Recorded += nums[0]
	r.Duplicates += nums[1]
	r.TooOld += nums[2]
	r.Future += nums[4]
	ids, _ := fields[5].([]any)
	for _, id := range ids {
		if r.New == nil {
			r.New = make(map[string]bool)
		}
		s, _ := id.(string)
		r.New[newKey(groupID, s)] = true
	}
	if id, _ := fields[3].(string); id != "" {
		r.Alerts = append(r.Alerts, Enqueued{GroupID: groupID, Shard: ShardOf(groupID), EntryID: id, Count: nums[3]})
	}
	return nil
}

// IsNew reports whether the removal with this group id and uuid was
// recorded for the first time.
func (r Result) IsNew(groupID, uuid string) bool {
	return r.New[newKey(groupID, uuid)]
}

func newKey(groupID, uuid string) string { return groupID + "\x00" + uuid }

func groupByID(removals []okta.Removal) (map[string][]okta.Removal, []string) {
	groups := make(map[string][]okta.Removal)
	var order []string
	for _, r := range removals {
		if _, seen := groups[r.GroupID]; !seen {
			order = append(order, r.GroupID)
		}
		groups[r.GroupID] = append(groups[r.GroupID], r)
	}
	return groups, order
}

// ParseEntry decodes an alert stream entry written by the detector's scripts.
func ParseEntry(shard int, id string, values map[string]any) (alert.Alert, error) {
	get := func(k string) string { s, _ := values[k].(string); return s }
	ms := func(k string) (int64, error) {
		n, err := strconv.ParseInt(get(k), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("field %s: invalid number %q", k, get(k))
		}
		return n, nil
	}

	a := alert.Alert{
		ID:        fmt.Sprintf("%02d-%s", shard, id),
		Kind:      alert.Kind(get("kind")),
		Source:    alert.Source(get("source")),
		GroupID:   get("group_id"),
		GroupName: get("group_name"),
	}
	var errs []error
	ints := map[string]*int{"count": &a.Count, "total": &a.Total, "threshold": &a.Threshold, "omitted": &a.Omitted,
		"actors_counted": &a.ActorsCounted}
	for k, dst := range ints {
		n, err := ms(k)
		errs = append(errs, err)
		*dst = int(n)
	}
	times := map[string]*time.Time{"first": &a.First, "last": &a.Last, "detected": &a.DetectedAt}
	for k, dst := range times {
		n, err := ms(k)
		errs = append(errs, err)
		*dst = time.UnixMilli(n).UTC()
	}
	window, err := ms("window")
	errs = append(errs, err)
	a.Window = time.Duration(window) * time.Millisecond
	if err := json.Unmarshal([]byte(get("removals")), &a.Removals); err != nil {
		errs = append(errs, fmt.Errorf("field removals: %w", err))
	}
	if err := unmarshalActors(get("actors"), &a.Actors); err != nil {
		errs = append(errs, fmt.Errorf("field actors: %w", err))
	}
	sort.SliceStable(a.Actors, func(i, j int) bool { return a.Actors[i].Count > a.Actors[j].Count })
	if a.GroupID == "" || (a.Kind != alert.KindBurst && a.Kind != alert.KindFollowUp) {
		errs = append(errs, fmt.Errorf("missing group_id or unknown kind %q", a.Kind))
	}
	return a, errors.Join(errs...)
}

// unmarshalActors accepts the empty Lua table, which cjson encodes as {}.
func unmarshalActors(s string, dst *[]alert.ActorCount) error {
	if s == "" || strings.TrimSpace(s) == "{}" {
		*dst = nil
		return nil
	}
	return json.Unmarshal([]byte(s), dst)
}
