package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelInstance is a primary redis-server watched by one Sentinel, both
// on loopback, started by a test.
type SentinelInstance struct {
	Master       string
	Primary      *Instance
	SentinelAddr string
}

// Sentinel starts a primary and a Sentinel that monitors it under the name
// "mymaster", and waits until the Sentinel reports the primary's address.
func Sentinel(tb testing.TB) *SentinelInstance {
	tb.Helper()
	primary := Server(tb)
	bin := Binary(tb, "redis-server")
	port := FreePort(tb)
	dir := tb.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nsentinel monitor mymaster 127.0.0.1 %d 1\n",
		port, dir, filepath.Join(dir, "sentinel.log"), primary.Port)
	// Sentinel rewrites its config file, so it must be writable.
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start sentinel: %v", err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	s := &SentinelInstance{Master: "mymaster", Primary: primary, SentinelAddr: fmt.Sprintf("127.0.0.1:%d", port)}
	s.waitForMaster(tb)
	return s
}

func (s *SentinelInstance) waitForMaster(tb testing.TB) {
	tb.Helper()
	client := redis.NewSentinelClient(&redis.Options{Addr: s.SentinelAddr, MaxRetries: -1})
	defer client.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		addr, err := client.GetMasterAddrByName(ctx, s.Master).Result()
		cancel()
		if err == nil && len(addr) == 2 && addr[1] == fmt.Sprint(s.Primary.Port) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("sentinel on %s did not report master %s within %s: %v", s.SentinelAddr, s.Master, startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}
