package core

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerifySignature feeds arbitrary tokens, bodies and URLs to the
// verifier. Properties: it never panics; every refusal wraps a sentinel of
// this package; and whatever it accepts, golang-jwt, with the same key and
// the same rules, accepts too, so the fast path is never more lenient than
// the reference implementation. Seeds include the real QStash tokens.
func FuzzVerifySignature(f *testing.F) {
	for _, vec := range loadVectors(f) {
		f.Add(vec.Signature, vec.Body, vec.URL, vec.VerifyAtUnix)
	}
	sig := signTest(f, testCurrentKey, "hello", testURL)
	f.Add(sig, "hello", testURL, testNow.Unix())
	f.Add(mintRaw(testCurrentKey, `{"alg":"none"}`, claimsJSON(f, "", testURL, nil)), "", testURL,
		testNow.Unix())
	f.Add(mintRaw(testCurrentKey, qstashHeader, `{"iss":"Upstash","exp":1e300,"body":""}`), "", "",
		testNow.Unix())

	f.Fuzz(func(t *testing.T, sig, body, url string, at int64) {
		now := time.Unix(at, 0)
		keys := [][2]string{{testCurrentKey, testNextKey}}
		for _, vec := range loadVectors(t) {
			keys = append(keys, [2]string{vec.CurrentSigningKey, vec.NextSigningKey})
		}
		for _, k := range keys {
			v, err := NewVerifier(WithSigningKeys(k[0], k[1]), WithClock(fixedClock(now)))
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.VerifySignature(sig, []byte(body), url)
			if err != nil {
				if StatusCode(err) != 401 {
					t.Fatalf("refusal %v maps to %d, not 401", err, StatusCode(err))
				}
				continue
			}
			secret := k[0]
			if c.Key == KeyNext {
				secret = k[1]
			}
			if err := referenceVerify(sig, body, url, secret, now); err != nil {
				t.Fatalf("accepted a token golang-jwt refuses: %v", err)
			}
		}
	})
}

// referenceVerify checks a token with golang-jwt under the rules QStash
// tokens follow: HS256 only, issuer Upstash, exp required, the subject and
// the body hash.
func referenceVerify(sig, body, url, secret string, now time.Time) error {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithJSONNumber(),
	}
	if url != "" {
		opts = append(opts, jwt.WithSubject(url))
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(sig, claims, func(*jwt.Token) (any, error) {
		return []byte(secret), nil
	}, opts...)
	if err != nil {
		return err
	}
	got, _ := claims["body"].(string)
	if checkBody(got, []byte(body)) != nil {
		return errors.New("body claim does not match")
	}
	return nil
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
