// Package server runs oktawatch's HTTP server: the Okta hook, health checks
// and metrics, with timeouts that bound what one client can cost, and a
// shutdown that drains before it stops.
package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/config"
	"github.com/oktawatch/oktawatch/internal/hook"
)

// Pinger checks that the store responds.
type Pinger interface {
	Ping(ctx context.Context) error
}

// RequestObserver receives every finished request to the hook path, for
// metrics. It must be safe for concurrent use.
type RequestObserver interface {
	ObserveHookRequest(method string, status int, elapsed time.Duration)
}

// Options are the server's optional parts.
type Options struct {
	// Metrics serves GET /metrics when it is not nil.
	Metrics http.Handler
	// Requests observes requests to the hook path when it is not nil.
	Requests RequestObserver
}

// Server is the HTTP server.
type Server struct {
	echo     *echo.Echo
	http     *http.Server
	ready    readiness
	log      *zap.Logger
	stopping atomic.Bool
}

// New builds the server.
func New(cfg config.Config, h *hook.Handler, store Pinger, opts Options, log *zap.Logger) *Server {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = hook.ErrorHandler(log)
	if opts.Requests != nil {
		// Registered first, so it runs outermost and also records the 500
		// of a recovered panic.
		e.Use(observeHook(opts.Requests))
	}
	e.Use(middleware.Recover())

	s := &Server{echo: e, log: log}
	s.ready = readiness{store: store, stopping: &s.stopping, log: log}
	e.GET("/livez", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready.serve)
	if opts.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(opts.Metrics))
	}
	h.Register(e)

	s.http = &http.Server{
		Addr:              cfg.ListenAddr,
		Handler:           e,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    cfg.HTTP.MaxHeaderBytes,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	return s
}

// observeHook reports the status and duration of each request to the hook
// path. It writes the error response itself, as echo's request logger does,
// so the status it reports is the one the client gets.
func observeHook(obs RequestObserver) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Path() != hook.Path {
				return next(c)
			}
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			obs.ObserveHookRequest(c.Request().Method, c.Response().Status, time.Since(start))
			return nil
		}
	}
}

// Handler returns the server's routes, for tests.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.log.Info("http server listening", zap.String("addr", l.Addr().String()))
	if err := s.http.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Listen opens the configured address.
func (s *Server) Listen() (net.Listener, error) {
	return net.Listen("tcp", s.http.Addr)
}

// Shutdown turns readiness off at once so load balancers stop sending, and
// keeps serving for drain so they notice. During the drain every response
// closes its connection, so clients with kept-alive connections reconnect
// to a replica that is still ready. Then it stops accepting and waits for
// the requests under way until ctx ends. When ctx ends first, it closes the
// remaining connections and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context, drain time.Duration) error {
	s.stopping.Store(true)
	s.http.SetKeepAlivesEnabled(false)
	s.log.Info("shutting down: readiness off, draining", zap.Duration("drain", drain))

	t := time.NewTimer(drain)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}

	s.log.Info("drain over: no longer accepting connections, finishing requests under way")
	err := s.http.Shutdown(ctx)
	if err != nil {
		_ = s.http.Close()
	}
	return err
}
