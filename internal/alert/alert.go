// Package alert defines the burst alert that the detector enqueues and the
// notifiers deliver.
package alert

import (
	"time"

	"github.com/oktawatch/oktawatch/internal/okta"
)

// Kind distinguishes a first burst alert from a follow-up about the same burst.
type Kind string

const (
	// KindBurst is the first alert of a burst, sent when the threshold is reached.
	KindBurst Kind = "burst"
	// KindFollowUp reports removals that happened during a cooldown period.
	KindFollowUp Kind = "followup"
)

// Source names the path that delivered the removal which triggered an alert.
type Source string

const (
	// SourceHook is an Okta Event Hook delivery.
	SourceHook Source = "hook"
	// SourceSystemLog is the System Log poller that catches deliveries Okta lost.
	SourceSystemLog Source = "systemlog"
	// SourceReplay is an offline replay of an exported System Log.
	SourceReplay Source = "replay"
)

// Alert is one message about one group's burst of removals.
type Alert struct {
	// ID is unique per alert and stable across delivery retries.
	ID        string `json:"id"`
	Kind      Kind   `json:"kind"`
	Source    Source `json:"source"`
	GroupID   string `json:"group_id"`
	GroupName string `json:"group_name"`

	// Count is the number of removals this alert reports: the removals in the
	// burst window for KindBurst, the removals since the previous message for
	// KindFollowUp.
	Count int `json:"count"`
	// Total is the number of removals since the burst began, Count included.
	Total int `json:"total"`
	// Threshold and Window are the detection settings that fired.
	Threshold int           `json:"threshold"`
	Window    time.Duration `json:"window"`

	// First and Last are the published times of the earliest and latest
	// removal that Count covers.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`

	// Removals lists reported removals, oldest first. It may contain fewer
	// than Count entries, and Omitted is the number left out.
	Removals []okta.Removal `json:"removals"`
	Omitted  int            `json:"omitted"`
	// Actors counts removals per actor, most first, over the newest
	// ActorsCounted removals the alert covers: all of them unless the burst
	// is larger than the detector scans in one step.
	Actors        []ActorCount `json:"actors"`
	ActorsCounted int          `json:"actors_counted"`

	// DetectedAt is the Redis server time at which the alert was enqueued.
	DetectedAt time.Time `json:"detected_at"`
}

// ActorCount is one actor and how many removals it made.
type ActorCount struct {
	okta.Actor
	Count int `json:"count"`
}

// Delay returns how long after the latest reported removal the alert was
// detected.
func (a Alert) Delay() time.Duration {
	return a.DetectedAt.Sub(a.Last)
}

// Late reports whether a first burst alert was found by the System Log poller
// or more than one window after its latest removal, so the message must state that
// it arrived late. Follow-ups are late by design and never count as late.
func (a Alert) Late() bool {
	if a.Kind != KindBurst {
		return false
	}
	return a.Source == SourceSystemLog || a.Delay() > a.Window
}
