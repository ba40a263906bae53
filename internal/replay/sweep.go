package replay

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/oktawatch/oktawatch/internal/okta"
)

// Combinations returns every combination of the given thresholds, windows
// and cooldowns, thresholds varying slowest.
func Combinations(thresholds []int, windows, cooldowns []time.Duration) []Settings {
	combos := make([]Settings, 0, len(thresholds)*len(windows)*len(cooldowns))
	for _, threshold := range thresholds {
		for _, window := range windows {
			for _, cooldown := range cooldowns {
				combos = append(combos, Settings{Threshold: threshold, Window: window, Cooldown: cooldown})
			}
		}
	}
	return combos
}

// Run replays the removals once per Settings and returns the results in
// the order of settings. The replays run in parallel, one embedded Redis
// each. progress, which may be nil, is called after every removal of every
// replay and must be safe for concurrent use.
func Run(ctx context.Context, removals []okta.Removal, settings []Settings, progress func(n int)) ([]Result, error) {
	if progress == nil {
		progress = func(int) {}
	}
	results := make([]Result, len(settings))
	errs := make([]error, len(settings))
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, s := range settings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			results[i], errs[i] = replayOne(ctx, removals, s, progress)
		}()
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

// replayOne feeds the removals, which must be sorted by published time, to
// a detector with settings s.
func replayOne(ctx context.Context, removals []okta.Removal, s Settings, progress func(n int)) (Result, error) {
	if len(removals) == 0 {
		return Result{Settings: s}, nil
	}
	e, err := newEngine(s, removals[0].Published)
	if err != nil {
		return Result{}, err
	}
	defer e.close()

	for _, r := range removals {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		if err := e.record(ctx, r); err != nil {
			return Result{}, fmt.Errorf("replay with threshold %d, window %s, cooldown %s: %w",
				s.Threshold, s.Window, s.Cooldown, err)
		}
		progress(1)
	}
	if err := e.finish(ctx); err != nil {
		return Result{}, err
	}
	return e.result, nil
}
