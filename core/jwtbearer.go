package core

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Limits of the JWKS client. A key set is a few kilobytes; the body limit
// keeps a broken or hostile endpoint from filling memory. Unknown key IDs
// trigger at most one refetch a minute, so tokens with made-up kids cannot
// turn the validator into a flood of requests to the key server.
const (
	maxJWKSBytes     = 1 << 20
	jwksTimeout      = 10 * time.Second
	jwksRefreshEvery = time.Hour
	jwksUnknownKID   = time.Minute
	minRSABits       = 2048
)

// jwtAlgorithms maps each algorithm JWTBearer accepts to the test a key must
// pass to verify it: the right type, and a size the algorithm's RFC asks for
// (RFC 7518 §3.2: an HMAC key at least as long as the hash; §3.3: RSA keys
// of 2048 bits or more; §3.4: the curve named by the algorithm).
var jwtAlgorithms = map[string]func(key any) bool{
	"HS256": hmacKey(32), "HS384": hmacKey(48), "HS512": hmacKey(64),
	"RS256": rsaKey, "RS384": rsaKey, "RS512": rsaKey,
	"PS256": rsaKey, "PS384": rsaKey, "PS512": rsaKey,
	"ES256": ecdsaKey("P-256"), "ES384": ecdsaKey("P-384"), "ES512": ecdsaKey("P-521"),
	"EdDSA": ed25519Key,
}

func hmacKey(minLen int) func(any) bool {
	return func(key any) bool {
		k, ok := key.([]byte)
		return ok && len(k) >= minLen
	}
}

func rsaKey(key any) bool {
	k, ok := key.(*rsa.PublicKey)
	return ok && k.N != nil && k.N.BitLen() >= minRSABits
}

func ecdsaKey(curve string) func(any) bool {
	return func(key any) bool {
		k, ok := key.(*ecdsa.PublicKey)
		return ok && k.Curve != nil && k.Curve.Params().Name == curve
	}
}

func ed25519Key(key any) bool {
	k, ok := key.(ed25519.PublicKey)
	return ok && len(k) == ed25519.PublicKeySize
}

// JWTOption configures a validator built by JWTBearer.
type JWTOption func(*jwtConfig)

type jwtConfig struct {
	keys         []any
	jwksURLs     []string
	jwksCtx      context.Context
	algs         []string
	issuer       string
	audiences    []string
	leeway       time.Duration
	now          func() time.Time
	refreshLimit *rate.Limiter // unknown-kid refetches; tests set their own
	errs         []error
}

// WithJWTKey adds a key that verifies tokens: a []byte HMAC secret, an
// *rsa.PublicKey, an *ecdsa.PublicKey or an ed25519.PublicKey. Give it once
// per key; during a rotation list both the old and the new key. A token is
// checked against each key that fits its algorithm in turn, and passes when
// one verifies it. Private keys are refused: a validator needs only the
// public half, and holding the private one where it is not needed is a risk.
func WithJWTKey(key any) JWTOption {
	return func(c *jwtConfig) {
		switch k := key.(type) {
		case []byte:
			c.keys = append(c.keys, slices.Clone(k))
		case *rsa.PublicKey:
			if k == nil || k.N == nil {
				c.errs = append(c.errs, fmt.Errorf("%w: nil RSA key", ErrConfig))
				return
			}
			c.keys = append(c.keys, k)
		case *ecdsa.PublicKey:
			if k == nil || k.Curve == nil {
				c.errs = append(c.errs, fmt.Errorf("%w: nil ECDSA key", ErrConfig))
				return
			}
			c.keys = append(c.keys, k)
		case ed25519.PublicKey:
			c.keys = append(c.keys, k)
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			c.errs = append(c.errs, fmt.Errorf("%w: WithJWTKey got a %T; pass its public key",
				ErrConfig, key))
		case string:
			c.errs = append(c.errs, fmt.Errorf("%w: WithJWTKey got a string; pass an HMAC"+
				" secret as []byte", ErrConfig))
		default:
			c.errs = append(c.errs, fmt.Errorf("%w: WithJWTKey does not support keys of type %T",
				ErrConfig, key))
		}
	}
}

