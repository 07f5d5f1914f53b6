package core

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestStaticTokens(t *testing.T) {
	const oldToken, newToken = "old-token-0123456789", "new-token-abcdefghij"
	tests := []struct {
		name    string
		tokens  []string
		token   string
		want    int // index of the matching token, when err is nil
		wantErr error
	}{
		{"new token is accepted", []string{oldToken, newToken}, newToken, 1, nil},
		{"old token is still accepted during rotation", []string{oldToken, newToken},
			oldToken, 0, nil},
		{"single token is accepted", []string{newToken}, newToken, 0, nil},
		{"empty configured token keeps the positions of the others", []string{"", newToken},
			newToken, 1, nil},
		{"unknown token is refused", []string{oldToken, newToken}, "other-token", 0,
			ErrInvalidBearer},
		{"prefix of a token is refused", []string{oldToken, newToken}, newToken[:10], 0,
			ErrInvalidBearer},
		{"token with a suffix is refused", []string{oldToken, newToken}, newToken + "x", 0,
			ErrInvalidBearer},
		{"token in another case is refused", []string{oldToken, newToken},
			strings.ToUpper(newToken), 0, ErrInvalidBearer},
		{"empty token is missing", []string{oldToken, newToken}, "", 0, ErrMissingBearer},
		{"empty token is missing even when an empty token is configured",
			[]string{"", newToken}, "", 0, ErrMissingBearer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := StaticTokens(tt.tokens...)
			if err := bearerConfigError(v); err != nil {
				t.Fatalf("bearerConfigError = %v", err)
			}
			p, err := v.ValidateBearer(context.Background(), tt.token)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if p != nil {
					t.Errorf("principal = %v on error", p)
				}
				if tt.token != "" && strings.Contains(err.Error(), tt.token) {
					t.Errorf("error %q holds the token", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if p != (StaticPrincipal{Index: tt.want}) {
				t.Errorf("principal = %#v, want index %d", p, tt.want)
			}
		})
	}
}

func TestStaticTokensConfig(t *testing.T) {
	tests := []struct {
		name   string
		tokens []string
	}{
		{"no token is a configuration error", nil},
		{"only empty tokens are a configuration error", []string{"", ""}},
		{"token with a trailing newline is a configuration error", []string{"abc\n"}},
		{"token with a space is a configuration error", []string{"good", "a b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := StaticTokens(tt.tokens...)
			if err := bearerConfigError(v); !errors.Is(err, ErrConfig) {
				t.Errorf("bearerConfigError = %v, want ErrConfig", err)
			}
			for _, token := range append(tt.tokens, "anything") {
				if _, err := v.ValidateBearer(context.Background(), token); !errors.Is(err,
					ErrConfig) {
					t.Errorf("ValidateBearer(%q) = %v, want ErrConfig", token, err)
				}
			}
		})
	}
}

func TestBearerConfigErrorOfNil(t *testing.T) {
	if err := bearerConfigError(nil); !errors.Is(err, ErrConfig) {
		t.Errorf("bearerConfigError(nil) = %v, want ErrConfig", err)
	}
}

type bearerCtxKey struct{}

func TestBearerFunc(t *testing.T) {
	errBackend := errors.New("session store said no")
	errWrapped := errors.Join(ErrInvalidBearer, errors.New("revoked"))
	errDown := errors.Join(ErrConfig, errors.New("session store unreachable"))
	errOther := errors.Join(ErrReplayed, errors.New("not a bearer error"))
	tests := []struct {
		name      string
		token     string
		principal any
		err       error
		wantErr   []error // all must match
		wantSame  bool    // the error comes back unchanged
		wantCalls int
	}{
		{"principal of the function is returned", "tok", "user-7", nil, nil, false, 1},
		{"plain error becomes an invalid token", "tok", nil, errBackend,
			[]error{ErrInvalidBearer, errBackend}, false, 1},
		{"invalid token error is returned unchanged", "tok", nil, errWrapped,
			[]error{ErrInvalidBearer}, true, 1},
		{"configuration error is returned unchanged", "tok", nil, errDown,
			[]error{ErrConfig}, true, 1},
		{"error wrapping another sentinel becomes an invalid token", "tok", nil, errOther,
			[]error{ErrInvalidBearer, ErrReplayed}, false, 1},
		{"principal is dropped when the function fails", "tok", "user-7", errBackend,
			[]error{ErrInvalidBearer}, false, 1},
		{"empty token is missing and never reaches the function", "", "user-7", nil,
			[]error{ErrMissingBearer}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			v := BearerFunc(func(ctx context.Context, token string) (any, error) {
				calls++
				if token != tt.token {
					t.Errorf("function got token %q, want %q", token, tt.token)
				}
				if ctx.Value(bearerCtxKey{}) != "request" {
					t.Error("function did not get the request context")
				}
				return tt.principal, tt.err
			})
			if err := bearerConfigError(v); err != nil {
				t.Fatalf("bearerConfigError = %v", err)
			}
			ctx := context.WithValue(context.Background(), bearerCtxKey{}, "request")
			p, err := v.ValidateBearer(ctx, tt.token)
			if calls != tt.wantCalls {
				t.Errorf("function called %d times, want %d", calls, tt.wantCalls)
			}
			if tt.wantErr == nil {
				if err != nil || p != tt.principal {
					t.Fatalf("ValidateBearer = %v, %v; want %v, nil", p, err, tt.principal)
				}
				return
			}
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want it to wrap %v", err, want)
				}
			}
			if tt.wantSame && err != tt.err {
				t.Errorf("err = %v, want the function's error unchanged", err)
			}
			if p != nil {
				t.Errorf("principal = %v on error", p)
			}
		})
	}
}

