package ginmw

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/qstashguard/qstashguard/core"
)

// Verify returns middleware that lets through only requests QStash signed
// for the URL they arrived at, with the body they carry. The options
// configure the core.Verifier it builds once, here; without key options the
// keys come from the environment.
//
// Verify panics when the verifier cannot be built (no signing key, say),
// with a message that names what to set: a middleware that cannot verify
// must stop the app at startup rather than let requests through.
func Verify(opts ...core.Option) gin.HandlerFunc {
	v, err := core.NewVerifier(opts...)
	if err != nil {
		panic("ginmw: " + err.Error())
	}
	return guard(v.Check)
}

// Workflow returns middleware for the route of an Upstash Workflow: it
// checks the QStash signature and, with core.WithBearer, the app's bearer
// token, and refuses failure callbacks unless core.AllowFailureCallbacks is
// given. It panics, as Verify does, when the guard cannot be built.
func Workflow(opts ...core.GuardOption) gin.HandlerFunc {
	g, err := core.NewWorkflowGuard(opts...)
	if err != nil {
		panic("ginmw: " + err.Error())
	}
	return guard(g.Check)
}

// Failure returns middleware for the failure route of an Upstash Workflow:
// it accepts only authenticated failure callbacks and hands their decoded
// payload to the handler (see FailurePayload). It panics, as Verify does,
// when the guard cannot be built, and also when it would authenticate
// nothing: an open failure route lets anyone run the failure function.
func Failure(opts ...core.GuardOption) gin.HandlerFunc {
	g, err := core.NewFailureGuard(opts...)
	if err != nil {
		panic("ginmw: " + err.Error())
	}
	return guard(g.Check)
}

// guard turns a check into Gin middleware. A refusal aborts the chain with
// a JSON body holding the short reason only; the detail goes to the logger
// and hooks given as options, inside the check.
func guard(check func(*http.Request) (*core.Result, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		res, err := check(c.Request)
		if err != nil {
			if challenge := core.WWWAuthenticate(err); challenge != "" {
				c.Header("WWW-Authenticate", challenge)
			}
			c.AbortWithStatusJSON(core.StatusCode(err), gin.H{"error": core.Reason(err)})
			return
		}

		// The result lives in the request's context only: one place serves
		// both Result and core.FromContext, for code that sees only the
		// *http.Request. Keeping it in c.Keys as well would cost two more
		// allocations per request, for the map gin makes on first use.
		c.Request = c.Request.WithContext(core.NewContext(c.Request.Context(), res))
		if res.Claims.Reserved() {
			defer settle(c, res.Claims)
		}
		c.Next()
	}
}

// settle runs after the handler when replay protection holds the token's
// id: an answer outside 2xx gives the id back, so QStash's retry of this
// delivery is not taken for a replay. A panicking handler counts as a 500;
// its panic goes on to the app's recovery middleware. A failed release
// leaves the id reserved until the token expires; it is recorded among the
// context's errors for the app's logger.
func settle(c *gin.Context, claims *core.Claims) {
	status := c.Writer.Status()
	p := recover()
	if p != nil {
		status = http.StatusInternalServerError
	}
	if err := claims.Settle(c.Request.Context(), status); err != nil {
		_ = c.Error(err)
	}
	if p != nil {
		panic(p)
	}
}

// Result returns everything the middleware established about the request:
// the signature's claims, the bearer principal, the failure payload and the
// delivery metadata. It reads them from the context of c.Request, where
// core.FromContext finds them too; it reports false on a route the
// middleware does not guard, or when a later middleware has replaced the
// request's context with one not derived from it.
func Result(c *gin.Context) (*core.Result, bool) {
	return core.FromContext(c.Request.Context())
}

// Claims returns the verified claims of the request's QStash signature. It
// reports false on an unguarded route and behind a guard built with
// core.WithoutSignature.
func Claims(c *gin.Context) (*core.Claims, bool) {
	res, ok := Result(c)
	if !ok || res.Claims == nil {
		return nil, false
	}
	return res.Claims, true
}

// FailurePayload returns the decoded payload of a failure callback. It
// reports false for anything else: a workflow step, a plain QStash message,
// an unguarded route.
func FailurePayload(c *gin.Context) (*core.FailurePayload, bool) {
	res, ok := Result(c)
	if !ok || res.Failure == nil {
		return nil, false
	}
	return res.Failure, true
}

// Principal returns what the guard's bearer validator returned for the
// request's token (a core.StaticPrincipal for core.StaticTokens). It reports
// false when the guard has no bearer check.
func Principal(c *gin.Context) (any, bool) {
	res, ok := Result(c)
	if !ok || res.Principal == nil {
		return nil, false
	}
	return res.Principal, true
}
