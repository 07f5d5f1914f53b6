package core

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
	"golang.org/x/time/rate"
)

const (
	jwtTestIssuer   = "https://issuer.test"
	jwtTestAudience = "qstashguard-app"
)

// jwtTestNow is the fixed time the JWT tests validate at.
var jwtTestNow = time.Unix(1_900_000_000, 0)

func jwtTestClock() time.Time { return jwtTestNow }

// testJWTKeys are keys generated once per test binary: RSA generation is
// slow, and no test needs keys of its own.
type testJWTKeys struct {
	rsa, otherRSA *rsa.PrivateKey
	ec, otherEC   *ecdsa.PrivateKey
	ed, otherEd   ed25519.PrivateKey
	secret        []byte
	otherSecret   []byte
}

var jwtKeys = sync.OnceValue(func() *testJWTKeys {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	k := &testJWTKeys{
		secret:      []byte("0123456789abcdef0123456789abcdef"),
		otherSecret: []byte("fedcba9876543210fedcba9876543210"),
	}
	var err error
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.otherRSA, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.otherEC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	_, k.otherEd, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
})

// jwtClaims returns valid claims at jwtTestNow, with overrides replacing or
// (with a nil value) removing claims.
func jwtClaims(overrides map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"sub": "user-1", "iss": jwtTestIssuer, "aud": jwtTestAudience,
		"exp": jwtTestNow.Unix() + 300, "nbf": jwtTestNow.Unix() - 10,
		"iat": jwtTestNow.Unix() - 10,
	}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// mintJWT signs claims with key, adding header fields (such as kid).
