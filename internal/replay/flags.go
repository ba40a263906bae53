package replay

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxDays bounds the day count of a duration, far below the 292 years
// that time.Duration can hold.
const maxDays = 36500

// ParseThresholds parses the value of --threshold, a comma-separated list
// of whole numbers such as 3,5,10.
func ParseThresholds(value string) ([]int, error) {
	var thresholds []int
	for _, item := range splitList(value) {
		n, err := strconv.Atoi(item)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--threshold: %q is not a whole number of at least 1; use a list such as 3,5,10", item)
		}
		if !slices.Contains(thresholds, n) {
			thresholds = append(thresholds, n)
		}
	}
	if len(thresholds) == 0 {
		return nil, fmt.Errorf("--threshold is empty; use a list such as 3,5,10")
	}
	return thresholds, nil
}

// ParseDurations parses the value of the flag named flagName, a
// comma-separated list of durations such as 5m,15m. Each item is read by
// ParseDuration.
func ParseDurations(flagName, value string) ([]time.Duration, error) {
	var durations []time.Duration
	for _, item := range splitList(value) {
		d, err := ParseDuration(item)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flagName, err)
		}
		if !slices.Contains(durations, d) {
			durations = append(durations, d)
		}
	}
	if len(durations) == 0 {
		return nil, fmt.Errorf("--%s is empty; use a list of durations such as 5m,15m", flagName)
	}
	return durations, nil
}

// ParseDuration parses a positive Go duration such as 90m or 36h, which may
// start with a number of days: 7d or 1d12h.
func ParseDuration(value string) (time.Duration, error) {
	var days time.Duration
	rest := value
	if before, after, found := strings.Cut(value, "d"); found {
		n, err := strconv.Atoi(before)
		if err != nil || n < 0 || n > maxDays {
			return 0, fmt.Errorf("%q is not a duration; use Go durations such as 90m or 36h, or up to %d days such as 7d",
				value, maxDays)
		}
		days, rest = time.Duration(n)*24*time.Hour, after
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("%q is not a duration; use Go durations such as 90m or 36h, or days such as 7d", value)
		}
	}
	if total := days + d; total > 0 {
		return total, nil
	}
	return 0, fmt.Errorf("%q is not a positive duration; use Go durations such as 90m or 36h, or days such as 7d", value)
}

func splitList(value string) []string {
	var items []string
	for _, item := range strings.Split(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}
