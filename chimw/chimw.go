package chimw

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/qstashguard/qstashguard/core"
)

// Config holds the settings of the middleware beyond the checks, which are
// configured with core options.
type Config struct {
	// ErrorHandler writes the response to a rejected request. Default:
	// DefaultErrorHandler.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// checker is what the middleware needs of a core.Verifier or core.Guard.
type checker interface {
	Check(r *http.Request) (*core.Result, error)
}

// Verify returns middleware that lets through only requests signed by
// QStash. It panics, at construction, when no signing key can be found.
func Verify(opts ...core.Option) func(http.Handler) http.Handler {
	return VerifyWithConfig(Config{}, opts...)
}

// VerifyWithConfig is Verify with its own error handler.
func VerifyWithConfig(cfg Config, opts ...core.Option) func(http.Handler) http.Handler {
	v, err := core.NewVerifier(opts...)
	if err != nil {
		panic("chimw: " + err.Error())
	}
	return middlewareFunc(cfg, v)
}

// Workflow returns middleware for a workflow route (core.NewWorkflowGuard).
func Workflow(opts ...core.GuardOption) func(http.Handler) http.Handler {
	return WorkflowWithConfig(Config{}, opts...)
}

// WorkflowWithConfig is Workflow with its own error handler.
func WorkflowWithConfig(cfg Config, opts ...core.GuardOption) func(http.Handler) http.Handler {
	g, err := core.NewWorkflowGuard(opts...)
	if err != nil {
		panic("chimw: " + err.Error())
	}
	return middlewareFunc(cfg, g)
}

// Failure returns middleware for a failure route (core.NewFailureGuard).
func Failure(opts ...core.GuardOption) func(http.Handler) http.Handler {
	return FailureWithConfig(Config{}, opts...)
}

// FailureWithConfig is Failure with its own error handler.
func FailureWithConfig(cfg Config, opts ...core.GuardOption) func(http.Handler) http.Handler {
	g, err := core.NewFailureGuard(opts...)
	if err != nil {
		panic("chimw: " + err.Error())
	}
	return middlewareFunc(cfg, g)
}

func middlewareFunc(cfg Config, ch checker) func(http.Handler) http.Handler {
	onError := cfg.ErrorHandler
	if onError == nil {
		onError = DefaultErrorHandler
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := ch.Check(r)
			if err != nil {
				onError(w, r, err)
				return
			}

			r = r.WithContext(core.NewContext(r.Context(), res))
			if !res.Claims.Reserved() {
				next.ServeHTTP(w, r)
				return
			}

			// With replay protection, the status decides whether the
			// delivery's id goes back to the store: a delivery the handler
			// failed must stay retryable.
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			res.Claims.Settle(r.Context(), status)
		})
	}
}

// DefaultErrorHandler writes {"error": reason} with the status
// core.StatusCode gives, and a WWW-Authenticate challenge for a bearer
// failure. The reason is short and safe to show; the detail is for the
// logger and hooks configured with core options.
func DefaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	if challenge := core.WWWAuthenticate(err); challenge != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(core.StatusCode(err))
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{core.Reason(err)})
}

// Result returns everything the middleware established about r.
func Result(r *http.Request) (*core.Result, bool) {
	return core.FromContext(r.Context())
}

// Claims returns the verified signature claims.
func Claims(r *http.Request) (*core.Claims, bool) {
	res, ok := Result(r)
	if !ok || res.Claims == nil {
		return nil, false
	}
	return res.Claims, true
}

// FailurePayload returns the decoded payload of a failure callback.
func FailurePayload(r *http.Request) (*core.FailurePayload, bool) {
	res, ok := Result(r)
	if !ok || res.Failure == nil {
		return nil, false
	}
	return res.Failure, true
}

// Principal returns what the bearer check returned for the request.
func Principal(r *http.Request) (any, bool) {
	res, ok := Result(r)
	if !ok || res.Principal == nil {
		return nil, false
	}
	return res.Principal, true
}
