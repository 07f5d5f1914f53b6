package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestRejectionLog(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var hooked error
	var succeeded *Result
	v := newTestVerifier(t, WithLogger(logger),
		WithRejectHook(func(_ *http.Request, err error) { hooked = err }),
		WithSuccessHook(func(_ *http.Request, res *Result) { succeeded = res }))

	r := signedRequest(t, testCurrentKey, "secret body", "https://example.com/signed")
	r.TLS = nil // arrived over plain HTTP, say behind a proxy that ends TLS
	r.Header.Set(HeaderMessageID, "msg_42")
	sig := r.Header.Get(HeaderSignature)
	if _, err := v.VerifyRequest(r); !errors.Is(err, ErrURLMismatch) {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(hooked, ErrURLMismatch) {
		t.Errorf("reject hook got %v", hooked)
	}

	var entry map[string]any
	if err := json.Unmarshal(buf.Bytes(), &entry); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	want := map[string]any{"level": "WARN", "reason": "url mismatch", "status": float64(401),
		"message_id": "msg_42", "want_url": "http://example.com/signed",
		"got_url": "https://example.com/signed"}
	for k, val := range want {
		if entry[k] != val {
			t.Errorf("log %s = %v, want %v", k, entry[k], val)
		}
	}
	for _, secret := range []string{testCurrentKey, testNextKey, sig, "secret body"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log leaks %q: %s", secret, buf.String())
		}
	}

	buf.Reset()
	r = signedRequest(t, testCurrentKey, "ok", testURL)
	r.Header.Set(HeaderMessageID, "msg_43")
	if _, err := v.VerifyRequest(r); err != nil {
		t.Fatal(err)
	}
	if succeeded == nil || succeeded.Claims == nil || succeeded.Delivery.MessageID != "msg_43" {
		t.Errorf("success hook got %+v", succeeded)
	}
	if !strings.Contains(buf.String(), `"key":"current"`) {
		t.Errorf("success not logged at debug: %s", buf.String())
	}
}
