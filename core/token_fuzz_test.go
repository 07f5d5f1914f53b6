package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerifySignature feeds arbitrary tokens, bodies and URLs to the
// verifier. Properties: it never panics; every refusal maps to 401; and its
// verdict is golang-jwt's, configured as strictly as it allows, wherever
// both apply (see agreeWithReference). Seeds include the real QStash tokens.
func FuzzVerifySignature(f *testing.F) {
	vectors := loadVectors(f)
	keySets := [][2]string{{testCurrentKey, testNextKey}}
	for _, vec := range vectors {
		f.Add(vec.Signature, vec.Body, vec.URL, vec.VerifyAtUnix)
		keySets = append(keySets, [2]string{vec.CurrentSigningKey, vec.NextSigningKey})
	}
	sig := signTest(f, testCurrentKey, "hello", testURL)
	f.Add(sig, "hello", testURL, testNow.Unix())
	f.Add(signTest(f, testNextKey, "", testURL), "", "", testNow.Unix())
	f.Add(mintRaw(testCurrentKey, `{"alg":"none"}`, claimsJSON(f, "", testURL, nil)), "", testURL,
		testNow.Unix())
	f.Add(mintRaw(testCurrentKey, qstashHeader, `{"iss":"Upstash","exp":1e300,"body":""}`), "", "",
		testNow.Unix())

	f.Fuzz(func(t *testing.T, sig, body, url string, at int64) {
		now := time.Unix(at, 0)
		for _, keys := range keySets {
			v, err := NewVerifier(WithSigningKeys(keys[0], keys[1]), WithClock(fixedClock(now)))
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.VerifySignature(sig, []byte(body), url)
			agreeWithReference(t, sig, body, url, keys, now, c, err)
		}
	})
}

// FuzzSignedClaims lets the fuzzer write the header and claims JSON of a
// token, which the harness then signs (with the current key, the next key, or
// a key the verifier does not hold, as mode&3 says). Unlike
// FuzzVerifySignature, whose tokens almost never carry a valid signature,
// this reaches the code behind the signature check: the header and claims
// readers, the time, issuer, URL and body checks, and acceptance itself.
//
// So that a changed body or URL does not simply fail its check, the claims
// may say "{{body}}" for the hash of the body and "{{url}}" for the URL,
// which the harness fills in. With mode&4 set, the claims are members the
// harness adds to a valid set of claims, so that most mutations still make a
// token to accept. Properties are those of agreeWithReference.
func FuzzSignedClaims(f *testing.F) {
	const body = `{"hello":"world"}`
	valid := claimsJSON(f, body, testURL, nil)
	hash := bodyHash([]byte(body))
	templ := strings.NewReplacer(string(hash[:]), "{{body}}", `"`+testURL+`"`, `"{{url}}"`).
		Replace(valid)
	f.Add(qstashHeader, valid, body, testURL, uint8(0))
	f.Add(qstashHeader, templ, body, testURL, uint8(1))
	f.Add(qstashHeader, templ, "", "", uint8(0))
	f.Add(qstashHeader, valid, body, testURL, uint8(2))
	f.Add(`{"typ":"JWT","alg":"HS256"}`, strings.Replace(claimsJSON(f, "", testURL,
		map[string]any{"nbf": -62135596800}), `"Upstash"`, `"Ups\u0074ash"`, 1), "", testURL,
		uint8(0))
	f.Add(`{"alg":"HS256","crit":["b64"],"b64":false}`, templ, body, testURL, uint8(0))
	f.Add(`{"alg":"none","alg":"HS256"}`, templ, body, testURL, uint8(0))
	f.Add(qstashHeader, strings.Replace(templ, `"exp":`, `"exp":1,"exp":`, 1), body, testURL,
		uint8(0))
	f.Add(qstashHeader, strings.Replace(templ, `"exp":1800000300`, `"exp":1800000300.5`, 1), body,
		testURL, uint8(0))
	f.Add(qstashHeader, strings.Replace(templ, `"iat":1800000000`, `"iat":"now"`, 1), body,
		testURL, uint8(1))
	f.Add(qstashHeader, templ+" x", body, testURL, uint8(0))
	f.Add(qstashHeader, strings.Replace(templ, `"aud":""`,
		`"aud":`+strings.Repeat("[", 40)+strings.Repeat("]", 40), 1), body, testURL, uint8(0))
	f.Add(qstashHeader, `{"exp":1800000001,"iss":"Upstash","body":"{{body}}","sub":"{{url}}",`+
		`"jti":"\ud83d\ude00"}`, "[]", testURL, uint8(0))
	f.Add(qstashHeader, ``, body, testURL, uint8(4))
	f.Add(qstashHeader, `,"nbf":1800000000,"jti":"jwt_1","aud":["a",{}]`, body, testURL, uint8(5))
	f.Add(qstashHeader, `,"exp":1800000400`, body, testURL, uint8(4))

	secrets := [...]string{testCurrentKey, testNextKey, "sig_notAKeyTheVerifierHolds"}
	f.Fuzz(func(t *testing.T, header, claims, body, url string, mode uint8) {
		if mode&4 != 0 {
			claims = `{"iss":"Upstash","sub":"{{url}}","body":"{{body}}","exp":1800000300` +
				claims + `}`
		}
		hash := bodyHash([]byte(body))
		quotedURL, err := json.Marshal(url)
		if err != nil {
			t.Fatal(err)
		}
		claims = strings.NewReplacer("{{body}}", string(hash[:]), `"{{url}}"`, string(quotedURL)).
			Replace(claims)
		sig := mintRaw(secrets[int(mode&3)%len(secrets)], header, claims)
		v := newTestVerifier(t)
		c, err := v.VerifySignature(sig, []byte(body), url)
		agreeWithReference(t, sig, body, url, [2]string{testCurrentKey, testNextKey}, testNow,
			c, err)
	})
}