// WithJWKSURL takes the keys from the JSON Web Key Set served at u (an
// https URL; plain http only for a loopback host such as 127.0.0.1). The set
// is fetched when JWTBearer runs, which fails if it cannot be fetched or
// holds no usable key; it is fetched again every hour, and at once (at most
// once a minute) when a token names a key ID the set does not hold, so a
// key the issuer has just rotated in is picked up without a restart.
// Keys marked for encryption ("use":"enc") are skipped. It can be given more
// than once.
//
// Fetching runs in a goroutine. Stop it with the Close method of the
// returned validator (it implements io.Closer), or by ending the context
// given to WithJWKSContext. After that the validator goes on checking
// tokens with the keys it holds, but fetches no more.
//
// Tokens from a shared identity provider are signed with the same keys for
// every app it serves: set WithJWTAudience (and WithJWTIssuer) with a JWKS,
// or a token issued for another app is accepted too.
func WithJWKSURL(u string) JWTOption {
	return func(c *jwtConfig) {
		if err := checkJWKSURL(u); err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.jwksURLs = append(c.jwksURLs, u)
	}
}

// WithJWKSContext ties the JWKS fetching goroutine to ctx: it stops when ctx
// ends, as it does on Close. Without it only Close stops it.
func WithJWKSContext(ctx context.Context) JWTOption {
	return func(c *jwtConfig) {
		if ctx == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: nil JWKS context", ErrConfig))
			return
		}
		c.jwksCtx = ctx
	}
}

// WithJWTAlgorithms sets the algorithms a token may be signed with, such as
// "RS256" or "EdDSA". It is required: the algorithm is chosen by the one who
// configures the validator, never by the token, since letting the token
// pick is what makes "alg":"none" and HMAC-with-a-public-key forgeries
// possible. Supported: HS256, HS384, HS512, RS256, RS384, RS512, PS256,
// PS384, PS512, ES256, ES384, ES512, EdDSA (names as RFC 7518 spells them,
// case included). Each key must fit one of them and, with WithJWTKey, each of
// them must have a key, or JWTBearer fails with ErrConfig.
func WithJWTAlgorithms(algs ...string) JWTOption {
	return func(c *jwtConfig) {
		for _, a := range algs {
			if _, ok := jwtAlgorithms[a]; !ok {
				c.errs = append(c.errs, fmt.Errorf("%w: JWT algorithm %q is not one of %v",
					ErrConfig, a, slices.Sorted(maps.Keys(jwtAlgorithms))))
				continue
			}
			if !slices.Contains(c.algs, a) {
				c.algs = append(c.algs, a)
			}
		}
	}
}

// WithJWTIssuer requires the iss claim to be iss exactly.
func WithJWTIssuer(iss string) JWTOption {
	return func(c *jwtConfig) {
		if iss == "" {
			c.errs = append(c.errs, fmt.Errorf("%w: empty JWT issuer", ErrConfig))
			return
		}
		c.issuer = iss
	}
}

// WithJWTAudience requires the aud claim to hold aud. Given more than once,
// a token for any one of the audiences passes.
func WithJWTAudience(aud string) JWTOption {
	return func(c *jwtConfig) {
		if aud == "" {
			c.errs = append(c.errs, fmt.Errorf("%w: empty JWT audience", ErrConfig))
			return
		}
		c.audiences = append(c.audiences, aud)
	}
}

// WithJWTLeeway allows for clock skew between the token's issuer and this
// server when checking exp, nbf and iat. The default is none.
func WithJWTLeeway(d time.Duration) JWTOption {
	return func(c *jwtConfig) {
		if d < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: negative JWT leeway %v", ErrConfig, d))
			return
		}
		c.leeway = d
	}
}

// WithJWTClock sets the clock the time claims are checked against; the
// default is time.Now.
func WithJWTClock(now func() time.Time) JWTOption {
	return func(c *jwtConfig) {
		if now == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: nil JWT clock", ErrConfig))
			return
		}
		c.now = now
	}
}

// JWTPrincipal is the principal a JWTBearer validator returns.
type JWTPrincipal struct {
	// Subject is the sub claim, "" when the token has none.
	Subject string
	// Claims holds every claim of the token, as golang-jwt decodes them
	// (numbers are float64).
	Claims jwt.MapClaims
}

