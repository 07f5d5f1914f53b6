package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// checkDemoOutput checks the table the demo prints: every call answered as
// it should, with the reason from the app's error body where one is due.
func checkDemoOutput(t *testing.T, stdout string) {
	t.Helper()
	n := len(demoCalls())
	if want := fmt.Sprintf("%d of %d calls answered as expected.", n, n); !strings.Contains(
		stdout, want) {
		t.Fatalf("output lacks %q:\n%s", want, stdout)
	}
	rows := regexp.MustCompile(`(?m)^ +\d+  .*$`).FindAllString(stdout, -1)
	if len(rows) != n {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), n, stdout)
	}
	for _, want := range []string{
		"401  yes    body mismatch",
		"401  yes    url mismatch",
		"401  yes    signature expired",
		"401  yes    missing signature",
		"401  yes    missing bearer token",
		"403  yes    failure callback not allowed",
		"413  yes    body too large",
	} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, devCurrentSigningKey) || strings.Contains(stdout, devNextSigningKey) {
		t.Fatalf("the demo printed a signing key:\n%s", stdout)
	}
}

func TestDemoInProcess(t *testing.T) {
	r := runTool(t, nil, "demo")
	if r.code != exitOK {
		t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	checkDemoOutput(t, r.stdout)
	assertNoKey(t, r)
}

func TestDemoBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "qstashguard")
	build := exec.Command(goTool(t), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// The bound only keeps a broken demo from hanging the test run; the demo
	// bounds its own time.
	ctx, cancel := context.WithTimeout(context.Background(), 2*demoRunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo")
	cmd.Env = withoutQStashVariables(os.Environ())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("qstashguard demo: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(),
			stderr.String())
	}
	checkDemoOutput(t, stdout.String())
}

// withoutQStashVariables drops the QStash variables from environ, to show
// that the demo needs none.
func withoutQStashVariables(environ []string) []string {
	var out []string
	for _, kv := range environ {
		if !strings.Contains(strings.SplitN(kv, "=", 2)[0], "QSTASH") {
			out = append(out, kv)
		}
	}
	return out
}

func TestDemoReportsMismatches(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
	}{
		{
			name: "an app that lets everything through fails the demo",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Write([]byte(`{"ok":true}`))
			},
			want: []string{"unsigned step", "200  NO     - (want missing signature)"},
		},
		{
			name: "an app that refuses for the wrong reason fails the demo",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error":"invalid signature"}`))
			},
			want: []string{"401  NO     invalid signature (want body mismatch)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			d := &demoRun{ctx: context.Background(), base: srv.URL, workflow: "/wf",
				failure: "/wf/failure", maxBody: 1 << 10, now: time.Now(), runID: "wfr_test"}
			var out bytes.Buffer
			if d.play(&out) {
				t.Fatalf("the demo passed against a broken app:\n%s", out.String())
			}
			for _, want := range tt.want {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}
