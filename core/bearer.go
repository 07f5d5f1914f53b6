package core

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
)

// MaxAuthorizationLen is the longest Authorization header value BearerToken
// accepts, in bytes. A header this size already holds a generous JWT; a
// longer one is refused before its token is scanned or checked.
const MaxAuthorizationLen = 8 << 10

// BearerValidator checks the token of an `Authorization: Bearer` header and
// returns the principal it stands for (what handlers later see).
//
// ValidateBearer returns an error wrapping ErrMissingBearer for an empty
// token, ErrInvalidBearer for a token it refuses, and ErrConfig when the
// validator was built from a configuration that cannot work. It must be safe
// for concurrent use.
type BearerValidator interface {
	ValidateBearer(ctx context.Context, token string) (principal any, err error)
}

// StaticPrincipal is the principal a StaticTokens validator returns.
type StaticPrincipal struct {
	// Index is the position, among the arguments of StaticTokens, of the
	// token that matched, so that during a rotation the app can tell the
	// callers still on the old token from those on the new one.
	Index int
}

// staticTokens holds the SHA-256 digests of the configured tokens and their
// positions among the arguments.
type staticTokens struct {
	digests [][sha256.Size]byte
	index   []int
}

// StaticTokens returns a BearerValidator that accepts any of tokens, so an
// old and a new token can both be listed while callers move from one to the
// other. Empty tokens are skipped, which lets an unset environment variable
// stand for "no second token". The principal is a StaticPrincipal.
//
// The presented token is compared with every configured token, always, in
// constant time: comparing SHA-256 digests (all of one length) hides the
// lengths of the configured tokens, and not stopping at a match hides which
// of them matched.
//
// Without any non-empty token, or with a token holding a character an
// `Authorization: Bearer` header cannot carry (white space, a stray newline
// from a file), the validator cannot work: every call then fails with an
// error wrapping ErrConfig, and the guard constructors detect it and refuse
// to build a guard, so it neither accepts nor silently rejects everything.
func StaticTokens(tokens ...string) BearerValidator {
	s := &staticTokens{}
	for i, t := range tokens {
		if t == "" {
			continue
		}
		if at := b64tokenError(t); at >= 0 {
			return misconfigured{fmt.Errorf(
				"%w: static token %d has a character at byte %d that RFC 6750 does not allow"+
					" in a bearer token", ErrConfig, i, at)}
		}
		s.digests = append(s.digests, sha256.Sum256([]byte(t)))
		s.index = append(s.index, i)
	}
	if len(s.digests) == 0 {
		return misconfigured{fmt.Errorf("%w: StaticTokens needs at least one non-empty token",
			ErrConfig)}
	}
	return s
}

// ValidateBearer implements BearerValidator.
func (s *staticTokens) ValidateBearer(_ context.Context, token string) (any, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrMissingBearer)
	}
	got := sha256.Sum256([]byte(token))
	match := -1
	for i := range s.digests {
		eq := subtle.ConstantTimeCompare(got[:], s.digests[i][:])
		match = subtle.ConstantTimeSelect(eq, s.index[i], match)
	}
	if match < 0 {
		return nil, fmt.Errorf("%w: token matches none of the %d static tokens",
			ErrInvalidBearer, len(s.digests))
	}
	return StaticPrincipal{Index: match}, nil
}

// bearerFunc adapts an app's function to BearerValidator.
type bearerFunc func(ctx context.Context, token string) (any, error)

// BearerFunc returns a BearerValidator that calls f, for an app that checks
// tokens its own way (a session store, an API key table). Whatever f returns
// as principal is what handlers see.
//
// f is never called with an empty token: that fails with ErrMissingBearer
// first. An error from f that already wraps ErrInvalidBearer,
// ErrMissingBearer or ErrConfig (for a broken backend the app wants reported
// as a 500) is returned as it is; any other error is wrapped as
// ErrInvalidBearer, so a failed check is always a refusal, never a pass.
// Keep the text of f's errors free of tokens: it reaches the logs.
//
// A nil f gives a validator whose every call fails with ErrConfig, which the
// guard constructors detect.
func BearerFunc(f func(ctx context.Context, token string) (any, error)) BearerValidator {
	if f == nil {
		return misconfigured{fmt.Errorf("%w: BearerFunc needs a non-nil function", ErrConfig)}
	}
	return bearerFunc(f)
}

// ValidateBearer implements BearerValidator.
func (f bearerFunc) ValidateBearer(ctx context.Context, token string) (any, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrMissingBearer)
	}
	principal, err := f(ctx, token)
	if err == nil {
		return principal, nil
	}
	if errors.Is(err, ErrInvalidBearer) || errors.Is(err, ErrMissingBearer) ||
		errors.Is(err, ErrConfig) {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %w", ErrInvalidBearer, err)
}

