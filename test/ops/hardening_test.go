package ops

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHardening_SlowHeadersCutOff(t *testing.T) {
	s := startStack(t, map[string]string{"HTTP_READ_HEADER_TIMEOUT": "1s"})
	const clients = 20
	const byteInterval = 10 * time.Second
	done := make(chan struct{})
	defer close(done)

	start := time.Now()
	closed := make(chan error, clients)
	for range clients {
		conn, err := net.Dial("tcp", s.replica.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		go trickleHeaders(conn, byteInterval, done)
		go func() { closed <- waitForClose(conn, byteInterval) }()
	}
	verify(t, s.replica.URL)

	for range clients {
		if err := <-closed; err != nil {
			t.Errorf("slow client: %v", err)
		}
	}
	if elapsed := time.Since(start); elapsed >= byteInterval {
		t.Errorf("slow clients were cut off after %s, want well before their second byte at %s", elapsed, byteInterval)
	}
	verify(t, s.replica.URL)
}

// trickleHeaders writes a request head one byte per interval until the
// connection fails or done is closed.
func trickleHeaders(conn net.Conn, interval time.Duration, done <-chan struct{}) {
	head := requestHead("")
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for i := 0; i < len(head); i++ {
		if _, err := conn.Write([]byte{head[i]}); err != nil {
			return
		}
		select {
		case <-ticker.C:
		case <-done:
			return
		}
	}
}

// waitForClose returns nil once the server closes conn, or an error when
// the server accepts the request or keeps the connection open past limit.
// Go's server closes a connection whose headers time out half-read, some
// versions after a 400 response, so an error response before the close is
// fine.
func waitForClose(conn net.Conn, limit time.Duration) error {
	_ = conn.SetReadDeadline(time.Now().Add(limit))
	response, err := io.ReadAll(conn)
	var netErr net.Error
	switch {
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("connection still open after %s", limit)
	case strings.HasPrefix(string(response), "HTTP/1.1 2"):
		return fmt.Errorf("server accepted a request it never fully received: %q", response)
	default:
		return nil // EOF or reset: the server closed it
	}
}

func TestHardening_Bodies(t *testing.T) {
	// NOTE: the hook buffers a body up to OKTAWATCH_MAX_BODY_BYTES before it
	// rejects it, and io.ReadAll's growth costs about twice that. With the
	// default of 10 MiB, refusing a streamed 50 MB body grew VmRSS by about
	// 22 MiB here, so this test sets 1 MiB, which still holds about 1,400
	// simulated removals (about 730 bytes each).
	const maxBody = 1 << 20
	s := startStack(t, map[string]string{"MAX_BODY_BYTES": strconv.Itoa(maxBody)})
	pid := s.replica.PID()

	t.Run("300 KB batch is accepted", func(t *testing.T) {
		group := "00gOPSBATCH000000001"
		count, body := batchOfSize(t, group, 300<<10)

		t.Logf("batch of %d removals, %d bytes", count, len(body))
		resp := post(t, s.replica.Addr, "Content-Length: "+strconv.Itoa(len(body))+"\r\n", body)

		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d byte batch returned %d", len(body), resp.StatusCode)
		}
		if n := s.removals(t, group); n != int64(count) {
			t.Errorf("ZCARD = %d, want %d", n, count)
		}
	})

	t.Run("declared 10 GB body gets 413 at once", func(t *testing.T) {
		start := time.Now()

		resp := post(t, s.replica.Addr, "Content-Length: 10000000000\r\n", nil)

		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("responded after %s, want at once", elapsed)
		}
	})

	t.Run("streamed 50 MB body gets 413 without memory growth", func(t *testing.T) {
		before := residentKiB(t, pid, "VmRSS")

		resp, sent := postChunked(t, s.replica.Addr, 50<<20, func() { verify(t, s.replica.URL) })

		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
		if !strings.Contains(readAll(resp), "OKTAWATCH_MAX_BODY_BYTES") {
			t.Errorf("413 response does not name the setting that limits the body")
		}
		after := residentKiB(t, pid, "VmRSS")
		t.Logf("client sent %d bytes; replica VmRSS %d KiB before, %d KiB after", sent, before, after)
		if growth := after - before; growth > 6<<10 {
			t.Errorf("VmRSS grew by %d KiB while refusing the body, want at most 6 MiB", growth)
		}
		verify(t, s.replica.URL)
	})
}

// batchOfSize returns a delivery from groupID of at least size bytes and
// how many removals it holds.
func batchOfSize(t *testing.T, groupID string, size int) (int, []byte) {
	t.Helper()
	perEvent := len(delivery(t, groupID, 2)) - len(delivery(t, groupID, 1))
	count := size/perEvent + 1
	body := delivery(t, groupID, count)
	for len(body) < size {
		count++
		body = delivery(t, groupID, count)
	}
	return count, body
}

// post sends one request on a new connection with the given extra headers
// and body, and reads the response.
func post(t *testing.T, addr, headers string, body []byte) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, requestHead(headers)+string(body)); err != nil {
		t.Fatal(err)
	}
	return readResponse(t, conn, 10*time.Second)
}

// postChunked streams size bytes of a never-ending JSON string as a chunked
// body, calls meanwhile once the first megabyte is written, and returns the
// response and how many body bytes the server took before it responded.
func postChunked(t *testing.T, addr string, size int, meanwhile func()) (*http.Response, int) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, requestHead("Transfer-Encoding: chunked\r\n")); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var sent int
	firstMiB := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		sent = writeChunks(conn, size, firstMiB)
	}()
	select {
	case <-firstMiB:
		meanwhile()
	case <-time.After(30 * time.Second):
		t.Fatal("the first MiB of the body was not taken within 30s")
	}
	resp := readResponse(t, conn, 30*time.Second)
	_ = conn.Close()
	wg.Wait()
	return resp, sent
}

// writeChunks writes up to size body bytes in 64 KiB chunks until a write
// fails, closing firstMiB after the first MiB, and returns the bytes written.
func writeChunks(conn net.Conn, size int, firstMiB chan<- struct{}) int {
	chunk := []byte(fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("a", 64<<10)))
	sent := 0
	defer func() {
		if sent < 1<<20 {
			close(firstMiB)
		}
	}()
	if _, err := io.WriteString(conn, "4\r\n{\"a\"\r\n"); err != nil {
		return sent
	}
	for sent < size {
		if _, err := conn.Write(chunk); err != nil {
			return sent
		}
		sent += 64 << 10
		if sent == 1<<20 {
			close(firstMiB)
		}
	}
	return sent
}

func readAll(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
