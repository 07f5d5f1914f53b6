// Package interop_test checks that qstashguard and the official QStash SDK
// (@upstash/qstash, driven through qstash.mjs) agree: each accepts the
// tokens the other mints, and both refuse the same tampered requests.
//
// It needs node on PATH and the packages of package-lock.json installed by
// `npm ci` in this folder. Without them the tests skip, except under CI=true,
// where a missing SDK must not pass for a checked one.
package interop_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qstashguard/qstashguard/core"
)

// scriptTimeout bounds one run of qstash.mjs; it needs no network, so
// anything near this long is a hang.
const scriptTimeout = 30 * time.Second

// Made-up signing keys in QStash's form. The HMAC key is the string's bytes.
const (
	currentKey = "sig_4fTqW9zLmR2xKp7vYc3nB8dHs6gJ"
	nextKey    = "sig_7uNe2RkX5aQw9mZt4bVy8cLp3jHd"
	otherKey   = "sig_2hGs8KdP4wQz7nMx5cRt9yLb6vFe"
)

// sdk runs qstash.mjs with node.
type sdk struct {
	node string
}

// requireSDK returns the SDK driver, or skips the test when node or the npm
// packages are missing; under CI=true it fails instead, so that CI cannot
// go green without having compared against the SDK.
func requireSDK(t *testing.T) sdk {
	t.Helper()
	node, err := exec.LookPath("node")
	missing := ""
	if err != nil {
		missing = "node is not on PATH: install Node.js 20 or later, then run `npm ci` in interop/"
	} else if _, err := os.Stat(filepath.Join("node_modules", "@upstash", "qstash",
		"package.json")); err != nil {
		missing = "interop/node_modules has no @upstash/qstash: run `npm ci` in interop/"
	}
	if missing == "" {
		return sdk{node: node}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: the SDK comparison may not be skipped)", missing)
	}
	t.Skipf("%s, to compare with the official QStash SDK", missing)
	return sdk{}
}

// call sends req to qstash.mjs and decodes its answer into resp.
func (s sdk) call(t *testing.T, req, resp any) {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("encode request: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.node, "qstash.mjs")
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node qstash.mjs: %v\nstderr: %s", err, stderr.Bytes())
	}

	if err := json.Unmarshal(stdout.Bytes(), resp); err != nil {
		t.Fatalf("decode qstash.mjs output %q: %v", stdout.Bytes(), err)
	}
}

// check is one verification the SDK's Receiver is asked to do.
type check struct {
	current, next string // signing keys
	sig           string
	body          []byte
	url           string
	tolerance     time.Duration // clock tolerance, whole seconds
}

// checkWithTestKeys is a check of sig against body and url under the test
// keys, without clock tolerance.
func checkWithTestKeys(sig string, body []byte, url string) check {
	return check{current: currentKey, next: nextKey, sig: sig, body: body, url: url}
}

// verify runs c through the SDK's Receiver. It returns the Receiver's
// error message, or "" when it accepted the token.
func (s sdk) verify(t *testing.T, c check) string {
	t.Helper()
	req := map[string]any{
		"op":                "verify",
		"signature":         c.sig,
		"bodyBase64":        base64.StdEncoding.EncodeToString(c.body),
		"url":               c.url,
		"currentSigningKey": c.current,
		"nextSigningKey":    c.next,
		"clockTolerance":    int64(c.tolerance / time.Second),
	}
	var resp struct {
		Valid *bool  `json:"valid"`
		Error string `json:"error"`
	}
	s.call(t, req, &resp)
	switch {
	case resp.Valid == nil:
		t.Fatalf("qstash.mjs answered without a valid field")
	case *resp.Valid:
		return ""
	case resp.Error == "":
		return "refused without a reason"
	}
	return resp.Error
}

// sign has the SDK's jose mint a token for body and url the way QStash does.
func (s sdk) sign(t *testing.T, key string, body []byte, url string) string {
	t.Helper()
	req := map[string]any{
		"op":         "sign",
		"key":        key,
		"bodyBase64": base64.StdEncoding.EncodeToString(body),
		"url":        url,
		"ttlSeconds": 300,
	}
	var resp struct {
		Signature string `json:"signature"`
	}
	s.call(t, req, &resp)
	if resp.Signature == "" {
		t.Fatalf("qstash.mjs returned no signature")
	}
	return resp.Signature
}

// goSign mints a token with qstashguard.
func goSign(t *testing.T, key string, body []byte, url string) string {
	t.Helper()
	sig, err := core.Sign(key, core.Message{URL: url, Body: body})
	if err != nil {
		t.Fatalf("core.Sign: %v", err)
	}
	return sig
}

