package core

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRealQStashTokens(t *testing.T) {
	for _, vec := range loadVectors(t) {
		at := time.Unix(vec.VerifyAtUnix, 0)
		own := WithSigningKeys(vec.CurrentSigningKey, vec.NextSigningKey)
		cases := []struct {
			name    string
			keys    Option
			at      time.Time
			body    string
			url     string
			wantErr error
		}{
			{"it is accepted at its time", own, at, vec.Body, vec.URL, nil},
			{"a changed body is refused", own, at, vec.Body + "!", vec.URL, ErrBodyMismatch},
			{"a changed URL is refused", own, at, vec.Body, vec.URL + "x", ErrURLMismatch},
			{"ten minutes later it is expired", own, at.Add(10 * time.Minute), vec.Body, vec.URL,
				ErrExpired},
			{"keys that are not its own refuse it", WithSigningKeys(testCurrentKey, testNextKey),
				at, vec.Body, vec.URL, ErrInvalidSignature},
			{"its next key alone refuses it", WithSigningKeys(vec.NextSigningKey, ""), at,
				vec.Body, vec.URL, ErrInvalidSignature},
		}
		for _, tc := range cases {
			t.Run(vec.URL+"/"+tc.name, func(t *testing.T) {
				v, err := NewVerifier(tc.keys, WithClock(fixedClock(tc.at)))
				if err != nil {
					t.Fatal(err)
				}
				c, err := v.VerifySignature(vec.Signature, []byte(tc.body), tc.url)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr == nil && (c.Subject != vec.URL || c.Key != KeyCurrent ||
					!strings.HasPrefix(c.ID, "jwt_") || c.Issuer != "Upstash") {
					t.Fatalf("claims = %+v", c)
				}
			})
		}
	}
}

func TestRotation(t *testing.T) {
	cases := []struct {
		name    string
		signer  string
		current string
		next    string
		wantKey Key
		wantErr error
	}{
		{"current key signs", testCurrentKey, testCurrentKey, testNextKey, KeyCurrent, nil},
		{"next key signs after rotation", testNextKey, testCurrentKey, testNextKey, KeyNext, nil},
		{"a current key alone verifies", testCurrentKey, testCurrentKey, "", KeyCurrent, nil},
		{"a key that is neither is refused", "sig_other", testCurrentKey, testNextKey, 0,
			ErrInvalidSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, WithSigningKeys(tc.current, tc.next))
			c, err := v.VerifySignature(signTest(t, tc.signer, "hi", testURL), []byte("hi"), testURL)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && c.Key != tc.wantKey {
				t.Fatalf("key = %v, want %v", c.Key, tc.wantKey)
			}
		})
	}
}

