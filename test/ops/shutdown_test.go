package ops

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/servicetest"
)

func TestShutdown_SIGTERMMidRequestLosesNothing(t *testing.T) {
	s := startStack(t, map[string]string{"SHUTDOWN_DRAIN": "3s", "SHUTDOWN_TIMEOUT": "20s"})
	group := "00gOPSSHUTDOWN000001"
	body := delivery(t, group, 3)
	half := len(body) / 2
	conn, err := net.Dial("tcp", s.replica.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := requestHead("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	if _, err := io.WriteString(conn, head+string(body[:half])); err != nil {
		t.Fatal(err)
	}
	clientPort := port(t, conn.LocalAddr().String())
	servicetest.Eventually(t, 10*time.Second, "the replica read the first half of the request", func() bool {
		return serverReadAll(t, port(t, s.replica.Addr), clientPort)
	})

	s.replica.Signal(syscall.SIGTERM)

	var reason string
	servicetest.Eventually(t, 10*time.Second, "/readyz returns 503 after SIGTERM", func() bool {
		code, r, err := readyz(s.replica.URL)
		reason = r
		return err == nil && code == http.StatusServiceUnavailable
	})
	if reason != "shutting down" {
		t.Errorf("readiness reason %q, want shutting down", reason)
	}
	servicetest.Eventually(t, 30*time.Second, "the drain ends and the replica accepts no connection", func() bool {
		c, err := net.Dial("tcp", s.replica.Addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatalf("finish the body after the listener closed: %v", err)
	}
	resp := readResponse(t, conn, 10*time.Second)

	if resp.StatusCode != http.StatusOK {
		t.Errorf("request under way at SIGTERM returned %d, want 200", resp.StatusCode)
	}
	code, err := s.replica.Wait(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if n := s.removals(t, group); n != 3 {
		t.Errorf("ZCARD %s = %d, want 3", removalsKey(group), n)
	}
	if servicetest.CountLines(s.replica.Logs(), "oktawatch stopped") != 1 {
		t.Errorf("no log line says the replica stopped")
	}
}
