package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oktawatch/oktawatch/internal/hook"
)

// ceilingCommand makes the bench binary serve the ceiling handler instead
// of benchmarking, so the ceiling runs as a process of its own like the
// replica.
const ceilingCommand = "ceiling"

// serveCeiling serves the hook path with an echo handler that reads the
// body and returns 200. It costs what HTTP and the framework cost, without
// parsing, authentication or Redis. It stops on SIGTERM, which ends the process.
func serveCeiling(addr string) error {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.POST(hook.Path, func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	})
	e.GET("/livez", func(c echo.Context) error { return c.NoContent(http.StatusOK) })

	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// fakeSlack is an incoming-webhook stand-in that records when each message
// arrived.
type fakeSlack struct {
	server   *http.Server
	addr     string
	arrivals chan arrival
}

// arrival is one message that reached the fake Slack.
type arrival struct {
	at   time.Time
	body string
}

const slackPath = "/services/T000BENCH/B000BENCH/not-a-real-token"

func startFakeSlack() (*fakeSlack, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeSlack{addr: l.Addr().String(), arrivals: make(chan arrival, 4096)}
	f.server = &http.Server{Handler: http.HandlerFunc(f.handle), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = f.server.Serve(l) }()
	return f, nil
}

func (f *fakeSlack) url() string { return "http://" + f.addr + slackPath }

func (f *fakeSlack) handle(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	var body strings.Builder
	_, _ = io.Copy(&body, io.LimitReader(r.Body, 1<<20))
	select {
	case f.arrivals <- arrival{at: at, body: body.String()}:
	default: // no measurement is waiting, so drop the record but still respond
	}
	_, _ = io.WriteString(w, "ok")
}

func (f *fakeSlack) close() { _ = f.server.Close() }
