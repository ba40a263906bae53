// Package timeutil holds time helpers shared by the service's packages.
package timeutil

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx ends. It returns nil when d passed and the
// context's error otherwise; with d <= 0 it returns at once.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
