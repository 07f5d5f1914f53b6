package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qstashguard/qstashguard/core"
)

const testURL = "http://127.0.0.1:8080/api/workflow"

// verifyWith checks sig with core, using exactly the keys given.
func verifyWith(t *testing.T, current, next, sig string, body []byte,
	url string) (*core.Claims, error) {
	t.Helper()
	v, err := core.NewVerifier(core.WithSigningKeys(current, next), core.WithDevMode(false))
	if err != nil {
		t.Fatal(err)
	}
	return v.VerifySignature(sig, body, url)
}

func TestSignIsAcceptedByCore(t *testing.T) {
	envKeys := map[string]string{
		"QSTASH_CURRENT_SIGNING_KEY": testCurrentKey,
		"QSTASH_NEXT_SIGNING_KEY":    testNextKey,
	}
	otherKey := "sig_9aQs2WdE4rFt6gYh8jUk1lZx3cVb"
	tests := []struct {
		name          string
		environ       map[string]string
		flags         []string
		current, next string
		wantKey       core.Key
	}{
		{"the current key from the environment signs", envKeys, nil,
			testCurrentKey, testNextKey, core.KeyCurrent},
		{"the next key signs with --next, as after a rotation", envKeys, []string{"--next"},
			testCurrentKey, testNextKey, core.KeyNext},
		{"dev mode signs with the dev server's current key", map[string]string{"QSTASH_DEV": "1"},
			nil, devCurrentSigningKey, devNextSigningKey, core.KeyCurrent},
		{"dev mode overrides the environment's keys",
			map[string]string{"QSTASH_DEV": "true", "QSTASH_CURRENT_SIGNING_KEY": testCurrentKey},
			nil, devCurrentSigningKey, "", core.KeyCurrent},
		{"--key overrides the environment", envKeys, []string{"--key", otherKey},
			otherKey, "", core.KeyCurrent},
		{"--key works without any environment", nil, []string{"--key", otherKey},
			otherKey, "", core.KeyCurrent},
		{"--region picks that region's keys",
			map[string]string{
				"QSTASH_REGION":                           "US_EAST_1",
				"US_EAST_1_QSTASH_CURRENT_SIGNING_KEY":    testCurrentKey,
				"EU_CENTRAL_1_QSTASH_CURRENT_SIGNING_KEY": otherKey,
			},
			[]string{"--region", "eu-central-1"}, otherKey, "", core.KeyCurrent},
		{"without --region the default region's keys sign",
			map[string]string{
				"QSTASH_REGION":                           "eu-central-1",
				"US_EAST_1_QSTASH_CURRENT_SIGNING_KEY":    testCurrentKey,
				"EU_CENTRAL_1_QSTASH_CURRENT_SIGNING_KEY": otherKey,
			},
			nil, otherKey, "", core.KeyCurrent},
	}
	body := `{"step":"charge","amount":42}`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"sign", "--url", testURL, "--body", body}, tt.flags...)
			r := runTool(t, tt.environ, args...)
			if r.code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
			}
			assertNoKey(t, r, testCurrentKey, testNextKey, otherKey)
			sig := strings.TrimSuffix(r.stdout, "\n")
			if strings.ContainsAny(sig, " \n") {
				t.Fatalf("stdout is not one signature: %q", r.stdout)
			}
			c, err := verifyWith(t, tt.current, tt.next, sig, []byte(body), testURL)
			if err != nil {
				t.Fatalf("core rejects the signature: %v", err)
			}
			if c.Key != tt.wantKey {
				t.Fatalf("signed with the %s key, want the %s key", c.Key, tt.wantKey)
			}
			if got := c.ExpiresAt.Sub(c.IssuedAt); got != core.SignatureLifetime {
				t.Fatalf("lifetime %s, want QStash's %s", got, core.SignatureLifetime)
			}
		})
	}
}

