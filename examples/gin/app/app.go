// Package app is the Gin example app: an Upstash Workflow endpoint whose
// workflow route and failure route are each guarded by qstashguard. The
// example's main serves it, and the qstashguard CLI's demo drives it.
package app

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/ginmw"
)

// Routes of the app.
const (
	WorkflowPath = "/api/workflow"
	FailurePath  = "/api/workflow/failure"
)

// Config configures the app.
type Config struct {
	// Verifier holds the options of the signature check; without key
	// options the keys come from the environment.
	Verifier []core.Option
	// BearerTokens, when any is set, are the tokens the app's own trigger
	// sends; both routes then require one of them as well.
	BearerTokens []string
	// Logger receives the rejection logs; nil logs nothing.
	Logger *slog.Logger
}

// New returns the app's router. It returns an error wrapping core.ErrConfig
// when no signing key is configured.
func New(cfg Config) (*gin.Engine, error) {
	opts := cfg.Verifier
	if cfg.Logger != nil {
		opts = append(opts[:len(opts):len(opts)], core.WithLogger(cfg.Logger))
	}
	v, err := core.NewVerifier(opts...)
	if err != nil {
		return nil, err
	}
	guard := []core.GuardOption{core.WithVerifier(v)}
	if len(cfg.BearerTokens) > 0 {
		guard = append(guard, core.WithBearer(core.StaticTokens(cfg.BearerTokens...)))
	}

	r := gin.New()
	r.Use(gin.Recovery())
	r.POST(WorkflowPath, ginmw.Workflow(guard...), step)
	r.POST(FailurePath, ginmw.Failure(guard...), failure)
	return r, nil
}

// step is a workflow step: it reads the payload the run was started with.
func step(c *gin.Context) {
	var payload map[string]any
	if err := c.ShouldBindJSON(&payload); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "payload is not a JSON object"})
		return
	}
	res, _ := ginmw.Result(c)
	c.JSON(http.StatusOK, gin.H{
		"ok":         true,
		"key":        res.Claims.Key.String(),
		"message_id": res.Delivery.MessageID,
		"fields":     len(payload),
	})
}

// failure is the failure function: it learns which run failed, and how.
func failure(c *gin.Context) {
	p, _ := ginmw.FailurePayload(c)
	c.JSON(http.StatusOK, gin.H{
		"ok":            true,
		"workflow_run":  p.WorkflowRunID,
		"failed_status": p.Status,
		"retried":       p.Retried,
	})
}
