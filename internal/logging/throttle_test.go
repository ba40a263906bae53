package logging

import (
	"testing"
	"time"
)

func TestThrottle_OneLinePerInterval(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := NewThrottle(10 * time.Second)
	th.now = func() time.Time { return clock }

	first, _ := th.Allow("redis down")
	second, _ := th.Allow("redis down")
	other, _ := th.Allow("slack down")
	clock = clock.Add(10 * time.Second)
	later, suppressed := th.Allow("redis down")

	if !first || second || !other || !later {
		t.Errorf("allowed first=%v second=%v other=%v later=%v, want true false true true", first, second, other, later)
	}
	if suppressed != 1 {
		t.Errorf("suppressed = %d, want 1", suppressed)
	}
}
