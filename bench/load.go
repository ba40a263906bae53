package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/oktawatch/oktawatch/internal/hook"
)

// workload is one shape of request: how many removals each carries, and
// the rate of its fixed-rate phase.
type workload struct {
	name   string
	events int
	rate   int
}

// target is a server under load.
type target struct {
	name    string
	url     string
	proc    *process
	replica bool
}

func (env *environment) targets() []target {
	return []target{
		{name: "ceiling", url: env.ceilingURL, proc: env.ceiling},
		{name: "oktawatch", url: env.replicaURL, proc: env.replica, replica: true},
	}
}

// phase is the outcome of one attack.
type phase struct {
	requests  int
	ok        int
	elapsed   time.Duration
	latencies []time.Duration // sorted
	failures  map[string]int
}

func (p phase) throughput() float64 {
	if p.elapsed <= 0 {
		return 0
	}
	return float64(p.ok) / p.elapsed.Seconds()
}

// quantile returns the latency below which a share q of the requests
// finished, from all latencies rather than an estimate.
func (p phase) quantile(q float64) time.Duration {
	if len(p.latencies) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(p.latencies)))) - 1
	return p.latencies[max(0, min(i, len(p.latencies)-1))]
}

// loadResult is one workload on one target.
type loadResult struct {
	workload workload
	target   string
	maxRate  phase
	fixed    phase
	redis    *redisUsage
	// cpu is the CPU time spent during the max-rate phase.
	cpu cpuUse
}

// measureLoad warms the target up, then runs the max-rate phase and the
// fixed-rate phase on an empty Redis, counting Redis calls over both.
func measureLoad(ctx context.Context, env *environment, t target, w workload, s settings, log io.Writer) (loadResult, error) {
	res := loadResult{workload: w, target: t.name}
	if err := env.rdb.FlushAll(ctx).Err(); err != nil {
		return res, fmt.Errorf("flush redis: %w", err)
	}
	bodies, err := newBodyTemplate(w.events)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(log, "%s per request on %s: warm-up, max rate, then %d requests/s\n", w.label(), t.name, w.rate)
	if _, err := attack(ctx, t.url, bodies, vegeta.Rate{Freq: 0}, s.warmup, s.workers); err != nil {
		return res, err
	}

	before, err := env.redisCounters(ctx, t)
	if err != nil {
		return res, err
	}
	if res.maxRate, res.cpu, err = measureMaxRate(ctx, env, t, bodies, s); err != nil {
		return res, err
	}
	fixed := vegeta.Rate{Freq: w.rate, Per: time.Second}
	if res.fixed, err = attack(ctx, t.url, bodies, fixed, s.duration, 0); err != nil {
		return res, err
	}
	after, err := env.redisCounters(ctx, t)
	if err != nil {
		return res, err
	}
	if t.replica {
		usage := after.since(before, res.maxRate.requests+res.fixed.requests)
		res.redis = &usage
	}
	return res, nil
}

// measureMaxRate runs the max-rate phase and returns the CPU time that the
// processes involved spent during it.
func measureMaxRate(ctx context.Context, env *environment, t target, bodies *bodyTemplate, s settings) (phase, cpuUse, error) {
	before, err := env.cpuSnapshot(t)
	if err != nil {
		return phase{}, cpuUse{}, err
	}
	p, err := attack(ctx, t.url, bodies, vegeta.Rate{Freq: 0}, s.duration, s.workers)
	if err != nil {
		return p, cpuUse{}, err
	}
	after, err := env.cpuSnapshot(t)
	return p, after.since(before), err
}

// attack sends requests to the hook path at rate for duration. With
// workers > 0 it keeps exactly that many requests in flight, which is how
// the max rate is measured. With 0, vegeta adds workers as the rate needs,
// so a slow response does not delay the next request.
func attack(ctx context.Context, base string, bodies *bodyTemplate, rate vegeta.Rate, duration time.Duration, workers uint64) (phase, error) {
	opts := []func(*vegeta.Attacker){
		vegeta.KeepAlive(true), vegeta.Timeout(10 * time.Second),
		vegeta.Proxy(func(*http.Request) (*url.URL, error) { return nil, nil }),
		vegeta.MaxWorkers(1000),
	}
	if workers > 0 {
		opts = append(opts, vegeta.Workers(workers), vegeta.MaxWorkers(workers))
	}
	attacker := vegeta.NewAttacker(opts...)
	header := http.Header{"Content-Type": {"application/json"}, "Authorization": {benchSecret}}
	targeter := func(t *vegeta.Target) error {
		t.Method, t.URL, t.Header, t.Body = http.MethodPost, base+hook.Path, header, bodies.next()
		return nil
	}

	p := phase{failures: make(map[string]int)}
	var first, last time.Time
	for r := range attacker.Attack(targeter, rate, duration, "") {
		if ctx.Err() != nil {
			attacker.Stop()
		}
		p.add(r)
		if first.IsZero() || r.Timestamp.Before(first) {
			first = r.Timestamp
		}
		last = latest(last, r.Timestamp.Add(r.Latency))
	}
	if ctx.Err() != nil {
		return p, ctx.Err()
	}
	p.elapsed = last.Sub(first)
	slices.Sort(p.latencies)
	if p.ok == 0 {
		return p, fmt.Errorf("no request to %s succeeded: %v", base, p.failures)
	}
	return p, nil
}

func (p *phase) add(r *vegeta.Result) {
	p.requests++
	p.latencies = append(p.latencies, r.Latency)
	if r.Code == http.StatusOK {
		p.ok++
		return
	}
	reason := r.Error
	if reason == "" {
		reason = fmt.Sprintf("status %d", r.Code)
	}
	p.failures[reason]++
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
