// Command chi serves the Chi example app: POST /api/workflow guarded by
// chimw.Workflow and POST /api/workflow/failure guarded by chimw.Failure.
//
//	QSTASH_DEV=true go run ./examples/chi
//
// The signing keys come from the environment (QSTASH_CURRENT_SIGNING_KEY
// and QSTASH_NEXT_SIGNING_KEY, or QSTASH_DEV=true for the local dev
// server's). When APP_BEARER_TOKEN is set, both routes also require it as
// an `Authorization: Bearer` token. Refusals are written by
// chimw.DefaultErrorHandler, as {"error": "<reason>"}. Flags:
//
//	-addr        address to listen on (default 127.0.0.1:8080)
//	-public-url  scheme://host[:port] that QStash calls, when a proxy or
//	             tunnel stands between it and this server
package main

import (
	"context"
	"encoding/json"
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

	"github.com/go-chi/chi/v5"

	"github.com/qstashguard/qstashguard/chimw"
	"github.com/qstashguard/qstashguard/core"
)

// EnvBearerToken names the variable holding the app's own bearer token.
const EnvBearerToken = "APP_BEARER_TOKEN"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "chi example:", err)
		os.Exit(1)
	}
}

// run serves the app until ctx is done. ready, when not nil, is told the
// address it listens on once it accepts connections.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("chi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on")
	publicURL := fs.String("public-url", "",
		"`scheme://host[:port]` that QStash calls, when a proxy stands in front")
	if err := fs.Parse(args); err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	h, err := newApp(*publicURL, os.Getenv(EnvBearerToken), logger)
	if err != nil {
		return err
	}
	return serve(ctx, *addr, h, logger, ready)
}

// newApp builds the Chi router. The keys come from the environment; with a
// bearer token, both routes require it besides the signature.
func newApp(publicURL, bearerToken string, logger *slog.Logger) (http.Handler, error) {
	opts := []core.Option{core.WithLogger(logger)}
	if publicURL != "" {
		opts = append(opts, core.WithPublicBaseURL(publicURL))
	}
	v, err := core.NewVerifier(opts...)
	if err != nil {
		return nil, err
	}

	// Both routes share one verifier, and so one set of keys.
	guard := []core.GuardOption{core.WithVerifier(v)}
	if bearerToken != "" {
		guard = append(guard, core.WithBearer(core.StaticTokens(bearerToken)))
	}
	// Built once here to return a bad bearer token as an error; chimw
	// would panic with it.
	if _, err := core.NewWorkflowGuard(guard...); err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.With(chimw.Workflow(guard...)).Post("/api/workflow", step)
	r.With(chimw.Failure(guard...)).Post("/api/workflow/failure", failure(logger))
	return r, nil
}

// step stands for a workflow step. Its body is the one QStash signed: the
// payload that started the run on the first call, the steps run so far on
// the later ones.
func step(w http.ResponseWriter, r *http.Request) {
	var payload any
	if err := json.NewDecoder(r.Body).Decode(&payload); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is not JSON"})
		return
	}
	res, _ := chimw.Result(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"ok":              true,
		"key":             res.Claims.Key.String(),
		"message_id":      res.Delivery.MessageID,
		"workflow_run_id": res.Delivery.WorkflowRunID,
		"retried":         res.Delivery.Retried,
		"fields":          entries(payload),
	})
}

// entries counts the members of a JSON object or the elements of an array.
func entries(v any) int {
	switch v := v.(type) {
	case map[string]any:
		return len(v)
	case []any:
		return len(v)
	}
	return 0
}

// failure stands for the failure function: it learns which run failed,
// and how, from the payload the failure guard decoded.
func failure(logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, _ := chimw.FailurePayload(r)
		logger.Info("workflow run failed", "workflow_run_id", p.WorkflowRunID,
			"status", p.Status, "retried", p.Retried, "dlq_id", p.DLQID)
		writeJSON(w, http.StatusOK, map[string]any{
			"ok":            true,
			"workflow_run":  p.WorkflowRunID,
			"failed_status": p.Status,
			"retried":       p.Retried,
		})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
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
	logger.Info("listening", "addr", ln.Addr().String())
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