func TestVerifySignatureChecks(t *testing.T) {
	const body = `{"hello":"world"}`
	valid := claimsJSON(t, body, testURL, nil)
	hash := bodyHash([]byte(body))
	cases := []struct {
		name    string
		sig     string
		body    string
		url     string
		opts    []Option
		wantErr error
	}{
		{"a QStash-shaped token is accepted", mintRaw(testCurrentKey, qstashHeader, valid),
			body, testURL, nil, nil},
		{"header keys in another order are accepted",
			mintRaw(testCurrentKey, `{"typ":"JWT","alg":"HS256"}`, valid), body, testURL, nil, nil},
		{"an unpadded body hash is accepted", mintRaw(testCurrentKey, qstashHeader,
			claimsJSON(t, body, testURL, map[string]any{"body": string(hash[:43])})),
			body, testURL, nil, nil},
		{"a not-before of year 1 is accepted", mintRaw(testCurrentKey, qstashHeader,
			claimsJSON(t, body, testURL, map[string]any{"nbf": -62135596800})),
			body, testURL, nil, nil},
		{"an empty url skips the URL check", mintRaw(testCurrentKey, qstashHeader, valid),
			body, "", nil, nil},
		{"an empty signature is missing", "", body, testURL, nil, ErrMissingSignature},
		{"alg none is refused", mintRaw(testCurrentKey, `{"alg":"none","typ":"JWT"}`, valid),
			body, testURL, nil, ErrInvalidSignature},
		{"alg None is refused", mintRaw(testCurrentKey, `{"alg":"None"}`, valid),
			body, testURL, nil, ErrInvalidSignature},
		{"alg NONE with no signature is refused",
			b64(`{"alg":"NONE"}`) + "." + b64(valid) + ".", body, testURL, nil,
			ErrMalformedSignature},
		{"alg HS512 is refused", mintRaw(testCurrentKey, `{"alg":"HS512","typ":"JWT"}`, valid),
			body, testURL, nil, ErrInvalidSignature},
		{"alg hs256 in lower case is refused", mintRaw(testCurrentKey, `{"alg":"hs256"}`, valid),
			body, testURL, nil, ErrInvalidSignature},
		{"a header without alg is refused", mintRaw(testCurrentKey, `{"typ":"JWT"}`, valid),
			body, testURL, nil, ErrInvalidSignature},
		{"a crit header is refused",
			mintRaw(testCurrentKey, `{"alg":"HS256","crit":["b64"],"b64":false}`, valid),
			body, testURL, nil, ErrMalformedSignature},
		{"a duplicate alg is refused",
			mintRaw(testCurrentKey, `{"alg":"none","alg":"HS256"}`, valid),
			body, testURL, nil, ErrMalformedSignature},
		{"a stripped signature is refused",
			strings.TrimRightFunc(mintRaw(testCurrentKey, qstashHeader, valid),
				func(r rune) bool { return r != '.' }), body, testURL, nil, ErrMalformedSignature},
		{"two segments are refused", b64(qstashHeader) + "." + b64(valid), body, testURL, nil,
			ErrMalformedSignature},
		{"four segments are refused", mintRaw(testCurrentKey, qstashHeader, valid) + ".x",
			body, testURL, nil, ErrMalformedSignature},
		{"a token over the size cap is refused", mintRaw(testCurrentKey, qstashHeader,
			claimsJSON(t, body, testURL, map[string]any{"pad": strings.Repeat("a", 9000)})),
			body, testURL, nil, ErrMalformedSignature},
		{"a truncated signature is refused", mintRaw(testCurrentKey, qstashHeader, valid)[:300],
			body, testURL, nil, ErrMalformedSignature},
		{"a token signed with an empty key is refused", mintRaw("", qstashHeader, valid),
			body, testURL, []Option{WithSigningKeys(testCurrentKey, "")}, ErrInvalidSignature},
		{"the issuer must be Upstash", mintRaw(testCurrentKey, qstashHeader,
			claimsJSON(t, body, testURL, map[string]any{"iss": "upstash"})),
			body, testURL, nil, ErrInvalidIssuer},
		{"a missing issuer is refused", mintRaw(testCurrentKey, qstashHeader,
			claimsJSON(t, body, testURL, map[string]any{"iss": nil})),
			body, testURL, nil, ErrInvalidIssuer},
		{"a missing exp is refused", mintRaw(testCurrentKey, qstashHeader,
			claimsJSON(t, body, testURL, map[string]any{"exp": nil})),
			body, testURL, nil, ErrMalformedSignature},
		{"exp as a string is refused", mintRaw(testCurrentKey, qstashHeader,
			claimsJSON(t, body, testURL, map[string]any{"exp": "1800000300"})),
			body, testURL, nil, ErrMalformedSignature},
		{"a token is expired from the second of its exp", mintRaw(testCurrentKey, qstashHeader,
			claimsJSON(t, body, testURL, map[string]any{"exp": testNow.Unix()})),
			body, testURL, nil, ErrExpired},
		{"a token within the tolerance after exp is accepted",
			mintRaw(testCurrentKey, qstashHeader,
				claimsJSON(t, body, testURL, map[string]any{"exp": testNow.Unix() - 5})),
			body, testURL, []Option{WithClockTolerance(10 * time.Second)}, nil},
		{"a token before its nbf is not yet valid", mintRaw(testCurrentKey, qstashHeader,
			claimsJSON(t, body, testURL, map[string]any{"nbf": testNow.Unix() + 60})),
			body, testURL, nil, ErrNotYetValid},
		{"a token within the tolerance before nbf is accepted",
			mintRaw(testCurrentKey, qstashHeader,
				claimsJSON(t, body, testURL, map[string]any{"nbf": testNow.Unix() + 5})),
			body, testURL, []Option{WithClockTolerance(10 * time.Second)}, nil},
		{"another body is refused", mintRaw(testCurrentKey, qstashHeader, valid),
			body + "\n", testURL, nil, ErrBodyMismatch},
		{"a missing body claim is refused", mintRaw(testCurrentKey, qstashHeader,
			claimsJSON(t, body, testURL, map[string]any{"body": nil})),
			body, testURL, nil, ErrBodyMismatch},
		{"another URL is refused", mintRaw(testCurrentKey, qstashHeader, valid),
			body, testURL + "/", nil, ErrURLMismatch},
		{"a line break inside the claims segment is refused, though signed", func() string {
			claims := b64(valid)
			input := b64(qstashHeader) + "." + claims[:8] + "\n" + claims[8:]
			mac := hmac.New(sha256.New, []byte(testCurrentKey))
			mac.Write([]byte(input))
			return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		}(), body, testURL, nil, ErrMalformedSignature},
		{"a NUL byte after the claims is refused", mintRaw(testCurrentKey, qstashHeader,
			valid+"\x00"), body, testURL, nil, ErrMalformedSignature},
		{"a duplicate sub is refused", mintRaw(testCurrentKey, qstashHeader,
			strings.Replace(valid, `"sub":`, `"sub":"https://evil.example/","sub":`, 1)),
			body, testURL, nil, ErrMalformedSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, tc.opts...)
			_, err := v.VerifySignature(tc.sig, []byte(tc.body), tc.url)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestErrorDetail(t *testing.T) {
	v := newTestVerifier(t)
	sig := signTest(t, testCurrentKey, "x", testURL)

	_, err := v.VerifySignature(sig, []byte("x"), "https://example.com/other")
	for _, want := range []string{testURL, "https://example.com/other"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("URL mismatch error %q does not name %s", err, want)
		}
	}

	late := newTestVerifier(t, WithClock(fixedClock(testNow.Add(15*time.Minute))))
	_, err = late.VerifySignature(sig, []byte("x"), testURL)
	if err == nil || !strings.Contains(err.Error(), "10m0s ago") {
		t.Errorf("expiry error %q does not say by how much", err)
	}
	if strings.Contains(err.Error(), testCurrentKey) || strings.Contains(err.Error(), sig) {
		t.Errorf("error %q leaks a key or the token", err)
	}
}

func TestVerifierConfig(t *testing.T) {
	clearEnv(t)
	cases := []struct {
		name    string
		opts    []Option
		wantErr bool
	}{
		{"no key anywhere refuses to build", nil, true},
		{"empty explicit keys refuse to build", []Option{WithSigningKeys("", " ")}, true},
		{"a current key alone builds", []Option{WithSigningKeys(testCurrentKey, "")}, false},
		{"region keys with a default region build",
			[]Option{WithRegionKeys("eu-central-1", testCurrentKey, "")}, false},
		{"an invalid region name is refused",
			[]Option{WithRegionKeys("eu central", testCurrentKey, "")}, true},
		{"two URL options contradict each other",
			[]Option{WithSigningKeys(testCurrentKey, ""), WithURL(testURL), WithoutURLCheck()}, true},
		{"a base URL with a path is refused",
			[]Option{WithSigningKeys(testCurrentKey, ""), WithPublicBaseURL("https://a.io/x")}, true},
		{"a negative tolerance is refused",
			[]Option{WithSigningKeys(testCurrentKey, ""), WithClockTolerance(-time.Second)}, true},
		{"a zero body limit is refused",
			[]Option{WithSigningKeys(testCurrentKey, ""), WithMaxBodyBytes(0)}, true},
		{"dev mode needs no keys", []Option{WithDevMode(true)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier(tc.opts...)
			if tc.wantErr != (err != nil) {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if err != nil && (!errors.Is(err, ErrConfig) || StatusCode(err) != 500) {
				t.Fatalf("err = %v does not wrap ErrConfig", err)
			}
		})
	}
}

func clearEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{EnvCurrentSigningKey, EnvNextSigningKey, EnvRegion, EnvDev,
		"US_EAST_1_" + EnvCurrentSigningKey, "US_EAST_1_" + EnvNextSigningKey,
		"EU_CENTRAL_1_" + EnvCurrentSigningKey, "EU_CENTRAL_1_" + EnvNextSigningKey} {
		t.Setenv(name, "")
	}
}

func TestKeysFromEnvironment(t *testing.T) {
	const euKey, usKey = "sig_euCurrent", "sig_usCurrent"
	cases := []struct {
		name       string
		env        map[string]string
		opts       []Option
		signer     string
		region     string // Upstash-Region header
		wantRegion string
		wantErr    error
		wantConfig bool
	}{
		{"the unprefixed pair verifies", map[string]string{EnvCurrentSigningKey: testCurrentKey},
			nil, testCurrentKey, "", "", nil, false},
		{"the next key from the environment verifies",
			map[string]string{EnvCurrentSigningKey: testCurrentKey, EnvNextSigningKey: testNextKey},
			nil, testNextKey, "", "", nil, false},
		{"no variables refuse to build", nil, nil, "", "", "", nil, true},
		{"the region header picks that region's keys",
			map[string]string{EnvRegion: "EU_CENTRAL_1", "EU_CENTRAL_1_" + EnvCurrentSigningKey: euKey,
				"US_EAST_1_" + EnvCurrentSigningKey: usKey},
			nil, usKey, "us-east-1", "US_EAST_1", nil, false},
		{"a request without a region header uses QSTASH_REGION's keys",
			map[string]string{EnvRegion: "eu-central-1", "EU_CENTRAL_1_" + EnvCurrentSigningKey: euKey},
			nil, euKey, "", "EU_CENTRAL_1", nil, false},
		{"a request without a region header prefers the unprefixed keys",
			map[string]string{EnvRegion: "EU_CENTRAL_1", "EU_CENTRAL_1_" + EnvCurrentSigningKey: euKey,
				EnvCurrentSigningKey: testCurrentKey},
			nil, testCurrentKey, "", "", nil, false},
		{"an unknown region header falls back to the unprefixed keys",
			map[string]string{EnvRegion: "EU_CENTRAL_1", "EU_CENTRAL_1_" + EnvCurrentSigningKey: euKey,
				EnvCurrentSigningKey: testCurrentKey},
			nil, testCurrentKey, "AP_MARS_1", "", nil, false},
		{"another region's key does not verify for a region",
			map[string]string{EnvRegion: "EU_CENTRAL_1", "EU_CENTRAL_1_" + EnvCurrentSigningKey: euKey,
				"US_EAST_1_" + EnvCurrentSigningKey: usKey},
			nil, usKey, "EU_CENTRAL_1", "", ErrInvalidSignature, false},
		{"prefixed keys without QSTASH_REGION are not read",
			map[string]string{"EU_CENTRAL_1_" + EnvCurrentSigningKey: euKey}, nil, euKey, "", "",
			nil, true},
		{"QSTASH_DEV=true selects the dev server keys",
			map[string]string{EnvDev: "true", EnvCurrentSigningKey: testCurrentKey},
			nil, devCurrentSigningKey, "", "", nil, false},
		{"QSTASH_DEV=1 overrides explicit keys", map[string]string{EnvDev: "1"},
			[]Option{WithSigningKeys(testCurrentKey, "")}, devNextSigningKey, "", "", nil, false},
		{"dev mode does not accept the real keys",
			map[string]string{EnvDev: "true", EnvCurrentSigningKey: testCurrentKey},
			nil, testCurrentKey, "", "", ErrInvalidSignature, false},
		{"WithDevMode(false) ignores QSTASH_DEV", map[string]string{EnvDev: "true"},
			[]Option{WithDevMode(false), WithSigningKeys(testCurrentKey, "")},
			devCurrentSigningKey, "", "", ErrInvalidSignature, false},
		{"QSTASH_DEV=false keeps the real keys",
			map[string]string{EnvDev: "false", EnvCurrentSigningKey: testCurrentKey},
			nil, testCurrentKey, "", "", nil, false},
		{"QSTASH_DEV=yes is a configuration error",
			map[string]string{EnvDev: "yes", EnvCurrentSigningKey: testCurrentKey},
			nil, "", "", "", nil, true},
		{"explicit keys override the environment",
			map[string]string{EnvCurrentSigningKey: testCurrentKey},
			[]Option{WithSigningKeys(testNextKey, "")}, testCurrentKey, "", "",
			ErrInvalidSignature, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, val := range tc.env {
				t.Setenv(k, val)
			}
			v, err := NewVerifier(append(tc.opts, WithClock(fixedClock(testNow)))...)
			if tc.wantConfig {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := signedRequest(t, tc.signer, "body", testURL)
			if tc.region != "" {
				r.Header.Set(HeaderRegion, tc.region)
			}
			c, err := v.VerifyRequest(r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && c.Region != tc.wantRegion {
				t.Fatalf("region = %q, want %q", c.Region, tc.wantRegion)
			}
		})
	}
}

// signedRequest is a server-side request for url with body, signed by key.
func signedRequest(t testing.TB, key, body, url string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, url, strings.NewReader(body))
	r.RequestURI = r.URL.RequestURI() // origin-form, as a server sees it
	r.Header.Set(HeaderSignature, signTest(t, key, body, url))
	return r
}

func TestVerifyRequest(t *testing.T) {
	const body = `{"step":1}`
	cases := []struct {
		name    string
		request func(t *testing.T) *http.Request
		opts    []Option
		wantErr error
	}{
		{"a signed request is accepted", func(t *testing.T) *http.Request {
			return signedRequest(t, testCurrentKey, body, testURL)
		}, nil, nil},
		{"the scheme comes from TLS", func(t *testing.T) *http.Request {
			r := signedRequest(t, testCurrentKey, body, testURL)
			r.TLS = nil
			return r
		}, nil, ErrURLMismatch},
		{"plain http is signed as http", func(t *testing.T) *http.Request {
			return signedRequest(t, testCurrentKey, body, "http://127.0.0.1:8080/api/workflow")
		}, nil, nil},
		{"the raw query is part of the URL", func(t *testing.T) *http.Request {
			return signedRequest(t, testCurrentKey, body, testURL+"?a=1&b=two%20words")
		}, nil, nil},
		{"percent-escapes are compared as sent", func(t *testing.T) *http.Request {
			r := signedRequest(t, testCurrentKey, body, "https://example.com/caf%C3%A9")
			r.RequestURI = "/caf%c3%a9"
			return r
		}, nil, ErrURLMismatch},
		{"a path rewritten by a router mount still matches", func(t *testing.T) *http.Request {
			r := signedRequest(t, testCurrentKey, body, testURL)
			r.URL.Path = "/workflow"
			return r
		}, nil, nil},
		{"a forwarded proto header is not trusted", func(t *testing.T) *http.Request {
			r := signedRequest(t, testCurrentKey, body, testURL)
			r.TLS = nil
			r.Header.Set("X-Forwarded-Proto", "https")
			return r
		}, nil, ErrURLMismatch},
		{"a public base URL replaces scheme and host", func(t *testing.T) *http.Request {
			r := signedRequest(t, testCurrentKey, body, "https://public.example/api/workflow?x=1")
			r.Host, r.TLS = "10.0.0.7:8080", nil
			return r
		}, []Option{WithPublicBaseURL("https://public.example/")}, nil},
		{"a fixed URL replaces the request's", func(t *testing.T) *http.Request {
			r := signedRequest(t, testCurrentKey, body, "https://public.example/hook")
			r.Host = "internal"
			return r
		}, []Option{WithURL("https://public.example/hook")}, nil},
		{"without the URL check any URL passes", func(t *testing.T) *http.Request {
			r := signedRequest(t, testCurrentKey, body, "https://elsewhere.example/x")
			return r
		}, []Option{WithoutURLCheck()}, nil},
		{"a missing header is refused", func(t *testing.T) *http.Request {
			return httptest.NewRequest(http.MethodPost, testURL, strings.NewReader(body))
		}, nil, ErrMissingSignature},
		{"two signature headers are refused", func(t *testing.T) *http.Request {
			r := signedRequest(t, testCurrentKey, body, testURL)
			r.Header.Add(HeaderSignature, signTest(t, testCurrentKey, "other", testURL))
			return r
		}, nil, ErrMalformedSignature},
		{"a tampered body is refused", func(t *testing.T) *http.Request {
			r := signedRequest(t, testCurrentKey, body, testURL)
			r.Body = io.NopCloser(strings.NewReader(`{"step":2}`))
			return r
		}, nil, ErrBodyMismatch},
		{"a request without a body is checked against the empty body",
			func(t *testing.T) *http.Request {
				r := httptest.NewRequest(http.MethodGet, testURL, nil)
				r.Header.Set(HeaderSignature, signTest(t, testCurrentKey, "", testURL))
				return r
			}, nil, nil},
		{"a body that fails to read is refused", func(t *testing.T) *http.Request {
			r := signedRequest(t, testCurrentKey, body, testURL)
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader("{"), errReader{}))
			return r
		}, nil, ErrBodyRead},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, tc.opts...)
			r := tc.request(t)
			if _, err := v.VerifyRequest(r); !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestVerifyRequestRestoresBody(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	v := newTestVerifier(t)
	r := signedRequest(t, testCurrentKey, string(body), testURL)
	r.ContentLength = -1 // as with chunked encoding
	if _, err := v.VerifyRequest(r); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r.Body)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("handler read %d bytes (err %v), want the original %d", len(got), err, len(body))
	}
	if err := r.Body.Close(); err != nil {
		t.Fatal(err)
	}
}

