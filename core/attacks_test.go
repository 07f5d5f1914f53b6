package core

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// attackBody is the body the catalogue's requests carry unless a case says
// otherwise.
const attackBody = `{"order":42}`

// jwtVerdict is what golang-jwt, configured as strictly as it allows (see
// referenceVerify), makes of a catalogue case's token.
type jwtVerdict int

const (
	// jwtAgrees: golang-jwt accepts or refuses the token as the verifier does.
	jwtAgrees jwtVerdict = iota
	// jwtAccepts: golang-jwt accepts a token the verifier refuses on purpose.
	jwtAccepts
	// jwtVaries: golang-jwt's answer depends on how the platform converts an
	// out-of-range float64 to int64, so the test does not assert it.
	jwtVaries
)

// attack is one entry of the catalogue: a request an attacker or a broken
// proxy can send, and how the verifier must answer it.
type attack struct {
	name string
	why  string // one line: why the answer is what it is
	sig  string // the Upstash-Signature value
	body []byte // the body sent; nil means attackBody
	url  string // the URL the request is for; "" means testURL
	// keys and at configure the verifier: the signing keys (zero means the
	// test keys) and the time it verifies at (zero means testNow).
	keys [2]string
	at   time.Time
	// request changes the request; a case with one, or with requestOnly
	// set, is checked with VerifyRequest alone.
	request     func(r *http.Request)
	requestOnly bool
	opts        []Option
	want        error
	jwt         jwtVerdict
}

// TestAttackCatalogue checks, case by case, that what an attacker or a broken
// proxy can send is refused with the right sentinel, through VerifySignature
// and VerifyRequest both, while real QStash tokens keep passing. A request
// refused before its body is checked must have had no byte of its body read.
// Each case also records whether golang-jwt agrees, so that every place where
// the verifier is deliberately stricter is listed here. The few cases that
// pass are controls, and one limit of the default configuration that
// SECURITY.md states (a Host header naming another host).
func TestAttackCatalogue(t *testing.T) {
	vectors := loadVectors(t)
	for _, vec := range vectors {
		t.Run("real token for "+vec.URL+" passes", func(t *testing.T) {
			runAttack(t, attack{
				sig: vec.Signature, body: []byte(vec.Body), url: vec.URL,
				keys: [2]string{vec.CurrentSigningKey, vec.NextSigningKey},
				at:   time.Unix(vec.VerifyAtUnix, 0),
			})
		})
	}
	for _, tc := range attackCatalogue(t, vectors) {
		t.Run(tc.name, func(t *testing.T) {
			if tc.why == "" {
				t.Fatal("the case does not say why")
			}
			runAttack(t, tc)
		})
	}
}

// runAttack sends tc through VerifySignature (unless it needs a request) and
// VerifyRequest, and checks the answers, golang-jwt's verdict and the body
// bytes read.
func runAttack(t *testing.T, tc attack) {
	t.Helper()
	if tc.body == nil {
		tc.body = []byte(attackBody)
	}
	if tc.url == "" {
		tc.url = testURL
	}
	if tc.keys == [2]string{} {
		tc.keys = [2]string{testCurrentKey, testNextKey}
	}
	if tc.at.IsZero() {
		tc.at = testNow
	}
	opts := append([]Option{WithSigningKeys(tc.keys[0], tc.keys[1]), WithClock(fixedClock(tc.at))},
		tc.opts...)
	v, err := NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}

	if tc.request == nil && !tc.requestOnly {
		_, err := v.VerifySignature(tc.sig, tc.body, tc.url)
		if !errors.Is(err, tc.want) {
			t.Fatalf("VerifySignature: err = %v, want %v", err, tc.want)
		}
		_, _, refErr := referenceVerify(tc.sig, string(tc.body), tc.url, tc.keys, tc.at)
		switch jwtAccepted := refErr == nil; {
		case tc.jwt == jwtAgrees && jwtAccepted != (tc.want == nil):
			t.Fatalf("golang-jwt disagrees: its error is %v", refErr)
		case tc.jwt == jwtAccepts && !jwtAccepted:
			t.Fatalf("golang-jwt refuses it too (%v): the case should say jwtAgrees", refErr)
		}
		if tc.jwt == jwtAccepts && coreStricterRule(tc.sig) == "" {
			t.Fatal("coreStricterRule does not name the rule that refuses it")
		}
	}

	r := httptest.NewRequest(http.MethodPost, tc.url, nil)
	r.RequestURI = r.URL.RequestURI() // origin-form, as a server sees it
	cr := &countingReader{r: bytes.NewReader(tc.body)}
	r.Body, r.ContentLength = io.NopCloser(cr), int64(len(tc.body))
	r.Header.Set(HeaderSignature, tc.sig)
	if tc.request != nil {
		tc.request(r)
	}
	_, err = v.VerifyRequest(r)
	if !errors.Is(err, tc.want) {
		t.Fatalf("VerifyRequest: err = %v, want %v", err, tc.want)
	}
	if err != nil && !errors.Is(err, ErrBodyMismatch) && !errors.Is(err, ErrBodyTooLarge) &&
		cr.n != 0 {
		t.Fatalf("VerifyRequest read %d body bytes of a request it refused for %v", cr.n, err)
	}
}

