// Package core verifies that a request to an Upstash Workflow or QStash
// endpoint came from QStash, and that the caller is one the app trusts.
//
// A Verifier checks the Upstash-Signature header: an HS256 JWT that QStash
// signs with the account's current or next signing key, naming the URL it
// called and the SHA-256 of the body it sent. A Guard adds the app's own
// bearer authorization and tells workflow steps from failure callbacks.
// Both are framework-neutral; the ginmw, echomw and chimw packages make them
// middleware for Gin, Echo and Chi (and so for any net/http mux).
//
// Every error wraps one of the sentinel errors of this package; StatusCode
// maps it to an HTTP status and Reason to a short text a client may see.
package core
