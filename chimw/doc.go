// Package chimw makes qstashguard's checks net/http middleware in the shape
// Chi uses, func(http.Handler) http.Handler, so it serves a Chi router and
// the standard library's http.ServeMux alike: Verify for a route that takes
// QStash messages, Workflow and Failure for the routes of an Upstash
// Workflow app.
//
//	r := chi.NewRouter()
//	r.With(chimw.Workflow()).Post("/api/workflow", handleStep)
//	r.With(chimw.Failure()).Post("/api/workflow/failure", handleFailure)
//
//	mux := http.NewServeMux()
//	mux.Handle("POST /api/workflow", chimw.Workflow()(http.HandlerFunc(handleStep)))
//
// A refused request never reaches the handler: DefaultErrorHandler writes
// {"error": "<reason>"} with the status of core.StatusCode, and
// WWW-Authenticate when a bearer token was missing or refused; the
// ...WithConfig forms take an ErrorHandler of the app's own instead. The
// detail goes to the logger and hooks given as options (core.WithLogger,
// core.WithRejectHook).
//
// A request let through keeps its body, so the handler reads the bytes
// QStash sent. It finds what the middleware established in the request's
// context, with Result, Claims, Principal and FailurePayload, or with
// core.FromContext.
//
// The constructors read the signing keys from the environment unless given
// core.WithSigningKeys, and panic at startup when they cannot build a
// verifier or guard that would authenticate anything.
package chimw
