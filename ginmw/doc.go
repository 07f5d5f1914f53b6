// Package ginmw makes qstashguard's checks Gin middleware: Verify for a
// route that takes QStash messages, Workflow and Failure for the routes of
// an Upstash Workflow app.
//
//	r := gin.New()
//	r.POST("/api/workflow", ginmw.Workflow(), handleStep)
//	r.POST("/api/workflow/failure", ginmw.Failure(), handleFailure)
//
// A refused request never reaches the handler: the middleware aborts with
// the status of core.StatusCode and a JSON body {"error": "<reason>"} that
// holds the short reason only, and sets WWW-Authenticate when a bearer
// token was missing or refused. The full detail goes to the logger and
// hooks given as options (core.WithLogger, core.WithRejectHook).
//
// A request let through keeps its body: c.ShouldBindJSON, c.GetRawData and
// c.Request.Body read the bytes QStash sent. The handler finds what the
// middleware established with Result, Claims, Principal and FailurePayload;
// code that sees only the *http.Request finds the same with
// core.FromContext(r.Context()).
//
// The constructors read the signing keys from the environment unless given
// core.WithSigningKeys, and panic at startup when they cannot build a
// verifier or guard that would authenticate anything.
package ginmw
