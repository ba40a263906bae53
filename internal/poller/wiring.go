package poller

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/config"
	"github.com/oktawatch/oktawatch/internal/oktaapi"
)

// httpTimeout bounds one System Log request.
const httpTimeout = 30 * time.Second

// FromConfig builds the poller that the service runs, or returns nil when
// polling is off: when OKTAWATCH_OKTA_API_TOKEN is empty or
// OKTAWATCH_SYSTEMLOG_POLL_INTERVAL is 0. Calling Start on the nil Poller
// is safe and does nothing.
func FromConfig(cfg config.Config, rdb redis.UniversalClient, rec Recorder, log *zap.Logger,
	reg prometheus.Registerer) (*Poller, error) {
	switch {
	case cfg.OktaAPIToken == "":
		log.Info("system log polling is off: OKTAWATCH_OKTA_API_TOKEN is not set, so removals the event hook loses are not caught up")
		return nil, nil
	case cfg.SystemLogPollInterval == 0:
		log.Info("system log polling is off: OKTAWATCH_SYSTEMLOG_POLL_INTERVAL is 0")
		return nil, nil
	case cfg.OktaOrgURL == "":
		return nil, errors.New("OKTAWATCH_OKTA_ORG_URL: missing; the System Log poller needs it when " +
			"OKTAWATCH_OKTA_API_TOKEN is set (or set OKTAWATCH_SYSTEMLOG_POLL_INTERVAL=0 to turn polling off)")
	}

	client, err := oktaapi.NewClient(cfg.OktaOrgURL, cfg.OktaAPIToken.Reveal(), &http.Client{Timeout: httpTimeout}, log)
	if err != nil {
		return nil, fmt.Errorf("system log poller: %w", err)
	}
	return New(Config{
		Interval: cfg.SystemLogPollInterval,
		Lookback: cfg.SystemLogLookback,
		LeaseTTL: leaseTTLFor(cfg.SystemLogPollInterval),
		Org:      client.OrgURL(),
	}, rdb, client, rec, log, reg)
}

// leaseTTLFor returns ten poll intervals, at least one second and at most
// DefaultLeaseTTL. The lease is renewed every third of its TTL whatever the
// interval, so a long interval does not need a long lease. A short interval
// gets a short lease, so that a failover does not skip many polls.
//
// TODO: make the TTL a setting of its own if operators need to tune
// failover time apart from the poll interval.
func leaseTTLFor(interval time.Duration) time.Duration {
	return min(max(10*interval, time.Second), DefaultLeaseTTL)
}
