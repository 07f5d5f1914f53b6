package core

import (
	"errors"
	"net/http"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so callers can branch with errors.Is. The sentinel's own text is the
// short reason a client may see; the wrapping error adds the detail meant
// for the operator (which check failed, both URLs, by how much a token
// expired), and never a key, a token or a body.
var (
	ErrMissingSignature          = errors.New("missing signature")
	ErrMalformedSignature        = errors.New("malformed signature")
	ErrInvalidSignature          = errors.New("invalid signature")
	ErrExpired                   = errors.New("signature expired")
	ErrNotYetValid               = errors.New("signature not yet valid")
	ErrInvalidIssuer             = errors.New("invalid issuer")
	ErrURLMismatch               = errors.New("url mismatch")
	ErrBodyMismatch              = errors.New("body mismatch")
	ErrBodyTooLarge              = errors.New("body too large")
	ErrBodyRead                  = errors.New("body could not be read")
	ErrMissingBearer             = errors.New("missing bearer token")
	ErrInvalidBearer             = errors.New("invalid bearer token")
	ErrNotFailureCallback        = errors.New("not a failure callback")
	ErrFailureCallbackNotAllowed = errors.New("failure callback not allowed")
	ErrMalformedFailurePayload   = errors.New("malformed failure payload")
	ErrReplayed                  = errors.New("message already delivered")
	ErrReplayStoreUnavailable    = errors.New("replay store unavailable")
	ErrConfig                    = errors.New("qstashguard misconfigured")
)

// sentinels lists every sentinel with the HTTP status it maps to, in the
// order StatusCode and Reason try them.
var sentinels = [...]struct {
	err    error
	status int
}{
	{ErrMissingSignature, http.StatusUnauthorized},
	{ErrMalformedSignature, http.StatusUnauthorized},
	{ErrInvalidSignature, http.StatusUnauthorized},
	{ErrExpired, http.StatusUnauthorized},
	{ErrNotYetValid, http.StatusUnauthorized},
	{ErrInvalidIssuer, http.StatusUnauthorized},
	{ErrURLMismatch, http.StatusUnauthorized},
	{ErrBodyMismatch, http.StatusUnauthorized},
	{ErrBodyTooLarge, http.StatusRequestEntityTooLarge},
	{ErrBodyRead, http.StatusBadRequest},
	{ErrMissingBearer, http.StatusUnauthorized},
	{ErrInvalidBearer, http.StatusUnauthorized},
	{ErrNotFailureCallback, http.StatusForbidden},
	{ErrFailureCallbackNotAllowed, http.StatusForbidden},
	{ErrMalformedFailurePayload, http.StatusBadRequest},
	{ErrReplayed, http.StatusConflict},
	{ErrReplayStoreUnavailable, http.StatusServiceUnavailable},
	{ErrConfig, http.StatusInternalServerError},
}

// StatusCode returns the HTTP status for err: 401 for a failed
// authentication, 413 for a body over the limit, 400 for a body that cannot
// be read or a malformed failure payload, 403 for an authenticated call of
// the wrong kind (a failure callback where none is allowed, or the reverse),
// 409 for a replayed message, 503 when the replay store cannot be reached,
// and 500 for a configuration fault or an error this package does not know.
// StatusCode(nil) is 200.
func StatusCode(err error) int {
	if err == nil {
		return http.StatusOK
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.status
		}
	}
	return http.StatusInternalServerError
}

// Reason returns the short reason for err that is safe to show a client: the
// text of the sentinel it wraps, without the detail. Errors this package
// does not know give "internal error", so nothing unexpected leaks.
func Reason(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.err.Error()
		}
	}
	return "internal error"
}
