package metrics

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/burst"
)

// pipelineOperation labels a pipelined batch, which is one round trip
// whatever commands it carries.
const pipelineOperation = "pipeline"

// RedisHook returns a go-redis hook that times every command and pipeline.
// Add it with AddHook on the client the service uses.
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.m.observeRedis(strings.ToLower(cmd.Name()), time.Since(start), err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.m.observeRedis(pipelineOperation, time.Since(start), err)
		return err
	}
}

// observeRedis records one round trip. redis.Nil is an empty reply, not a
// failure.
func (m *Metrics) observeRedis(operation string, elapsed time.Duration, err error) {
	m.redisDuration.WithLabelValues(operation).Observe(elapsed.Seconds())
	if err != nil && !errors.Is(err, redis.Nil) {
		m.redisErrors.WithLabelValues(operation).Inc()
	}
}

// queueTimeout bounds the XLEN round trip of one scrape, so an unreachable
// Redis does not hold the scrape until Prometheus gives up.
const queueTimeout = 500 * time.Millisecond

var queueDepthDesc = prometheus.NewDesc(
	prometheus.BuildFQName(namespace, "alert", "queue_depth"),
	"Alerts in the Redis streams of all shards, queued or being delivered.",
	nil, nil,
)

// QueueCollector reports the alert queue depth: the sum of XLEN over the
// shards' streams, read in one pipelined round trip at scrape time.
type QueueCollector struct {
	rdb     redis.Cmdable
	timeout time.Duration
}

// NewQueueCollector returns a collector that reads the queue depth from rdb.
// Register it on the same registry as New.
func NewQueueCollector(rdb redis.Cmdable) *QueueCollector {
	return &QueueCollector{rdb: rdb, timeout: queueTimeout}
}

// Describe implements prometheus.Collector.
func (q *QueueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepthDesc }

// Collect implements prometheus.Collector. When Redis does not reply in
// time the sample is left out, so the rest of the scrape still succeeds and
// absent(oktawatch_alert_queue_depth) shows the gap.
func (q *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	depth, err := q.depth()
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(depth))
}

func (q *QueueCollector) depth() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, burst.Shards)
	for shard := range burst.Shards {
		cmds[shard] = pipe.XLen(ctx, burst.StreamKey(shard))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	var total int64
	for _, cmd := range cmds {
		total += cmd.Val()
	}
	return total, nil
}
