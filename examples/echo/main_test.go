package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qstashguard/qstashguard/core"
)

// The published keys of the QStash local dev server, which QSTASH_DEV=true
// selects.
const (
	devCurrentKey = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r"
	devNextKey    = "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs"
)

// start serves h on a loopback port with a real http.Server and returns its
// base URL. The server is shut down, and must stop cleanly, when the test
// ends.
func start(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// call is one request to the app: its path, body and headers, and whether
// and how it is signed.
type call struct {
	path    string
	body    string
	key     string // signs the request for the URL it is sent to; "" leaves it unsigned
	header  map[string]string
	signFor string // the URL to sign for, when not the one the request is sent to
}

// send sends c to the app at base and returns the status and the decoded
// JSON body of the response.
func send(t *testing.T, base string, c call) (int, map[string]any) {
	t.Helper()
	url := base + c.path
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		signFor := url
		if c.signFor != "" {
			signFor = c.signFor
		}
		sig, err := core.Sign(c.key, core.Message{URL: signFor, Body: []byte(c.body)})
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(core.HeaderSignature, sig)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("response %d %q is not a JSON object: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, out
}

// failureCallback is the body of a failure callback for a workflow run.
const failureCallback = `{"status":500,"header":{"Content-Type":["application/json"]},` +
	`"body":"eyJlcnJvciI6ImJvb20ifQ==","url":"http://127.0.0.1/api/workflow",` +
	`"method":"POST","sourceHeader":{"Authorization":["Bearer trigger-token"]},` +
	`"sourceBody":"eyJvcmRlciI6NDJ9","workflowRunId":"wfr_smoke","retried":3,` +
	`"maxRetries":3}`

var failureHeader = map[string]string{core.HeaderWorkflowIsFailure: "true"}

func TestApp(t *testing.T) {
	tests := []struct {
		name       string
		publicURL  string
		bearer     string
		call       call
		wantStatus int
		want       map[string]any // fields the JSON answer must hold
	}{
		{name: "a step signed with the dev key reaches the handler",
			call:       call{path: "/api/workflow", body: `{"order":42,"note":"x"}`, key: devCurrentKey},
			wantStatus: http.StatusOK,
			want:       map[string]any{"ok": true, "key": "current", "fields": 2.0}},
		{name: "a step signed with the dev next key is accepted as the next key",
			call:       call{path: "/api/workflow", body: `{"order":42}`, key: devNextKey},
			wantStatus: http.StatusOK, want: map[string]any{"ok": true, "key": "next"}},
		{name: "an unsigned step is refused through Echo's error handler",
			call:       call{path: "/api/workflow", body: `{"order":42}`},
			wantStatus: http.StatusUnauthorized,
			want:       map[string]any{"message": "missing signature"}},
		{name: "a failure callback reaches the failure function",
			call: call{path: "/api/workflow/failure", body: failureCallback, key: devCurrentKey,
				header: failureHeader},
			wantStatus: http.StatusOK,
			want:       map[string]any{"ok": true, "workflow_run": "wfr_smoke", "failed_status": 500.0}},
		{name: "a failure callback sent to the workflow route is refused",
			call: call{path: "/api/workflow", body: failureCallback, key: devCurrentKey,
				header: failureHeader},
			wantStatus: http.StatusForbidden,
			want:       map[string]any{"message": "failure callback not allowed"}},
		{name: "with APP_BEARER_TOKEN a signed step without the token is refused",
			bearer:     "trigger-token",
			call:       call{path: "/api/workflow", body: `{"order":42}`, key: devCurrentKey},
			wantStatus: http.StatusUnauthorized,
			want:       map[string]any{"message": "missing bearer token"}},
		{name: "with APP_BEARER_TOKEN a signed step with the token passes",
			bearer: "trigger-token",
			call: call{path: "/api/workflow", body: `{"order":42}`, key: devCurrentKey,
				header: map[string]string{"Authorization": "Bearer trigger-token"}},
			wantStatus: http.StatusOK, want: map[string]any{"ok": true}},
		{name: "with -public-url a step signed for the public URL passes",
			publicURL: "https://app.example.com",
			call: call{path: "/api/workflow", body: `{"order":42}`, key: devCurrentKey,
				signFor: "https://app.example.com/api/workflow"},
			wantStatus: http.StatusOK, want: map[string]any{"ok": true}},
		{name: "with -public-url a step signed for the loopback URL is refused",
			publicURL:  "https://app.example.com",
			call:       call{path: "/api/workflow", body: `{"order":42}`, key: devCurrentKey},
			wantStatus: http.StatusUnauthorized, want: map[string]any{"message": "url mismatch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(core.EnvDev, "true")
			var logs bytes.Buffer
			e, err := newApp(tt.publicURL, tt.bearer, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			base := start(t, e)

			status, got := send(t, base, tt.call)

			if status != tt.wantStatus {
				t.Errorf("status %d, want %d (%v)", status, tt.wantStatus, got)
			}
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %v, want %v (answer %v)", k, got[k], want, got)
				}
			}
			if reason, ok := tt.want["message"].(string); ok &&
				!strings.Contains(logs.String(), "reason=\""+reason+"\"") {
				t.Errorf("log %q does not give the reason %q", logs.String(), reason)
			}
		})
	}
}

func TestNewAppWithoutKeys(t *testing.T) {
	for _, name := range []string{core.EnvCurrentSigningKey, core.EnvNextSigningKey,
		core.EnvRegion, core.EnvDev} {
		t.Setenv(name, "")
	}

	e, err := newApp("", "trigger-token", slog.New(slog.NewTextHandler(io.Discard, nil)))

	if !errors.Is(err, core.ErrConfig) || e != nil {
		t.Fatalf("newApp = %v, %v; want nil and an error wrapping core.ErrConfig", e, err)
	}
	if !strings.Contains(err.Error(), core.EnvCurrentSigningKey) {
		t.Errorf("error %q does not name %s", err, core.EnvCurrentSigningKey)
	}
}
