// Package ops tests the operational behaviour of the real oktawatch binary
// against a real redis-server: shutdown, health checks and the limits of the
// public endpoint.
package ops

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oktawatch/oktawatch/internal/burst"
	"github.com/oktawatch/oktawatch/internal/hook"
	"github.com/oktawatch/oktawatch/internal/redistest"
	"github.com/oktawatch/oktawatch/internal/servicetest"
	"github.com/oktawatch/oktawatch/internal/simulate"
)

// stack is one replica of the real binary on its own redis-server.
type stack struct {
	replica *servicetest.Replica
	rdb     *redis.Client
}

// startStack starts redis-server and a replica with the given OKTAWATCH_*
// settings (without the prefix).
func startStack(t *testing.T, env map[string]string) *stack {
	t.Helper()
	redisServer := redistest.Server(t)
	settings := map[string]string{"REDIS_URL": "redis://" + redisServer.Addr + "/0"}
	for k, v := range env {
		settings[k] = v
	}
	return &stack{replica: servicetest.Start(t, settings), rdb: redisServer.Client()}
}

// removalsKey returns the key of a group's sorted set of removals, which
// shares its shard's hash tag with the shard's alert stream.
func removalsKey(groupID string) string {
	shardTag := strings.TrimSuffix(burst.StreamKey(burst.ShardOf(groupID)), ":alerts")
	return shardTag + ":g:" + groupID + ":removals"
}

func (s *stack) removals(t *testing.T, groupID string) int64 {
	t.Helper()
	n, err := s.rdb.ZCard(context.Background(), removalsKey(groupID)).Result()
	if err != nil {
		t.Fatalf("ZCARD %s: %v", removalsKey(groupID), err)
	}
	return n
}

// delivery returns a realistic hook body with count removals from groupID,
// published over the last count seconds.
func delivery(t *testing.T, groupID string, count int) []byte {
	t.Helper()
	body, err := simulate.Delivery(simulate.Options{
		GroupID: groupID, GroupName: "Ops-Test-Group", Count: count,
		Published: time.Now().UTC().Add(-time.Duration(count) * time.Second), Spacing: time.Second,
		ActorLogin: "ops.test.admin@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// requestHead returns the request line and headers of an authenticated
// POST to the hook path, ending with the blank line.
func requestHead(extra string) string {
	return "POST " + hook.Path + " HTTP/1.1\r\nHost: oktawatch.test\r\nContent-Type: application/json\r\n" +
		"Authorization: " + servicetest.TestSecret + "\r\n" + extra + "\r\n"
}

// readResponse reads one HTTP response from conn, waiting at most timeout.
func readResponse(t *testing.T, conn net.Conn, timeout time.Duration) *http.Response {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response within %s: %v", timeout, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

// verify sends Okta's verification GET on a new connection and fails the
// test unless the challenge comes back.
func verify(t *testing.T, baseURL string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, baseURL+hook.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", servicetest.TestSecret)
	req.Header.Set(hook.ChallengeHeader, "ops-challenge")
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("verification GET: %v", err)
		return
	}
	defer resp.Body.Close()
	var response map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&response); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("verification GET returned %d (%v)", resp.StatusCode, err)
		return
	}
	if response["verification"] != "ops-challenge" {
		t.Errorf("verification response %v, want the challenge back", response)
	}
}

// readyz returns the status code and reason of GET /readyz on a new
// connection, or an error when the server does not respond.
func readyz(baseURL string) (int, string, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(baseURL + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var body struct{ Reason string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Reason, nil
}

// residentKiB returns a field of /proc/<pid>/status in KiB, such as VmRSS
// (resident now) or VmHWM (peak resident).
func residentKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("parse %s of process %d: %v", field, pid, err)
		}
		return kib
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// serverReadAll reports whether the server side of the loopback connection
// from clientPort to serverPort exists and has no unread bytes, which
// means the server process accepted the connection and read what the
// client sent.
func serverReadAll(t *testing.T, serverPort, clientPort int) bool {
	t.Helper()
	table, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	local := fmt.Sprintf("0100007F:%04X", serverPort)
	remote := fmt.Sprintf("0100007F:%04X", clientPort)
	for _, line := range strings.Split(string(table), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) < 5 || fields[1] != local || fields[2] != remote {
			continue
		}
		_, rxQueue, _ := strings.Cut(fields[4], ":")
		return strings.Trim(rxQueue, "0") == ""
	}
	return false
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
