package chimw

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/qstashguard/qstashguard/core"
)

// Config configures the middleware beyond its checks, which are configured
// by the core options.
type Config struct {
	// ErrorHandler writes the response to a refused request; err wraps one
	// of core's sentinel errors. It must not call the next handler. Nil
	// means DefaultErrorHandler.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Verify returns middleware that lets through only requests QStash signed
// for the URL they arrived at, with the body they carry. The options
// configure the core.Verifier it builds once, here; without key options the
// keys come from the environment.
//
// Verify panics when the verifier cannot be built (no signing key, say),
// with a message that names what to set: a middleware that cannot verify
// must stop the app at startup rather than let requests through.
func Verify(opts ...core.Option) func(http.Handler) http.Handler {
	return VerifyWithConfig(Config{}, opts...)
}

// VerifyWithConfig is Verify with an error handler of the app's own.
func VerifyWithConfig(cfg Config, opts ...core.Option) func(http.Handler) http.Handler {
	v, err := core.NewVerifier(opts...)
	if err != nil {
		panic("chimw: " + err.Error())
	}
	return guard(cfg, v.Check)
}

// Workflow returns middleware for the route of an Upstash Workflow: it
// checks the QStash signature and, with core.WithBearer, the app's bearer
// token, and refuses failure callbacks unless core.AllowFailureCallbacks is
// given. It panics, as Verify does, when the guard cannot be built.
func Workflow(opts ...core.GuardOption) func(http.Handler) http.Handler {
	return WorkflowWithConfig(Config{}, opts...)
}

// WorkflowWithConfig is Workflow with an error handler of the app's own.
func WorkflowWithConfig(cfg Config, opts ...core.GuardOption) func(http.Handler) http.Handler {
	g, err := core.NewWorkflowGuard(opts...)
	if err != nil {
		panic("chimw: " + err.Error())
	}
	return guard(cfg, g.Check)
}

// Failure returns middleware for the failure route of an Upstash Workflow:
// it accepts only authenticated failure callbacks and hands their decoded
// payload to the handler (see FailurePayload). It panics, as Verify does,
// when the guard cannot be built, and also when it would authenticate
// nothing: an open failure route lets anyone run the failure function.
func Failure(opts ...core.GuardOption) func(http.Handler) http.Handler {
	return FailureWithConfig(Config{}, opts...)
}

// FailureWithConfig is Failure with an error handler of the app's own.
func FailureWithConfig(cfg Config, opts ...core.GuardOption) func(http.Handler) http.Handler {
	g, err := core.NewFailureGuard(opts...)
	if err != nil {
		panic("chimw: " + err.Error())
	}
	return guard(cfg, g.Check)
}

// guard turns a check into net/http middleware that passes the result on in
// the request's context.
func guard(cfg Config, check func(*http.Request) (*core.Result, error),
) func(http.Handler) http.Handler {
	onError := cfg.ErrorHandler
	if onError == nil {
		onError = DefaultErrorHandler
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := check(r)
			if err != nil {
				onError(w, r, err)
				return
			}

			r = r.WithContext(core.NewContext(r.Context(), res))
			if !res.Claims.Reserved() {
				next.ServeHTTP(w, r)
				return
			}

			// With replay protection, an answer outside 2xx gives the
			// token's id back, so QStash's retry of this delivery is not
			// taken for a replay. Only then is the status worth recording.
			// A release that fails leaves the id reserved until the token
			// expires; the response is written by then.
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer settle(r, ww, res.Claims)
			next.ServeHTTP(ww, r)
		})
	}
}

// settle runs after the handler: a panicking handler counts as a 500, and
// its panic goes on to the app's recovery middleware.
func settle(r *http.Request, ww middleware.WrapResponseWriter, claims *core.Claims) {
	status := ww.Status()
	if status == 0 {
		status = http.StatusOK // nothing written: net/http sends 200
	}
	p := recover()
	if p != nil {
		status = http.StatusInternalServerError
	}
	_ = claims.Settle(r.Context(), status)
	if p != nil {
		panic(p)
	}
}

// DefaultErrorHandler writes {"error":"<reason>"} with the status
// core.StatusCode gives, where the reason is core.Reason's short text, and a
// WWW-Authenticate challenge when a bearer token was missing or refused.
// The detail of err is for the logger and hooks given as core options; an
// ErrorHandler of the app's own can log it and then call this one.
func DefaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	h := w.Header()
	if challenge := core.WWWAuthenticate(err); challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(core.StatusCode(err))
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{core.Reason(err)})
}

// Result returns everything the middleware established about r: the
// signature's claims, the bearer principal, the failure payload and the
// delivery metadata. It is core.FromContext(r.Context()), and reports false
// on a route the middleware does not guard.
func Result(r *http.Request) (*core.Result, bool) {
	return core.FromContext(r.Context())
}

// Claims returns the verified claims of the request's QStash signature. It
// reports false on an unguarded route and behind a guard built with
// core.WithoutSignature.
func Claims(r *http.Request) (*core.Claims, bool) {
	res, ok := Result(r)
	if !ok || res.Claims == nil {
		return nil, false
	}
	return res.Claims, true
}

// FailurePayload returns the decoded payload of a failure callback. It
// reports false for anything else: a workflow step, a plain QStash message,
// an unguarded route.
func FailurePayload(r *http.Request) (*core.FailurePayload, bool) {
	res, ok := Result(r)
	if !ok || res.Failure == nil {
		return nil, false
	}
	return res.Failure, true
}

// Principal returns what the guard's bearer validator returned for the
// request's token (a core.StaticPrincipal for core.StaticTokens). It reports
// false when the guard has no bearer check.
func Principal(r *http.Request) (any, bool) {
	res, ok := Result(r)
	if !ok || res.Principal == nil {
		return nil, false
	}
	return res.Principal, true
}
