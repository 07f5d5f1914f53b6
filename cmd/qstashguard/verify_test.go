package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qstashguard/qstashguard/core"
)

// vector is one token issued by the real QStash service.
type vector struct {
	CurrentSigningKey string `json:"current_signing_key"`
	NextSigningKey    string `json:"next_signing_key"`
	Signature         string `json:"signature"`
	Body              string `json:"body"`
	URL               string `json:"url"`
	VerifyAtUnix      int64  `json:"verify_at_unix"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "qstash-issued-tokens.json"))
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

func (v vector) environ() map[string]string {
	return map[string]string{
		"QSTASH_CURRENT_SIGNING_KEY": v.CurrentSigningKey,
		"QSTASH_NEXT_SIGNING_KEY":    v.NextSigningKey,
	}
}

func (v vector) keys() []string { return []string{v.CurrentSigningKey, v.NextSigningKey} }

func TestVerifyAcceptsQStashIssuedTokens(t *testing.T) {
	for i, v := range loadVectors(t) {
		t.Run(fmt.Sprintf("token %d verifies at its time", i+1), func(t *testing.T) {
			r := runTool(t, v.environ(), "verify", "--signature", v.Signature, "--url", v.URL,
				"--body", v.Body, "--at", fmt.Sprint(v.VerifyAtUnix))
			if r.code != exitOK {
				t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			for _, want := range []string{
				"verdict: VALID, signed with the current signing key",
				"checks (claims verified by core)",
				"key        pass  matches the current signing key",
				"url        pass  " + v.URL,
			} {
				if !strings.Contains(r.stdout, want) {
					t.Fatalf("output lacks %q:\n%s", want, r.stdout)
				}
			}
			if strings.Contains(r.stdout, "FAIL") {
				t.Fatalf("a valid token shows a failed check:\n%s", r.stdout)
			}
			assertNoKey(t, r, v.keys()...)
		})
	}
}

func TestVerifyExplains(t *testing.T) {
	v := loadVectors(t)[0] // exp 2022-10-12T22:50:38Z, nbf and iat 300 s before
	at := fmt.Sprint(v.VerifyAtUnix)
	base := []string{"verify", "--signature", v.Signature}
	tests := []struct {
		name     string
		environ  map[string]string
		args     []string
		wantCode int
		want     []string
	}{
		{
			name:    "a wrong URL shows both URLs and where they part",
			environ: v.environ(),
			args: append(base, "--url", "https://rebaz-qstash.requestcatcher.com/tests",
				"--body", v.Body, "--at", at),
			wantCode: exitRejected,
			want: []string{
				"verdict: REJECTED (url mismatch)",
				"checks (claims decoded WITHOUT verification",
				"url        FAIL  the signature names another URL; they differ from byte 44",
				"expected: https://rebaz-qstash.requestcatcher.com/tests\n",
				"signed:   https://rebaz-qstash.requestcatcher.com/test\n",
				"key        pass  matches the current signing key",
				"body       pass",
			},
		},
		{
			name:     "a changed body shows both hashes",
			environ:  v.environ(),
			args:     append(base, "--url", v.URL, "--body", "Hello World!", "--at", at),
			wantCode: exitRejected,
			want: []string{
				"verdict: REJECTED (body mismatch)",
				`body       FAIL  the body given hashes to f4OxZX_x_FO5LcGBSKHWXfwtSx-j1ncoSt3SABJtkGk=;` +
					` the signature covers "pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4="`,
				"url        pass",
			},
		},
		{
			name:     "an expired token says how long ago and when",
			environ:  v.environ(),
			args:     append(base, "--url", v.URL, "--body", v.Body, "--at", "2022-10-12T23:02:41Z"),
			wantCode: exitRejected,
			want: []string{
				"verdict: REJECTED (signature expired)",
				"expiry     FAIL  expired 12m3s ago at 2022-10-12T22:50:38Z",
				"checked: at 2022-10-12T23:02:41Z, tolerance 0s",
			},
		},
		{
			name:    "a token expired within the tolerance passes",
			environ: v.environ(),
			args: append(base, "--url", v.URL, "--body", v.Body, "--at", "2022-10-12T22:50:40Z",
				"--tolerance", "5s"),
			wantCode: exitOK,
			want: []string{
				"verdict: VALID",
				"expiry     pass  expired 2s ago at 2022-10-12T22:50:38Z, within the tolerance of 5s",
			},
		},
		{
			name:     "a token is expired from the second of its exp on",
			environ:  v.environ(),
			args:     append(base, "--url", v.URL, "--body", v.Body, "--at", "1665615038"),
			wantCode: exitRejected,
			want:     []string{"expiry     FAIL  expired 0s ago at 2022-10-12T22:50:38Z"},
		},
		{
			name:     "a token used before its time says when it starts",
			environ:  v.environ(),
			args:     append(base, "--url", v.URL, "--body", v.Body, "--at", "1665614700"),
			wantCode: exitRejected,
			want: []string{
				"verdict: REJECTED (signature not yet valid)",
				"not-before FAIL  not valid for another 38s, until 2022-10-12T22:45:38Z",
			},
		},
		{
			name: "a token signed by the next key names it",
			environ: map[string]string{
				"QSTASH_CURRENT_SIGNING_KEY": testCurrentKey,
				"QSTASH_NEXT_SIGNING_KEY":    v.CurrentSigningKey,
			},
			args:     append(base, "--url", v.URL, "--body", v.Body, "--at", at),
			wantCode: exitOK,
			want: []string{
				"verdict: VALID, signed with the next signing key",
				"key        pass  matches the next signing key",
			},
		},
		{
			name:     "a token signed by another account matches neither key",
			environ:  map[string]string{"QSTASH_CURRENT_SIGNING_KEY": testCurrentKey},
			args:     append(base, "--url", v.URL, "--body", v.Body, "--at", at),
			wantCode: exitRejected,
			want: []string{
				"verdict: REJECTED (invalid signature)",
				"key        FAIL  matches neither the current nor the next signing key",
				// The other checks still explain what the token says.
				"url        pass",
			},
		},
		{
			name: "--key is named as the key that matched",
			args: append(base, "--key", v.CurrentSigningKey, "--url", v.URL, "--body", v.Body,
				"--at", at),
			wantCode: exitOK,
			want:     []string{"verdict: VALID, signed with the key given with --key"},
		},
		{
			name:     "a token cut short is malformed",
			environ:  v.environ(),
			args:     []string{"verify", "--signature", "abc.def", "--url", v.URL, "--body", ""},
			wantCode: exitRejected,
			want: []string{
				"verdict: REJECTED (malformed signature)",
				"form       FAIL  2 dot-separated segments, not the 3 of a JWT",
			},
		},
		{
			name:    "a token asking for no algorithm is refused",
			environ: v.environ(),
			args: []string{"verify", "--signature",
				"eyJhbGciOiJub25lIn0.eyJpc3MiOiJVcHN0YXNoIn0.", "--url", v.URL, "--body", ""},
			wantCode: exitRejected,
			want:     []string{"verdict: REJECTED (malformed signature)", `algorithm "none"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runTool(t, tt.environ, tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", r.code, tt.wantCode,
					r.stdout, r.stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.stdout, want) {
					t.Fatalf("output lacks %q:\n%s", want, r.stdout)
				}
			}
			assertNoKey(t, r, v.keys()...)
		})
	}
}