func mintJWT(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims,
	header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsignedJWT builds a token with the given alg and an empty signature, as
// an attacker would for "alg":"none".
func unsignedJWT(t testing.TB, alg string, claims jwt.MapClaims) string {
	t.Helper()
	enc := func(v any) string {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	return enc(map[string]string{"alg": alg, "typ": "JWT"}) + "." + enc(claims) + "."
}

func newJWTBearer(t testing.TB, opts ...JWTOption) BearerValidator {
	t.Helper()
	v, err := JWTBearer(opts...)
	if err != nil {
		t.Fatalf("JWTBearer: %v", err)
	}
	t.Cleanup(func() { v.(io.Closer).Close() })
	return v
}

func TestJWTBearerAcceptsValidTokens(t *testing.T) {
	k := jwtKeys()
	tests := []struct {
		name   string
		alg    string
		verify any
		method jwt.SigningMethod
		sign   any
	}{
		{"HS256 token is accepted", "HS256", k.secret, jwt.SigningMethodHS256, k.secret},
		{"RS256 token is accepted", "RS256", &k.rsa.PublicKey, jwt.SigningMethodRS256, k.rsa},
		{"PS256 token is accepted", "PS256", &k.rsa.PublicKey, jwt.SigningMethodPS256, k.rsa},
		{"ES256 token is accepted", "ES256", &k.ec.PublicKey, jwt.SigningMethodES256, k.ec},
		{"EdDSA token is accepted", "EdDSA", k.ed.Public(), jwt.SigningMethodEdDSA, k.ed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newJWTBearer(t, WithJWTKey(tt.verify), WithJWTAlgorithms(tt.alg),
				WithJWTIssuer(jwtTestIssuer), WithJWTAudience(jwtTestAudience),
				WithJWTClock(jwtTestClock))
			token := mintJWT(t, tt.method, tt.sign, jwtClaims(map[string]any{"role": "admin"}),
				nil)
			p, err := v.ValidateBearer(context.Background(), token)
			if err != nil {
				t.Fatalf("ValidateBearer: %v", err)
			}
			jp, ok := p.(*JWTPrincipal)
			if !ok {
				t.Fatalf("principal is %T, want *JWTPrincipal", p)
			}
			if jp.Subject != "user-1" || jp.Claims["role"] != "admin" ||
				jp.Claims["iss"] != jwtTestIssuer {
				t.Errorf("principal = %+v", jp)
			}
		})
	}
}

func TestJWTBearerRefuses(t *testing.T) {
	k := jwtKeys()
	pubDER, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	rs256 := func(over map[string]any) string {
		return mintJWT(t, jwt.SigningMethodRS256, k.rsa, jwtClaims(over), nil)
	}
	validRS256 := rs256(nil)
	parts := strings.Split(validRS256, ".")

	tests := []struct {
		name    string
		token   string
		wantErr error
		detail  string
	}{
		{"alg none is refused", unsignedJWT(t, "none", jwtClaims(nil)), ErrInvalidBearer,
			"algorithm none is not accepted"},
		{"alg None is refused", unsignedJWT(t, "None", jwtClaims(nil)), ErrInvalidBearer,
			"algorithm missing or not supported"},
		{"alg NONE is refused", unsignedJWT(t, "NONE", jwtClaims(nil)), ErrInvalidBearer,
			"algorithm missing or not supported"},
		{"alg nOnE is refused", unsignedJWT(t, "nOnE", jwtClaims(nil)), ErrInvalidBearer,
			"algorithm missing or not supported"},
		{"HMAC signed with the RSA public key as secret is refused",
			mintJWT(t, jwt.SigningMethodHS256, pubPEM, jwtClaims(nil), nil), ErrInvalidBearer,
			"algorithm HS256 is not accepted"},
		{"HMAC signed with the RSA public key DER as secret is refused",
			mintJWT(t, jwt.SigningMethodHS256, pubDER, jwtClaims(nil), nil), ErrInvalidBearer,
			"algorithm HS256 is not accepted"},
		{"algorithm that is not pinned is refused",
			mintJWT(t, jwt.SigningMethodRS512, k.rsa, jwtClaims(nil), nil), ErrInvalidBearer,
			"algorithm RS512 is not accepted"},
		{"token signed with another key is refused",
			mintJWT(t, jwt.SigningMethodRS256, k.otherRSA, jwtClaims(nil), nil),
			ErrInvalidBearer, "signature does not verify"},
		{"token with a changed payload is refused",
			parts[0] + "." + mintJWTPayload(t, jwtClaims(map[string]any{"sub": "admin"})) +
				"." + parts[2], ErrInvalidBearer, "signature does not verify"},
		{"wrong issuer is refused", rs256(map[string]any{"iss": "https://evil.test"}),
			ErrInvalidBearer, "invalid issuer"},
		{"missing issuer is refused", rs256(map[string]any{"iss": nil}), ErrInvalidBearer,
			"iss claim is required"},
		{"wrong audience is refused", rs256(map[string]any{"aud": "other-app"}),
			ErrInvalidBearer, "invalid audience"},
		{"missing audience is refused", rs256(map[string]any{"aud": nil}), ErrInvalidBearer,
			"aud claim is required"},
		{"expired token is refused", rs256(map[string]any{"exp": jwtTestNow.Unix() - 1}),
			ErrInvalidBearer, "token is expired (exp 2030-03-17T17:46:39Z)"},
		{"token is refused from the second of its exp on",
			rs256(map[string]any{"exp": jwtTestNow.Unix()}), ErrInvalidBearer, "expired"},
		{"token without exp is refused", rs256(map[string]any{"exp": nil}), ErrInvalidBearer,
			"exp claim is required"},
		{"token before its nbf is refused", rs256(map[string]any{"nbf": jwtTestNow.Unix() + 60}),
			ErrInvalidBearer, "not valid yet (nbf 2030-03-17T17:47:40Z)"},
		{"token with a crit header is refused",
			mintJWT(t, jwt.SigningMethodRS256, k.rsa, jwtClaims(nil),
				map[string]any{"crit": []string{"exp"}}), ErrInvalidBearer, "crit header"},
		{"token with a non-string subject is refused", rs256(map[string]any{"sub": 42}),
			ErrInvalidBearer, "sub claim is not a string"},
		{"token that is not a JWT is refused", "not-a-jwt", ErrInvalidBearer,
			"malformed token"},
		{"token with bad JSON is refused", "e30.bm90IGpzb24." + parts[2], ErrInvalidBearer,
			"malformed token"},
		{"empty token is missing", "", ErrMissingBearer, ""},
	}
	v := newJWTBearer(t, WithJWTKey(&k.rsa.PublicKey), WithJWTAlgorithms("RS256"),
		WithJWTIssuer(jwtTestIssuer), WithJWTAudience(jwtTestAudience),
		WithJWTClock(jwtTestClock))
	if _, err := v.ValidateBearer(context.Background(), validRS256); err != nil {
		t.Fatalf("the untampered token is refused: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.ValidateBearer(context.Background(), tt.token)
			if !errors.Is(err, tt.wantErr) || p != nil {
				t.Fatalf("ValidateBearer = %v, %v; want error %v", p, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not say %q", err, tt.detail)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q holds the token", err)
			}
		})
	}
}

