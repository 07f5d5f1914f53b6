// Package echomw makes qstashguard's checks Echo (v4) middleware.
//
// Verify checks the QStash signature alone; Workflow and Failure guard the
// two routes of an Upstash Workflow app. The ...WithConfig forms take Echo's
// own settings (a Skipper). A rejection is returned as an *echo.HTTPError
// carrying the status core.StatusCode gives and a short reason, with the
// full error as its internal error, so the app's HTTPErrorHandler renders
// it. Handlers behind the middleware bind the body as QStash sent it and
// find the result with Claims, Principal, FailurePayload and Result.
package echomw
