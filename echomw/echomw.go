package echomw

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/qstashguard/qstashguard/core"
)

// resultKey is the echo.Context key under which the middleware stores the
// core.Result.
const resultKey = "qstashguard.result"

// Config holds what is Echo's own in the middleware's configuration; the
// checks themselves are configured with core options.
type Config struct {
	// Skipper, when it returns true, lets a request through unchecked.
	// Default: middleware.DefaultSkipper, which skips nothing.
	Skipper middleware.Skipper
}

// checker is what the middleware needs of a core.Verifier or core.Guard.
type checker interface {
	Check(r *http.Request) (*core.Result, error)
}

// Verify returns middleware that lets through only requests signed by
// QStash. It panics, at construction, when no signing key can be found.
func Verify(opts ...core.Option) echo.MiddlewareFunc {
	return VerifyWithConfig(Config{}, opts...)
}

// VerifyWithConfig is Verify with Echo's own settings.
func VerifyWithConfig(cfg Config, opts ...core.Option) echo.MiddlewareFunc {
	v, err := core.NewVerifier(opts...)
	if err != nil {
		panic("echomw: " + err.Error())
	}
	return middlewareFunc(cfg, v)
}

// Workflow returns middleware for a workflow route (core.NewWorkflowGuard).
func Workflow(opts ...core.GuardOption) echo.MiddlewareFunc {
	return WorkflowWithConfig(Config{}, opts...)
}

// WorkflowWithConfig is Workflow with Echo's own settings.
func WorkflowWithConfig(cfg Config, opts ...core.GuardOption) echo.MiddlewareFunc {
	g, err := core.NewWorkflowGuard(opts...)
	if err != nil {
		panic("echomw: " + err.Error())
	}
	return middlewareFunc(cfg, g)
}

// Failure returns middleware for a failure route (core.NewFailureGuard).
func Failure(opts ...core.GuardOption) echo.MiddlewareFunc {
	return FailureWithConfig(Config{}, opts...)
}

// FailureWithConfig is Failure with Echo's own settings.
func FailureWithConfig(cfg Config, opts ...core.GuardOption) echo.MiddlewareFunc {
	g, err := core.NewFailureGuard(opts...)
	if err != nil {
		panic("echomw: " + err.Error())
	}
	return middlewareFunc(cfg, g)
}

// middlewareFunc returns rejections as *echo.HTTPError, with the full error
// as its internal error, so the app's HTTPErrorHandler renders them and can
// log the detail.
func middlewareFunc(cfg Config, ch checker) echo.MiddlewareFunc {
	skip := cfg.Skipper
	if skip == nil {
		skip = middleware.DefaultSkipper
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}

			res, err := ch.Check(c.Request())
			if err != nil {
				if challenge := core.WWWAuthenticate(err); challenge != "" {
					c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge)
				}
				return echo.NewHTTPError(core.StatusCode(err), core.Reason(err)).SetInternal(err)
			}

			c.Set(resultKey, res)
			err = next(c)

			// A delivery the handler failed is given back to the replay
			// store, so QStash's retry is not refused.
			if res.Claims.Reserved() {
				res.Claims.Settle(c.Request().Context(), responseStatus(c, err))
			}
			return err
		}
	}
}

// responseStatus is the status the client gets: the one written, or, when
// the handler returned an error not yet rendered, the one it will be
// rendered with.
func responseStatus(c echo.Context, err error) int {
	if err == nil || c.Response().Committed {
		return c.Response().Status
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	return http.StatusInternalServerError
}

// Result returns everything the middleware established about the request.
func Result(c echo.Context) (*core.Result, bool) {
	res, ok := c.Get(resultKey).(*core.Result)
	return res, ok
}

// Claims returns the verified signature claims.
func Claims(c echo.Context) (*core.Claims, bool) {
	res, ok := Result(c)
	if !ok || res.Claims == nil {
		return nil, false
	}
	return res.Claims, true
}

// FailurePayload returns the decoded payload of a failure callback.
func FailurePayload(c echo.Context) (*core.FailurePayload, bool) {
	res, ok := Result(c)
	if !ok || res.Failure == nil {
		return nil, false
	}
	return res.Failure, true
}

// Principal returns what the bearer check returned for the request.
func Principal(c echo.Context) (any, bool) {
	res, ok := Result(c)
	if !ok || res.Principal == nil {
		return nil, false
	}
	return res.Principal, true
}