// FuzzClaimValues builds well-formed claims from values the fuzzer picks,
// signs them, and checks the verdict with agreeWithReference. Where
// FuzzSignedClaims explores the JSON itself, this keeps the JSON valid and
// explores the values: an issuer one letter off, a URL one byte off, a
// date a second either side of now, an unexpected claim of any JSON value.
// Dates are offsets in seconds from the time of verification. mode picks
// the key (mode&3, as in FuzzSignedClaims) and says what to leave out or
// change: bit 2 signs the request's own URL as sub, bit 3 drops the body
// hash's padding, bits 4 to 6 leave out nbf, iat and jti.
//
// Each input is checked twice: as the fuzzer wrote it, and mended to pass
// every check but those of the free-form values (jti, the extra claim, the
// body and the URL). Most mutations break a token; the mended one shows
// that no value of those alone makes the verifier refuse what golang-jwt
// accepts, or the reverse.
func FuzzClaimValues(f *testing.F) {
	f.Add("Upstash", "", "jwt_1", `""`, "hello", testURL, int32(300), int32(0), int32(0),
		uint8(4))
	f.Add("Upstash", testURL, "jwt_2", `[1,{"a":null}]`, "", testURL, int32(1), int32(-1),
		int32(5), uint8(1))
	f.Add("Upstash", testURL+"/", "", "x", "hello", testURL, int32(300), int32(0), int32(0),
		uint8(8))
	f.Add("Upstash", "", "jwt_3", "1e400", "{}", "", int32(0), int32(1), int32(0), uint8(4+16))
	f.Add("upstash", "", "jwt_4", "null", "hello", testURL, int32(300), int32(0), int32(0),
		uint8(4+32+64))

	secrets := [...]string{testCurrentKey, testNextKey, "sig_notAKeyTheVerifierHolds"}
	f.Fuzz(func(t *testing.T, iss, sub, jti, extra, body, url string, exp, nbf, iat int32,
		mode uint8) {
		quote := func(s string) string {
			q, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			return string(q)
		}
		date := func(offset int64) string {
			return strconv.FormatInt(testNow.Unix()+offset, 10)
		}
		if !json.Valid([]byte(extra)) {
			extra = quote(extra)
		}
		check := func(iss, sub string, exp, nbf int64, mode uint8) {
			t.Helper()
			if mode&4 != 0 {
				sub = url
			}
			hash := bodyHash([]byte(body))
			claim := string(hash[:])
			if mode&8 != 0 {
				claim = claim[:43]
			}
			claims := `{"iss":` + quote(iss) + `,"sub":` + quote(sub) + `,"body":"` + claim +
				`","exp":` + date(exp) + `,"x":` + extra
			if mode&16 == 0 {
				claims += `,"nbf":` + date(nbf)
			}
			if mode&32 == 0 {
				claims += `,"iat":` + date(int64(iat))
			}
			if mode&64 == 0 {
				claims += `,"jti":` + quote(jti)
			}
			claims += "}"

			sig := mintRaw(secrets[int(mode&3)%len(secrets)], qstashHeader, claims)
			v := newTestVerifier(t)
			c, err := v.VerifySignature(sig, []byte(body), url)
			agreeWithReference(t, sig, body, url, [2]string{testCurrentKey, testNextKey},
				testNow, c, err)
		}
		check(iss, sub, int64(exp), int64(nbf), mode)
		abs := func(n int32) int64 { return max(int64(n), -int64(n)) }
		check(Issuer, url, 1+abs(exp), -abs(nbf), mode&^3|4)
	})
}

