// Command gin serves the Gin example app: POST /api/workflow guarded by
// ginmw.Workflow and POST /api/workflow/failure guarded by ginmw.Failure.
//
//	QSTASH_DEV=true go run ./examples/gin
//
// The signing keys come from the environment (QSTASH_CURRENT_SIGNING_KEY
// and QSTASH_NEXT_SIGNING_KEY, or QSTASH_DEV=true for the local dev
// server's). When APP_BEARER_TOKEN is set, both routes also require it as
// an `Authorization: Bearer` token. Flags:
//
//	-addr        address to listen on (default 127.0.0.1:8080)
//	-public-url  scheme://host[:port] that QStash calls, when a proxy or
//	             tunnel stands between it and this server
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/examples/gin/app"
)

// EnvBearerToken names the variable holding the app's own bearer token.
const EnvBearerToken = "APP_BEARER_TOKEN"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "gin example:", err)
		os.Exit(1)
	}
}

// run serves the app until ctx is done. ready, when not nil, is told the
// address it listens on once it accepts connections.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("gin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on")
	publicURL := fs.String("public-url", "",
		"`scheme://host[:port]` that QStash calls, when a proxy stands in front")
	if err := fs.Parse(args); err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	var opts []core.Option
	if *publicURL != "" {
		opts = append(opts, core.WithPublicBaseURL(*publicURL))
	}
	var tokens []string
	if t := os.Getenv(EnvBearerToken); t != "" {
		tokens = append(tokens, t)
	}
	gin.SetMode(gin.ReleaseMode)
	h, err := app.New(app.Config{Verifier: opts, BearerTokens: tokens, Logger: logger})
	if err != nil {
		return err
	}
	return serve(ctx, *addr, h, logger, ready)
}

// serve runs an HTTP server for h on addr until ctx is done, then lets the
// requests in flight finish.
func serve(ctx context.Context, addr string, h http.Handler, logger *slog.Logger,
	ready func(string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(),
		"workflow", app.WorkflowPath, "failure", app.FailurePath)
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
