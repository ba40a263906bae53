// Command bench sends the same load, on loopback, to the real oktawatch
// binary on a real redis-server and to a bare echo handler that only reads
// the body (the ceiling). It prints throughput, CPU and latency of both,
// Redis calls per request, the time from the request that completes a burst
// to the alert reaching a fake Slack webhook, and peak memory.
//
// Run it with `make bench` or `go run ./bench`. It needs redis-server in
// PATH and took about a minute with the default flags on a 2-core machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// settings are the bench's flags.
type settings struct {
	duration  time.Duration
	warmup    time.Duration
	workers   uint64
	batch     int
	rateOne   int
	rateBatch int
	bursts    int
	threshold int
	keepDir   bool
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == ceilingCommand {
		if err := serveCeiling(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "bench ceiling:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

func parseFlags(args []string, stderr io.Writer) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&s.duration, "duration", 5*time.Second, "length of each measured load phase")
	fs.DurationVar(&s.warmup, "warmup", time.Second, "unmeasured load before each target's phases")
	fs.Uint64Var(&s.workers, "workers", 16, "concurrent requests in the max-rate phases")
	fs.IntVar(&s.batch, "batch", 50, "removals per request in the batch workload")
	fs.IntVar(&s.rateOne, "rate-single", 1000, "requests per second of the fixed-rate phase with one removal per request")
	fs.IntVar(&s.rateBatch, "rate-batch", 200, "requests per second of the fixed-rate phase with -batch removals per request")
	fs.IntVar(&s.bursts, "bursts", 200, "bursts, each in its own group, whose alert latency is measured")
	fs.IntVar(&s.threshold, "threshold", 60, "OKTAWATCH_THRESHOLD of the replica; must exceed -batch so load phases raise no alert")
	fs.BoolVar(&s.keepDir, "keep", false, "keep the working directory with the replica's log")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	return s, s.validate()
}

func (s settings) validate() error {
	switch {
	case s.duration <= 0 || s.warmup < 0:
		return fmt.Errorf("-duration must be positive and -warmup not negative, got %s and %s", s.duration, s.warmup)
	case s.workers < 1 || s.batch < 1 || s.rateOne < 1 || s.rateBatch < 1 || s.bursts < 1:
		return errors.New("-workers, -batch, -rate-single, -rate-batch and -bursts must be at least 1")
	case s.threshold <= s.batch:
		return fmt.Errorf("-threshold %d must exceed -batch %d, or the load phases would raise alerts", s.threshold, s.batch)
	}
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	env, err := startEnvironment(ctx, s, stderr)
	if err != nil {
		return err
	}
	defer env.close(stderr)

	report := newReport(s)
	for _, w := range []workload{{name: "single", events: 1, rate: s.rateOne}, {name: "batch", events: s.batch, rate: s.rateBatch}} {
		for _, t := range env.targets() {
			res, err := measureLoad(ctx, env, t, w, s, stderr)
			if err != nil {
				return fmt.Errorf("%s load on %s: %w", w.name, t.name, err)
			}
			report.addLoad(res)
		}
	}
	report.replicaPeakKiB, _ = peakRSS(env.replica.pid())
	report.ceilingPeakKiB, _ = peakRSS(env.ceiling.pid())

	fmt.Fprintf(stderr, "measuring threshold-to-slack latency over %d bursts\n", s.bursts)
	report.alerts, err = measureAlerts(ctx, env, s)
	if err != nil {
		return fmt.Errorf("alert latency: %w", err)
	}
	report.loadAfter = loadAverage()
	report.print(stdout)
	return nil
}
