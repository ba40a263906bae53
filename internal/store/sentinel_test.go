package store

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/alert"
	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/config"
	"github.com/oktawatch/oktawatch/internal/okta"
	"github.com/oktawatch/oktawatch/internal/redistest"
)

func TestOpen_SentinelRecordsABurst(t *testing.T) {
	s := redistest.Sentinel(t)
	client, closeClient, err := Open(config.Redis{
		SentinelMaster: s.Master, SentinelAddrs: []string{s.SentinelAddr},
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
	}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer closeClient()
	det := burst.New(client, burst.Settings{Threshold: 3, Window: time.Minute, Cooldown: time.Minute,
		MaxEventAge: time.Hour, AlertMaxAge: time.Hour})
	now := time.Now()

	res, err := det.Record(context.Background(), []okta.Removal{
		{EventID: "s1", Published: now, GroupID: "00gSENTINEL"},
		{EventID: "s2", Published: now, GroupID: "00gSENTINEL"},
		{EventID: "s3", Published: now, GroupID: "00gSENTINEL"},
	}, alert.SourceHook)

	if err != nil {
		t.Fatal(err)
	}
	if len(res.Alerts) != 1 {
		t.Errorf("alerts = %d, want 1", len(res.Alerts))
	}
	if n := s.Primary.Client().DBSize(context.Background()).Val(); n == 0 {
		t.Error("nothing was written to the primary behind the sentinel")
	}
}
