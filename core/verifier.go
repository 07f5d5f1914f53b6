package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Header names QStash uses.
const (
	HeaderSignature = "Upstash-Signature"
	HeaderRegion    = "Upstash-Region"
)

// Verifier checks that requests were signed by QStash. It is safe for
// concurrent use; build one at startup and share it.
type Verifier struct {
	keys       *keyring
	tolerance  time.Duration
	now        func() time.Time
	maxBody    int64
	url        string // expected URL, exactly, when set
	baseURL    string // scheme://host to put before the request's path, when set
	checkURL   bool
	replay     ReplayStore
	replayOpen bool
	observer   observer
}

// NewVerifier builds a Verifier. Without WithSigningKeys or WithRegionKeys
// it reads the keys from the environment (QSTASH_CURRENT_SIGNING_KEY,
// QSTASH_NEXT_SIGNING_KEY, and with QSTASH_REGION the region-prefixed
// pairs); QSTASH_DEV=true selects the local dev server's keys over both.
//
// It fails closed: with no non-empty key, or with contradicting options, it
// returns an error wrapping ErrConfig rather than a verifier that lets
// requests through.
func NewVerifier(opts ...Option) (*Verifier, error) {
	c := config{now: time.Now, maxBody: DefaultMaxBodyBytes}
	for _, opt := range opts {
		if opt == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: nil option", ErrConfig))
			continue
		}
		opt(&c)
	}
	if c.urlOptions > 1 {
		c.errs = append(c.errs, fmt.Errorf(
			"%w: use only one of WithURL, WithPublicBaseURL and WithoutURLCheck", ErrConfig))
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	keys, err := buildKeyring(&c, os.Getenv)
	if err != nil {
		return nil, err
	}
	return &Verifier{
		keys:       keys,
		tolerance:  c.tolerance,
		now:        c.now,
		maxBody:    c.maxBody,
		url:        c.url,
		baseURL:    c.baseURL,
		checkURL:   !c.noURLCheck,
		replay:     c.replay,
		replayOpen: c.replayOpen,
		observer:   c.observer,
	}, nil
}