func mintJWTPayload(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	raw, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

func TestJWTBearerLeeway(t *testing.T) {
	k := jwtKeys()
	expired := mintJWT(t, jwt.SigningMethodHS256, k.secret,
		jwtClaims(map[string]any{"exp": jwtTestNow.Unix() - 30}), nil)
	early := mintJWT(t, jwt.SigningMethodHS256, k.secret,
		jwtClaims(map[string]any{"nbf": jwtTestNow.Unix() + 30}), nil)
	tests := []struct {
		name   string
		leeway time.Duration
		token  string
		ok     bool
	}{
		{"token expired 30s ago is refused without leeway", 0, expired, false},
		{"token expired 30s ago is refused with 29s of leeway", 29 * time.Second, expired,
			false},
		{"token expired 30s ago is accepted with a minute of leeway", time.Minute, expired,
			true},
		{"token valid in 30s is refused without leeway", 0, early, false},
		{"token valid in 30s is accepted with a minute of leeway", time.Minute, early, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newJWTBearer(t, WithJWTKey(k.secret), WithJWTAlgorithms("HS256"),
				WithJWTLeeway(tt.leeway), WithJWTClock(jwtTestClock))
			_, err := v.ValidateBearer(context.Background(), tt.token)
			if tt.ok != (err == nil) {
				t.Errorf("ValidateBearer = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidBearer) {
				t.Errorf("err = %v, want ErrInvalidBearer", err)
			}
		})
	}
}

func TestJWTBearerUsesClock(t *testing.T) {
	k := jwtKeys()
	token := mintJWT(t, jwt.SigningMethodHS256, k.secret, jwtClaims(nil), nil)
	later := func() time.Time { return jwtTestNow.Add(time.Hour) }
	v := newJWTBearer(t, WithJWTKey(k.secret), WithJWTAlgorithms("HS256"), WithJWTClock(later))
	if _, err := v.ValidateBearer(context.Background(), token); !errors.Is(err,
		ErrInvalidBearer) {
		t.Errorf("token checked an hour after it expired: err = %v", err)
	}
}

func TestJWTBearerKeyRotation(t *testing.T) {
	k := jwtKeys()
	tests := []struct {
		name   string
		method jwt.SigningMethod
		sign   any
		ok     bool
	}{
		{"token from the old secret is accepted", jwt.SigningMethodHS256, k.secret, true},
		{"token from the new secret is accepted", jwt.SigningMethodHS256, k.otherSecret, true},
		{"token from another secret is refused", jwt.SigningMethodHS256,
			[]byte("abcdefghijabcdefghijabcdefghij12"), false},
		{"RS256 token is accepted beside the secrets", jwt.SigningMethodRS256, k.rsa, true},
		{"ES256 token is accepted beside the secrets", jwt.SigningMethodES256, k.ec, true},
		{"ES256 token from another key is refused", jwt.SigningMethodES256, k.otherEC, false},
		{"EdDSA token is accepted beside the secrets", jwt.SigningMethodEdDSA, k.ed, true},
		{"EdDSA token from another key is refused", jwt.SigningMethodEdDSA, k.otherEd, false},
	}
	v := newJWTBearer(t, WithJWTKey(k.secret), WithJWTKey(k.otherSecret),
		WithJWTKey(&k.rsa.PublicKey), WithJWTKey(&k.ec.PublicKey), WithJWTKey(k.ed.Public()),
		WithJWTAlgorithms("HS256", "RS256", "ES256", "EdDSA"), WithJWTClock(jwtTestClock))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := mintJWT(t, tt.method, tt.sign, jwtClaims(nil), nil)
			_, err := v.ValidateBearer(context.Background(), token)
			if tt.ok != (err == nil) {
				t.Errorf("ValidateBearer = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestJWTBearerKeyIsCopied(t *testing.T) {
	k := jwtKeys()
	secret := []byte(string(k.secret))
	v := newJWTBearer(t, WithJWTKey(secret), WithJWTAlgorithms("HS256"),
		WithJWTClock(jwtTestClock))
	for i := range secret {
		secret[i] = 0
	}
	token := mintJWT(t, jwt.SigningMethodHS256, k.secret, jwtClaims(nil), nil)
	if _, err := v.ValidateBearer(context.Background(), token); err != nil {
		t.Errorf("changing the caller's slice changed the key: %v", err)
	}
}

func TestJWTBearerConfig(t *testing.T) {
	k := jwtKeys()
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub := &k.rsa.PublicKey
	tests := []struct {
		name   string
		opts   []JWTOption
		detail string
	}{
		{"no algorithm is refused", []JWTOption{WithJWTKey(rsaPub)},
			"WithJWTAlgorithms is required"},
		{"no key is refused", []JWTOption{WithJWTAlgorithms("RS256")},
			"needs WithJWTKey or WithJWKSURL"},
		{"HMAC key with RS256 pinned is refused",
			[]JWTOption{WithJWTKey(k.secret), WithJWTAlgorithms("RS256")},
			"32-byte HMAC secret) fits none"},
		{"RSA key with HS256 pinned is refused",
			[]JWTOption{WithJWTKey(rsaPub), WithJWTAlgorithms("HS256")}, "fits none"},
		{"HMAC secret shorter than the hash is refused",
			[]JWTOption{WithJWTKey([]byte("0123456789abcdef")), WithJWTAlgorithms("HS256")},
			"16-byte HMAC secret"},
		{"32-byte secret with HS512 is refused",
			[]JWTOption{WithJWTKey(k.secret), WithJWTAlgorithms("HS512")}, "fits none"},
		{"empty HMAC secret is refused",
			[]JWTOption{WithJWTKey([]byte{}), WithJWTAlgorithms("HS256")}, "0-byte"},
		{"1024-bit RSA key is refused",
			[]JWTOption{WithJWTKey(&weakRSA.PublicKey), WithJWTAlgorithms("RS256")},
			"1024-bit RSA key"},
		{"P-384 key with ES256 is refused",
			[]JWTOption{WithJWTKey(&p384.PublicKey), WithJWTAlgorithms("ES256")},
			"ECDSA P-384 key"},
		{"pinned algorithm without a key is refused",
			[]JWTOption{WithJWTKey(rsaPub), WithJWTAlgorithms("RS256", "ES256")},
			"no JWT key fits algorithm ES256"},
		{"alg none cannot be pinned",
			[]JWTOption{WithJWTKey(rsaPub), WithJWTAlgorithms("RS256", "none")},
			`"none" is not one of`},
		{"lower-case algorithm name is refused",
			[]JWTOption{WithJWTKey(k.secret), WithJWTAlgorithms("hs256")}, `"hs256"`},
		{"private key is refused", []JWTOption{WithJWTKey(k.rsa), WithJWTAlgorithms("RS256")},
			"pass its public key"},
		{"ed25519 private key is refused",
			[]JWTOption{WithJWTKey(k.ed), WithJWTAlgorithms("EdDSA")}, "pass its public key"},
		{"string secret is refused",
			[]JWTOption{WithJWTKey(string(k.secret)), WithJWTAlgorithms("HS256")}, "as []byte"},
		{"nil key is refused", []JWTOption{WithJWTKey(nil), WithJWTAlgorithms("HS256")},
			"<nil>"},
		{"nil RSA key is refused",
			[]JWTOption{WithJWTKey((*rsa.PublicKey)(nil)), WithJWTAlgorithms("RS256")},
			"nil RSA key"},
		{"key and JWKS together are refused",
			[]JWTOption{WithJWTKey(rsaPub), WithJWKSURL("http://127.0.0.1:1/jwks"),
				WithJWTAlgorithms("RS256")}, "not both"},
		{"JWKS with an HMAC algorithm is refused",
			[]JWTOption{WithJWKSURL("http://127.0.0.1:1/jwks"), WithJWTAlgorithms("HS256")},
			"use WithJWTKey"},
		{"plain http JWKS on another host is refused",
			[]JWTOption{WithJWKSURL("http://keys.example/jwks"), WithJWTAlgorithms("RS256")},
			"must use https"},
		{"relative JWKS URL is refused",
			[]JWTOption{WithJWKSURL("/jwks"), WithJWTAlgorithms("RS256")}, "not an absolute"},
		{"JWKS URL of another scheme is refused",
			[]JWTOption{WithJWKSURL("ftp://127.0.0.1/jwks"), WithJWTAlgorithms("RS256")},
			"not an absolute"},
		{"nil JWKS context is refused",
			//nolint:staticcheck // a nil context is the case under test
			[]JWTOption{WithJWKSContext(nil), WithJWTKey(rsaPub), WithJWTAlgorithms("RS256")},
			"nil JWKS context"},
		{"empty issuer is refused",
			[]JWTOption{WithJWTKey(rsaPub), WithJWTAlgorithms("RS256"), WithJWTIssuer("")},
			"empty JWT issuer"},
		{"empty audience is refused",
			[]JWTOption{WithJWTKey(rsaPub), WithJWTAlgorithms("RS256"), WithJWTAudience("")},
			"empty JWT audience"},
		{"negative leeway is refused",
			[]JWTOption{WithJWTKey(rsaPub), WithJWTAlgorithms("RS256"), WithJWTLeeway(-1)},
			"negative JWT leeway"},
		{"nil clock is refused",
			[]JWTOption{WithJWTKey(rsaPub), WithJWTAlgorithms("RS256"), WithJWTClock(nil)},
			"nil JWT clock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := JWTBearer(tt.opts...)
			if !errors.Is(err, ErrConfig) || v != nil {
				t.Fatalf("JWTBearer = %v, %v; want ErrConfig", v, err)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not say %q", err, tt.detail)
			}
			if StatusCode(err) != 500 {
				t.Errorf("StatusCode = %d, want 500", StatusCode(err))
			}
		})
	}
}

func TestJWTBearerReportsEveryConfigError(t *testing.T) {
	_, err := JWTBearer(WithJWTIssuer(""), WithJWTLeeway(-1))
	for _, want := range []string{"empty JWT issuer", "negative JWT leeway",
		"WithJWTAlgorithms is required", "needs WithJWTKey"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}

func TestJWTBearerWithKeysIsACloser(t *testing.T) {
	v, err := JWTBearer(WithJWTKey(jwtKeys().secret), WithJWTAlgorithms("HS256"))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := v.(io.Closer)
	if !ok {
		t.Fatalf("%T is not an io.Closer", v)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// jwksServer serves a JSON Web Key Set from loopback that a test can swap
// while a validator uses it, and counts the fetches.
type jwksServer struct {
	*httptest.Server
	mu     sync.Mutex
	body   []byte
	status int
	hits   int
}

// jwksKey is one key to publish: its public key, kid and use.
type jwksKey struct {
	key any
	kid string
	alg jwkset.ALG
	use jwkset.USE
}

func newJWKSServer(t *testing.T, keys ...jwksKey) *jwksServer {
	t.Helper()
	s := &jwksServer{status: http.StatusOK}
	s.publish(t, keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		w.Write(s.body)
	}))
	return s
}

// publish replaces the served set with keys.
func (s *jwksServer) publish(t *testing.T, keys ...jwksKey) {
	t.Helper()
	var set jwkset.JWKSMarshal
	for _, k := range keys {
		use := k.use
		if use == "" {
			use = jwkset.UseSig
		}
		jwk, err := jwkset.NewJWKFromKey(k.key, jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: k.alg, USE: use},
		})
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	body, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	s.serve(http.StatusOK, body)
}

func (s *jwksServer) serve(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

func (s *jwksServer) fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

// withRefreshLimit sets how often an unknown kid may cause a refetch, so a
// test decides it instead of depending on the default.
func withRefreshLimit(l *rate.Limiter) JWTOption {
	return func(c *jwtConfig) { c.refreshLimit = l }
}

func TestJWKSRotation(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k := jwtKeys()
	keyA := jwksKey{key: &k.rsa.PublicKey, kid: "a", alg: jwkset.AlgRS256}
	keyB := jwksKey{key: &k.otherRSA.PublicKey, kid: "b", alg: jwkset.AlgRS256}
	keyC := jwksKey{key: &k.ec.PublicKey, kid: "c", alg: jwkset.AlgES256}
	srv := newJWKSServer(t, keyA)
	defer srv.Close()

	// One refetch for an unknown kid, then none for an hour: enough for the
	// rotation below, and it proves the limit holds for the next one.
	v, err := JWTBearer(WithJWKSURL(srv.URL+"/jwks"), WithJWTAlgorithms("RS256", "ES256"),
		WithJWTClock(jwtTestClock), withRefreshLimit(rate.NewLimiter(rate.Every(time.Hour), 1)))
	if err != nil {
		t.Fatalf("JWTBearer: %v", err)
	}
	defer v.(io.Closer).Close()
	ctx := context.Background()
	tokenA := mintJWT(t, jwt.SigningMethodRS256, k.rsa, jwtClaims(nil),
		map[string]any{"kid": "a"})
	tokenB := mintJWT(t, jwt.SigningMethodRS256, k.otherRSA, jwtClaims(nil),
		map[string]any{"kid": "b"})
	tokenC := mintJWT(t, jwt.SigningMethodES256, k.ec, jwtClaims(nil),
		map[string]any{"kid": "c"})
	check := func(step, token string, ok bool, fetches int) {
		t.Helper()
		p, err := v.ValidateBearer(ctx, token)
		if ok != (err == nil) {
			t.Errorf("%s: ValidateBearer = %v, want ok %v", step, err, ok)
		}
		if err == nil {
			if jp, _ := p.(*JWTPrincipal); jp == nil || jp.Subject != "user-1" {
				t.Errorf("%s: principal = %#v", step, p)
			}
		} else if !errors.Is(err, ErrInvalidBearer) {
			t.Errorf("%s: err = %v, want ErrInvalidBearer", step, err)
		}
		if got := srv.fetches(); got != fetches {
			t.Errorf("%s: %d fetches, want %d", step, got, fetches)
		}
	}

	check("token of the first key", tokenA, true, 1)
	check("token of the first key again", tokenA, true, 1)

	// The issuer rotates: key b replaces key a.
	srv.publish(t, keyB)
	check("token of the rotated-in key", tokenB, true, 2)
	check("token of the rotated-out key", tokenA, false, 2)

	// A second rotation within the limit is not fetched.
	srv.publish(t, keyB, keyC)
	check("token of a key published within the refetch limit", tokenC, false, 2)
	_, err = v.ValidateBearer(ctx, tokenC)
	if err == nil || !strings.Contains(err.Error(), "jwks") {
		t.Errorf("err = %v, want it to name the JWKS lookup", err)
	}
}

func TestJWKSKeyTypes(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k := jwtKeys()
	srv := newJWKSServer(t,
		jwksKey{key: &k.rsa.PublicKey, kid: "rsa", alg: jwkset.AlgRS256},
		jwksKey{key: &k.ec.PublicKey, kid: "ec", alg: jwkset.AlgES256},
		jwksKey{key: k.ed.Public(), kid: "ed", alg: jwkset.AlgEdDSA},
		jwksKey{key: &k.otherRSA.PublicKey, kid: "enc", use: jwkset.UseEnc},
		jwksKey{key: &k.otherEC.PublicKey, kid: "es-as-rs", alg: jwkset.AlgRS256},
		jwksKey{key: &k.otherEC.PublicKey, kid: "ec-no-alg"},
	)
	defer srv.Close()
	v, err := JWTBearer(WithJWKSURL(srv.URL), WithJWTAlgorithms("RS256", "ES256", "EdDSA"),
		WithJWTClock(jwtTestClock), WithJWTAudience(jwtTestAudience),
		withRefreshLimit(rate.NewLimiter(rate.Every(time.Hour), 1)))
	if err != nil {
		t.Fatalf("JWTBearer: %v", err)
	}
	defer v.(io.Closer).Close()
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		method jwt.SigningMethod
		key    any
		header map[string]any
		over   map[string]any
		detail string // "" when the token passes
	}{
		{"RS256 token with its kid is accepted", jwt.SigningMethodRS256, k.rsa,
			map[string]any{"kid": "rsa"}, nil, ""},
		{"ES256 token with its kid is accepted", jwt.SigningMethodES256, k.ec,
			map[string]any{"kid": "ec"}, nil, ""},
		{"EdDSA token with its kid is accepted", jwt.SigningMethodEdDSA, k.ed,
			map[string]any{"kid": "ed"}, nil, ""},
		{"token without kid is checked against every key", jwt.SigningMethodES256, k.ec,
			nil, nil, ""},
		{"token without kid from an unknown key is refused", jwt.SigningMethodES256,
			stranger, nil, nil, "signature does not verify"},
		{"token naming another key's kid is refused", jwt.SigningMethodRS256, k.otherRSA,
			map[string]any{"kid": "rsa"}, nil, "signature does not verify"},
		{"key marked for encryption does not verify", jwt.SigningMethodRS256, k.otherRSA,
			map[string]any{"kid": "enc"}, nil, "jwks key lookup failed"},
		{"key published for another algorithm is refused", jwt.SigningMethodES256,
			k.otherEC, map[string]any{"kid": "es-as-rs"}, nil, "jwks key lookup failed"},
		{"key whose type does not fit the algorithm is refused", jwt.SigningMethodRS256,
			k.otherRSA, map[string]any{"kid": "ec-no-alg"}, nil, "no key fits algorithm RS256"},
		{"wrong audience is refused with a JWKS too", jwt.SigningMethodRS256, k.rsa,
			map[string]any{"kid": "rsa"}, map[string]any{"aud": "other"}, "invalid audience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := mintJWT(t, tt.method, tt.key, jwtClaims(tt.over), tt.header)
			_, err := v.ValidateBearer(context.Background(), token)
			if tt.detail == "" {
				if err != nil {
					t.Errorf("ValidateBearer = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidBearer) || !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("ValidateBearer = %v, want ErrInvalidBearer saying %q", err, tt.detail)
			}
		})
	}
}

func TestJWKSRefetchFailureIsReported(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k := jwtKeys()
	srv := newJWKSServer(t, jwksKey{key: &k.rsa.PublicKey, kid: "a", alg: jwkset.AlgRS256})
	defer srv.Close()
	v, err := JWTBearer(WithJWKSURL(srv.URL), WithJWTAlgorithms("RS256"),
		WithJWTClock(jwtTestClock), withRefreshLimit(rate.NewLimiter(rate.Inf, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer v.(io.Closer).Close()

	tokenB := mintJWT(t, jwt.SigningMethodRS256, k.otherRSA, jwtClaims(nil),
		map[string]any{"kid": "b"})
	_, err = v.ValidateBearer(context.Background(), tokenB)
	if err == nil || strings.Contains(err.Error(), "refetching") {
		t.Errorf("refetch that worked but lacks the kid: err = %v", err)
	}
	srv.serve(http.StatusInternalServerError, nil)
	_, err = v.ValidateBearer(context.Background(), tokenB)
	if !errors.Is(err, ErrInvalidBearer) || !strings.Contains(err.Error(),
		"refetching the JWKS failed") || !strings.Contains(err.Error(), "500") {
		t.Errorf("err = %v, want it to say the refetch failed", err)
	}
	if got := srv.fetches(); got != 3 {
		t.Errorf("%d fetches, want 3", got)
	}
}

func TestJWKSClosedValidatorFetchesNoMore(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k := jwtKeys()
	srv := newJWKSServer(t, jwksKey{key: &k.rsa.PublicKey, kid: "a", alg: jwkset.AlgRS256})
	defer srv.Close()
	v, err := JWTBearer(WithJWKSURL(srv.URL), WithJWTAlgorithms("RS256"),
		WithJWTClock(jwtTestClock), withRefreshLimit(rate.NewLimiter(rate.Inf, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.(io.Closer).Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := v.(io.Closer).Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}

	tokenA := mintJWT(t, jwt.SigningMethodRS256, k.rsa, jwtClaims(nil),
		map[string]any{"kid": "a"})
	if _, err := v.ValidateBearer(context.Background(), tokenA); err != nil {
		t.Errorf("held key no longer verifies after Close: %v", err)
	}
	srv.publish(t, jwksKey{key: &k.otherRSA.PublicKey, kid: "b", alg: jwkset.AlgRS256})
	tokenB := mintJWT(t, jwt.SigningMethodRS256, k.otherRSA, jwtClaims(nil),
		map[string]any{"kid": "b"})
	if _, err := v.ValidateBearer(context.Background(), tokenB); !errors.Is(err,
		ErrInvalidBearer) {
		t.Errorf("unknown kid after Close: err = %v, want ErrInvalidBearer", err)
	}
	if got := srv.fetches(); got != 1 {
		t.Errorf("%d fetches, want only the first", got)
	}
}

func TestJWKSCloseReleasesConnections(t *testing.T) {
	k := jwtKeys()
	srv := newJWKSServer(t, jwksKey{key: &k.rsa.PublicKey, kid: "a", alg: jwkset.AlgRS256})
	defer srv.Close()
	ignore := goleak.IgnoreCurrent()
	v, err := JWTBearer(WithJWKSURL(srv.URL), WithJWTAlgorithms("RS256"))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.(io.Closer).Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	// Checked while the server still runs, so it is Close, not the server
	// going away, that ends the client's kept-alive connection.
	goleak.VerifyNone(t, ignore)
}

func TestJWKSContextStopsFetching(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k := jwtKeys()
	srv := newJWKSServer(t, jwksKey{key: &k.rsa.PublicKey, kid: "a", alg: jwkset.AlgRS256})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := JWTBearer(WithJWKSURL(srv.URL), WithJWTAlgorithms("RS256"),
		WithJWKSContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	// No Close: ending the context alone must stop the refresh goroutine.
	cancel()
}

func TestJWKSLoadFailures(t *testing.T) {
	k := jwtKeys()
	oversized := append([]byte(strings.Repeat(" ", maxJWKSBytes)), `{"keys":[]}`...)
	tests := []struct {
		name   string
		status int
		body   []byte
		keys   []jwksKey
		detail string
	}{
		{"unreachable set is refused at startup", http.StatusInternalServerError, nil, nil,
			"could not be loaded"},
		{"set that is not JSON is refused at startup", http.StatusOK, []byte("<html>"), nil,
			"could not be loaded"},
		{"set over the size limit is refused at startup", http.StatusOK, oversized, nil,
			"could not be loaded"},
		{"empty set is refused at startup", 0, nil, nil, "no signing key"},
		{"set without a key for the algorithms is refused at startup", 0, nil,
			[]jwksKey{{key: &k.ec.PublicKey, kid: "ec", alg: jwkset.AlgES256}},
			"no signing key"},
		{"set with only an encryption key is refused at startup", 0, nil,
			[]jwksKey{{key: &k.rsa.PublicKey, kid: "enc", use: jwkset.UseEnc}},
			"no signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			srv := newJWKSServer(t, tt.keys...)
			defer srv.Close()
			if tt.status != 0 {
				srv.serve(tt.status, tt.body)
			}
			v, err := JWTBearer(WithJWKSURL(srv.URL), WithJWTAlgorithms("RS256"))
			if !errors.Is(err, ErrConfig) || v != nil {
				t.Fatalf("JWTBearer = %v, %v; want ErrConfig", v, err)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not say %q", err, tt.detail)
			}
		})
	}
}
