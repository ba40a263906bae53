package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/config"
	"github.com/oktawatch/oktawatch/internal/dispatch"
	"github.com/oktawatch/oktawatch/internal/hook"
	"github.com/oktawatch/oktawatch/internal/metrics"
	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/poller"
	"github.com/oktawatch/oktawatch/internal/server"
	"github.com/oktawatch/oktawatch/internal/slack"
	"github.com/oktawatch/oktawatch/internal/store"
)

// slackTimeout bounds one post to Slack; it stays below the claim timeout so
// a hung request never outlives the dispatcher's claim.
const slackTimeout = 10 * time.Second

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log, err := newLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	log.Info("starting oktawatch", cfg.Fields()...)

	rdb, closeRedis, err := store.Open(cfg.Redis, log.Named("redis"))
	if err != nil {
		return err
	}
	defer closeRedis() // Redis closes last: every other cleanup runs before it.
	if !cfg.Redis.Embedded() {
		store.WarnOnEviction(ctx, rdb, log.Named("redis"))
	}

	m, reg, metricsHandler := newMetrics(rdb)

	detector := burst.New(rdb, burst.Settings{
		Threshold: cfg.Threshold, Window: cfg.Window, Cooldown: cfg.Cooldown,
		MaxEventAge: cfg.MaxEventAge, AlertMaxAge: cfg.AlertMaxAge,
	})
	dispatcher := dispatch.New(rdb, newNotifier(cfg, log), detector, m, dispatchConfig(cfg), log.Named("dispatch"))
	recorder := &kickingRecorder{detector: detector, dispatcher: dispatcher}
	systemLog, err := poller.FromConfig(cfg, rdb, recorder, log.Named("systemlog"), reg)
	if err != nil {
		return err
	}
	stopPolling := systemLog.Start(ctx)
	defer stopPolling() // runs before closeRedis, so the lease is released while Redis is up

	handler := hook.New(hook.Config{
		AuthHeader: cfg.OktaAuthHeader, AuthSecret: cfg.OktaAuthSecret.Reveal(), MaxBodyBytes: cfg.MaxBodyBytes,
	}, recorder, m, log.Named("hook"))
	srv := server.New(cfg, handler, redisPinger{rdb}, server.Options{Metrics: metricsHandler, Requests: m}, log.Named("server"))

	return runService(ctx, cfg, srv, dispatcher, log)
}

// newMetrics registers the service's metrics on a registry of their own,
// times every Redis round trip of rdb, and returns the /metrics handler.
func newMetrics(rdb redis.UniversalClient) (*metrics.Metrics, prometheus.Registerer, http.Handler) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	reg.MustRegister(metrics.NewQueueCollector(rdb))
	rdb.AddHook(m.RedisHook())
	return m, reg, metrics.Handler(reg)
}

// runService serves until ctx ends, then shuts down in order: readiness off
// and drain, stop accepting and finish requests, let alert sends finish or
// hand them back, and (in the caller) close Redis.
func runService(ctx context.Context, cfg config.Config, srv *server.Server, d *dispatch.Dispatcher, log *zap.Logger) error {
	l, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("listen on %s (OKTAWATCH_LISTEN_ADDR): %w", cfg.ListenAddr, err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()

	dispatchCtx, stopDispatch := context.WithCancel(context.Background())
	drainCtx, cancelDrain := context.WithCancel(context.Background())
	defer cancelDrain()
	dispatchDone := make(chan struct{})
	go func() { d.Run(dispatchCtx, drainCtx); close(dispatchDone) }()

	select {
	case err := <-serveErr:
		stopDispatch()
		cancelDrain()
		<-dispatchDone
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutdown signal received")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownDrain+cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx, cfg.ShutdownDrain); err != nil {
		log.Error("http server did not finish in-flight requests in time", zap.Error(err))
	}
	stopDispatch()
	go func() { <-shutdownCtx.Done(); cancelDrain() }()
	<-dispatchDone
	log.Info("oktawatch stopped")
	return nil
}

func dispatchConfig(cfg config.Config) dispatch.Config {
	dc := dispatch.DefaultConfig()
	dc.ClaimTimeout = cfg.AlertClaimTimeout
	dc.MaxRetryAfter = cfg.SlackMaxRetryAfter
	dc.MaxAge = cfg.AlertMaxAge
	return dc
}

func newNotifier(cfg config.Config, log *zap.Logger) dispatch.Notifier {
	if cfg.SlackWebhookURL == "" {
		log.Warn("no OKTAWATCH_SLACK_WEBHOOK_URL set: alerts are written to the log instead of Slack")
		return slack.NewLogNotifier(log.Named("alerts"), cfg.OktaOrgURL)
	}
	client := slack.NewClient(cfg.SlackWebhookURL.Reveal(), &http.Client{Timeout: slackTimeout})
	return slack.NewNotifier(client, cfg.OktaOrgURL)
}

// kickingRecorder records removals and wakes the local dispatcher for every
// alert they queued, so the replica that detected a burst sends it at once.
type kickingRecorder struct {
	detector   *burst.Detector
	dispatcher *dispatch.Dispatcher
}

func (k *kickingRecorder) Record(ctx context.Context, removals []okta.Removal, source alert.Source) (burst.Result, error) {
	res, err := k.detector.Record(ctx, removals, source)
	for _, a := range res.Alerts {
		k.dispatcher.Kick(a.Shard)
	}
	return res, err
}

type redisPinger struct{ rdb redis.UniversalClient }

func (p redisPinger) Ping(ctx context.Context) error { return p.rdb.Ping(ctx).Err() }

func newLogger(level string) (*zap.Logger, error) {
	lvl, err := zap.ParseAtomicLevel(level)
	if err != nil {
		return nil, errors.New("OKTAWATCH_LOG_LEVEL: invalid level " + fmt.Sprintf("%q", level) + "; use debug, info, warn or error")
	}
	zc := zap.NewProductionConfig()
	zc.Level = lvl
	zc.Sampling = nil
	zc.DisableStacktrace = true
	zc.EncoderConfig.TimeKey = "time"
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	zc.EncoderConfig.EncodeDuration = zapcore.StringDurationEncoder
	return zc.Build()
}