// jwtValidator validates JWT bearer tokens against fixed keys or a JWKS.
type jwtValidator struct {
	parser *jwt.Parser
	algs   []string
	keys   []any

	jwks      keyfunc.Keyfunc // nil without WithJWKSURL
	jwksCtx   context.Context // ends when the validator is closed
	cancel    context.CancelFunc
	transport *http.Transport
	refresh   refreshLog
}

// JWTBearer returns a BearerValidator for JWTs (RFC 7519), verified with
// golang-jwt/jwt/v5 against the keys of WithJWTKey or WithJWKSURL (one of
// the two, not both) and the algorithms of WithJWTAlgorithms.
//
// A token passes when its signature verifies, its alg is one of those
// pinned, it has no "crit" header (no extension is understood, RFC 7515
// §4.1.11), it has an exp claim (required: a token that never expires
// cannot be taken back) and it is within exp and nbf, give or take the
// leeway, and its iss and aud match WithJWTIssuer and WithJWTAudience when
// they are set. The principal is a *JWTPrincipal. An empty token fails with
// ErrMissingBearer; any other failure wraps ErrInvalidBearer with a detail
// saying which check failed, never the token.
//
// The returned validator also implements io.Closer; Close stops the JWKS
// goroutine and is a no-op without a JWKS. A configuration that cannot be
// safe returns an error wrapping ErrConfig.
func JWTBearer(opts ...JWTOption) (BearerValidator, error) {
	c := jwtConfig{now: time.Now, jwksCtx: context.Background(),
		refreshLimit: rate.NewLimiter(rate.Every(jwksUnknownKID), 1)}
	for _, opt := range opts {
		opt(&c)
	}
	if err := c.check(); err != nil {
		return nil, err
	}

	parserOpts := []jwt.ParserOption{
		jwt.WithValidMethods(c.algs),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(c.leeway),
		jwt.WithTimeFunc(c.now),
	}
	if c.issuer != "" {
		parserOpts = append(parserOpts, jwt.WithIssuer(c.issuer))
	}
	if len(c.audiences) > 0 {
		parserOpts = append(parserOpts, jwt.WithAudience(c.audiences...))
	}
	v := &jwtValidator{parser: jwt.NewParser(parserOpts...), algs: c.algs, keys: c.keys}
	if len(c.jwksURLs) > 0 {
		if err := v.startJWKS(&c); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// check reports every configuration error at once, so a misconfigured app
// is fixed in one round.
func (c *jwtConfig) check() error {
	errs := c.errs
	if len(c.algs) == 0 {
		errs = append(errs, fmt.Errorf("%w: WithJWTAlgorithms is required", ErrConfig))
	}
	switch {
	case len(c.keys) == 0 && len(c.jwksURLs) == 0:
		errs = append(errs, fmt.Errorf("%w: JWTBearer needs WithJWTKey or WithJWKSURL",
			ErrConfig))
	case len(c.keys) > 0 && len(c.jwksURLs) > 0:
		errs = append(errs, fmt.Errorf("%w: use WithJWTKey or WithJWKSURL, not both",
			ErrConfig))
	}
	for i, k := range c.keys {
		if !slices.ContainsFunc(c.algs, func(a string) bool { return jwtAlgorithms[a](k) }) {
			errs = append(errs, fmt.Errorf("%w: JWT key %d (%s) fits none of the algorithms %v",
				ErrConfig, i, describeKey(k), c.algs))
		}
	}
	for _, a := range c.algs {
		switch {
		case len(c.jwksURLs) > 0 && strings.HasPrefix(a, "HS"):
			// A JWKS is public; an HMAC key in it would let anyone sign.
			errs = append(errs, fmt.Errorf("%w: algorithm %s needs a secret key, which a JWKS"+
				" cannot carry safely; use WithJWTKey", ErrConfig, a))
		case len(c.keys) > 0 && !slices.ContainsFunc(c.keys, jwtAlgorithms[a]):
			errs = append(errs, fmt.Errorf("%w: no JWT key fits algorithm %s", ErrConfig, a))
		}
	}
	return errors.Join(errs...)
}

func describeKey(key any) string {
	switch k := key.(type) {
	case []byte:
		return fmt.Sprintf("%d-byte HMAC secret", len(k))
	case *rsa.PublicKey:
		return fmt.Sprintf("%d-bit RSA key", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name + " key"
	case ed25519.PublicKey:
		return fmt.Sprintf("%d-byte Ed25519 key", len(k))
	}
	return fmt.Sprintf("%T", key)
}

// checkJWKSURL refuses JWKS URLs a network attacker could answer: whoever
// serves the key set decides which tokens pass, so it must come over TLS,
// unless it never leaves the machine.
//
// Its errors name the URL without user information or query, where API keys
// are sometimes kept.
func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%w: a JWKS URL does not parse", ErrConfig)
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("%w: JWKS URL %s is not an absolute http(s) URL", ErrConfig,
			safeURL(u))
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return fmt.Errorf("%w: JWKS URL %s must use https (http only for a loopback host)",
			ErrConfig, safeURL(u))
	}
	return nil
}

// safeURL is u without user information, query or fragment, for errors.
func safeURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// withoutURL drops the URL a *url.Error carries (it may hold credentials)
// and keeps what went wrong.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// startJWKS fetches the key sets once and starts the refresh goroutine.
func (v *jwtValidator) startJWKS(c *jwtConfig) error {
	v.jwksCtx, v.cancel = context.WithCancel(c.jwksCtx)
	v.transport = http.DefaultTransport.(*http.Transport).Clone()
	client := &http.Client{
		Transport: limitBody{v.transport},
		Timeout:   jwksTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return checkJWKSURL(req.URL.String())
		},
	}
	strict := false
	kf, err := keyfunc.NewDefaultOverrideCtx(v.jwksCtx, c.jwksURLs, keyfunc.Override{
		Client:                    client,
		HTTPTimeout:               jwksTimeout,
		NoErrorReturnFirstHTTPReq: &strict,
		RateLimitWaitMax:          jwksTimeout,
		RefreshErrorHandlerFunc:   v.refresh.handler,
		RefreshInterval:           jwksRefreshEvery,
		RefreshUnknownKID:         c.refreshLimit,
	})
	if err != nil {
		v.Close()
		return fmt.Errorf("%w: JWKS %v could not be loaded: %w", ErrConfig, c.jwksURLs, err)
	}
	// Keys marked for encryption must not verify signatures (RFC 7517 §4.2);
	// most sets leave use out, which counts as a signing key.
	v.jwks, err = keyfunc.New(keyfunc.Options{
		Ctx:          v.jwksCtx,
		Storage:      kf.Storage(),
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err == nil {
		err = v.checkJWKSKeys()
	}
	if err != nil {
		v.Close()
		return fmt.Errorf("%w: JWKS %v: %w", ErrConfig, c.jwksURLs, err)
	}
	return nil
}

// checkJWKSKeys fails when no fetched key fits a pinned algorithm, which
// would refuse every token: better said once at startup than on each call.
func (v *jwtValidator) checkJWKSKeys() error {
	set, err := v.jwks.VerificationKeySet(v.jwksCtx)
	if err != nil {
		return err
	}
	for _, k := range set.Keys {
		if slices.ContainsFunc(v.algs, func(a string) bool { return jwtAlgorithms[a](k) }) {
			return nil
		}
	}
	return fmt.Errorf("no signing key in the set fits the algorithms %v", v.algs)
}

// Close stops fetching the JWKS and releases its connections. It is safe to
// call more than once and is a no-op for a validator without a JWKS.
func (v *jwtValidator) Close() error {
	if v.cancel != nil {
		v.cancel()
		v.transport.CloseIdleConnections()
	}
	return nil
}

var _ io.Closer = (*jwtValidator)(nil)

// ValidateBearer implements BearerValidator.
func (v *jwtValidator) ValidateBearer(ctx context.Context, token string) (any, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: empty token", ErrMissingBearer)
	}
	claims := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(token, claims, v.keyfunc(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidBearer, v.describe(tok, claims, err))
	}
	sub, err := claims.GetSubject()
	if err != nil {
		return nil, fmt.Errorf("%w: sub claim is not a string", ErrInvalidBearer)
	}
	return &JWTPrincipal{Subject: sub, Claims: claims}, nil
}

// keyError is a refusal found while choosing the key; its text is the
// detail, and holds nothing taken from the token.
type keyError string

func (e keyError) Error() string { return string(e) }

// keyfunc chooses the keys that may verify t: those fitting its algorithm,
// checked here again although the parser already pinned the algorithms, so
// that the key choice stays safe on its own.
func (v *jwtValidator) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, keyError("token has a crit header")
		}
		alg := t.Method.Alg()
		fits, ok := jwtAlgorithms[alg]
		if !ok || !slices.Contains(v.algs, alg) {
			return nil, keyError("algorithm " + alg + " is not accepted")
		}
		keys := v.keys
		if v.jwks != nil {
			var err error
			if keys, err = v.jwksKeys(ctx, t); err != nil {
				return nil, err
			}
		}
		keys = slices.DeleteFunc(slices.Clone(keys), func(k any) bool { return !fits(k) })
		switch len(keys) {
		case 0:
			return nil, keyError("no key fits algorithm " + alg)
		case 1:
			return keys[0], nil
		}
		set := jwt.VerificationKeySet{Keys: make([]jwt.VerificationKey, len(keys))}
		for i, k := range keys {
			set.Keys[i] = k
		}
		return set, nil
	}
}

