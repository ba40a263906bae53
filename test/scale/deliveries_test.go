package scale_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/oktawatch/oktawatch/internal/hook"
	"github.com/oktawatch/oktawatch/internal/servicetest"
	"github.com/oktawatch/oktawatch/internal/simulate"
)

const (
	// requestTimeout is longer than Okta's 3 s wait on purpose, so that a
	// slow response fails a check instead of getting lost.
	requestTimeout = 10 * time.Second
	// retryInterval spaces the retries of a failed delivery.
	retryInterval = 100 * time.Millisecond
)

var httpClient = &http.Client{Timeout: requestTimeout}

// removalEvents returns count removal events of one group, as Okta sends
// them, published one second apart and ending a few seconds ago.
func removalEvents(t *testing.T, groupID string, count int) []json.RawMessage {
	t.Helper()
	body, err := simulate.Delivery(simulate.Options{
		GroupID:    groupID,
		GroupName:  "Scale Test " + groupID,
		Count:      count,
		Published:  time.Now().Add(-time.Duration(count+5) * time.Second),
		Spacing:    time.Second,
		ActorLogin: "scale.admin@example.com",
	})
	if err != nil {
		t.Fatalf("build events of group %s: %v", groupID, err)
	}
	var envelope struct {
		Data struct {
			Events []json.RawMessage `json:"events"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		t.Fatalf("decode simulated delivery: %v", err)
	}
	return envelope.Data.Events
}

// delivery returns an Event Hook request body carrying events, with a new
// delivery id.
func delivery(t *testing.T, events ...json.RawMessage) []byte {
	t.Helper()
	var id [16]byte
	_, _ = rand.Read(id[:])
	body, err := json.Marshal(map[string]any{
		"eventType":          "com.okta.event_hook",
		"eventTypeVersion":   "1.0",
		"cloudEventsVersion": "0.1",
		"source":             "https://example.okta.com/api/v1/eventHooks/whoSCALETEST0000000",
		"eventId":            fmt.Sprintf("%x", id),
		"eventTime":          time.Now().UTC().Format(time.RFC3339Nano),
		"contentType":        "application/json",
		"data":               map[string]any{"events": events},
	})
	if err != nil {
		t.Fatalf("encode delivery: %v", err)
	}
	return body
}

// post sends one delivery to the service at baseURL and returns the status
// code of the response.
func post(ctx context.Context, baseURL string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+hook.Path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", servicetest.TestSecret)
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// get returns the status code of a GET of url.
func get(url string) (int, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// deliverOnce posts each body once through the load balancer, workers at a
// time, and returns the status code of each, 0 for a transport error.
func (d *deployment) deliverOnce(bodies [][]byte, workers int) []int {
	statuses := make([]int, len(bodies))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				status, err := post(context.Background(), d.lb.URL, bodies[i])
				if err != nil {
					d.t.Logf("delivery %d: %v", i, err)
				}
				statuses[i] = status
			}
		})
	}
	for i := range bodies {
		next <- i
	}
	close(next)
	wg.Wait()
	return statuses
}

// deliver posts body through the load balancer until the response is
// 2xx, as Okta retries a failed delivery, and returns the number of failed
// attempts. It fails the test when the deadline passes first. It may run
// in its own goroutine.
func (d *deployment) deliver(body []byte, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	failed := 0
	for {
		status, err := post(context.Background(), d.lb.URL, body)
		if err == nil && status/100 == 2 {
			return failed
		}
		failed++
		if time.Now().After(deadline) {
			d.t.Errorf("delivery still failing after %s and %d attempts: status %d, error %v", timeout, failed, status, err)
			return failed
		}
		time.Sleep(retryInterval) // spacing between retries, not a wait for an outcome
	}
}

// deliverEach posts each body as its own delivery, all at once, each until
// it succeeds, and returns the failed attempts in total. It stops the test
// when a delivery never succeeded, since nothing after it can pass.
func (d *deployment) deliverEach(bodies [][]byte) int {
	d.t.Helper()
	var wg sync.WaitGroup
	failed := make([]int, len(bodies))
	for i, body := range bodies {
		wg.Go(func() { failed[i] = d.deliver(body, recoveryTimeout) })
	}
	wg.Wait()
	if d.t.Failed() {
		d.t.FailNow()
	}
	total := 0
	for _, n := range failed {
		total += n
	}
	return total
}

// singleDeliveries returns one delivery per event.
func singleDeliveries(t *testing.T, events []json.RawMessage) [][]byte {
	bodies := make([][]byte, len(events))
	for i, e := range events {
		bodies[i] = delivery(t, e)
	}
	return bodies
}
