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

// Pinger checks that the store answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// readyTimeout bounds the store ping behind /readyz.
const readyTimeout = 500 * time.Millisecond

// Server is the HTTP server.
type Server struct {
	echo     *echo.Echo
	http     *http.Server
	store    Pinger
	log      *zap.Logger
	stopping atomic.Bool
}

// New builds the server. metrics may be nil.
func New(cfg config.Config, h *hook.Handler, store Pinger, metrics http.Handler, log *zap.Logger) *Server {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = hook.ErrorHandler(log)
	e.Use(middleware.Recover())

	s := &Server{echo: e, store: store, log: log}
	e.GET("/livez", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	if metrics != nil {
		e.GET("/metrics", echo.WrapHandler(metrics))
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

// Handler returns the server's routes, for tests.
func (s *Server) Handler() http.Handler { return s.echo }

func (s *Server) ready(c echo.Context) error {
	if s.stopping.Load() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "shutting down"})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "redis: " + err.Error()})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

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

// Shutdown turns readiness off at once so load balancers stop sending,
// keeps serving for drain so they notice, then stops accepting and waits for
// requests under way until ctx ends.
func (s *Server) Shutdown(ctx context.Context, drain time.Duration) error {
	s.stopping.Store(true)
	s.log.Info("shutting down: readiness off, draining", zap.Duration("drain", drain))
	t := time.NewTimer(drain)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	return s.http.Shutdown(ctx)
}