// newVerifier builds a qstashguard verifier with the test keys. Dev mode is
// pinned off, as in qstash.mjs, so QSTASH_DEV cannot swap the keys.
func newVerifier(t *testing.T, opts ...core.Option) *core.Verifier {
	t.Helper()
	opts = append([]core.Option{core.WithSigningKeys(currentKey, nextKey),
		core.WithDevMode(false)}, opts...)
	v, err := core.NewVerifier(opts...)
	if err != nil {
		t.Fatalf("core.NewVerifier: %v", err)
	}
	return v
}

// message is one request as QStash would deliver it.
type message struct {
	name    string
	key     string
	wantKey core.Key
	body    []byte
	url     string
	// notUTF8 marks a body the SDK's Receiver cannot check: it takes the
	// body as a string and hashes that string's UTF-8 encoding.
	notUTF8 bool
}

var messages = []message{
	{
		name:    "current key signs a JSON body",
		key:     currentKey,
		wantKey: core.KeyCurrent,
		body:    []byte(`{"message":"hello world"}`),
		url:     "https://app.example.com/api/workflow",
	},
	{
		name:    "next key signs after rotation",
		key:     nextKey,
		wantKey: core.KeyNext,
		body:    []byte("Hello World"),
		url:     "https://app.example.com/api/workflow",
	},
	{
		name:    "non-ASCII body is hashed as its UTF-8 bytes",
		key:     currentKey,
		wantKey: core.KeyCurrent,
		body:    []byte("héllo wörld ✓"),
		url:     "https://app.example.com/hook",
	},
	{
		name:    "empty body hashes the empty string",
		key:     nextKey,
		wantKey: core.KeyNext,
		body:    []byte{},
		url:     "https://app.example.com/hook",
	},
	{
		name:    "query string with an escaped space is compared as sent",
		key:     currentKey,
		wantKey: core.KeyCurrent,
		body:    []byte("q"),
		url:     "https://app.example.com/api/run?a=1&b=two%20words",
	},
	{
		name:    "percent-escapes in the path are compared as sent",
		key:     currentKey,
		wantKey: core.KeyCurrent,
		body:    []byte("p"),
		url:     "https://app.example.com/caf%C3%A9/a%2Fb/step?x=%E2%9C%93",
	},
	{
		name:    "binary body that is not UTF-8",
		key:     nextKey,
		wantKey: core.KeyNext,
		body:    []byte{0xff, 0x00, 0xfe, 0x80, '\n'},
		url:     "https://app.example.com/upload",
		notUTF8: true,
	},
}

func TestGoSignedTokensVerifyWithSDK(t *testing.T) {
	s := requireSDK(t)
	for _, m := range messages {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			if m.notUTF8 {
				t.Skip("the SDK's Receiver takes the body as a string: " +
					"bytes that are not UTF-8 cannot reach it")
			}
			sig := goSign(t, m.key, m.body, m.url)

			if reason := s.verify(t, checkWithTestKeys(sig, m.body, m.url)); reason != "" {
				t.Fatalf("SDK refused a token signed by core.Sign: %s", reason)
			}
		})
	}
}

func TestSDKSignedTokensVerifyWithGo(t *testing.T) {
	s := requireSDK(t)
	v := newVerifier(t)
	for _, m := range messages {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			sig := s.sign(t, m.key, m.body, m.url)

			c, err := v.VerifySignature(sig, m.body, m.url)
			if err != nil {
				t.Fatalf("core refused a token minted with jose: %v", err)
			}

			if c.Key != m.wantKey {
				t.Errorf("matched the %s key, want the %s key", c.Key, m.wantKey)
			}
			if c.Subject != m.url {
				t.Errorf("subject %q, want %q", c.Subject, m.url)
			}
			if !strings.HasSuffix(c.Body, "=") {
				t.Errorf("body claim %q lacks the '=' padding QStash sends", c.Body)
			}
			if !strings.HasPrefix(c.ID, "jwt_") {
				t.Errorf("jti %q, want a jwt_ prefix", c.ID)
			}
			if life := c.ExpiresAt.Sub(c.IssuedAt); life != core.SignatureLifetime {
				t.Errorf("exp - iat = %s, want %s", life, core.SignatureLifetime)
			}
		})
	}
}

