package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/qstashguard/qstashguard/core"
)

// runKey is the signing key the smoke tests put in the environment.
const runKey = "sig_runSmokeCurrentKey11111111"

// runServer starts run with args on a loopback port and returns its base
// URL. The server is stopped, and run must return nil, when the test ends.
func runServer(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), &logs,
			func(addr string) { addrs <- addr })
	}()
	select {
	case addr := <-addrs:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run returned %v after the context ended; logs:\n%s", err, &logs)
			}
		})
		return "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("run returned %v before listening; logs:\n%s", err, &logs)
	}
	return ""
}

// setRunEnv gives run the test key and nothing else from the environment.
func setRunEnv(t *testing.T, bearer string) {
	t.Helper()
	t.Setenv(core.EnvCurrentSigningKey, runKey)
	for _, name := range []string{core.EnvNextSigningKey, core.EnvRegion, core.EnvDev} {
		t.Setenv(name, "")
	}
	t.Setenv(EnvBearerToken, bearer)
}

func TestRun(t *testing.T) {
	const body = `{"order":42}`
	tests := []struct {
		name          string
		path          string // "" for /api/workflow
		failure       bool   // sent as a failure callback
		args          []string
		bearer        string // APP_BEARER_TOKEN
		signFor       string // the URL signed for; "" for the one called, "-" for none
		authorization string
		wantStatus    int
		wantReason    string
		wantChallenge string
	}{
		{name: "a signed step is answered", wantStatus: http.StatusOK},
		{name: "an unsigned step is refused", signFor: "-",
			wantStatus: http.StatusUnauthorized, wantReason: "missing signature"},
		{name: "with APP_BEARER_TOKEN a signed step without it is refused with a challenge",
			bearer: "trigger-token", wantStatus: http.StatusUnauthorized,
			wantReason: "missing bearer token", wantChallenge: "Bearer"},
		{name: "with APP_BEARER_TOKEN a signed step carrying it is answered",
			bearer: "trigger-token", authorization: "Bearer trigger-token",
			wantStatus: http.StatusOK},
		{name: "with -public-url a step signed for the public URL is answered",
			args:    []string{"-public-url", "https://app.example.com"},
			signFor: "https://app.example.com/api/workflow", wantStatus: http.StatusOK},
		{name: "a signed failure callback on the failure route is answered",
			path: "/api/workflow/failure", failure: true, wantStatus: http.StatusOK},
		{name: "a signed failure callback on the workflow route is refused", failure: true,
			wantStatus: http.StatusForbidden, wantReason: "failure callback not allowed"},
		{name: "a signed step on the failure route is refused", path: "/api/workflow/failure",
			wantStatus: http.StatusForbidden, wantReason: "not a failure callback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setRunEnv(t, tt.bearer)
			base := runServer(t, tt.args...)
			path := tt.path
			if path == "" {
				path = "/api/workflow"
			}
			req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.failure {
				req.Header.Set(core.HeaderWorkflowIsFailure, "true")
			}
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			if tt.signFor != "-" {
				url := base + path
				if tt.signFor != "" {
					url = tt.signFor
				}
				sig, err := core.Sign(runKey, core.Message{URL: url, Body: []byte(body)})
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set(core.HeaderSignature, sig)
			}

			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)

			var answer struct {
				OK    bool
				Error string
			}
			if err := json.Unmarshal(b, &answer); err != nil {
				t.Fatalf("answer %q is not JSON: %v", b, err)
			}
			if resp.StatusCode != tt.wantStatus || answer.Error != tt.wantReason ||
				answer.OK != (tt.wantReason == "") {
				t.Errorf("got %d %s, want %d and reason %q", resp.StatusCode, b, tt.wantStatus,
					tt.wantReason)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.wantChallenge)
			}
		})
	}
}

func TestRunRefusesToStart(t *testing.T) {
	tests := []struct {
		name string
		key  string
		args []string
		want string // in the error
	}{
		{"without a signing key run names the variable to set", "", nil,
			core.EnvCurrentSigningKey},
		{"with a -public-url that is not a base URL run says so", runKey,
			[]string{"-public-url", "https://app.example.com/api"}, "public base URL"},
		{"with an unknown flag run fails", runKey, []string{"-port", "80"}, "-port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setRunEnv(t, "")
			t.Setenv(core.EnvCurrentSigningKey, tt.key)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stderr bytes.Buffer
			args := append([]string{"-addr", "127.0.0.1:0"}, tt.args...)
			err := run(ctx, args, &stderr, func(string) {
				t.Error("run started listening")
				cancel()
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run returned %v, want an error naming %q", err, tt.want)
			}
		})
	}
}