// VerifySignature verifies sig, an Upstash-Signature value, against body
// and url. An empty url skips the check of the signed URL. It uses the
// unprefixed keys, or those of the default region when only region keys are
// set.
func (v *Verifier) VerifySignature(sig string, body []byte, url string) (*Claims, error) {
	if v == nil || v.keys == nil {
		return nil, errNoVerifier
	}
	keys, region := v.keys.forRegion("")
	c, err := v.verifyToken(sig, url, keys, region)
	if err != nil {
		return nil, err
	}
	if err := checkBody(c.Body, body); err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyRequest verifies the Upstash-Signature of r against its URL and
// body. The signature is checked before the body is read, so a forged
// request costs no body read. The body is read up to the limit set by
// WithMaxBodyBytes; on success r.Body is replaced by a reader of the same
// bytes, so the handler reads what QStash sent.
//
// The URL compared with the signed one is, by default, the request as it
// arrived: https when r.TLS is set, else http; r.Host; and the request
// target, path and query, as the client sent it. Forwarded headers are not
// trusted: behind a proxy, use WithPublicBaseURL or WithURL.
func (v *Verifier) VerifyRequest(r *http.Request) (*Claims, error) {
	if v == nil {
		return nil, errNoVerifier
	}
	c, _, err := v.verifyRequest(r)
	if err != nil {
		v.observer.rejected(r, err)
		return nil, err
	}
	if !v.observer.empty() {
		v.observer.accepted(r, &Result{Claims: c, Delivery: deliveryOf(r.Header)})
	}
	return c, nil
}

// Check is VerifyRequest in the shape of Guard.Check: the claims come with
// the delivery metadata, in a Result, so adapters treat a Verifier and a
// Guard alike.
func (v *Verifier) Check(r *http.Request) (*Result, error) {
	if v == nil {
		return nil, errNoVerifier
	}
	c, _, err := v.verifyRequest(r)
	if err != nil {
		v.observer.rejected(r, err)
		return nil, err
	}
	res := &Result{Claims: c, Delivery: deliveryOf(r.Header)}
	v.observer.accepted(r, res)
	return res, nil
}

// verifyRequest is VerifyRequest without the reporting, for guards that
// report once for all their checks. It also returns the body it read.
func (v *Verifier) verifyRequest(r *http.Request) (*Claims, []byte, error) {
	if v.keys == nil {
		// A Verifier not made by NewVerifier has no keys: refuse.
		return nil, nil, errNoVerifier
	}
	sig, err := signatureHeader(r.Header)
	if err != nil {
		return nil, nil, err
	}

	keys, region := v.keys.forRegion(headerValue(r.Header, HeaderRegion))
	c, err := v.verifyToken(sig, v.expectedURL(r), keys, region)
	if err != nil {
		return nil, nil, err
	}

	body, err := readBody(r, v.maxBody)
	if err != nil {
		return nil, nil, err
	}
	if err := checkBody(c.Body, body); err != nil {
		return nil, nil, err
	}

	if err := v.reserve(r, c); err != nil {
		return nil, nil, err
	}

	restoreBody(r, body)
	return c, body, nil
}

// reserve records the token's id with the replay store, when there is one,
// for as long as the token could still be accepted.
func (v *Verifier) reserve(r *http.Request, c *Claims) error {
	if v.replay == nil {
		return nil
	}
	if c.ID == "" {
		return fmt.Errorf("%w: no jti claim, which replay protection needs", ErrMalformedSignature)
	}
	ok, err := v.replay.Reserve(r.Context(), c.ID, c.ExpiresAt.Add(v.tolerance))
	switch {
	case err != nil && v.replayOpen:
		v.observer.failedOpen(r, err)
		return nil
	case err != nil:
		if !errors.Is(err, ErrReplayStoreUnavailable) {
			err = fmt.Errorf("%w: %w", ErrReplayStoreUnavailable, err)
		}
		return err
	case !ok:
		return fmt.Errorf("%w: jti %s was accepted before", ErrReplayed, c.ID)
	}
	c.replay = v.replay
	return nil
}

// verifyToken checks everything but the body: form, header, signature,
// claims, time and URL.
func (v *Verifier) verifyToken(sig, url string, keys keyPair, region string) (*Claims, error) {
	var t signedToken
	if err := parseToken(sig, &t); err != nil {
		return nil, err
	}
	key, err := verifyMAC(&t, keys)
	if err != nil {
		return nil, err
	}
	payload, err := decodePayload(t.payload)
	if err != nil {
		return nil, err
	}
	c := &Claims{Key: key, Region: region}
	if err := decodeClaims(payload, c); err != nil {
		return nil, err
	}
	if c.Issuer != Issuer {
		return nil, fmt.Errorf("%w: %q, want %q", ErrInvalidIssuer, c.Issuer, Issuer)
	}
	if err := v.checkTime(c); err != nil {
		return nil, err
	}
	if url != "" && c.Subject != url {
		return nil, &URLMismatchError{Want: url, Got: c.Subject}
	}
	return c, nil
}

// checkTime counts a token expired from the second of its exp on, as
// golang-jwt does (RFC 7519 §4.1.4: "on or after"), give or take the
// tolerance.
func (v *Verifier) checkTime(c *Claims) error {
	now := v.now()
	if !now.Before(c.ExpiresAt.Add(v.tolerance)) {
		return fmt.Errorf("%w: %s ago (exp %s, now %s, tolerance %s)", ErrExpired,
			now.Sub(c.ExpiresAt).Round(time.Second), c.ExpiresAt.UTC().Format(time.RFC3339),
			now.UTC().Format(time.RFC3339), v.tolerance)
	}
	if !c.NotBefore.IsZero() && now.Before(c.NotBefore.Add(-v.tolerance)) {
		return fmt.Errorf("%w: valid in %s (nbf %s, now %s, tolerance %s)", ErrNotYetValid,
			c.NotBefore.Sub(now).Round(time.Second), c.NotBefore.UTC().Format(time.RFC3339),
			now.UTC().Format(time.RFC3339), v.tolerance)
	}
	return nil
}

// expectedURL is the URL the signature must name for r, or "" when the
// check is off.
func (v *Verifier) expectedURL(r *http.Request) string {
	switch {
	case !v.checkURL:
		return ""
	case v.url != "":
		return v.url
	case v.baseURL != "":
		return v.baseURL + requestTarget(r)
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	return scheme + host + requestTarget(r)
}

// requestTarget is the path and query as the client sent them. RequestURI
// keeps them unchanged where r.URL may have been rewritten on the way (by
// http.StripPrefix or a router mount), and keeps the client's own escaping.
//
// An absolute-form target (POST http://host/path HTTP/1.1) is cut to its
// path and query, from the request line too, never from r.URL: a rewrite of
// r.URL must not make a token signed for one endpoint pass at another.
func requestTarget(r *http.Request) string {
	uri := r.RequestURI
	switch {
	case uri == "":
		// A request built in the process, not received: r.URL is all
		// there is.
		return r.URL.RequestURI()
	case uri[0] == '/':
		return uri
	}
	if u, err := url.ParseRequestURI(uri); err == nil && u.Host != "" {
		return u.RequestURI()
	}
	return uri
}

// signatureHeader returns the one Upstash-Signature value of h. Two values
// are refused: which one a proxy or framework picks differs, and a verifier
// must not check one while the app trusts the other.
func signatureHeader(h http.Header) (string, error) {
	vs := h[HeaderSignature]
	switch {
	case len(vs) == 0 || (len(vs) == 1 && vs[0] == ""):
		return "", fmt.Errorf("%w: no %s header", ErrMissingSignature, HeaderSignature)
	case len(vs) > 1:
		return "", fmt.Errorf("%w: %d %s headers", ErrMalformedSignature, len(vs), HeaderSignature)
	}
	return vs[0], nil
}

// headerValue is h.Get for a name already in canonical form, without the
// canonicalisation cost.
func headerValue(h http.Header, canonical string) string {
	if vs := h[canonical]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

var errNoVerifier = fmt.Errorf("%w: a Verifier must come from NewVerifier", ErrConfig)

// maxInitialBody caps the buffer readBody allocates before reading.
const maxInitialBody = 1 << 20

// readBody reads at most limit bytes of r's body. One byte more tells a
// body over the limit from one exactly at it; the rest is never read.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: Content-Length %d over the limit of %d bytes",
			ErrBodyTooLarge, r.ContentLength, limit)
	}
	// The buffer starts at the declared length (plus the byte that tells
	// the end), capped, so that a large limit and a lying Content-Length
	// cannot make one request allocate more than it sends.
	size := int64(512)
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1
	}
	buf := make([]byte, 0, min(size, limit, maxInitialBody)+1)
	lr := io.LimitedReader{R: r.Body, N: limit + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bodyReadError(err)
		}
	}
	if int64(len(buf)) > limit {
		return nil, fmt.Errorf("%w: over the limit of %d bytes", ErrBodyTooLarge, limit)
	}
	return buf, nil
}

// bodyReadError classifies an error reading the body. The app's own
// http.MaxBytesReader, stricter than the verifier's limit, is a body too
// large, not a broken one.
func bodyReadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: over the app's limit of %d bytes", ErrBodyTooLarge, tooLarge.Limit)
	}
	return fmt.Errorf("%w: %w", ErrBodyRead, err)
}

// restoreBody puts body back in r, so the handler behind the middleware
// reads it as if nothing had read it before.
func restoreBody(r *http.Request, body []byte) {
	rb := new(restoredBody)
	rb.Reset(body)
	r.Body = rb
}

// restoredBody serves the bytes VerifyRequest read, in place of the
// original body.
type restoredBody struct {
	bytes.Reader
}

// Close does nothing: the server closes the original body.
func (*restoredBody) Close() error { return nil }

// firstDifference says where two URLs first differ, to spare the reader of
// a log comparing them by eye.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf(" (they differ from byte %d)", i)
}
