// Command echo serves the Echo example app: POST /api/workflow and
// POST /api/workflow/failure, each guarded by qstashguard.
//
//	QSTASH_DEV=true go run ./examples/echo
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/echomw"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	publicURL := flag.String("public-url", "", "scheme://host[:port] QStash calls, when behind a proxy")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	e, err := newApp(*publicURL, os.Getenv("APP_BEARER_TOKEN"), logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		os.Exit(1)
	}

	srv := &http.Server{Addr: *addr, Handler: e, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	logger.Info("listening", "addr", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("server stopped", "err", err)
		os.Exit(1)
	}
}

// newApp builds the Echo app. Keys come from the environment.
func newApp(publicURL, bearerToken string, logger *slog.Logger) (*echo.Echo, error) {
	opts := []core.Option{core.WithLogger(logger)}
	if publicURL != "" {
		opts = append(opts, core.WithPublicBaseURL(publicURL))
	}
	v, err := core.NewVerifier(opts...)
	if err != nil {
		return nil, err
	}
	guard := []core.GuardOption{core.WithVerifier(v)}
	if bearerToken != "" {
		guard = append(guard, core.WithBearer(core.StaticTokens(bearerToken)))
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.POST("/api/workflow", step, echomw.Workflow(guard...))
	e.POST("/api/workflow/failure", failure, echomw.Failure(guard...))
	return e, nil
}

func step(c echo.Context) error {
	var payload map[string]any
	if err := c.Bind(&payload); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "payload is not a JSON object")
	}
	claims, _ := echomw.Claims(c)
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "key": claims.Key.String(),
		"fields": len(payload)})
}

func failure(c echo.Context) error {
	p, _ := echomw.FailurePayload(c)
	return c.JSON(http.StatusOK, map[string]any{"ok": true, "workflow_run": p.WorkflowRunID,
		"failed_status": p.Status})
}
