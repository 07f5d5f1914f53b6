// Package app is the Gin example app: an Upstash Workflow endpoint whose
// workflow route and failure route are each guarded by qstashguard. The
// example's command serves it; the qstashguard CLI's demo starts it
// in-process and sends it calls shaped like QStash's.
package app

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/ginmw"
)

// The app's routes.
const (
	WorkflowPath = "/api/workflow"
	FailurePath  = "/api/workflow/failure"
)

// Config configures the app.
type Config struct {
	// Verifier holds the options of the signature check, such as
	// core.WithDevMode, core.WithPublicBaseURL or core.WithMaxBodyBytes.
	// Without key options the keys come from the environment.
	Verifier []core.Option
	// BearerTokens are the tokens the app's own trigger sends, in an
	// Authorization header that Upstash Workflow forwards on every call.
	// When any is given, both routes require one of them besides the
	// signature; empty tokens are skipped, and a list of nothing but
	// empty tokens is a configuration error.
	BearerTokens []string
	// Logger receives the guards' logs (rejections at Warn) and the
	// failure function's report; nil logs nothing.
	Logger *slog.Logger
}

// New returns the app's router. It returns the error of a configuration
// the guards refuse, such as one without any signing key, rather than
// panicking as ginmw's constructors do, so that a caller starting the app
// in-process can report it.
//
// Gin prints its route table in its default debug mode; call
// gin.SetMode(gin.ReleaseMode) first to keep it quiet.
func New(cfg Config) (*gin.Engine, error) {
	opts, logger := cfg.Verifier, cfg.Logger
	if logger != nil {
		opts = append(opts[:len(opts):len(opts)], core.WithLogger(logger))
	} else {
		logger = slog.New(slog.DiscardHandler)
	}
	v, err := core.NewVerifier(opts...)
	if err != nil {
		return nil, err
	}

	// Both routes share one verifier, and so one set of keys.
	guard := []core.GuardOption{core.WithVerifier(v)}
	if len(cfg.BearerTokens) > 0 {
		guard = append(guard, core.WithBearer(core.StaticTokens(cfg.BearerTokens...)))
	}
	// Built once here to return a bad bearer configuration as an error;
	// ginmw.Workflow would panic with it.
	if _, err := core.NewWorkflowGuard(guard...); err != nil {
		return nil, err
	}

	r := gin.New()
	r.Use(gin.Recovery())
	r.POST(WorkflowPath, ginmw.Workflow(guard...), step)
	r.POST(FailurePath, ginmw.Failure(guard...), failure(logger))
	return r, nil
}

// step stands for a workflow step. Its body is the one QStash signed: the
// payload that started the run on the first call (a JSON object, say), the
// steps run so far on the later ones (a JSON array).
func step(c *gin.Context) {
	var payload any
	if err := c.ShouldBindJSON(&payload); err != nil && !errors.Is(err, io.EOF) {
		c.JSON(http.StatusBadRequest, gin.H{"error": "body is not JSON"})
		return
	}
	res, _ := ginmw.Result(c)
	c.JSON(http.StatusOK, gin.H{
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
func failure(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, _ := ginmw.FailurePayload(c)
		logger.Info("workflow run failed", "workflow_run_id", p.WorkflowRunID,
			"status", p.Status, "retried", p.Retried, "dlq_id", p.DLQID)
		c.JSON(http.StatusOK, gin.H{
			"ok":            true,
			"workflow_run":  p.WorkflowRunID,
			"failed_status": p.Status,
			"retried":       p.Retried,
		})
	}
}
