package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// roundTripMetric counts the replica's Redis round trips: its histogram
// observes every command and every pipeline once.
const roundTripMetric = "oktawatch_redis_request_duration_seconds_count"

var errNoMetric = errors.New("metric not found")

// redisCounters is a snapshot of what Redis and the replica counted.
type redisCounters struct {
	// calls per command name from INFO commandstats. Redis counts the
	// commands a Lua script runs as well as the EVALSHA that ran it.
	calls map[string]int64
	// roundTrips is the replica's own count of Redis round trips.
	roundTrips float64
}

// redisUsage is the Redis cost of one request, averaged over a load phase.
// It includes the dispatcher's polling (a few round trips per second),
// which is small next to thousands of requests.
type redisUsage struct {
	requests   int
	roundTrips float64
	scripts    float64
	commands   float64
	top        []commandCost
}

type commandCost struct {
	name       string
	perRequest float64
}

func (env *environment) redisCounters(ctx context.Context, t target) (redisCounters, error) {
	if !t.replica {
		return redisCounters{}, nil
	}
	info, err := env.rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return redisCounters{}, fmt.Errorf("INFO commandstats: %w", err)
	}
	c := redisCounters{calls: parseCommandStats(info)}
	c.roundTrips, err = scrapeSum(ctx, t.url+"/metrics", roundTripMetric)
	return c, err
}

// parseCommandStats reads lines such as
// "cmdstat_evalsha:calls=12,usec=340,usec_per_call=28.33,...".
func parseCommandStats(info string) map[string]int64 {
	calls := make(map[string]int64)
	for _, line := range strings.Split(info, "\n") {
		name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, field := range strings.Split(stats, ",") {
			if v, ok := strings.CutPrefix(field, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				calls[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return calls
}

// since returns the usage per request between two snapshots. The bench's
// own INFO calls are left out.
func (c redisCounters) since(before redisCounters, requests int) redisUsage {
	u := redisUsage{requests: requests}
	if requests == 0 {
		return u
	}
	per := func(n float64) float64 { return n / float64(requests) }
	var total int64
	for name, n := range c.calls {
		if name == "info" {
			continue
		}
		delta := n - before.calls[name]
		if delta <= 0 {
			continue
		}
		total += delta
		u.top = append(u.top, commandCost{name: name, perRequest: per(float64(delta))})
		if name == "evalsha" || name == "eval" {
			u.scripts += per(float64(delta))
		}
	}
	sort.Slice(u.top, func(i, j int) bool { return u.top[i].perRequest > u.top[j].perRequest })
	u.top = u.top[:min(len(u.top), 6)]
	u.commands = per(float64(total))
	u.roundTrips = per(c.roundTrips - before.roundTrips)
	return u
}

// scrapeSum returns the sum of all samples of a metric in the Prometheus
// text format at url.
func scrapeSum(ctx context.Context, url, name string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()

	var sum float64
	found := false
	scanner := bufio.NewScanner(resp.Body)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("scrape %s: invalid sample %q", url, line)
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("scrape %s: %s: %w", url, name, errNoMetric)
	}
	return sum, scanner.Err()
}
