package echomw

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/qstashguard/qstashguard/core"
)

// Config configures the middleware the way Echo's own middleware are
// configured. The checks themselves are configured by the core options.
type Config struct {
	// Skipper decides which requests go through unchecked, such as a
	// health check under a guarded group. Nil means
	// middleware.DefaultSkipper: none.
	Skipper middleware.Skipper
}

// Verify returns middleware that lets through only requests QStash signed
// for the URL they arrived at, with the body they carry. The options
// configure the core.Verifier it builds once, here; without key options the
// keys come from the environment.
//
// Verify panics when the verifier cannot be built (no signing key, say),
// with a message that names what to set: a middleware that cannot verify
// must stop the app at startup rather than let requests through.
func Verify(opts ...core.Option) echo.MiddlewareFunc {
	return VerifyWithConfig(Config{}, opts...)
}

// VerifyWithConfig is Verify with an Echo configuration.
func VerifyWithConfig(cfg Config, opts ...core.Option) echo.MiddlewareFunc {
	v, err := core.NewVerifier(opts...)
	if err != nil {
		panic("echomw: " + err.Error())
	}
	return guard(cfg, v.Check)
}

// Workflow returns middleware for the route of an Upstash Workflow: it
// checks the QStash signature and, with core.WithBearer, the app's bearer
// token, and refuses failure callbacks unless core.AllowFailureCallbacks is
// given. It panics, as Verify does, when the guard cannot be built.
func Workflow(opts ...core.GuardOption) echo.MiddlewareFunc {
	return WorkflowWithConfig(Config{}, opts...)
}

// WorkflowWithConfig is Workflow with an Echo configuration.
func WorkflowWithConfig(cfg Config, opts ...core.GuardOption) echo.MiddlewareFunc {
	g, err := core.NewWorkflowGuard(opts...)
	if err != nil {
		panic("echomw: " + err.Error())
	}
	return guard(cfg, g.Check)
}

// Failure returns middleware for the failure route of an Upstash Workflow:
// it accepts only authenticated failure callbacks and hands their decoded
// payload to the handler (see FailurePayload). It panics, as Verify does,
// when the guard cannot be built, and also when it would authenticate
// nothing: an open failure route lets anyone run the failure function.
func Failure(opts ...core.GuardOption) echo.MiddlewareFunc {
	return FailureWithConfig(Config{}, opts...)
}

// FailureWithConfig is Failure with an Echo configuration.
func FailureWithConfig(cfg Config, opts ...core.GuardOption) echo.MiddlewareFunc {
	g, err := core.NewFailureGuard(opts...)
	if err != nil {
		panic("echomw: " + err.Error())
	}
	return guard(cfg, g.Check)
}

// guard turns a check into Echo middleware. A refusal is returned as an
// *echo.HTTPError holding the short reason, with the full error as its
// Internal, so that the app's HTTPErrorHandler renders it as it renders
// every other error; the detail also goes to the logger and hooks given as
// options, inside the check.
func guard(cfg Config, check func(*http.Request) (*core.Result, error)) echo.MiddlewareFunc {
	skip := cfg.Skipper
	if skip == nil {
		skip = middleware.DefaultSkipper
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}

			r := c.Request()
			res, err := check(r)
			if err != nil {
				if challenge := core.WWWAuthenticate(err); challenge != "" {
					c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
				}
				return echo.NewHTTPError(core.StatusCode(err), core.Reason(err)).SetInternal(err)
			}

			// The result lives in the request's context only: one place
			// serves both Result and core.FromContext, for code that sees
			// only the *http.Request. Keeping it in Echo's store as well
			// would cost two more allocations per request, for the map
			// Echo makes on first use.
			c.SetRequest(r.WithContext(core.NewContext(r.Context(), res)))
			if !res.Claims.Reserved() {
				return next(c)
			}
			return settle(c, res.Claims, next)
		}
	}
}

// settle runs the handler when replay protection holds the token's id: an
// answer outside 2xx gives the id back, so QStash's retry of this delivery
// is not taken for a replay. A panicking handler counts as a 500; its panic
// goes on to the app's recovery middleware. A release that fails leaves the
// id reserved until the token expires; it is not returned, since the
// handler has answered and the error handler would write a second response.
func settle(c echo.Context, claims *core.Claims, next echo.HandlerFunc) (err error) {
	defer func() {
		if p := recover(); p != nil {
			_ = claims.Settle(c.Request().Context(), http.StatusInternalServerError)
			panic(p)
		}
		_ = claims.Settle(c.Request().Context(), status(c, err))
	}()
	return next(c)
}

// status is the status the response has, or will have once the app's
// HTTPErrorHandler renders the handler's error.
func status(c echo.Context, err error) int {
	if err == nil || c.Response().Committed {
		return c.Response().Status
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	return http.StatusInternalServerError
}

// Result returns everything the middleware established about the request:
// the signature's claims, the bearer principal, the failure payload and the
// delivery metadata. It reads them from the context of c.Request(), where
// core.FromContext finds them too; it reports false on a route the
// middleware does not guard, or when a later middleware has replaced the
// request's context with one not derived from it.
func Result(c echo.Context) (*core.Result, bool) {
	return core.FromContext(c.Request().Context())
}

// Claims returns the verified claims of the request's QStash signature. It
// reports false on an unguarded route and behind a guard built with
// core.WithoutSignature.
func Claims(c echo.Context) (*core.Claims, bool) {
	res, ok := Result(c)
	if !ok || res.Claims == nil {
		return nil, false
	}
	return res.Claims, true
}

// FailurePayload returns the decoded payload of a failure callback. It
// reports false for anything else: a workflow step, a plain QStash message,
// an unguarded route.
func FailurePayload(c echo.Context) (*core.FailurePayload, bool) {
	res, ok := Result(c)
	if !ok || res.Failure == nil {
		return nil, false
	}
	return res.Failure, true
}

// Principal returns what the guard's bearer validator returned for the
// request's token (a core.StaticPrincipal for core.StaticTokens). It reports
// false when the guard has no bearer check.
func Principal(c echo.Context) (any, bool) {
	res, ok := Result(c)
	if !ok || res.Principal == nil {
		return nil, false
	}
	return res.Principal, true
}