// agreeWithReference checks the verifier's verdict on sig (c and err)
// against golang-jwt's under the same keys, time and rules:
//
//   - a refusal maps to 401, as every failed authentication does;
//   - whatever the verifier accepts, golang-jwt accepts, with the same key,
//     and reads the same claims from it;
//   - whatever golang-jwt accepts, the verifier accepts too, unless
//     coreStricterRule names a documented rule by which it refuses on purpose.
func agreeWithReference(t *testing.T, sig, body, url string, keys [2]string, now time.Time,
	c *Claims, err error) {
	t.Helper()
	ref, refKey, refErr := referenceVerify(sig, body, url, keys, now)
	if err != nil {
		if StatusCode(err) != 401 {
			t.Fatalf("refusal %v maps to %d, not 401", err, StatusCode(err))
		}
		if refErr == nil {
			if rule := coreStricterRule(sig); rule == "" {
				t.Fatalf("refused a token golang-jwt accepts, with no documented rule for it: %v",
					err)
			}
		}
		return
	}
	if refErr != nil {
		t.Fatalf("accepted a token golang-jwt refuses: %v", refErr)
	}
	if c.Key != refKey {
		t.Fatalf("verified with the %v key, golang-jwt with the %v key", c.Key, refKey)
	}
	str := func(k string) string { s, _ := ref[k].(string); return s }
	if c.Issuer != str("iss") || c.Subject != str("sub") || c.ID != str("jti") ||
		c.Body != str("body") {
		t.Fatalf("claims differ: ours %+v, golang-jwt's %v", c, ref)
	}
	for _, d := range []struct {
		name string
		ours time.Time
		get  func() (*jwt.NumericDate, error)
	}{
		{"exp", c.ExpiresAt, ref.GetExpirationTime},
		{"nbf", c.NotBefore, ref.GetNotBefore},
		{"iat", c.IssuedAt, ref.GetIssuedAt},
	} {
		theirs, err := d.get()
		if err != nil {
			t.Fatalf("golang-jwt cannot read the %s it accepted: %v", d.name, err)
		}
		if theirs == nil {
			if !d.ours.IsZero() {
				t.Fatalf("%s = %v, golang-jwt has none", d.name, d.ours)
			}
			continue
		}
		if d.ours.Unix() != theirs.Unix() {
			t.Fatalf("%s = %d, golang-jwt reads %d", d.name, d.ours.Unix(), theirs.Unix())
		}
	}
}

// referenceVerify checks a token with golang-jwt under the rules QStash
// tokens follow, as strictly as golang-jwt can be told to: HS256 only,
// strict base64url, issuer Upstash, exp required, the subject when url is
// set, and the body hash. Like the verifier it tries the current key, then
// the next; it returns the claims and the key that verified them.
func referenceVerify(sig, body, url string, keys [2]string, now time.Time) (
	jwt.MapClaims, Key, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithStrictDecoding(),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithJSONNumber(),
	}
	if url != "" {
		opts = append(opts, jwt.WithSubject(url))
	}
	err := errors.New("no signing key")
	for i, secret := range keys {
		if secret == "" {
			continue
		}
		claims := jwt.MapClaims{}
		_, err = jwt.ParseWithClaims(sig, claims, func(*jwt.Token) (any, error) {
			return []byte(secret), nil
		}, opts...)
		if errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		got, _ := claims["body"].(string)
		if checkBody(got, []byte(body)) != nil {
			return nil, 0, errors.New("body claim does not match")
		}
		return claims, Key(i + 1), nil
	}
	return nil, 0, err
}

// coreStricterRule names the documented rule by which the verifier refuses a
// token that golang-jwt accepts, or returns "" when no such rule applies.
// These are the places where the verifier is stricter on purpose (see
// checkHeader, decodeClaims and the JSON reader): a size cap; a header that is
// a plain {alg, typ} object; claims that are one JSON object with no repeated
// key, valid UTF-8, values nested at most maxJSONDepth deep, the claims the
// verifier reads of the types it reads them as, and dates that are whole
// seconds within the years 1 to 9999. golang-jwt takes the last of repeated
// keys, replaces invalid UTF-8, ignores bytes after the claims and ignores
// crit, iat and jti.
func coreStricterRule(sig string) string {
	if len(sig) > MaxSignatureLength {
		return "token over MaxSignatureLength"
	}
	parts := strings.Split(sig, ".")
	if len(parts) != 3 {
		return ""
	}
	header, err1 := strictRawURL.DecodeString(parts[0])
	claims, err2 := strictRawURL.DecodeString(parts[1])
	if err1 != nil || err2 != nil {
		return ""
	}
	if rule := plainHeaderRule(header); rule != "" {
		return rule
	}
	return claimsRule(claims)
}