func TestTamperedRequestsAreRefusedByBoth(t *testing.T) {
	s := requireSDK(t)
	v := newVerifier(t)
	const url = "https://app.example.com/api/workflow?step=1"
	body := []byte(`{"amount":10}`)
	signers := []struct {
		name string
		sign func(t *testing.T, key string, body []byte, url string) string
	}{
		{"core.Sign", goSign},
		{"jose", s.sign},
	}
	tests := []struct {
		name      string
		key       string
		signedURL string
		body      []byte
		url       string
		// wantErr is what core returns; wantSDK is a part of the SDK's
		// message that names the same reason.
		wantErr error
		wantSDK string
	}{
		{
			name:      "a tampered body is refused",
			key:       currentKey,
			signedURL: url,
			body:      []byte(`{"amount":1000}`),
			url:       url,
			wantErr:   core.ErrBodyMismatch,
			wantSDK:   "body hash does not match",
		},
		{
			name:      "a body tampered under the next key is refused",
			key:       nextKey,
			signedURL: url,
			body:      []byte(`{"amount":10} `),
			url:       url,
			wantErr:   core.ErrBodyMismatch,
			wantSDK:   "body hash does not match",
		},
		{
			name:      "a token replayed to another URL is refused",
			key:       currentKey,
			signedURL: url,
			body:      body,
			url:       "https://app.example.com/api/workflow?step=2",
			wantErr:   core.ErrURLMismatch,
			wantSDK:   "invalid subject",
		},
		{
			name:      "an unescaped form of the signed URL is refused",
			key:       currentKey,
			signedURL: url + "&x=a%20b",
			body:      body,
			url:       url + "&x=a b",
			wantErr:   core.ErrURLMismatch,
			wantSDK:   "invalid subject",
		},
		{
			name:      "a token signed with neither key is refused",
			key:       otherKey,
			signedURL: url,
			body:      body,
			url:       url,
			wantErr:   core.ErrInvalidSignature,
			wantSDK:   "signature verification failed",
		},
	}
	for _, signer := range signers {
		for _, tc := range tests {
			t.Run(signer.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				sig := signer.sign(t, tc.key, body, tc.signedURL)

				_, err := v.VerifySignature(sig, tc.body, tc.url)
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("core: got %v, want %v", err, tc.wantErr)
				}

				reason := s.verify(t, checkWithTestKeys(sig, tc.body, tc.url))
				if !strings.Contains(reason, tc.wantSDK) {
					t.Errorf("SDK: got %q, want a refusal naming %q", reason, tc.wantSDK)
				}
			})
		}
	}
}

// issuedVector is one token QStash itself issued, from testdata.
type issuedVector struct {
	CurrentSigningKey string `json:"current_signing_key"`
	NextSigningKey    string `json:"next_signing_key"`
	Signature         string `json:"signature"`
	Body              string `json:"body"`
	URL               string `json:"url"`
	VerifyAtUnix      int64  `json:"verify_at_unix"`
}

func loadIssuedVectors(t *testing.T) []issuedVector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "qstash-issued-tokens.json"))
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var file struct {
		Vectors []issuedVector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("decode vectors: %v", err)
	}
	if len(file.Vectors) == 0 {
		t.Fatalf("no vectors in testdata/qstash-issued-tokens.json")
	}
	return file.Vectors
}

// TestQStashIssuedTokensVerifyWithBoth checks real tokens with both
// verifiers. The SDK checks exp against the real clock and takes no date, so
// it is given a clock tolerance reaching back to the moment the vector is
// valid at; core is given that moment as its clock.
func TestQStashIssuedTokensVerifyWithBoth(t *testing.T) {
	s := requireSDK(t)
	for _, vec := range loadIssuedVectors(t) {
		at := time.Unix(vec.VerifyAtUnix, 0)
		name := "token issued on " + at.UTC().Format(time.DateOnly) +
			" verifies with both and fails with a tampered body"
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v, err := core.NewVerifier(core.WithSigningKeys(vec.CurrentSigningKey,
				vec.NextSigningKey), core.WithDevMode(false),
				core.WithClock(func() time.Time { return at }))
			if err != nil {
				t.Fatalf("core.NewVerifier: %v", err)
			}
			sdkCheck := func(body string) check {
				return check{
					current:   vec.CurrentSigningKey,
					next:      vec.NextSigningKey,
					sig:       vec.Signature,
					body:      []byte(body),
					url:       vec.URL,
					tolerance: time.Since(at) + time.Minute,
				}
			}

			if _, err := v.VerifySignature(vec.Signature, []byte(vec.Body), vec.URL); err != nil {
				t.Errorf("core refused a QStash-issued token: %v", err)
			}
			if reason := s.verify(t, sdkCheck(vec.Body)); reason != "" {
				t.Errorf("SDK refused a QStash-issued token: %s", reason)
			}

			tampered := vec.Body + "!"
			_, err = v.VerifySignature(vec.Signature, []byte(tampered), vec.URL)
			if !errors.Is(err, core.ErrBodyMismatch) {
				t.Errorf("core on a tampered body: got %v, want %v", err, core.ErrBodyMismatch)
			}
			reason := s.verify(t, sdkCheck(tampered))
			if !strings.Contains(reason, "body hash does not match") {
				t.Errorf("SDK on a tampered body: got %q, want a body hash refusal", reason)
			}
		})
	}
}
