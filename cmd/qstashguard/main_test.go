package main

import (
	"bytes"
	"strings"
	"testing"
)

// Made-up signing keys in QStash's form.
const (
	testCurrentKey = "sig_3mZk8QwT5rLp2xYv7cNb4hJd9gFs"
	testNextKey    = "sig_6tRy1UeW8oPa3sDf5gHj2kLz9xCv"
)

// result is what one run of the tool produced.
type result struct {
	stdout, stderr string
	code           int
}

// runTool runs the tool in-process with environ as its whole environment.
func runTool(t *testing.T, environ map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr, func(k string) string { return environ[k] })
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// assertNoKey fails the test if any output holds one of the keys.
func assertNoKey(t *testing.T, r result, keys ...string) {
	t.Helper()
	for _, k := range append(keys, devCurrentSigningKey, devNextSigningKey) {
		if k != "" && (strings.Contains(r.stdout, k) || strings.Contains(r.stderr, k)) {
			t.Fatalf("output holds a signing key:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"the tool's help lists every command", []string{"--help"}, "verify   check"},
		{"help as a command works too", []string{"help"}, "demo     start"},
		{"help names a command's flags", []string{"help", "sign"}, "-body-file file"},
		{"sign has its own help", []string{"sign", "--help"}, "Usage: qstashguard sign"},
		{"verify has its own help", []string{"verify", "-h"}, "-tolerance duration"},
		{"demo has its own help", []string{"demo", "--help"}, "Usage: qstashguard demo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runTool(t, nil, tt.args...)
			if r.code != exitOK {
				t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.want) {
				t.Fatalf("help does not contain %q:\n%s", tt.want, r.stdout)
			}
			if r.stderr != "" {
				t.Fatalf("help wrote to stderr:\n%s", r.stderr)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	sig := "eyJhbGciOiJIUzI1NiJ9.e30.x"
	url := "http://127.0.0.1:8080/api/workflow"
	dev := map[string]string{"QSTASH_DEV": "true"}
	tests := []struct {
		name    string
		environ map[string]string
		args    []string
		want    string
	}{
		{"no command is a usage error", nil, nil, "Commands:"},
		{"an unknown command is a usage error", nil, []string{"sing"}, `unknown command "sing"`},
		{"an unknown flag is a usage error", dev, []string{"sign", "--bogus"}, "not defined"},
		{"a stray argument is a usage error", dev,
			[]string{"sign", "--url", url, "--body", "", "extra"}, `unexpected argument "extra"`},
		{"sign needs a URL", dev, []string{"sign", "--body", "x"}, "--url is required"},
		{"sign needs an absolute URL", dev, []string{"sign", "--url", "/api", "--body", "x"},
			"not an absolute http or https URL"},
		{"sign needs a body", dev, []string{"sign", "--url", url}, "--body or --body-file"},
		{"sign takes one body only", dev,
			[]string{"sign", "--url", url, "--body", "x", "--body-file", "f"}, "not both"},
		{"a missing body file is a usage error", dev,
			[]string{"sign", "--url", url, "--body-file", "/nonexistent/body"}, "--body-file"},
		{"a zero ttl is a usage error", dev,
			[]string{"sign", "--url", url, "--body", "", "--ttl", "0s"}, "--ttl"},
		{"sign needs a key", nil, []string{"sign", "--url", url, "--body", ""},
			"no signing key: set QSTASH_CURRENT_SIGNING_KEY"},
		{"sign --next needs a next key", map[string]string{"QSTASH_CURRENT_SIGNING_KEY": "sig_a"},
			[]string{"sign", "--next", "--url", url, "--body", ""}, "QSTASH_NEXT_SIGNING_KEY is not set"},
		{"an empty --key is refused", nil,
			[]string{"sign", "--key", " ", "--url", url, "--body", ""}, "--key is blank"},
		{"--key and --next contradict", nil,
			[]string{"sign", "--key", "sig_a", "--next", "--url", url, "--body", ""}, "not both"},
		{"--header needs --curl", dev,
			[]string{"sign", "--url", url, "--body", "", "--header", "A: b"}, "only applies"},
		{"a malformed --header is refused", dev,
			[]string{"sign", "--curl", "--url", url, "--body", "", "--header", "nocolon"},
			"want 'Name: value'"},
		{"a bad QSTASH_DEV is a usage error", map[string]string{"QSTASH_DEV": "yes"},
			[]string{"sign", "--url", url, "--body", ""}, `QSTASH_DEV="yes"`},
		{"verify needs a signature", dev, []string{"verify", "--url", url, "--body", ""},
			"--signature is required"},
		{"verify needs a URL", dev, []string{"verify", "--signature", sig, "--body", ""},
			"--url is required"},
		{"verify needs a body", dev, []string{"verify", "--signature", sig, "--url", url},
			"--body or --body-file"},
		{"verify refuses a time it cannot read", dev,
			[]string{"verify", "--signature", sig, "--url", url, "--body", "", "--at", "noon"},
			"neither RFC 3339"},
		{"verify refuses a negative tolerance", dev,
			[]string{"verify", "--signature", sig, "--url", url, "--body", "", "--tolerance", "-1s"},
			"negative"},
		{"verify refuses a region that cannot be one",
			map[string]string{"QSTASH_CURRENT_SIGNING_KEY": "sig_a"},
			[]string{"verify", "--signature", sig, "--url", url, "--body", "", "--region", "mars/1"},
			"not a QStash region name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runTool(t, tt.environ, tt.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", r.code, exitUsage,
					r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("stderr does not contain %q:\n%s", tt.want, r.stderr)
			}
			if r.stdout != "" {
				t.Fatalf("a usage error wrote to stdout:\n%s", r.stdout)
			}
			assertNoKey(t, r, "sig_a")
		})
	}
}