func plainHeaderRule(header []byte) string {
	if !utf8.Valid(header) || hasLoneSurrogate(header) {
		return "header is not valid UTF-8"
	}
	if dup, _ := jsonShape(header); dup {
		return "header repeats a key"
	}
	var h map[string]any
	if json.Unmarshal(header, &h) != nil {
		return ""
	}
	for k, v := range h {
		if _, ok := v.(string); !ok || (k != "alg" && k != "typ") {
			return "header is not a plain {alg, typ} object"
		}
	}
	return ""
}

func claimsRule(claims []byte) string {
	if !json.Valid(claims) {
		return "bytes after the claims object"
	}
	if !utf8.Valid(claims) || hasLoneSurrogate(claims) {
		return "claims are not valid UTF-8"
	}
	dup, depth := jsonShape(claims)
	switch {
	case dup:
		return "claims repeat a key"
	case depth > maxJSONDepth:
		return "claim values nested too deeply"
	}
	dec := json.NewDecoder(bytes.NewReader(claims))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return ""
	}
	for _, k := range []string{"iss", "sub", "jti", "body"} {
		if v, ok := m[k]; ok {
			if _, ok := v.(string); !ok {
				return "claim " + k + " is not a string"
			}
		}
	}
	for _, k := range []string{"exp", "nbf", "iat"} {
		if v, ok := m[k]; ok && !wholeSecondsInRange(v) {
			return "claim " + k + " is not whole seconds within the years 1 to 9999"
		}
	}
	return ""
}

// wholeSecondsInRange reports whether v, decoded with UseNumber, is a
// NumericDate the verifier takes: a whole number of seconds within the years
// 1 to 9999, however it is written.
func wholeSecondsInRange(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i >= minUnixSeconds && i <= maxUnixSeconds
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return err == nil && f == math.Trunc(f) && f >= minUnixSeconds && f <= maxUnixSeconds
}

// jsonShape walks a JSON document that encoding/json accepts, and reports
// whether its top-level object repeats a key, and how deep the values inside
// its members nest (a member's own value is at depth 0, the elements of an
// array member at depth 1, and so on).
func jsonShape(raw []byte) (dup bool, depth int) {
	type frame struct {
		object, wantKey bool
		keys            map[string]bool // for the top level only
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err != nil {
			return dup, depth
		}
		delim, isDelim := tok.(json.Delim)
		if isDelim && (delim == '}' || delim == ']') {
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			top := stack[n-1]
			key, _ := tok.(string)
			if top.keys != nil {
				dup = dup || top.keys[key]
				top.keys[key] = true
			}
			top.wantKey = false
			continue
		}
		if len(stack) > 0 {
			depth = max(depth, len(stack)-1)
		}
		if isDelim {
			f := &frame{object: delim == '{', wantKey: delim == '{'}
			if f.object && len(stack) == 0 {
				f.keys = map[string]bool{}
			}
			stack = append(stack, f)
			continue
		}
		valueDone()
	}
}

// hasLoneSurrogate reports whether JSON text escapes half of a UTF-16
// surrogate pair without the other half, which encoding/json replaces with
// U+FFFD and the verifier refuses as invalid UTF-8.
func hasLoneSurrogate(raw []byte) bool {
	hex4 := func(s []byte) rune {
		if len(s) < 4 {
			return -1
		}
		r, err := strconv.ParseUint(string(s[:4]), 16, 16)
		if err != nil {
			return -1
		}
		return rune(r)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character: a backslash escaping a backslash ends here
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		r := hex4(raw[i+1:])
		i += 4
		if !utf16.IsSurrogate(r) {
			continue
		}
		if r >= 0xdc00 || !bytes.HasPrefix(raw[i+1:], []byte(`\u`)) {
			return true
		}
		if lo := hex4(raw[i+3:]); lo < 0xdc00 || lo > 0xdfff {
			return true
		}
		i += 6
	}
	return false
}

