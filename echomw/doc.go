// Package echomw makes qstashguard's checks Echo (v4) middleware: Verify
// for a route that takes QStash messages, Workflow and Failure for the
// routes of an Upstash Workflow app.
//
//	e := echo.New()
//	e.POST("/api/workflow", handleStep, echomw.Workflow())
//	e.POST("/api/workflow/failure", handleFailure, echomw.Failure())
//
// A refused request never reaches the handler: the middleware returns an
// *echo.HTTPError with the status of core.StatusCode, the short reason of
// core.Reason as its message and the full error as its Internal, so the
// app's HTTPErrorHandler renders it like any other error (Echo's default
// one writes {"message": "<reason>"}). WWW-Authenticate is set when a
// bearer token was missing or refused. The detail also goes to the logger
// and hooks given as options (core.WithLogger, core.WithRejectHook).
//
// The ...WithConfig forms take Echo's usual Skipper. A request let through
// keeps its body, so c.Bind reads the bytes QStash sent. The handler finds
// what the middleware established with Result, Claims, Principal and
// FailurePayload; code that sees only the *http.Request finds the same
// with core.FromContext(r.Context()).
//
// The constructors read the signing keys from the environment unless given
// core.WithSigningKeys, and panic at startup when they cannot build a
// verifier or guard that would authenticate anything.
package echomw
