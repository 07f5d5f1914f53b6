package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
	"time"
)

const (
	testCurrentKey = "sig_testCurrentKey111111111111"
	testNextKey    = "sig_testNextKey2222222222222222"
	testURL        = "https://example.com/api/workflow"
)

// testNow is the fixed time the tests verify at.
var testNow = time.Unix(1_800_000_000, 0)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// vector is one token issued by the real QStash service.
type vector struct {
	CurrentSigningKey string `json:"current_signing_key"`
	NextSigningKey    string `json:"next_signing_key"`
	Signature         string `json:"signature"`
	Body              string `json:"body"`
	URL               string `json:"url"`
	VerifyAtUnix      int64  `json:"verify_at_unix"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile("../testdata/qstash-issued-tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Vectors []vector }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors in testdata")
	}
	return file.Vectors
}

// mintRaw signs any header and claims JSON with key, byte for byte, so tests
// can build tokens no well-behaved signer would.
func mintRaw(key, header, claims string) string {
	input := b64(header) + "." + b64(claims)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// claimsJSON returns QStash-shaped claims for body and url at testNow, with
// overrides replacing or (with a nil value) removing claims.
func claimsJSON(t testing.TB, body, url string, overrides map[string]any) string {
	t.Helper()
	h := bodyHash([]byte(body))
	c := map[string]any{
		"aud": "", "body": string(h[:]), "exp": testNow.Unix() + 300, "iat": testNow.Unix(),
		"iss": "Upstash", "jti": "jwt_test", "nbf": testNow.Unix(), "sub": url,
	}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

const qstashHeader = `{"alg":"HS256","typ":"JWT"}`

func newTestVerifier(t testing.TB, opts ...Option) *Verifier {
	t.Helper()
	opts = append([]Option{WithSigningKeys(testCurrentKey, testNextKey), WithClock(fixedClock(testNow))},
		opts...)
	v, err := NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signTest(t testing.TB, key, body, url string) string {
	t.Helper()
	sig, err := Sign(key, Message{URL: url, Body: []byte(body), IssuedAt: testNow})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}