// FuzzDecodeClaims checks the claims reader against encoding/json: whatever
// it accepts, encoding/json decodes to the same values.
func FuzzDecodeClaims(f *testing.F) {
	f.Add(claimsJSON(f, "x", testURL, nil))
	f.Add(`{"iss":"Ups\u0074ash","sub":"https://a.io/?a=1\u0026b=2","exp":1e9,"aud":[1,{"a":null}]}`)
	f.Add(`{"exp":1,"jti":"\ud83d\ude00","nbf":-62135596800}`)
	f.Fuzz(func(t *testing.T, payload string) {
		var c Claims
		if decodeClaims(payload, &c) != nil {
			return
		}
		// A map, not a struct: encoding/json matches struct fields
		// regardless of case, the claims of a JWT are case-sensitive.
		var ref map[string]any
		if err := json.Unmarshal([]byte(payload), &ref); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		str := func(k string) string { s, _ := ref[k].(string); return s }
		if str("iss") != c.Issuer || str("sub") != c.Subject || str("jti") != c.ID ||
			str("body") != c.Body {
			t.Fatalf("strings differ: ours %+v, encoding/json %v", c, ref)
		}
		if exp, _ := ref["exp"].(float64); int64(exp) != c.ExpiresAt.Unix() {
			t.Fatalf("exp differs: ours %v, encoding/json %v", c.ExpiresAt.Unix(), ref["exp"])
		}
	})
}

// TestCoreStricterRule checks the oracle of the fuzz targets: it names a
// rule for each kind of token the verifier refuses on purpose, and none for
// a token it must accept, so that the reverse property can fail.
func TestCoreStricterRule(t *testing.T) {
	canon := claimsJSON(t, "x", testURL, nil)
	edit := func(old, new string) string {
		return mintRaw(testCurrentKey, qstashHeader, strings.Replace(canon, old, new, 1))
	}
	withClaims := func(overrides map[string]any) string {
		return mintRaw(testCurrentKey, qstashHeader, claimsJSON(t, "x", testURL, overrides))
	}
	cases := []struct {
		name     string
		sig      string
		wantRule bool
	}{
		{"a QStash-shaped token has none", mintRaw(testCurrentKey, qstashHeader, canon), false},
		{"header keys in another order have none",
			mintRaw(testCurrentKey, `{"typ":"JWT","alg":"HS256"}`, canon), false},
		{"escapes, a year-1 nbf and an aud array have none", mintRaw(testCurrentKey, qstashHeader,
			strings.Replace(claimsJSON(t, "x", testURL, map[string]any{"nbf": minUnixSeconds}),
				`"aud":""`, `"aud":[[1]],"x":"\ud83d\ude00"`, 1)), false},
		{"a nesting of exactly maxJSONDepth has none", edit(`"aud":""`,
			`"aud":`+strings.Repeat("[", maxJSONDepth+1)+strings.Repeat("]", maxJSONDepth+1)),
			false},
		{"a nesting one deeper has one", edit(`"aud":""`,
			`"aud":`+strings.Repeat("[", maxJSONDepth+1)+"1"+strings.Repeat("]", maxJSONDepth+1)),
			true},
		{"a token over the cap has one",
			withClaims(map[string]any{"pad": strings.Repeat("p", MaxSignatureLength)}), true},
		{"a crit header has one",
			mintRaw(testCurrentKey, `{"alg":"HS256","crit":["b64"]}`, canon), true},
		{"a typ that is not a string has one",
			mintRaw(testCurrentKey, `{"alg":"HS256","typ":1}`, canon), true},
		{"a repeated header key has one",
			mintRaw(testCurrentKey, `{"alg":"HS256","alg":"HS256"}`, canon), true},
		{"invalid UTF-8 in the header has one",
			mintRaw(testCurrentKey, `{"alg":"HS256","typ":"`+"\xff"+`"}`, canon), true},
		{"a repeated claim has one", edit(`"aud":""`, `"aud":"","aud":""`), true},
		{"a repeated key in a nested object has none",
			edit(`"aud":""`, `"aud":{"a":1,"a":2}`), false},
		{"bytes after the claims have one", mintRaw(testCurrentKey, qstashHeader, canon+"x"),
			true},
		{"a lone surrogate has one", edit(`"aud":""`, `"aud":"\udc00"`), true},
		{"an escaped backslash before u has none", edit(`"aud":""`, `"aud":"\\udc00"`), false},
		{"invalid UTF-8 has one", edit(`"aud":""`, `"aud":"`+"\xed\xa0\x80"+`"`), true},
		{"a jti that is a number has one", withClaims(map[string]any{"jti": 7}), true},
		{"a fractional iat has one", withClaims(map[string]any{"iat": 1.5}), true},
		{"an exp past the year 9999 has one", withClaims(map[string]any{"exp": 1e12}), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := coreStricterRule(tc.sig); (got != "") != tc.wantRule {
				t.Fatalf("rule = %q, want one: %v", got, tc.wantRule)
			}
		})
	}
}
