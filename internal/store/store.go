// Package store opens the Redis connection the service runs on: one server,
// Redis Cluster, Sentinel, or an embedded in-process Redis for a first try.
package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/config"
)

// Open returns a client for the configured topology and a function that
// closes it, and the embedded server when there is one.
func Open(cfg config.Redis, log *zap.Logger) (redis.UniversalClient, func(), error) {
	redis.SetLogger(newRedisLogger(log))
	if cfg.Embedded() {
		return openEmbedded(cfg, log)
	}
	opts, err := universalOptions(cfg)
	if err != nil {
		return nil, nil, err
	}
	client := redis.NewUniversalClient(opts)
	return client, func() { _ = client.Close() }, nil
}

func universalOptions(cfg config.Redis) (*redis.UniversalOptions, error) {
	opts := &redis.UniversalOptions{
		Username:     cfg.Username,
		Password:     cfg.Password.Reveal(),
		PoolSize:     cfg.PoolSize,
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout,
		// A slow Redis must make requests fail fast with 503 rather than
		// queue behind a full pool past Okta's 3 s wait.
		PoolTimeout: cfg.ReadTimeout + cfg.WriteTimeout,
		MaxRetries:  1,
		// go-redis otherwise dials five times, 100 ms apart, before a
		// command fails, which makes every request during an outage wait
		// about 1.6 s for its 503 and /readyz time out instead of naming
		// the cause.
		DialerRetries: 1,
	}
	if cfg.TLS || cfg.TLSCAFile != "" || strings.HasPrefix(cfg.URL, "rediss://") {
		tlsConfig, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		opts.TLSConfig = tlsConfig
	}
	switch cfg.Mode() {
	case "cluster":
		opts.Addrs = cfg.ClusterAddrs
		opts.IsClusterMode = true
	case "sentinel":
		opts.Addrs = cfg.SentinelAddrs
		opts.MasterName = cfg.SentinelMaster
	default:
		parsed, err := redis.ParseURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("OKTAWATCH_REDIS_URL: %w; use redis://host:6379/0 or rediss://host:6380/0", err)
		}
		opts.Addrs = []string{parsed.Addr}
		opts.DB = parsed.DB
		if parsed.Username != "" {
			opts.Username = parsed.Username
		}
		if parsed.Password != "" {
			opts.Password = parsed.Password
		}
		if parsed.TLSConfig != nil && opts.TLSConfig != nil {
			opts.TLSConfig.ServerName = parsed.TLSConfig.ServerName
			opts.TLSConfig.InsecureSkipVerify = parsed.TLSConfig.InsecureSkipVerify // ?skip_verify=true
		}
	}
	return opts, nil
}

// tlsConfig returns the TLS settings for Redis: TLS 1.2 or newer, and the
// CAs of TLSCAFile when it is set, else the system's.
func tlsConfig(cfg config.Redis) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSCAFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(cfg.TLSCAFile)
	if err != nil {
		return nil, fmt.Errorf("OKTAWATCH_REDIS_TLS_CA_FILE: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("OKTAWATCH_REDIS_TLS_CA_FILE: no PEM certificate found in %s", cfg.TLSCAFile)
	}
	c.RootCAs = pool
	return c, nil
}

// openEmbedded starts an in-process miniredis. miniredis only expires keys
// after FastForward moves its clock, so a ticker moves that clock along with
// the wall clock, at one-second resolution.
func openEmbedded(cfg config.Redis, log *zap.Logger) (redis.UniversalClient, func(), error) {
	srv, err := miniredis.Run()
	if err != nil {
		return nil, nil, fmt.Errorf("start embedded redis: %w", err)
	}
	log.Warn("no OKTAWATCH_REDIS_URL set: using an embedded in-memory redis that serves a single replica and keeps nothing across restarts",
		zap.String("addr", srv.Addr()))

	stop := make(chan struct{})
	go advanceClock(srv, stop)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr(), ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout})
	closeAll := func() {
		close(stop)
		_ = client.Close()
		srv.Close()
	}
	return client, closeAll, nil
}

func advanceClock(srv *miniredis.Miniredis, stop <-chan struct{}) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	last := time.Now()
	for {
		select {
		case <-stop:
			return
		case now := <-ticker.C:
			srv.FastForward(now.Sub(last))
			last = now
		}
	}
}

// Ping checks that Redis responds within timeout.
func Ping(ctx context.Context, client redis.UniversalClient, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return client.Ping(ctx).Err()
}

// WarnOnEviction logs a warning when Redis may evict keys under memory
// pressure. Every key oktawatch writes has a TTL, so any volatile-* or
// allkeys-* policy can silently drop a group's window, its cooldown or a
// queued alert. Only noeviction turns memory pressure into errors, and the
// hook responds to those with 503 so Okta retries. Managed Redis often forbids CONFIG,
// in which case nothing is checked.
func WarnOnEviction(ctx context.Context, client redis.UniversalClient, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	policy, err := client.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		log.Debug("could not read maxmemory-policy", zap.Error(err))
		return
	}
	if p := policy["maxmemory-policy"]; p != "" && p != "noeviction" {
		log.Warn("redis may evict oktawatch's keys under memory pressure, losing removals, cooldowns or queued alerts; set maxmemory-policy noeviction",
			zap.String("maxmemory_policy", p))
	}
}
