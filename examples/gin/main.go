// Command gin serves the Gin example app: POST /api/workflow and
// POST /api/workflow/failure, each guarded by qstashguard.
//
//	QSTASH_DEV=true go run ./examples/gin
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

	"github.com/gin-gonic/gin"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/examples/gin/app"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	publicURL := flag.String("public-url", "", "scheme://host[:port] QStash calls, when behind a proxy")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var opts []core.Option
	if *publicURL != "" {
		opts = append(opts, core.WithPublicBaseURL(*publicURL))
	}
	var tokens []string
	if t := os.Getenv("APP_BEARER_TOKEN"); t != "" {
		tokens = append(tokens, t)
	}
	gin.SetMode(gin.ReleaseMode)
	handler, err := app.New(app.Config{Verifier: opts, BearerTokens: tokens, Logger: logger})
	if err != nil {
		logger.Error("cannot start", "err", err)
		os.Exit(1)
	}
	serve(logger, *addr, handler)
}

// serve runs the server until an interrupt, then drains it.
func serve(logger *slog.Logger, addr string, h http.Handler) {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	logger.Info("listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("server stopped", "err", err)
		os.Exit(1)
	}
}