// attackCatalogue lists the cases. Tokens are signed with the right key
// unless the case is about the key, so that only the rule a case names stops
// it.
func attackCatalogue(t *testing.T, vectors []vector) []attack {
	t.Helper()
	canon := claimsJSON(t, attackBody, testURL, nil)
	good := mintRaw(testCurrentKey, qstashHeader, canon)
	withClaims := func(overrides map[string]any) string {
		return mintRaw(testCurrentKey, qstashHeader, claimsJSON(t, attackBody, testURL, overrides))
	}
	editClaims := func(old, new string) string {
		return mintRaw(testCurrentKey, qstashHeader, mustReplace(t, canon, old, new))
	}
	withHeader := func(header string) string { return mintRaw(testCurrentKey, header, canon) }
	signedFor := func(url string) string {
		return mintRaw(testCurrentKey, qstashHeader, claimsJSON(t, attackBody, url, nil))
	}
	goodHash := bodyHash([]byte(attackBody))
	const evil = "https://evil.example/api/workflow"

	cases := []attack{
		{name: "a QStash-shaped token passes",
			why: "the control: every refusal below changes one thing of this token",
			sig: good},
		{name: "a token signed with the next key passes",
			why: "during a rotation QStash may sign with either key",
			sig: mintRaw(testNextKey, qstashHeader, canon)},
		{name: "an issuer spelled with a JSON escape passes",
			why: "a JSON escape names the same string; comparing raw bytes would refuse real JSON",
			sig: editClaims(`"iss":"Upstash"`, `"iss":"Ups\u0074ash"`)},
		{name: "a token exactly MaxSignatureLength long passes",
			why: "the size cap refuses only what is over it",
			sig: tokenOfLength(t, MaxSignatureLength)},
	}

	// alg none in each spelling, with and without a signature.
	for _, alg := range []string{"none", "None", "NONE"} {
		hdr := `{"alg":"` + alg + `","typ":"JWT"}`
		cases = append(cases,
			attack{name: "alg " + alg + " with an empty signature is refused",
				why:  "an unsecured JWT carries no signature; a stripped signature is malformed",
				sig:  b64(hdr) + "." + b64(canon) + ".",
				want: ErrMalformedSignature},
			attack{name: "alg " + alg + " with a valid HMAC is refused",
				why:  "only HS256 is accepted, whatever the token asks for, so none cannot get in",
				sig:  withHeader(hdr),
				want: ErrInvalidSignature})
	}

	// Other algorithms, each with a signature made the way that algorithm
	// makes them.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		method jwt.SigningMethod
		key    any
	}{
		{jwt.SigningMethodHS384, []byte(testCurrentKey)},
		{jwt.SigningMethodHS512, []byte(testCurrentKey)},
		{jwt.SigningMethodRS256, rsaKey},
		{jwt.SigningMethodPS256, rsaKey},
		{jwt.SigningMethodES256, ecKey},
		{jwt.SigningMethodEdDSA, edKey},
	} {
		alg := m.method.Alg()
		cases = append(cases, attack{
			name: "alg " + alg + " with a signature of its own is refused",
			why:  "QStash signs with HS256 only; trusting the token's alg invites key confusion",
			sig:  mintMethod(t, m.method, m.key, `{"alg":"`+alg+`","typ":"JWT"}`, canon),
			want: ErrInvalidSignature,
		})
	}

	// Keys that are not the signing key.
	cases = append(cases, []attack{
		{name: "a token signed with an empty key is refused",
			why:  "anyone can compute an HMAC under the empty key, so no empty key is ever tried",
			sig:  mintRaw("", qstashHeader, canon),
			want: ErrInvalidSignature},
		{name: "a token signed with an empty key is refused when no next key is set",
			why:  "an unset next key is skipped, not used as an empty key",
			sig:  mintRaw("", qstashHeader, canon),
			keys: [2]string{testCurrentKey, ""}, want: ErrInvalidSignature},
		{name: "a token signed with the dev server's published key is refused",
			why:  "the local dev keys are public; they verify only in dev mode",
			sig:  mintRaw(devCurrentSigningKey, qstashHeader, canon),
			want: ErrInvalidSignature},
		{name: "a token signed with the key without its sig_ prefix is refused",
			why:  "the HMAC key is the signing key string's own bytes, prefix included",
			sig:  mintRaw(strings.TrimPrefix(testCurrentKey, "sig_"), qstashHeader, canon),
			want: ErrInvalidSignature},
		{name: "a jwk header carrying the attacker's key is refused",
			why: "keys come from configuration only, never from the token",
			sig: mintRaw("attacker", `{"alg":"HS256","typ":"JWT","jwk":{"kty":"oct",`+
				`"k":"`+b64("attacker")+`"}}`, canon),
			want: ErrInvalidSignature},
		{name: "a kid header naming another key is refused",
			why:  "kid selects nothing: the current and next keys are the only ones tried",
			sig:  mintRaw("attacker", `{"alg":"HS256","kid":"attacker"}`, canon),
			want: ErrInvalidSignature},
	}...)

	// Valid signatures moved onto other claims.
	a, b := vectors[0], vectors[1]
	aInput, aMAC := splitMAC(t, a.Signature)
	bInput, _ := splitMAC(t, b.Signature)
	aHeader, aPayload, _ := strings.Cut(aInput, ".")
	aClaims, err := base64.RawURLEncoding.DecodeString(aPayload)
	if err != nil {
		t.Fatal(err)
	}
	changedSub := b64(mustReplace(t, string(aClaims), `"sub":"`+a.URL+`"`, `"sub":"`+evil+`"`))
	cases = append(cases, []attack{
		{name: "a real token's signature on another real token's claims is refused",
			why: "the signature covers header and claims byte for byte",
			sig: bInput + "." + aMAC, body: []byte(b.Body), url: b.URL,
			keys: [2]string{a.CurrentSigningKey, a.NextSigningKey},
			at:   time.Unix(b.VerifyAtUnix, 0), want: ErrInvalidSignature},
		{name: "a real token's signature on its claims with another sub is refused",
			why: "changing any claim, the URL included, invalidates the signature",
			sig: aHeader + "." + changedSub + "." + aMAC, body: []byte(a.Body), url: evil,
			keys: [2]string{a.CurrentSigningKey, a.NextSigningKey},
			at:   time.Unix(a.VerifyAtUnix, 0), want: ErrInvalidSignature},
		{name: "a test token's signature on the claims of another body is refused",
			why: "the body hash is a claim, so it is signed too",
			sig: mintInput(t, testCurrentKey, qstashHeader, claimsJSON(t, "other", testURL, nil),
				good),
			body: []byte("other"), want: ErrInvalidSignature},
	}...)

	// The form of the token.
	flipped := []byte(good)
	if flipped[len(flipped)-2] == 'A' { // any other letter of the alphabet will do
		flipped[len(flipped)-2] = 'B'
	} else {
		flipped[len(flipped)-2] = 'A'
	}
	cases = append(cases, []attack{
		{name: "a stripped signature is refused",
			why: "an empty signature segment is how alg none tokens arrive",
			sig: good[:strings.LastIndexByte(good, '.')+1], want: ErrMalformedSignature},
		{name: "a token without its signature segment is refused",
			why: "a compact JWS has exactly three segments",
			sig: good[:strings.LastIndexByte(good, '.')], want: ErrMalformedSignature},
		{name: "a signature cut short by one character is refused",
			why: "an HS256 signature is exactly 43 base64url characters",
			sig: good[:len(good)-1], want: ErrMalformedSignature},
		{name: "a token cut in its claims is refused",
			why: "truncation by a header size limit leaves two segments",
			sig: good[:100], want: ErrMalformedSignature},
		{name: "a signature with one character changed is refused",
			why: "the MAC no longer matches under either key",
			sig: string(flipped), want: ErrInvalidSignature},
		{name: "a signature whose last character sets unused bits is refused",
			why: "strict base64url gives each signature one spelling only",
			sig: withUnusedBits(t, good), want: ErrMalformedSignature},
		{name: "a fourth segment is refused",
			why: "a compact JWS has exactly three segments",
			sig: good + "." + b64("x"), want: ErrMalformedSignature},
		{name: "five segments, as a JWE has, are refused",
			why: "encrypted tokens are not what QStash sends",
			sig: good + ".." + b64("x"), want: ErrMalformedSignature},
		{name: "an empty header segment is refused",
			why: "the header says how the token is signed and cannot be left out",
			sig: "." + good[strings.IndexByte(good, '.')+1:], want: ErrMalformedSignature},
		{name: "a token with a trailing space is refused",
			why: "a space is not base64url; the signature segment is then 44 bytes",
			sig: good + " ", want: ErrMalformedSignature},
		{name: "a token with a Bearer prefix is refused",
			why: "the Upstash-Signature header holds the bare token",
			sig: "Bearer " + good, want: ErrMalformedSignature},
	}...)

	// Padding and the standard alphabet, in each segment. Header and claims
	// segments are signed as sent, so only the encoding rule stops them.
	paddedHeader := `{"alg":"HS256","typ":"JWT" }`
	goodMAC := good[strings.LastIndexByte(good, '.')+1:]
	macBytes, err := base64.RawURLEncoding.DecodeString(goodMAC)
	if err != nil {
		t.Fatal(err)
	}
	stdMACToken := tokenWithStdMAC(t)
	cases = append(cases, []attack{
		{name: "a header segment with = padding is refused",
			why:  "JWS segments are base64url without padding (RFC 7515 §2)",
			sig:  signSegments(testCurrentKey, padded(t, paddedHeader), b64(canon)),
			want: ErrMalformedSignature},
		{name: "a claims segment with = padding is refused",
			why:  "JWS segments are base64url without padding (RFC 7515 §2)",
			sig:  signSegments(testCurrentKey, b64(qstashHeader), padded(t, " "+canon)),
			want: ErrMalformedSignature},
		{name: "a signature segment with = padding is refused",
			why: "JWS segments are base64url without padding (RFC 7515 §2)",
			sig: good[:strings.LastIndexByte(good, '.')+1] +
				base64.URLEncoding.EncodeToString(macBytes),
			want: ErrMalformedSignature},
		{name: "a header segment in the standard alphabet is refused",
			why: "+ and / are not base64url; decoding both alphabets gives a token two spellings",
			sig: signSegments(testCurrentKey,
				stdAlphabet(t, `{"alg":"HS256","typ":"JWT","kid":"???>>>~~~"}`), b64(canon)),
			want: ErrMalformedSignature},
		{name: "a claims segment in the standard alphabet is refused",
			why: "+ and / are not base64url; decoding both alphabets gives a token two spellings",
			sig: signSegments(testCurrentKey, b64(qstashHeader),
				stdAlphabet(t, claimsJSON(t, attackBody, testURL,
					map[string]any{"x": "???>>>~~~"}))),
			want: ErrMalformedSignature},
		{name: "a signature segment in the standard alphabet is refused",
			why: "+ and / are not base64url; decoding both alphabets gives a token two spellings",
			sig: stdMACToken, want: ErrMalformedSignature},
	}...)

	// Repeated keys, signed with the right key: only the rule against
	// duplicates stops them. golang-jwt takes the last value.
	cases = append(cases, []attack{
		{name: "a header with alg twice, none then HS256, is refused",
			why:  "which alg a parser reads would be up to the parser",
			sig:  withHeader(`{"alg":"none","alg":"HS256","typ":"JWT"}`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "a header with alg twice, HS256 then none, is refused",
			why:  "which alg a parser reads would be up to the parser",
			sig:  withHeader(`{"alg":"HS256","alg":"none","typ":"JWT"}`),
			want: ErrMalformedSignature},
		{name: "a header with typ twice is refused",
			why:  "a repeated key makes the JSON mean different things to different parsers",
			sig:  withHeader(`{"alg":"HS256","typ":"JWT","typ":"JWT"}`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "claims with sub twice, another URL first, are refused",
			why:  "a proxy reading the first sub and the app the last would disagree on the URL",
			sig:  editClaims(`"sub":`, `"sub":"`+evil+`","sub":`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "claims with sub twice, another URL last, are refused",
			why:  "a repeated claim is refused whichever copy is the right one",
			sig:  editClaims(`"sub":"`+testURL+`"`, `"sub":"`+testURL+`","sub":"`+evil+`"`),
			want: ErrMalformedSignature},
		{name: "claims with sub twice, once spelled with an escape, are refused",
			why:  "keys are compared after unescaping, as a JSON parser sees them",
			sig:  editClaims(`"sub":`, `"s\u0075b":"`+evil+`","sub":`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "claims with exp twice, expired then valid, are refused",
			why:  "one parser would find the token expired and another not",
			sig:  editClaims(`"exp":`, `"exp":1,"exp":`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "claims with iss twice are refused",
			why:  "a repeated claim is refused whichever copy is the right one",
			sig:  editClaims(`"iss":"Upstash"`, `"iss":"evil","iss":"Upstash"`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "claims with body twice are refused",
			why:  "one parser would check the body against one hash and another against the other",
			sig:  editClaims(`"body":`, `"body":"`+b64("forged")+`","body":`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "claims with jti twice are refused",
			why:  "replay protection keyed by one jti must not see another",
			sig:  editClaims(`"jti":"jwt_test"`, `"jti":"jwt_a","jti":"jwt_test"`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "a claim named Sub does not stand for sub",
			why:  "claim names are case-sensitive, so the sub read is the other URL",
			sig:  editClaims(`"sub":"`+testURL+`"`, `"Sub":"`+testURL+`","sub":"`+evil+`"`),
			want: ErrURLMismatch},
	}...)

	// Dates.
	cases = append(cases, []attack{
		{name: "exp as a string is refused",
			why:  "a NumericDate is a JSON number (RFC 7519 §2)",
			sig:  withClaims(map[string]any{"exp": fmt.Sprint(testNow.Unix() + 300)}),
			want: ErrMalformedSignature},
		{name: "nbf as a string is refused",
			why:  "a NumericDate is a JSON number (RFC 7519 §2)",
			sig:  withClaims(map[string]any{"nbf": fmt.Sprint(testNow.Unix())}),
			want: ErrMalformedSignature},
		{name: "iat as a string is refused",
			why:  "every date the verifier reads must be a NumericDate, even one it does not check",
			sig:  withClaims(map[string]any{"iat": "now"}),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "exp of 1e300 is refused",
			why:  "a date past the year 9999 overflows time arithmetic; no real token has one",
			sig:  editClaims(fmt.Sprintf(`"exp":%d`, testNow.Unix()+300), `"exp":1e300`),
			want: ErrMalformedSignature, jwt: jwtVaries},
		{name: "exp of 9999999999999 is refused",
			why:  "a token valid until the year 318857 is no token QStash issues",
			sig:  withClaims(map[string]any{"exp": 9999999999999}),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "exp past the int64 range is refused",
			why: "a date that overflows int64 must not wrap around to a valid one",
			sig: editClaims(fmt.Sprintf(`"exp":%d`, testNow.Unix()+300),
				`"exp":9223372036854775808`),
			want: ErrMalformedSignature, jwt: jwtVaries},
		{name: "nbf of -1e300 is refused",
			why:  "a date before the year 1 is outside what the verifier represents",
			sig:  editClaims(fmt.Sprintf(`"nbf":%d`, testNow.Unix()), `"nbf":-1e300`),
			want: ErrMalformedSignature, jwt: jwtVaries},
		{name: "nbf one second before the year 1 is refused",
			why:  "the year-1 nbf of real tokens is the lower bound of the accepted range",
			sig:  withClaims(map[string]any{"nbf": minUnixSeconds - 1}),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "a fractional exp is refused",
			why:  "QStash issues whole seconds; rounding would be one more rule to disagree on",
			sig:  withClaims(map[string]any{"exp": float64(testNow.Unix()) + 300.5}),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "exp null is refused",
			why:  "null is no date, and exp is required",
			sig:  editClaims(fmt.Sprintf(`"exp":%d`, testNow.Unix()+300), `"exp":null`),
			want: ErrMalformedSignature},
		{name: "a token without exp is refused",
			why:  "QStash tokens always expire; one that never does could be replayed forever",
			sig:  withClaims(map[string]any{"exp": nil}),
			want: ErrMalformedSignature},
		{name: "an expired token is refused",
			why:  "a token is expired from the second of its exp on",
			sig:  withClaims(map[string]any{"exp": testNow.Unix()}),
			want: ErrExpired},
		{name: "a token before its nbf is refused",
			why:  "the default clock tolerance is zero",
			sig:  withClaims(map[string]any{"nbf": testNow.Unix() + 1}),
			want: ErrNotYetValid},
	}...)

	// Issuers.
	for _, iss := range []struct{ name, json string }{
		{"in lower case", `"upstash"`},
		{"in upper case", `"UPSTASH"`},
		{"with a leading space", `" Upstash"`},
		{"with a trailing space", `"Upstash "`},
		{"with a Cyrillic a", `"Upst` + "\u0430" + `sh"`},
		{"with a NUL after it", `"Upstash\u0000"`},
		{"as an empty string", `""`},
	} {
		cases = append(cases, attack{
			name: "an issuer " + iss.name + " is refused",
			why:  "the issuer is compared byte for byte with Upstash, as QStash writes it",
			sig:  editClaims(`"iss":"Upstash"`, `"iss":`+iss.json),
			want: ErrInvalidIssuer,
		})
	}
	cases = append(cases, []attack{
		{name: "a missing issuer is refused",
			why: "a token without iss could come from any HS256 signer sharing the key",
			sig: withClaims(map[string]any{"iss": nil}), want: ErrInvalidIssuer},
		{name: "an issuer in an array is refused",
			why: "iss is a string (RFC 7519 §4.1.1)",
			sig: editClaims(`"iss":"Upstash"`, `"iss":["Upstash"]`), want: ErrMalformedSignature},
	}...)

	// Subjects: each token is signed correctly for a URL that is not, byte
	// for byte, the one the request is for.
	for _, sub := range []struct{ name, canonical, signed string }{
		{"with a trailing slash", testURL, testURL + "/"},
		{"with another scheme", testURL, "http://example.com/api/workflow"},
		{"with the default port written out", testURL, "https://example.com:443/api/workflow"},
		{"with the host in upper case", testURL, "https://EXAMPLE.com/api/workflow"},
		{"with a trailing dot on the host", testURL, "https://example.com./api/workflow"},
		{"with user info", testURL, "https://user@example.com/api/workflow"},
		{"with a dot segment", testURL, "https://example.com/api/./workflow"},
		{"with a letter percent-escaped", testURL, "https://example.com/api/%77orkflow"},
		{"with a fragment", testURL, testURL + "#step"},
		{"with an empty query", testURL, testURL + "?"},
		{"with a percent-escape in lower case", "https://example.com/api/a%2Fb",
			"https://example.com/api/a%2fb"},
		{"with its query reordered", testURL + "?a=1&b=2", testURL + "?b=2&a=1"},
		{"that is a prefix of the request's", testURL, "https://example.com/api"},
		{"that extends the request's", testURL, testURL + "-admin"},
	} {
		cases = append(cases, attack{
			name: "a token signed for the URL " + sub.name + " is refused",
			why:  "URLs are compared exactly, as QStash signs them: no normalisation to argue over",
			sig:  signedFor(sub.signed), url: sub.canonical, want: ErrURLMismatch,
		})
	}
	cases = append(cases, []attack{
		{name: "a token without sub is refused",
			why: "a missing URL does not match every URL",
			sig: withClaims(map[string]any{"sub": nil}), want: ErrURLMismatch},
		{name: "a token with an empty sub is refused",
			why: "an empty URL does not match every URL",
			sig: withClaims(map[string]any{"sub": ""}), want: ErrURLMismatch},
	}...)

	// Bodies.
	cases = append(cases, []attack{
		{name: "the body with a trailing newline is refused",
			why: "the hash covers the body's exact bytes; a proxy adding a newline changed it",
			sig: good, body: []byte(attackBody + "\n"), want: ErrBodyMismatch},
		{name: "the body without the newline it was signed with is refused",
			why: "the hash covers the body's exact bytes",
			sig: mintRaw(testCurrentKey, qstashHeader,
				claimsJSON(t, attackBody+"\n", testURL, nil)),
			want: ErrBodyMismatch},
		{name: "another body under a valid token is refused",
			why: "the signature covers the body only through its hash claim",
			sig: good, body: []byte(`{"order":43}`), want: ErrBodyMismatch},
		{name: "a body hash in hex is refused",
			why: "QStash writes the hash in base64url; another encoding is another string",
			sig: withClaims(map[string]any{
				"body": fmt.Sprintf("%x", sha256.Sum256([]byte(attackBody)))}),
			want: ErrBodyMismatch},
		{name: "a body hash with doubled padding is refused",
			why:  "only the hash with its one = or without it is the same hash",
			sig:  withClaims(map[string]any{"body": string(goodHash[:]) + "="}),
			want: ErrBodyMismatch},
		{name: "an empty body claim does not stand for an empty body",
			why: "the hash of no bytes is a hash like any other",
			sig: withClaims(map[string]any{"body": ""}), body: []byte{}, want: ErrBodyMismatch},
		{name: "a body claim that is not a string is refused",
			why: "body is read as a string; a number cannot be a hash",
			sig: withClaims(map[string]any{"body": 0}), want: ErrMalformedSignature},
	}...)

	// crit and b64:false (RFC 7797).
	// The raw claims hold no dot, so that the token still has three segments.
	const dotless = "http://localhost/hook"
	rawPayload := `{"iss":"Upstash","exp":1800000300,"sub":"` + dotless + `","body":"` +
		string(goodHash[:43]) + `"}`
	cases = append(cases, []attack{
		{name: "crit with b64 false over an encoded payload is refused",
			why: "RFC 7515 §4.1.11: crit names extensions the verifier must understand; " +
				"it understands none",
			sig:  withHeader(`{"alg":"HS256","typ":"JWT","b64":false,"crit":["b64"]}`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "crit with b64 false over a raw payload is refused",
			why: "RFC 7797 would sign the raw claims; the verifier decodes every segment",
			sig: signSegments(testCurrentKey,
				b64(`{"alg":"HS256","b64":false,"crit":["b64"]}`), rawPayload),
			url: dotless, want: ErrMalformedSignature},
		{name: "an empty crit is refused",
			why:  "RFC 7515 §4.1.11 forbids an empty crit; the verifier refuses any",
			sig:  withHeader(`{"alg":"HS256","crit":[]}`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "crit spelled with an escape is refused",
			why:  "header names are compared after unescaping",
			sig:  withHeader(`{"alg":"HS256","\u0063rit":["exp"],"exp":1}`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
	}...)

	// Sizes and nesting.
	cases = append(cases, []attack{
		{name: "a megabyte of base64 is refused",
			why: "tokens over MaxSignatureLength are refused before any decoding",
			sig: strings.Repeat("A", 1<<20), want: ErrMalformedSignature},
		{name: "a correctly signed megabyte-long token is refused",
			why:  "the cap applies to signed tokens too, so a key holder cannot make work either",
			sig:  withClaims(map[string]any{"pad": strings.Repeat("a", 1<<20)}),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "a token one byte over MaxSignatureLength is refused",
			why:  "the cap is exact",
			sig:  tokenOfLength(t, MaxSignatureLength+1),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "a claim nested 3000 deep is refused",
			why: "the JSON reader bounds nesting, so no token makes it recurse deeply",
			sig: editClaims(`"aud":""`,
				`"aud":`+strings.Repeat("[", 3000)+strings.Repeat("]", 3000)),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "claims that are an array are refused",
			why: "a JWT's claims are a JSON object (RFC 7519 §7.2)",
			sig: mintRaw(testCurrentKey, qstashHeader, "["+canon+"]"), want: ErrMalformedSignature},
		{name: "bytes after the claims object are refused",
			why:  "a decoder that stops after the object would read claims another one refuses",
			sig:  mintRaw(testCurrentKey, qstashHeader, canon+`{"sub":"`+evil+`"}`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "a byte order mark before the claims is refused",
			why:  "JSON in a JWT has no byte order mark (RFC 8259 §8.1)",
			sig:  mintRaw(testCurrentKey, qstashHeader, "\ufeff"+canon),
			want: ErrMalformedSignature},
		{name: "a comment in the claims is refused",
			why: "JSON has no comments",
			sig: editClaims(`"aud":""`, `"aud":""/* */`), want: ErrMalformedSignature},
	}...)

	// Invalid UTF-8.
	cases = append(cases, []attack{
		{name: "invalid UTF-8 in the header is refused",
			why:  "encoding/json would replace it; the verifier refuses what it cannot read",
			sig:  withHeader(`{"alg":"HS256","typ":"JWT` + "\xff" + `"}`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "invalid UTF-8 in alg is refused",
			why: "a header value that is not text is malformed",
			sig: withHeader(`{"alg":"HS256` + "\xff" + `"}`), want: ErrMalformedSignature},
		{name: "invalid UTF-8 in sub is refused",
			why:  "a URL that is not text cannot be compared",
			sig:  editClaims(`"sub":"`+testURL, `"sub":"`+testURL+"\xff"),
			want: ErrMalformedSignature},
		{name: "invalid UTF-8 in a claim the verifier skips is refused",
			why:  "every string of the claims must be valid UTF-8, read or not",
			sig:  editClaims(`"jti":"jwt_test"`, `"jti":"jwt_test","x":"`+"\xc0\xaf"+`"`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "a lone surrogate escape in jti is refused",
			why:  "an unpaired surrogate encodes no character; encoding/json replaces it",
			sig:  editClaims(`"jti":"jwt_test"`, `"jti":"jwt_\ud800"`),
			want: ErrMalformedSignature, jwt: jwtAccepts},
		{name: "invalid UTF-8 in the header segment of the token is refused",
			why: "a segment is base64url, which is ASCII",
			sig: "\xff" + good, want: ErrMalformedSignature},
		{name: "a non-ASCII letter in the claims segment is refused",
			why:  "a segment is base64url, which is ASCII, even when signed as sent",
			sig:  signSegments(testCurrentKey, b64(qstashHeader), "é"+b64(canon)),
			want: ErrMalformedSignature},
		{name: "invalid UTF-8 in the signature segment is refused",
			why: "a segment is base64url, which is ASCII",
			sig: good[:len(good)-2] + "\xff\xfe", want: ErrMalformedSignature},
	}...)

	// Headers of the request.
	forged := mintRaw("sig_forger", qstashHeader, canon)
	cases = append(cases, []attack{
		{name: "two Upstash-Signature headers, both valid, are refused",
			why: "which of two values a proxy or framework picks differs",
			sig: good, request: func(r *http.Request) { r.Header.Add(HeaderSignature, good) },
			want: ErrMalformedSignature},
		{name: "a forged Upstash-Signature after a valid one is refused",
			why: "the app might trust the value the verifier did not check",
			sig: good, request: func(r *http.Request) { r.Header.Add(HeaderSignature, forged) },
			want: ErrMalformedSignature},
		{name: "a valid Upstash-Signature after a forged one is refused",
			why: "the verifier must not pick the value that passes",
			sig: forged, request: func(r *http.Request) { r.Header.Add(HeaderSignature, good) },
			want: ErrMalformedSignature},
		{name: "an empty Upstash-Signature beside a valid one is refused",
			why: "two values are two values, even when one is empty",
			sig: good, request: func(r *http.Request) {
				r.Header[HeaderSignature] = []string{"", good}
			},
			want: ErrMalformedSignature},
		{name: "two signatures joined by a comma in one header are refused",
			why: "a proxy folding repeated headers makes one value of two tokens",
			sig: good + ", " + good, want: ErrMalformedSignature},
		{name: "an empty Upstash-Signature is missing",
			why: "an empty value carries no token",
			sig: "", want: ErrMissingSignature},
		{name: "no Upstash-Signature header is missing",
			why: "the request is not from QStash",
			sig: good, request: func(r *http.Request) { r.Header.Del(HeaderSignature) },
			want: ErrMissingSignature},
		{name: "X-Forwarded-Host does not change the URL compared",
			why: "forwarded headers are not trusted: anyone can send them",
			sig: signedFor("https://other.example/api/workflow"),
			request: func(r *http.Request) {
				r.Header.Set("X-Forwarded-Host", "other.example")
				r.Header.Set("Forwarded", "host=other.example;proto=https")
			},
			want: ErrURLMismatch},
		{name: "X-Forwarded-Proto does not change the URL compared",
			why: "forwarded headers are not trusted: anyone can send them",
			sig: signedFor("http://example.com/api/workflow"),
			request: func(r *http.Request) {
				r.Header.Set("X-Forwarded-Proto", "http")
			},
			want: ErrURLMismatch},
		{name: "X-Original-URL does not change the URL compared",
			why: "the path compared is the request target the server received",
			sig: signedFor("https://example.com/api/other"),
			request: func(r *http.Request) {
				r.Header.Set("X-Original-URL", "/api/other")
				r.Header.Set("X-Rewrite-URL", "/api/other")
			},
			want: ErrURLMismatch},
		{name: "a token for another host passes when the Host header names it",
			why: "a limit, not a defence: by default the host compared is the one the " +
				"client names; pin it with WithPublicBaseURL or WithURL (see SECURITY.md)",
			sig:     signedFor("https://other.example/api/workflow"),
			request: func(r *http.Request) { r.Host = "other.example" }},
		{name: "a token for another host is refused once the public base URL is pinned",
			why:     "WithPublicBaseURL replaces the client's Host header with the app's own",
			sig:     signedFor("https://other.example/api/workflow"),
			request: func(r *http.Request) { r.Host = "other.example" },
			opts:    []Option{WithPublicBaseURL("https://example.com")}, want: ErrURLMismatch},
		{name: "a token for another host is refused once the URL is pinned",
			why:     "WithURL compares the signed URL with the app's own, whatever the request",
			sig:     signedFor("https://other.example/api/workflow"),
			request: func(r *http.Request) { r.Host = "other.example" },
			opts:    []Option{WithURL(testURL)}, want: ErrURLMismatch},
		{name: "a valid token for a body over the limit is refused with 413",
			why: "the body limit bounds what is read, signed or not",
			sig: mintRaw(testCurrentKey, qstashHeader,
				claimsJSON(t, strings.Repeat("a", 2048), testURL, nil)),
			body: bytes.Repeat([]byte("a"), 2048), opts: []Option{WithMaxBodyBytes(2047)},
			requestOnly: true, want: ErrBodyTooLarge},
	}...)

	// The decoder of the signature skips line breaks, as every base64
	// decoder of the standard library does; a signature segment holding one
	// then decodes to 31 bytes where 32 are due. The token here is signed
	// with the right key and its MAC ends in a zero byte, so the bytes that
	// do decode match it.
	cases = append(cases, attack{
		name: "a line break inside the signature segment is refused",
		why:  "a 43-byte segment with a line break holds 31 bytes of MAC, not the 32 of HS256",
		sig:  tokenWithLineBreakInMAC(t), want: ErrMalformedSignature,
	})
	return cases
}

// mustReplace replaces the first old in s with new, and fails the test if s
// holds no old, so that a case cannot silently test the unchanged token.
func mustReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q is not in %s", old, s)
	}
	return strings.Replace(s, old, new, 1)
}

// signSegments signs already encoded header and claims segments as they are.
func signSegments(key, header, claims string) string {
	input := header + "." + claims
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// mintMethod signs header and claims with any golang-jwt signing method.
func mintMethod(t *testing.T, m jwt.SigningMethod, key any, header, claims string) string {
	t.Helper()
	input := b64(header) + "." + b64(claims)
	sig, err := m.Sign(input, key)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// mintInput returns a token of header and claims that carries the signature
// segment of donor, a MAC of another signing input under key. It fails the
// test if donor is that very token.
func mintInput(t *testing.T, key, header, claims, donor string) string {
	t.Helper()
	if mintRaw(key, header, claims) == donor {
		t.Fatal("the donor token is the token itself")
	}
	_, mac := splitMAC(t, donor)
	return b64(header) + "." + b64(claims) + "." + mac
}

// splitMAC splits a token into its signing input and its signature segment.
func splitMAC(t *testing.T, tok string) (input, mac string) {
	t.Helper()
	i := strings.LastIndexByte(tok, '.')
	if i < 0 {
		t.Fatalf("%q is not a token", tok)
	}
	return tok[:i], tok[i+1:]
}

// padded encodes s in base64url with its = padding, and fails the test if
// s is of a length that needs none.
func padded(t *testing.T, s string) string {
	t.Helper()
	enc := base64.URLEncoding.EncodeToString([]byte(s))
	if !strings.HasSuffix(enc, "=") {
		t.Fatalf("%q encodes without padding", s)
	}
	return enc
}

// stdAlphabet encodes s in the standard base64 alphabet, without padding,
// and fails the test unless that differs from base64url.
func stdAlphabet(t *testing.T, s string) string {
	t.Helper()
	enc := base64.RawStdEncoding.EncodeToString([]byte(s))
	if enc == b64(s) {
		t.Fatalf("%q encodes alike in both alphabets", s)
	}
	return enc
}

// withUnusedBits changes the last character of tok's signature so that it
// sets the two bits a 43-character segment does not use, which a lenient
// decoder ignores.
func withUnusedBits(t *testing.T, tok string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	if last < 0 || last&3 != 0 {
		t.Fatalf("the signature of %q ends in an unexpected character", tok)
	}
	return tok[:len(tok)-1] + string(alphabet[last|1])
}

// tokenWithStdMAC returns a token, signed with the current key, whose
// signature segment is written in the standard base64 alphabet.
func tokenWithStdMAC(t *testing.T) string {
	t.Helper()
	for i := range 1000 {
		tok := mintRaw(testCurrentKey, qstashHeader, claimsJSON(t, attackBody, testURL,
			map[string]any{"jti": fmt.Sprintf("jwt_%d", i)}))
		input, mac := splitMAC(t, tok)
		if std := strings.NewReplacer("-", "+", "_", "/").Replace(mac); std != mac {
			return input + "." + std
		}
	}
	t.Fatal("no signature with - or _ in a thousand tries")
	return ""
}

// tokenWithLineBreakInMAC returns a token, signed with the current key,
// whose MAC ends in a zero byte, with its signature segment written as 42
// characters and a line break: the base64 of the MAC's first 31 bytes.
func tokenWithLineBreakInMAC(t *testing.T) string {
	t.Helper()
	for i := range 1 << 16 {
		claims := claimsJSON(t, attackBody, testURL,
			map[string]any{"jti": fmt.Sprintf("jwt_%d", i)})
		input := b64(qstashHeader) + "." + b64(claims)
		mac := hmac.New(sha256.New, []byte(testCurrentKey))
		mac.Write([]byte(input))
		sum := mac.Sum(nil)
		if sum[31] != 0 {
			continue
		}
		short := base64.RawURLEncoding.EncodeToString(sum[:31])
		return input + "." + short[:20] + "\n" + short[20:]
	}
	t.Fatal("no MAC ending in a zero byte in 65536 tries")
	return ""
}

// tokenOfLength returns a token, signed with the current key and otherwise
// valid, that is exactly n bytes long; its claims are padded to the length.
func tokenOfLength(t *testing.T, n int) string {
	t.Helper()
	// Each byte of padding adds 4/3 of a byte to the token: start close.
	base := len(mintRaw(testCurrentKey, qstashHeader, claimsJSON(t, attackBody, testURL,
		map[string]any{"pad": ""})))
	for pad := max(0, (n-base)*3/4-4); pad < n; pad++ {
		tok := mintRaw(testCurrentKey, qstashHeader, claimsJSON(t, attackBody, testURL,
			map[string]any{"pad": strings.Repeat("p", pad)}))
		if len(tok) == n {
			return tok
		}
		if len(tok) > n {
			break
		}
	}
	t.Fatalf("no padding makes a token of %d bytes", n)
	return ""
}
