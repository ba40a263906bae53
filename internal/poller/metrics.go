package poller

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the poller's Prometheus collectors.
type metrics struct {
	missed    prometheus.Counter
	tooOld    prometheus.Counter
	polls     *prometheus.CounterVec
	leaseHeld prometheus.Gauge
}

// newMetrics creates the collectors and registers them on reg unless reg is
// nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		missed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oktawatch_systemlog_removals_missed_by_hook_total",
			Help: "Removals that the System Log poller recorded before the Okta event hook delivered them, if it ever did.",
		}),
		tooOld: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oktawatch_systemlog_removals_too_old_total",
			Help: "Removals read from the System Log that were not counted because they are older than OKTAWATCH_MAX_EVENT_AGE.",
		}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oktawatch_systemlog_polls_total",
			Help: "System Log polls by outcome: caught_up, page_cap, rate_limited, lease_lost or failed.",
		}, []string{"outcome"}),
		leaseHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oktawatch_systemlog_lease_held",
			Help: "1 while this replica holds the System Log polling lease, else 0.",
		}),
	}
	for _, o := range outcomes {
		m.polls.WithLabelValues(string(o))
	}
	if reg == nil {
		return m, nil
	}

	var errs []error
	for _, c := range []prometheus.Collector{m.missed, m.tooOld, m.polls, m.leaseHeld} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register system log poller metrics: %w", err)
	}
	return m, nil
}
