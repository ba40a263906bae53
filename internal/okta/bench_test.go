package okta

import (
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/simulate"
)

func BenchmarkParseDelivery50(b *testing.B) {
	body, err := simulate.Delivery(simulate.Options{GroupID: "00gBENCH", GroupName: "Bench", Count: 50,
		Published: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Spacing: time.Second, ActorLogin: "admin@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		d, err := ParseDelivery(body)
		if err != nil || len(d.Removals) != 50 {
			b.Fatal(err, len(d.Removals))
		}
	}
}