func TestBearerFuncNil(t *testing.T) {
	v := BearerFunc(nil)
	if err := bearerConfigError(v); !errors.Is(err, ErrConfig) {
		t.Errorf("bearerConfigError = %v, want ErrConfig", err)
	}
	if _, err := v.ValidateBearer(context.Background(), "tok"); !errors.Is(err, ErrConfig) {
		t.Errorf("ValidateBearer = %v, want ErrConfig", err)
	}
}

func TestBearerToken(t *testing.T) {
	atLimit := "Bearer " + strings.Repeat("a", MaxAuthorizationLen-len("Bearer "))
	tests := []struct {
		name      string
		values    []string // Authorization header values; nil for none
		want      string
		wantErr   error
		malformed bool // the credential was sent but cannot be read
	}{
		{"token after the scheme is returned", []string{"Bearer abc.DEF-123_~+/"},
			"abc.DEF-123_~+/", nil, false},
		{"token with trailing padding is returned", []string{"Bearer abc=="}, "abc==", nil,
			false},
		{"lower-case scheme is accepted", []string{"bearer abc"}, "abc", nil, false},
		{"upper-case scheme is accepted", []string{"BEARER abc"}, "abc", nil, false},
		{"several spaces before the token are accepted", []string{"Bearer   abc"}, "abc",
			nil, false},
		{"a tab before the token is accepted", []string{"Bearer\tabc"}, "abc", nil, false},
		{"header at the length limit is accepted", []string{atLimit}, atLimit[7:], nil, false},
		{"no header is missing", nil, "", ErrMissingBearer, false},
		{"empty header is missing", []string{""}, "", ErrMissingBearer, false},
		{"basic credentials are no bearer token", []string{"Basic dXNlcjpwYXNz"}, "",
			ErrMissingBearer, false},
		{"scheme glued to the token is another scheme", []string{"Bearerabc"}, "",
			ErrMissingBearer, false},
		{"space before the scheme is another scheme", []string{" Bearer abc"}, "",
			ErrMissingBearer, false},
		{"accented scheme is another scheme", []string{"Beärer abc"}, "", ErrMissingBearer,
			false},
		{"two headers are malformed", []string{"Bearer abc", "Bearer def"}, "",
			ErrMissingBearer, true},
		{"scheme alone is malformed", []string{"Bearer"}, "", ErrMissingBearer, true},
		{"scheme and spaces alone are malformed", []string{"Bearer   "}, "",
			ErrMissingBearer, true},
		{"trailing space is malformed", []string{"Bearer abc "}, "", ErrMissingBearer, true},
		{"space inside the token is malformed", []string{"Bearer abc def"}, "",
			ErrMissingBearer, true},
		{"character outside b64token is malformed", []string{"Bearer secret$value"}, "",
			ErrMissingBearer, true},
		{"padding in the middle is malformed", []string{"Bearer secret=value"}, "",
			ErrMissingBearer, true},
		{"padding alone is malformed", []string{"Bearer =="}, "", ErrMissingBearer, true},
		{"NUL byte is malformed", []string{"Bearer secret\x00"}, "", ErrMissingBearer, true},
		{"non-ASCII token is malformed", []string{"Bearer sécret"}, "", ErrMissingBearer,
			true},
		{"header over the length limit is malformed", []string{atLimit + "a"}, "",
			ErrMissingBearer, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add("Authorization", v)
			}
			got, err := BearerToken(h)
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("BearerToken = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || got != "" {
				t.Fatalf("BearerToken = %q, %v; want error %v", got, err, tt.wantErr)
			}
			var m *malformedBearer
			if errors.As(err, &m) != tt.malformed {
				t.Errorf("error %q: malformed = %v, want %v", err, !tt.malformed, tt.malformed)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q holds the token", err)
			}
		})
	}
}

func TestWWWAuthenticate(t *testing.T) {
	_, malformedErr := BearerToken(http.Header{"Authorization": {"Bearer a b"}})
	_, missingErr := BearerToken(http.Header{})
	_, refusedErr := StaticTokens("good").ValidateBearer(context.Background(), "bad")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no credential gets a challenge without error code", missingErr, "Bearer"},
		{"wrapped missing bearer gets a challenge without error code",
			errors.Join(errors.New("guard"), ErrMissingBearer), "Bearer"},
		{"unreadable credential is an invalid request", malformedErr,
			`Bearer error="invalid_request"`},
		{"refused token is an invalid token", refusedErr, `Bearer error="invalid_token"`},
		{"bare invalid bearer is an invalid token", ErrInvalidBearer,
			`Bearer error="invalid_token"`},
		{"signature error gets no bearer challenge", ErrInvalidSignature, ""},
		{"configuration error gets no bearer challenge", ErrConfig, ""},
		{"no error gets no challenge", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WWWAuthenticate(tt.err); got != tt.want {
				t.Errorf("WWWAuthenticate(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