// jwksKeys returns the JWKS keys for t: the one its kid names, or all.
func (v *jwtValidator) jwksKeys(ctx context.Context, t *jwt.Token) ([]any, error) {
	// Once closed, a lookup must not start a fetch: the closed context makes
	// the refresh rate limiter fail at once, leaving only the keys held.
	if v.jwksCtx.Err() != nil {
		ctx = v.jwksCtx
	}
	failures := v.refresh.count()
	got, err := v.jwks.KeyfuncCtx(ctx)(t)
	if err != nil {
		detail := "jwks key lookup failed"
		if errors.Is(err, jwkset.ErrKeyNotFound) {
			detail = "no key in the JWKS has the token's key ID"
		}
		if refreshErr := v.refresh.since(failures); refreshErr != nil {
			detail += "; refetching the JWKS failed: " + withoutURL(refreshErr).Error()
		}
		return nil, keyError(detail)
	}
	if set, ok := got.(jwt.VerificationKeySet); ok {
		keys := make([]any, len(set.Keys))
		for i, k := range set.Keys {
			keys[i] = k
		}
		return keys, nil
	}
	return []any{got}, nil
}

// describe turns a parse failure into the detail of the error: which check
// failed, in words chosen here or from golang-jwt's fixed texts, never text
// decoded from the token.
func (v *jwtValidator) describe(tok *jwt.Token, claims jwt.MapClaims, err error) string {
	var ke keyError
	switch {
	case errors.As(err, &ke):
		return string(ke)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case tok == nil || tok.Method == nil:
		return "token algorithm missing or not supported"
	case !slices.Contains(v.algs, tok.Method.Alg()):
		return "algorithm " + tok.Method.Alg() + " is not accepted"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signature does not verify with any accepted key"
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		detail := err.Error()
		if errors.Is(err, jwt.ErrTokenExpired) {
			if exp, _ := claims.GetExpirationTime(); exp != nil {
				detail += fmt.Sprintf(" (exp %s)", exp.UTC().Format(time.RFC3339))
			}
		}
		if errors.Is(err, jwt.ErrTokenNotValidYet) {
			if nbf, _ := claims.GetNotBefore(); nbf != nil {
				detail += fmt.Sprintf(" (nbf %s)", nbf.UTC().Format(time.RFC3339))
			}
		}
		return detail
	}
	return "token refused"
}

// refreshLog counts failed JWKS fetches and keeps the last error, so that a
// refusal for an unknown key ID can say when the refetch it caused failed.
type refreshLog struct {
	mu   sync.Mutex
	n    uint64
	last error
}

func (r *refreshLog) handler(string) func(context.Context, error) {
	return func(_ context.Context, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.n++
		r.last = err
	}
}

func (r *refreshLog) count() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// since returns the last fetch error if any fetch failed after count
// returned n.
func (r *refreshLog) since(n uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == n {
		return nil
	}
	return r.last
}

// limitBody caps every JWKS response body at maxJWKSBytes.
type limitBody struct{ rt http.RoundTripper }

func (l limitBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = http.MaxBytesReader(nil, resp.Body, maxJWKSBytes)
	return resp, nil
}
