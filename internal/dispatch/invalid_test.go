package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/burst"
)

func TestDispatch_InvalidEntryIsDeadLetteredNotSent(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	stream := burst.StreamKey(3)
	if err := s.rdb.XGroupCreateMkStream(ctx, stream, burst.ConsumerGroup, "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"kind": "burst", "count": "many"}}).Err(); err != nil {
		t.Fatal(err)
	}
	r := s.startReplica(t)

	eventually(t, 10*time.Second, "the entry is dead-lettered", func() bool { return len(deadLetters(t, s.rdb)) == 1 })
	r.burstOf(t, s.rdb, "00gAFTERBAD", 5)
	s.slack.WaitForAccepted(1, 10*time.Second)

	if reason := deadLetters(t, s.rdb)[0].Values["reason"]; reason != "invalid_entry" {
		t.Errorf("reason = %v, want invalid_entry", reason)
	}
	if n := len(s.slack.Requests()); n != 1 {
		t.Errorf("%d posts, want only the valid alert's", n)
	}
	if r.logs.FilterMessageSnippet("invalid alert entry").Len() != 1 {
		t.Error("the invalid entry was not logged")
	}
}