// countingReader counts what is read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestBodyLimit(t *testing.T) {
	const limit = 1 << 20
	body := bytes.Repeat([]byte{'a'}, 10<<20)
	cases := []struct {
		name          string
		contentLength int64
		maxRead       int64
	}{
		{"a declared 10 MiB body is refused unread", int64(len(body)), 0},
		{"an undeclared 10 MiB body is refused after the limit", -1, limit + 64<<10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t)
			r := signedRequest(t, testCurrentKey, string(body), testURL)
			cr := &countingReader{r: bytes.NewReader(body)}
			r.Body, r.ContentLength = io.NopCloser(cr), tc.contentLength
			_, err := v.VerifyRequest(r)
			if !errors.Is(err, ErrBodyTooLarge) || StatusCode(err) != http.StatusRequestEntityTooLarge {
				t.Fatalf("err = %v (status %d), want ErrBodyTooLarge and 413", err, StatusCode(err))
			}
			if cr.n > tc.maxRead {
				t.Fatalf("read %d bytes, want at most %d", cr.n, tc.maxRead)
			}
		})
	}

	t.Run("a body exactly at the limit is accepted", func(t *testing.T) {
		v := newTestVerifier(t, WithMaxBodyBytes(1000))
		r := signedRequest(t, testCurrentKey, strings.Repeat("b", 1000), testURL)
		r.ContentLength = -1
		if _, err := v.VerifyRequest(r); err != nil {
			t.Fatal(err)
		}
	})
}

func TestForgedRequestBodyIsNotRead(t *testing.T) {
	v := newTestVerifier(t)
	r := signedRequest(t, "sig_forger", "x", testURL)
	cr := &countingReader{r: strings.NewReader("x")}
	r.Body = io.NopCloser(cr)
	if _, err := v.VerifyRequest(r); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("err = %v", err)
	}
	if cr.n != 0 {
		t.Fatalf("a forged request had %d body bytes read", cr.n)
	}
}

func TestStatusCode(t *testing.T) {
	for _, s := range sentinels {
		wrapped := errors.Join(errors.New("context"), s.err)
		if got := StatusCode(wrapped); got != s.status {
			t.Errorf("StatusCode(%v) = %d, want %d", s.err, got, s.status)
		}
		if got := Reason(wrapped); got != s.err.Error() {
			t.Errorf("Reason(%v) = %q", s.err, got)
		}
	}
	if StatusCode(nil) != http.StatusOK || StatusCode(errors.New("x")) != 500 ||
		Reason(errors.New("secret detail")) != "internal error" {
		t.Error("unknown errors are not mapped to 500 and a generic reason")
	}
}
