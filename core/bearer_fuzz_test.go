package core

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzBearerToken checks BearerToken's contract on any header value: a
// returned token is non-empty, holds no white space, and is exactly what
// follows the scheme and its separator; anything else is refused with an
// error wrapping ErrMissingBearer. The seed corpus is in
// testdata/fuzz/FuzzBearerToken.
func FuzzBearerToken(f *testing.F) {
	f.Add("Bearer abc")
	f.Fuzz(func(t *testing.T, value string) {
		token, err := BearerToken(http.Header{"Authorization": {value}})
		if err != nil {
			if !errors.Is(err, ErrMissingBearer) {
				t.Fatalf("error %v does not wrap ErrMissingBearer", err)
			}
			if token != "" {
				t.Fatalf("token %q returned with error %v", token, err)
			}
			return
		}
		if token == "" {
			t.Fatal("empty token without error")
		}
		if strings.ContainsFunc(token, isUnicodeSpace) {
			t.Fatalf("token %q holds white space", token)
		}
		if len(value) > MaxAuthorizationLen {
			t.Fatalf("header of %d bytes accepted", len(value))
		}
		scheme, rest := value[:len("Bearer")], value[len("Bearer"):]
		if !strings.EqualFold(scheme, "Bearer") {
			t.Fatalf("header %q accepted with scheme %q", value, scheme)
		}
		sep, ok := strings.CutSuffix(rest, token)
		if !ok || sep == "" || strings.Trim(sep, " \t") != "" {
			t.Fatalf("header %q is not scheme + separator + token %q", value, token)
		}
	})
}

func isUnicodeSpace(r rune) bool {
	return strings.ContainsRune(" \t\n\v\f\r\u0085\u00a0", r) || (r >= 0x2000 && r <= 0x200a) ||
		r == 0x1680 || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
}