func TestSignOptions(t *testing.T) {
	dev := map[string]string{"QSTASH_DEV": "true"}
	t.Run("a body file is signed byte for byte", func(t *testing.T) {
		body := []byte("line one\r\nline two\x00\xff no newline at the end")
		file := filepath.Join(t.TempDir(), "body.bin")
		if err := os.WriteFile(file, body, 0o600); err != nil {
			t.Fatal(err)
		}
		r := runTool(t, dev, "sign", "--url", testURL, "--body-file", file)
		if r.code != exitOK {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
		sig := strings.TrimSpace(r.stdout)
		if _, err := verifyWith(t, devCurrentSigningKey, "", sig, body, testURL); err != nil {
			t.Fatalf("core rejects the signature: %v", err)
		}
	})
	t.Run("a negative ttl gives a signature that has expired", func(t *testing.T) {
		r := runTool(t, dev, "sign", "--url", testURL, "--body", "", "--ttl", "-1m")
		if r.code != exitOK {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
		_, err := verifyWith(t, devCurrentSigningKey, "", strings.TrimSpace(r.stdout), nil, testURL)
		if !errors.Is(err, core.ErrExpired) {
			t.Fatalf("got %v, want an expired signature", err)
		}
	})
	t.Run("a ttl sets the expiry", func(t *testing.T) {
		r := runTool(t, dev, "sign", "--url", testURL, "--body", "", "--ttl", "1h")
		c, err := verifyWith(t, devCurrentSigningKey, "", strings.TrimSpace(r.stdout), nil, testURL)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ExpiresAt.Sub(c.IssuedAt); got != time.Hour {
			t.Fatalf("lifetime %s, want 1h", got)
		}
	})
	t.Run("--key warns about the shell's history, without the key", func(t *testing.T) {
		r := runTool(t, nil, "sign", "--key", testCurrentKey, "--url", testURL, "--body", "")
		if r.code != exitOK || !strings.Contains(r.stderr, "shell's history") {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		assertNoKey(t, r, testCurrentKey)
	})
}

// curlArgs runs a curl command line through the shell with curl replaced
// by a function that prints its arguments, so the test sees exactly what
// curl would receive, whatever the quoting.
func curlArgs(t *testing.T, dir, command string) []string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("the curl test needs a POSIX shell: %v", err)
	}
	script := "curl() { printf '%s\\000' \"$@\"; }\n" + command + "\n"
	cmd := exec.Command(sh, "-c", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the shell refuses the command: %v\n%s", err, command)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// parsedCurl is what a curl command sends.
type parsedCurl struct {
	url     string
	headers map[string]string
	dataArg string // the argument of --data-raw or --data-binary
	dataOpt string
}

func parseCurl(t *testing.T, args []string) parsedCurl {
	t.Helper()
	p := parsedCurl{headers: map[string]string{}}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-sS", "-i":
		case "-H":
			i++
			name, value, _ := strings.Cut(args[i], ": ")
			p.headers[name] = value
		case "--data-raw", "--data-binary":
			i++
			p.dataOpt, p.dataArg = a, args[i]
		default:
			if p.url != "" {
				t.Fatalf("unexpected curl argument %q", a)
			}
			p.url = a
		}
	}
	return p
}

func TestSignCurl(t *testing.T) {
	dev := map[string]string{"QSTASH_DEV": "true"}
	awkwardURL := "http://127.0.0.1:8080/api/it's?q=$HOME&x=`id`"
	tests := []struct {
		name     string
		url      string
		body     string
		headers  []string
		wantType string
	}{
		{"a JSON body is sent as JSON", testURL, `{"a":"it's $HOME"}`, nil, "application/json"},
		{"a text body is sent as text", testURL, "Hello World\n", nil, "text/plain"},
		{"a body starting with @ is not read as a file", testURL, "@/etc/passwd", nil,
			"text/plain"},
		{"quotes and shell syntax survive in the URL", awkwardURL, "", nil, "text/plain"},
		{"extra headers are sent, a Content-Type among them replacing the guess", testURL,
			"{}", []string{"Authorization: Bearer demo-token", "content-type: text/x-custom"},
			"text/x-custom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"sign", "--curl", "--url", tt.url, "--body", tt.body}
			for _, h := range tt.headers {
				args = append(args, "--header", h)
			}
			r := runTool(t, dev, args...)
			if r.code != exitOK {
				t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
			}
			assertNoKey(t, r)
			p := parseCurl(t, curlArgs(t, t.TempDir(), r.stdout))
			if p.url != tt.url {
				t.Fatalf("curl calls %q, want %q", p.url, tt.url)
			}
			if p.dataOpt != "--data-raw" || p.dataArg != tt.body {
				t.Fatalf("curl sends %s %q, want --data-raw %q", p.dataOpt, p.dataArg, tt.body)
			}
			if _, err := verifyWith(t, devCurrentSigningKey, "", p.headers["Upstash-Signature"],
				[]byte(tt.body), tt.url); err != nil {
				t.Fatalf("core rejects the signature curl sends: %v", err)
			}
			gotType := p.headers["Content-Type"] + p.headers["content-type"]
			if gotType != tt.wantType {
				t.Fatalf("Content-Type %q, want %q", gotType, tt.wantType)
			}
			if strings.Contains(strings.Join(tt.headers, ""), "Bearer") &&
				p.headers["Authorization"] != "Bearer demo-token" {
				t.Fatalf("Authorization header lost: %v", p.headers)
			}
		})
	}

	t.Run("a body file is sent with --data-binary @file", func(t *testing.T) {
		dir := t.TempDir()
		name := "step 'one'.json"
		body := []byte("{\"x\":1}\n")
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
		r := runTool(t, dev, "sign", "--curl", "--url", testURL,
			"--body-file", filepath.Join(dir, name))
		if r.code != exitOK {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
		p := parseCurl(t, curlArgs(t, dir, r.stdout))
		if p.dataOpt != "--data-binary" || p.dataArg != "@"+filepath.Join(dir, name) {
			t.Fatalf("curl sends %s %q, want --data-binary @file", p.dataOpt, p.dataArg)
		}
		if _, err := verifyWith(t, devCurrentSigningKey, "", p.headers["Upstash-Signature"],
			body, testURL); err != nil {
			t.Fatalf("core rejects the signature curl sends: %v", err)
		}
	})
}
