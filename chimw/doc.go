// Package chimw makes qstashguard's checks net/http middleware, in the
// shape Chi uses (func(http.Handler) http.Handler), so it serves Chi and the
// standard library's http.ServeMux alike.
//
// Verify checks the QStash signature alone; Workflow and Failure guard the
// two routes of an Upstash Workflow app. A rejection is written by
// DefaultErrorHandler, or by the ErrorHandler of the ...WithConfig forms.
// Handlers read the body as QStash sent it, and find the result in the
// request's context with Claims, Principal, FailurePayload and Result.
package chimw
