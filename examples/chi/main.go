// Command chi serves the Chi example app: POST /api/workflow and
// POST /api/workflow/failure, each guarded by qstashguard.
//
//	QSTASH_DEV=true go run ./examples/chi
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/qstashguard/qstashguard/chimw"
	"github.com/qstashguard/qstashguard/core"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	publicURL := flag.String("public-url", "", "scheme://host[:port] QStash calls, when behind a proxy")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	r, err := newApp(*publicURL, os.Getenv("APP_BEARER_TOKEN"), logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		os.Exit(1)
	}

	srv := &http.Server{Addr: *addr, Handler: r, ReadHeaderTimeout: 10 * time.Second,
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

// newApp builds the Chi router. Keys come from the environment.
func newApp(publicURL, bearerToken string, logger *slog.Logger) (http.Handler, error) {
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

	r := chi.NewRouter()
	r.With(chimw.Workflow(guard...)).Post("/api/workflow", step)
	r.With(chimw.Failure(guard...)).Post("/api/workflow/failure", failure)
	return r, nil
}

func step(w http.ResponseWriter, r *http.Request) {
	var payload map[string]any
	if err := json.NewDecoder(r.Body).Decode(&payload); err != nil {
		http.Error(w, `{"error":"payload is not a JSON object"}`, http.StatusBadRequest)
		return
	}
	claims, _ := chimw.Claims(r)
	writeJSON(w, map[string]any{"ok": true, "key": claims.Key.String(), "fields": len(payload)})
}

func failure(w http.ResponseWriter, r *http.Request) {
	p, _ := chimw.FailurePayload(r)
	writeJSON(w, map[string]any{"ok": true, "workflow_run": p.WorkflowRunID,
		"failed_status": p.Status})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