func TestVerifyCaretMarksTheFirstDifference(t *testing.T) {
	v := loadVectors(t)[0]
	wrong := "https://rebaz-qstash.requestcatcher.com/tast"
	r := runTool(t, v.environ(), "verify", "--signature", v.Signature, "--url", wrong,
		"--body", v.Body, "--at", fmt.Sprint(v.VerifyAtUnix))
	lines := strings.Split(r.stdout, "\n")
	for i, l := range lines {
		if !strings.Contains(l, "signed:   ") {
			continue
		}
		caret := strings.Index(lines[i+1], "^")
		col := strings.Index(l, "https://") + strings.Index(wrong, "tast") + 1
		if caret != col || l[col] != 'e' || lines[i-1][col] != 'a' {
			t.Fatalf("caret at column %d, want %d:\n%s\n%s\n%s", caret, col,
				lines[i-1], l, lines[i+1])
		}
		return
	}
	t.Fatalf("no signed URL line:\n%s", r.stdout)
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want time.Time
	}{
		{"RFC 3339 in UTC is read", "2024-07-15T18:45:51Z", time.Unix(1721069151, 0)},
		{"RFC 3339 with an offset is read", "2024-07-15T20:45:51+02:00", time.Unix(1721069151, 0)},
		{"Unix seconds are read", "1721069151", time.Unix(1721069151, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTime(tt.in)
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestVerifyEscapesUnverifiedClaims(t *testing.T) {
	const key = "sig_escapeTestKey"
	sig, err := core.Sign("sig_someoneElse", core.Message{URL: "https://x/\x1b[2Jfake VALID",
		Body: []byte("b"), ID: "jwt_\x1b]0;title\x07"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	code := run([]string{"verify", "--signature", sig, "--url", "https://x/", "--body", "b",
		"--key", key}, &stdout, &stderr, func(string) string { return "" })
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr.String())
	}
	if strings.ContainsRune(stdout.String(), '\x1b') || strings.ContainsRune(stdout.String(), '\a') {
		t.Fatalf("output carries terminal escapes: %q", stdout.String())
	}
}
