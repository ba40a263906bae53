// Package metrics exposes oktawatch's Prometheus metrics: what the hook
// received and recorded, the bursts it detected, how alert delivery went,
// and how long HTTP requests and Redis calls took.
//
// No metric carries a group, user or event id as a label, so the number of
// series stays fixed however many groups Okta reports on.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/okta"
)

const namespace = "oktawatch"

// ReasonTooOld labels removals that Redis did not count because they were
// published before the maximum event age.
const ReasonTooOld = "too_old"

// ReasonFuture labels removals that Redis did not count because they were
// published too far after Redis time.
const ReasonFuture = "published_in_future"

// SkipReasons lists every value of the reason label of
// oktawatch_hook_events_skipped_total.
var SkipReasons = []string{
	string(okta.ReasonOtherType), string(okta.ReasonNotSuccess), string(okta.ReasonInvalidField),
	string(okta.ReasonMissingUUID), string(okta.ReasonMissingGroup), string(okta.ReasonMissingUser),
	string(okta.ReasonAmbiguous), string(okta.ReasonBadPublished), string(okta.ReasonNotAnObject),
	ReasonTooOld, ReasonFuture,
}

// requestBuckets span the hook's response times to beyond Okta's 3 s
// timeout.
var requestBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// Metrics holds oktawatch's collectors. It implements hook.Observer and
// dispatch.Observer, and every method is safe for concurrent use.
type Metrics struct {
	hookRequests   *prometheus.CounterVec
	hookDuration   *prometheus.HistogramVec
	eventsReceived prometheus.Counter
	removals       prometheus.Counter
	duplicates     prometheus.Counter
	skipped        *prometheus.CounterVec
	bursts         prometheus.Counter
	alertsSent     *prometheus.CounterVec
	sendFailures   *prometheus.CounterVec
	deadLettered   *prometheus.CounterVec
	redisDuration  *prometheus.HistogramVec
	redisErrors    *prometheus.CounterVec
}

// New creates the collectors and registers them, with the Go runtime and
// process collectors, on reg. It panics when a name is already registered
// on reg, as prometheus.MustRegister does.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		hookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "hook", Name: "requests_total",
			Help: "Requests to the Okta hook path, by method and HTTP status code.",
		}, []string{"method", "code"}),
		hookDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "hook", Name: "request_duration_seconds",
			Help:    "Time from receiving a request to the hook path until its response was written, by method.",
			Buckets: requestBuckets,
		}, []string{"method"}),
		eventsReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "hook", Name: "events_received_total",
			Help: "System Log events in hook deliveries that were processed; deliveries rejected with an error status are not counted.",
		}),
		removals: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "hook", Name: "removals_recorded_total",
			Help: "Group-membership removals stored in Redis for the first time.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "hook", Name: "duplicates_ignored_total",
			Help: "Removals ignored because Redis already had their event uuid, as after Okta's redeliveries.",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "hook", Name: "events_skipped_total",
			Help: "Events not counted as removals, by reason.",
		}, []string{"reason"}),
		bursts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "bursts_detected_total",
			Help: "Bursts whose first alert the hook queued.",
		}),
		alertsSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "alerts", Name: "sent_total",
			Help: "Alerts the notifier accepted, by kind (burst or followup).",
		}, []string{"kind"}),
		sendFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "alerts", Name: "send_failures_total",
			Help: "Failed attempts to send an alert, by reason; most are retried.",
		}, []string{"reason"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "alerts", Name: "dead_lettered_total",
			Help: "Alerts moved to the dead-letter stream undelivered, by reason.",
		}, []string{"reason"}),
		redisDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "redis", Name: "request_duration_seconds",
			Help:    "Time of one Redis round trip, by command name, or pipeline for a pipelined batch.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"operation"}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "redis", Name: "request_errors_total",
			Help: "Redis round trips that failed, by command name, or pipeline for a pipelined batch.",
		}, []string{"operation"}),
	}
	for _, reason := range SkipReasons {
		m.skipped.WithLabelValues(reason)
	}
	for _, kind := range []alert.Kind{alert.KindBurst, alert.KindFollowUp} {
		m.alertsSent.WithLabelValues(string(kind))
	}

	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.hookRequests, m.hookDuration, m.eventsReceived, m.removals, m.duplicates, m.skipped, m.bursts,
		m.alertsSent, m.sendFailures, m.deadLettered, m.redisDuration, m.redisErrors,
	)
	return m
}

// Handler serves the metrics of g in the Prometheus exposition format.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// ObserveHookRequest records one finished request to the hook path.
func (m *Metrics) ObserveHookRequest(method string, status int, elapsed time.Duration) {
	method = methodLabel(method)
	m.hookRequests.WithLabelValues(method, strconv.Itoa(status)).Inc()
	m.hookDuration.WithLabelValues(method).Observe(elapsed.Seconds())
}

// methodLabel keeps the methods Okta uses and folds every other into
// "other": clients choose the method, and each distinct label value would
// be a new series.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodHead:
		return method
	default:
		return "other"
	}
}

// Delivery records what one processed hook delivery contained and what
// Redis made of its removals.
func (m *Metrics) Delivery(events int, skipped map[okta.SkipReason]int, result burst.Result) {
	m.eventsReceived.Add(float64(events))
	for reason, n := range skipped {
		m.skipped.WithLabelValues(string(reason)).Add(float64(n))
	}
	if result.TooOld > 0 {
		m.skipped.WithLabelValues(ReasonTooOld).Add(float64(result.TooOld))
	}
	if result.Future > 0 {
		m.skipped.WithLabelValues(ReasonFuture).Add(float64(result.Future))
	}
	m.removals.Add(float64(result.Recorded))
	m.duplicates.Add(float64(result.Duplicates))
	m.bursts.Add(float64(len(result.Alerts)))
}

// Sent records an alert the notifier accepted.
func (m *Metrics) Sent(a alert.Alert) {
	m.alertsSent.WithLabelValues(string(a.Kind)).Inc()
}

// Failed records a failed attempt to send an alert.
func (m *Metrics) Failed(_ alert.Alert, reason string) {
	m.sendFailures.WithLabelValues(reason).Inc()
}

// DeadLettered records an alert given up on.
func (m *Metrics) DeadLettered(_ alert.Alert, reason string) {
	m.deadLettered.WithLabelValues(reason).Inc()
}
