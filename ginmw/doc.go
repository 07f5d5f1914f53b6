// Package ginmw makes qstashguard's checks Gin middleware.
//
// Verify checks the QStash signature alone; Workflow and Failure guard the
// two routes of an Upstash Workflow app, with the app's bearer check where
// one is configured. Use them router-wide (r.Use), on a group or on a single
// route. A rejected request is aborted with a JSON body, {"error": reason},
// and the status core.StatusCode gives; handlers behind the middleware read
// the body as QStash sent it (c.ShouldBindJSON, c.GetRawData) and find the
// result with Claims, Principal, FailurePayload and Result.
package ginmw