// misconfigured is a BearerValidator built from a configuration that cannot
// work. Every call fails with its error, so using it by mistake fails
// closed, and bearerConfigError lets guard constructors refuse it up front.
type misconfigured struct{ err error }

// ValidateBearer implements BearerValidator.
func (m misconfigured) ValidateBearer(context.Context, string) (any, error) {
	return nil, m.err
}

// bearerConfigError returns an error wrapping ErrConfig when b cannot work
// (nil, or built from an unusable configuration), and nil otherwise. Guard
// constructors call it so that a bad bearer setup stops the app at startup
// instead of refusing every request later.
func bearerConfigError(b BearerValidator) error {
	if b == nil {
		return fmt.Errorf("%w: bearer validator is nil", ErrConfig)
	}
	if m, ok := b.(misconfigured); ok {
		return m.err
	}
	return nil
}

// malformedBearer is a bearer credential that was sent but cannot be read:
// RFC 6750 §3.1 calls for error="invalid_request" there, where a request
// with no bearer credential at all gets a challenge without an error code.
type malformedBearer struct{ detail string }

func (e *malformedBearer) Error() string { return ErrMissingBearer.Error() + ": " + e.detail }
func (e *malformedBearer) Unwrap() error { return ErrMissingBearer }

func malformed(format string, args ...any) error {
	return &malformedBearer{detail: fmt.Sprintf(format, args...)}
}

// BearerToken returns the token of h's `Authorization: Bearer <token>`
// header (RFC 6750 §2.1). The scheme is matched without regard to case; one
// or more spaces or tabs separate it from the token, nothing may precede or
// follow them, and the token must be an RFC 6750 b64token: letters, digits,
// "-._~+/", then optional trailing "=".
//
// Any other header fails with an error wrapping ErrMissingBearer: none, or
// another scheme such as Basic (the request holds no bearer credential);
// more than one Authorization header (a proxy and the app might each read a
// different one), a value over MaxAuthorizationLen, "Bearer" without a
// token, or a token with a character outside b64token (malformed). The error
// never holds the token.
func BearerToken(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch {
	case len(values) == 0 || (len(values) == 1 && values[0] == ""):
		return "", fmt.Errorf("%w: no authorization header", ErrMissingBearer)
	case len(values) > 1:
		return "", malformed("%d authorization headers", len(values))
	}
	v := values[0]

	const scheme = "bearer"
	end := 0
	for end < len(v) && !isSpaceOrTab(v[end]) {
		end++
	}
	if !equalFoldASCII(v[:end], scheme) {
		return "", fmt.Errorf("%w: authorization scheme is not bearer", ErrMissingBearer)
	}
	if len(v) > MaxAuthorizationLen {
		return "", malformed("authorization header is %d bytes, over the limit of %d",
			len(v), MaxAuthorizationLen)
	}

	start := end
	for start < len(v) && isSpaceOrTab(v[start]) {
		start++
	}
	token := v[start:]
	if token == "" {
		return "", malformed("bearer token is empty")
	}
	if at := b64tokenError(token); at >= 0 {
		return "", malformed("bearer token has a character at byte %d that RFC 6750 does not allow",
			start+at)
	}
	return token, nil
}

// b64tokenError returns the index of the first byte of t that breaks the
// RFC 6750 b64token grammar, 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
// "+" / "/" ) *"=", or -1 when t follows it.
func b64tokenError(t string) int {
	i := 0
	for i < len(t) && isB64tokenChar(t[i]) {
		i++
	}
	if i == 0 {
		return 0
	}
	for i < len(t) && t[i] == '=' {
		i++
	}
	if i < len(t) {
		return i
	}
	return -1
}

func isB64tokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '+', '/':
		return true
	}
	return false
}

func isSpaceOrTab(c byte) bool { return c == ' ' || c == '\t' }

// equalFoldASCII compares s with lower, a lower-case ASCII word, ignoring
// ASCII case only. strings.EqualFold would also match Unicode look-alikes,
// which no HTTP scheme name may contain.
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// WWWAuthenticate returns the WWW-Authenticate header value for a response
// refusing a request with err (RFC 6750 §3): "Bearer" when the request had
// no bearer credential, `Bearer error="invalid_request"` when the one it had
// could not be read (two Authorization headers, no token, a bad character),
// `Bearer error="invalid_token"` when the token was refused, and "" for an
// error that is not about the bearer token (the header is then left out).
// No description is added: the client learns nothing about why its token
// failed beyond what the error code says.
func WWWAuthenticate(err error) string {
	var m *malformedBearer
	switch {
	case errors.As(err, &m):
		return `Bearer error="invalid_request"`
	case errors.Is(err, ErrMissingBearer):
		return "Bearer"
	case errors.Is(err, ErrInvalidBearer):
		return `Bearer error="invalid_token"`
	}
	return ""
}
