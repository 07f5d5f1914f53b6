package core

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

func TestAbsoluteFormTargetIsNotTakenFromARewrittenURL(t *testing.T) {
	cases := []struct {
		name     string
		signedAt string
		wantErr  error
	}{
		{"a token for the path of the request line passes", "http://example.com/api/wf", nil},
		{"a token for the rewritten path is refused", "http://example.com/wf", ErrURLMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t)
			r := httptest.NewRequest(http.MethodPost, "http://example.com/api/wf",
				strings.NewReader("{}"))
			r.Header.Set(HeaderSignature, signTest(t, testCurrentKey, "{}", tc.signedAt))
			r.RequestURI = "http://example.com/api/wf" // absolute-form, as a proxy sends it
			r.URL.Path = "/wf"                         // as http.StripPrefix("/api") leaves it
			if _, err := v.VerifyRequest(r); !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestGuardReleasesTheSameDeliveryItRefused(t *testing.T) {
	g, err := NewWorkflowGuard(WithSigningKeys(testCurrentKey, ""), WithClock(fixedClock(testNow)),
		WithReplayProtection(NewMemoryReplayStore(10, WithReplayClock(fixedClock(testNow)))),
		WithBearer(StaticTokens(appToken)))
	if err != nil {
		t.Fatal(err)
	}
	sig := signTest(t, testCurrentKey, "body", testURL)
	send := func(bearer string) error {
		r := signedRequest(t, testCurrentKey, "body", testURL)
		r.Header.Set(HeaderSignature, sig)
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		_, err := g.Check(r)
		return err
	}
	if err := send(""); !errors.Is(err, ErrMissingBearer) {
		t.Fatalf("first delivery: err = %v, want ErrMissingBearer", err)
	}
	if err := send(appToken); err != nil {
		t.Fatalf("the same delivery with its bearer: %v", err)
	}
	if err := send(appToken); !errors.Is(err, ErrReplayed) {
		t.Fatalf("the accepted delivery again: err = %v, want ErrReplayed", err)
	}
}

func TestBodyLimits(t *testing.T) {
	t.Run("a limit of MaxInt64 is refused", func(t *testing.T) {
		_, err := NewVerifier(WithSigningKeys(testCurrentKey, ""), WithMaxBodyBytes(math.MaxInt64))
		if !errors.Is(err, ErrConfig) {
			t.Fatalf("err = %v, want ErrConfig", err)
		}
	})
	t.Run("a huge limit and a lying Content-Length allocate little", func(t *testing.T) {
		v := newTestVerifier(t, WithMaxBodyBytes(1<<40))
		r := signedRequest(t, testCurrentKey, "small", testURL)
		r.ContentLength = 1 << 39
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := v.VerifyRequest(r); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
			t.Fatalf("verifying a 5-byte body allocated %d bytes", grew)
		}
	})
	t.Run("the app's own MaxBytesReader gives 413", func(t *testing.T) {
		v := newTestVerifier(t)
		r := signedRequest(t, testCurrentKey, strings.Repeat("x", 100), testURL)
		r.ContentLength = -1
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 10)
		_, err := v.VerifyRequest(r)
		if !errors.Is(err, ErrBodyTooLarge) || StatusCode(err) != http.StatusRequestEntityTooLarge {
			t.Fatalf("err = %v (status %d), want ErrBodyTooLarge (413)", err, StatusCode(err))
		}
	})
}

func TestValuesNotFromConstructorsFailClosed(t *testing.T) {
	var nilGuard *Guard
	var nilVerifier *Verifier
	withZeroVerifier, err := NewWorkflowGuard(WithVerifier(&Verifier{}))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		check func(*http.Request) error
	}{
		{"a zero Guard refuses", func(r *http.Request) error { _, err := (&Guard{}).Check(r); return err }},
		{"a nil Guard refuses", func(r *http.Request) error { _, err := nilGuard.Check(r); return err }},
		{"a zero Verifier refuses", func(r *http.Request) error {
			_, err := (&Verifier{}).VerifyRequest(r)
			return err
		}},
		{"a nil Verifier refuses", func(r *http.Request) error { _, err := nilVerifier.Check(r); return err }},
		{"a guard around a zero Verifier refuses", func(r *http.Request) error {
			_, err := withZeroVerifier.Check(r)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, testURL, strings.NewReader("{}"))
			if err := tc.check(r); !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
	if _, err := NewVerifier(nil); !errors.Is(err, ErrConfig) {
		t.Errorf("NewVerifier(nil): err = %v", err)
	}
	if _, err := NewWorkflowGuard(Option(nil)); !errors.Is(err, ErrConfig) {
		t.Errorf("NewWorkflowGuard(Option(nil)): err = %v", err)
	}
}

func TestJWKSURLErrorsHideCredentials(t *testing.T) {
	_, err := JWTBearer(WithJWTAlgorithms("RS256"),
		WithJWKSURL("http://user:s3cretPW@example.com/jwks?api_key=APIKEY123"))
	if err == nil || strings.Contains(err.Error(), "s3cretPW") ||
		strings.Contains(err.Error(), "APIKEY123") {
		t.Fatalf("err = %v", err)
	}
}

func TestNoKeyHintRespectsPinnedDevMode(t *testing.T) {
	clearEnv(t)
	_, err := NewVerifier(WithDevMode(false))
	if !errors.Is(err, ErrConfig) || strings.Contains(err.Error(), EnvDev+"=true") {
		t.Fatalf("err = %v: must not suggest %s=true, which WithDevMode(false) ignores", err, EnvDev)
	}
	_, err = NewVerifier()
	if err == nil || !strings.Contains(err.Error(), EnvDev+"=true") {
		t.Fatalf("err = %v: should suggest dev mode", err)
	}
}
