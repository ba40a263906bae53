package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// report collects the measurements and prints them as Markdown tables.
type report struct {
	settings       settings
	started        time.Time
	loadBefore     string
	loadAfter      string
	loads          []loadResult
	alerts         []alertResult
	replicaPeakKiB int64
	ceilingPeakKiB int64
}

func newReport(s settings) *report {
	return &report{settings: s, started: time.Now().UTC(), loadBefore: loadAverage()}
}

func (r *report) addLoad(res loadResult) { r.loads = append(r.loads, res) }

// ceiling returns the ceiling's result for the same workload as res.
func (r *report) ceiling(res loadResult) (loadResult, bool) {
	for _, c := range r.loads {
		if c.target == "ceiling" && c.workload.name == res.workload.name {
			return c, true
		}
	}
	return loadResult{}, false
}

func (r *report) print(w io.Writer) {
	s := r.settings
	fmt.Fprintf(w, "# oktawatch bench, %s\n\n", r.started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "Command: go run ./bench %s\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(w, "Machine: %s, %d CPUs (%s), %s memory.\n", runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), cpuModel(), memTotal())
	fmt.Fprintf(w, "Run: %s; phases of %s after a %s warm-up; OKTAWATCH_THRESHOLD=%d; one replica, redis-server and the bench on the same machine.\n",
		runtime.Version(), s.duration, s.warmup, s.threshold)
	fmt.Fprintf(w, "Load average (1, 5, 15 min) before the run: %s; after: %s. Other processes on the machine share its cores.\n\n",
		r.loadBefore, r.loadAfter)
	r.printThroughput(w)
	r.printCPU(w)
	r.printLatency(w)
	r.printRedis(w)
	r.printAlerts(w)
	r.printMemory(w)
}

func (r *report) printThroughput(w io.Writer) {
	fmt.Fprintf(w, "## Throughput at max rate (%d requests in flight)\n\n", r.settings.workers)
	fmt.Fprintln(w, "| workload | target | requests/s | removals/s | vs ceiling | failed |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, res := range r.loads {
		p := res.maxRate
		fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %s | %s |\n", res.workload.label(), res.target,
			p.throughput(), p.throughput()*float64(res.workload.events), r.ratio(res, func(l loadResult) float64 { return l.maxRate.throughput() }),
			failed(p))
	}
	fmt.Fprintln(w)
}

func (r *report) printCPU(w io.Writer) {
	fmt.Fprintf(w, "## CPU per request in the max-rate phase (the machine has %d cores)\n\n", runtime.NumCPU())
	fmt.Fprintln(w, "| workload | target | server | redis-server | load generator | cores busy |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, res := range r.loads {
		p, c := res.maxRate, res.cpu
		per := func(d time.Duration) string {
			if p.requests == 0 {
				return "n/a"
			}
			return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/float64(p.requests))
		}
		busy := float64(c.server+c.redis+c.loadgen) / float64(p.elapsed)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.2f |\n", res.workload.label(), res.target,
			per(c.server), per(c.redis), per(c.loadgen), busy)
	}
	fmt.Fprintln(w)
}

func (r *report) printLatency(w io.Writer) {
	fmt.Fprintln(w, "## Latency at a fixed rate")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | rate | target | p50 | p99 | p99.9 | vs ceiling (p50 / p99 / p99.9) | failed |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|---:|")
	for _, res := range r.loads {
		p := res.fixed
		ratios := make([]string, 0, 3)
		for _, q := range []float64{.5, .99, .999} {
			ratios = append(ratios, r.ratio(res, func(l loadResult) float64 { return float64(l.fixed.quantile(q)) }))
		}
		fmt.Fprintf(w, "| %s | %d/s | %s | %s | %s | %s | %s | %s |\n", res.workload.label(), res.workload.rate, res.target,
			ms(p.quantile(.5)), ms(p.quantile(.99)), ms(p.quantile(.999)), strings.Join(ratios, " / "), failed(p))
	}
	fmt.Fprintln(w)
}

func (r *report) printRedis(w io.Writer) {
	fmt.Fprintln(w, "## Redis per request (oktawatch, max-rate and fixed-rate phases together)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | requests | round trips | EVALSHA | commands, script calls included | most frequent |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---|")
	for _, res := range r.loads {
		if res.redis == nil {
			continue
		}
		u := res.redis
		top := make([]string, 0, len(u.top))
		for _, c := range u.top {
			top = append(top, fmt.Sprintf("%s %.2f", c.name, c.perRequest))
		}
		fmt.Fprintf(w, "| %s | %d | %.3f | %.3f | %.1f | %s |\n", res.workload.label(), u.requests,
			u.roundTrips, u.scripts, u.commands, strings.Join(top, ", "))
	}
	fmt.Fprintln(w)
}

func (r *report) printAlerts(w io.Writer) {
	fmt.Fprintf(w, "## Threshold to Slack (%d bursts per row, one group each, one at a time)\n\n", r.settings.bursts)
	fmt.Fprintln(w, "From sending the request that completes a burst to the fake Slack receiving the alert, and that request's own response time.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| replica | to Slack p50 | p99 | max | response p50 | p99 |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, a := range r.alerts {
		state := "idle"
		if a.load > 0 {
			state = fmt.Sprintf("serving %d single-removal requests/s", a.load)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", state,
			ms(quantile(a.toSlack, .5)), ms(quantile(a.toSlack, .99)), ms(quantile(a.toSlack, 1)),
			ms(quantile(a.answer, .5)), ms(quantile(a.answer, .99)))
	}
	fmt.Fprintln(w)
}

func (r *report) printMemory(w io.Writer) {
	fmt.Fprintln(w, "## Peak resident memory (VmHWM) after the load phases")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| process | peak RSS | vs ceiling |")
	fmt.Fprintln(w, "|---|---:|---:|")
	fmt.Fprintf(w, "| ceiling | %.1f MiB | 1.00 |\n", float64(r.ceilingPeakKiB)/1024)
	ratio := "n/a"
	if r.ceilingPeakKiB > 0 {
		ratio = fmt.Sprintf("%.2f", float64(r.replicaPeakKiB)/float64(r.ceilingPeakKiB))
	}
	fmt.Fprintf(w, "| oktawatch | %.1f MiB | %s |\n", float64(r.replicaPeakKiB)/1024, ratio)
}

// ratio formats value(res) / value(ceiling of the same workload).
func (r *report) ratio(res loadResult, value func(loadResult) float64) string {
	c, ok := r.ceiling(res)
	if !ok || value(c) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", value(res)/value(c))
}

func (w workload) label() string {
	if w.events == 1 {
		return "1 removal"
	}
	return fmt.Sprintf("%d removals", w.events)
}

func failed(p phase) string {
	if p.requests == p.ok {
		return "0"
	}
	reasons := make([]string, 0, len(p.failures))
	for reason, n := range p.failures {
		reasons = append(reasons, fmt.Sprintf("%d× %s", n, reason))
	}
	return fmt.Sprintf("%d (%s)", p.requests-p.ok, strings.Join(reasons, "; "))
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	return phase{latencies: sorted}.quantile(q)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func cpuModel() string {
	info, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(info), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown CPU"
}

// loadAverage returns the first three fields of /proc/loadavg.
func loadAverage() string {
	avg, err := os.ReadFile("/proc/loadavg")
	fields := strings.Fields(string(avg))
	if err != nil || len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], " ")
}

func memTotal() string {
	info, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(info), "\n") {
		if value, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kib int64
			fmt.Sscanf(strings.TrimSpace(value), "%d", &kib)
			return fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
		}
	}
	return "unknown"
}
