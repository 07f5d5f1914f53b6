package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/examples/gin/app"
)

// The published keys of the QStash local dev server, which dev mode uses.
const (
	devCurrentKey = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r"
	devNextKey    = "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

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
		cfg        app.Config
		call       call
		wantStatus int
		want       map[string]any // fields the JSON answer must hold
	}{
		{name: "a step signed with the dev key reaches the handler",
			call: call{path: app.WorkflowPath, body: `{"order":42,"note":"x"}`, key: devCurrentKey,
				header: map[string]string{core.HeaderMessageID: "msg_smoke"}},
			wantStatus: http.StatusOK,
			want: map[string]any{"ok": true, "key": "current", "message_id": "msg_smoke",
				"fields": 2.0}},
		{name: "a step signed with the dev next key is accepted as the next key",
			call:       call{path: app.WorkflowPath, body: `{"order":42}`, key: devNextKey},
			wantStatus: http.StatusOK, want: map[string]any{"ok": true, "key": "next"}},
		{name: "an unsigned step is refused",
			call:       call{path: app.WorkflowPath, body: `{"order":42}`},
			wantStatus: http.StatusUnauthorized,
			want:       map[string]any{"error": "missing signature"}},
		{name: "a step signed with a key that is not the dev key is refused",
			call: call{path: app.WorkflowPath, body: `{"order":42}`,
				key: "sig_notTheDevKey000000000000"},
			wantStatus: http.StatusUnauthorized,
			want:       map[string]any{"error": "invalid signature"}},
		{name: "a failure callback reaches the failure function",
			call: call{path: app.FailurePath, body: failureCallback, key: devCurrentKey,
				header: failureHeader},
			wantStatus: http.StatusOK,
			want: map[string]any{"ok": true, "workflow_run": "wfr_smoke", "failed_status": 500.0,
				"retried": 3.0}},
		{name: "a failure callback sent to the workflow route is refused",
			call: call{path: app.WorkflowPath, body: failureCallback, key: devCurrentKey,
				header: failureHeader},
			wantStatus: http.StatusForbidden,
			want:       map[string]any{"error": "failure callback not allowed"}},
		{name: "a step sent to the failure route is refused",
			call:       call{path: app.FailurePath, body: `{"order":42}`, key: devCurrentKey},
			wantStatus: http.StatusForbidden,
			want:       map[string]any{"error": "not a failure callback"}},
		{name: "with bearer tokens a signed step without one is refused",
			cfg:        app.Config{BearerTokens: []string{"trigger-token"}},
			call:       call{path: app.WorkflowPath, body: `{"order":42}`, key: devCurrentKey},
			wantStatus: http.StatusUnauthorized,
			want:       map[string]any{"error": "missing bearer token"}},
		{name: "with bearer tokens a signed step with one passes",
			cfg: app.Config{BearerTokens: []string{"trigger-token"}},
			call: call{path: app.WorkflowPath, body: `{"order":42}`, key: devCurrentKey,
				header: map[string]string{"Authorization": "Bearer trigger-token"}},
			wantStatus: http.StatusOK, want: map[string]any{"ok": true}},
		{name: "with bearer tokens a failure callback passes on its sourceHeader's token",
			cfg: app.Config{BearerTokens: []string{"trigger-token"}},
			call: call{path: app.FailurePath, body: failureCallback, key: devCurrentKey,
				header: failureHeader},
			wantStatus: http.StatusOK, want: map[string]any{"workflow_run": "wfr_smoke"}},
		{name: "behind a proxy a step signed for the public URL passes",
			cfg: app.Config{Verifier: []core.Option{
				core.WithPublicBaseURL("https://app.example.com")}},
			call: call{path: app.WorkflowPath, body: `{"order":42}`, key: devCurrentKey,
				signFor: "https://app.example.com" + app.WorkflowPath},
			wantStatus: http.StatusOK, want: map[string]any{"ok": true}},
		{name: "behind a proxy a step signed for the loopback URL is refused",
			cfg: app.Config{Verifier: []core.Option{
				core.WithPublicBaseURL("https://app.example.com")}},
			call:       call{path: app.WorkflowPath, body: `{"order":42}`, key: devCurrentKey},
			wantStatus: http.StatusUnauthorized, want: map[string]any{"error": "url mismatch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Verifier = append(cfg.Verifier, core.WithDevMode(true))
			h, err := app.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			base := start(t, h)

			status, got := send(t, base, tt.call)

			if status != tt.wantStatus {
				t.Errorf("status %d, want %d (%v)", status, tt.wantStatus, got)
			}
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %v, want %v (answer %v)", k, got[k], want, got)
				}
			}
		})
	}
}

func TestAppLogsRejections(t *testing.T) {
	var buf bytes.Buffer
	h, err := app.New(app.Config{Verifier: []core.Option{core.WithDevMode(true)},
		Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	base := start(t, h)

	status, _ := send(t, base, call{path: app.WorkflowPath, body: `{}`,
		header: map[string]string{core.HeaderMessageID: "msg_unsigned"}})

	if status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", status)
	}
	var entry map[string]any
	if err := json.Unmarshal(buf.Bytes(), &entry); err != nil {
		t.Fatalf("want one JSON log entry, got %q: %v", buf.String(), err)
	}
	if entry["reason"] != "missing signature" || entry["message_id"] != "msg_unsigned" {
		t.Errorf("log entry %v, want reason \"missing signature\" and message_id msg_unsigned",
			entry)
	}
}

func TestNewWithoutKeys(t *testing.T) {
	for _, name := range []string{core.EnvCurrentSigningKey, core.EnvNextSigningKey,
		core.EnvRegion, core.EnvDev} {
		t.Setenv(name, "")
	}
	tests := []struct {
		name string
		cfg  app.Config
	}{
		{"New without keys anywhere returns a configuration error", app.Config{}},
		{"New with bearer tokens but no signing key still refuses",
			app.Config{BearerTokens: []string{"trigger-token"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := app.New(tt.cfg)
			if !errors.Is(err, core.ErrConfig) || h != nil {
				t.Errorf("New = %v, %v; want nil and an error wrapping core.ErrConfig", h, err)
			}
			if err != nil && !strings.Contains(err.Error(), core.EnvCurrentSigningKey) {
				t.Errorf("error %q does not name %s", err, core.EnvCurrentSigningKey)
			}
		})
	}
}
