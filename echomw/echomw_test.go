package echomw_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/echomw"
)

const (
	currentKey = "sig_echomwCurrentKey1111111111"
	nextKey    = "sig_echomwNextKey2222222222222"
	otherKey   = "sig_notTheAccountsKey333333333"
	appURL     = "http://example.com"
)

// fixedNow is the time every test verifies at; tokens are issued at it.
var fixedNow = time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)

func fixedClock() time.Time { return fixedNow }

// keyOptions are the options of a verifier that knows the test keys and
// the test clock.
func keyOptions(extra ...core.Option) []core.Option {
	return append([]core.Option{core.WithSigningKeys(currentKey, nextKey),
		core.WithClock(fixedClock)}, extra...)
}

// guardOptions are keyOptions as guard options, followed by extra.
func guardOptions(extra ...core.GuardOption) []core.GuardOption {
	var opts []core.GuardOption
	for _, o := range keyOptions() {
		opts = append(opts, o)
	}
	return append(opts, extra...)
}

// signature returns an Upstash-Signature for url and body, issued now.
func signature(t testing.TB, key, url, body string) string {
	t.Helper()
	sig, err := core.Sign(key, core.Message{URL: url, Body: []byte(body), IssuedAt: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// signedRequest returns a JSON request to url carrying body, signed for
// both with the current key.
func signedRequest(t testing.TB, method, url, body string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, url, strings.NewReader(body))
	r.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	r.Header.Set(core.HeaderSignature, signature(t, currentKey, url, body))
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// newEcho returns an Echo whose error handler, like an app's own, renders
// every *echo.HTTPError as {"error": message, "internal": reason}, where
// reason is core.Reason of the error's Internal: it shows that the
// middleware's error reached the app's handler with the core error inside.
// Anything else is rendered as a 500 the tests do not expect.
func newEcho() *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if !errors.As(err, &he) {
			_ = c.JSON(http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		internal := ""
		if he.Internal != nil {
			internal = core.Reason(he.Internal)
		}
		_ = c.JSON(he.Code, map[string]any{"error": he.Message, "internal": internal})
	}
	return e
}

// rendered is what the error handler of newEcho writes.
type rendered struct {
	Error    string
	Internal string
}

func errorBody(t testing.TB, w *httptest.ResponseRecorder) rendered {
	t.Helper()
	var body rendered
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	return body
}

// echoBody answers 200 with the body the handler read.
func echoBody(c echo.Context) error {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/plain", b)
}

func TestVerify(t *testing.T) {
	e := newEcho()
	e.Any("/api/workflow", echoBody, echomw.Verify(keyOptions(core.WithMaxBodyBytes(64))...))

	const url = appURL + "/api/workflow"
	const body = `{"order":"ord_1"}`
	tests := []struct {
		name       string
		method     string
		body       string
		key        string // signs the request; "" for the current key
		signedURL  string // "" for url
		tamper     func(r *http.Request)
		wantStatus int
		wantReason string // "" when the handler answers
	}{
		{name: "valid request reaches the handler with its body",
			wantStatus: http.StatusOK},
		{name: "token signed with the next key is accepted", key: nextKey,
			wantStatus: http.StatusOK},
		{name: "body changed after signing is refused",
			tamper: func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader(`{"order":"ord_2"}`))
			},
			wantStatus: http.StatusUnauthorized, wantReason: "body mismatch"},
		{name: "request without a signature is refused",
			tamper:     func(r *http.Request) { r.Header.Del(core.HeaderSignature) },
			wantStatus: http.StatusUnauthorized, wantReason: "missing signature"},
		{name: "token signed for another URL is refused", signedURL: appURL + "/api/other",
			wantStatus: http.StatusUnauthorized, wantReason: "url mismatch"},
		{name: "token signed with a key not the account's is refused", key: otherKey,
			wantStatus: http.StatusUnauthorized, wantReason: "invalid signature"},
		{name: "body over the limit is refused with 413", body: strings.Repeat("x", 65),
			wantStatus: http.StatusRequestEntityTooLarge, wantReason: "body too large"},
		{name: "GET without a body is verified against the empty body's hash",
			method: http.MethodGet, body: "-", wantStatus: http.StatusOK},
		{name: "DELETE without a body is verified against the empty body's hash",
			method: http.MethodDelete, body: "-", wantStatus: http.StatusOK},
		{name: "GET whose token covers a body it does not carry is refused",
			method: http.MethodGet, body: "-",
			tamper: func(r *http.Request) {
				r.Header.Set(core.HeaderSignature, signature(t, currentKey, url, body))
			},
			wantStatus: http.StatusUnauthorized, wantReason: "body mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := cmp(tt.method, http.MethodPost)
			sent := cmp(tt.body, body)
			var reqBody io.Reader = strings.NewReader(sent)
			if tt.body == "-" {
				sent, reqBody = "", nil
			}
			req := httptest.NewRequest(method, url, reqBody)
			req.Header.Set(core.HeaderSignature, signature(t, cmp(tt.key, currentKey),
				cmp(tt.signedURL, url), sent))
			if tt.tamper != nil {
				tt.tamper(req)
			}

			w := serve(e, req)

			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body)
			}
			if tt.wantReason == "" {
				if got := w.Body.String(); got != sent {
					t.Errorf("handler read %q, want %q", got, sent)
				}
				return
			}
			want := rendered{Error: tt.wantReason, Internal: tt.wantReason}
			if got := errorBody(t, w); got != want {
				t.Errorf("error handler rendered %+v, want %+v", got, want)
			}
			if got := w.Header().Get(echo.HeaderWWWAuthenticate); got != "" {
				t.Errorf("WWW-Authenticate %q on a signature failure, want none", got)
			}
		})
	}
}

// cmp returns s, or def when s is empty.
func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestVerifyWithTheDefaultErrorHandler(t *testing.T) {
	e := echo.New()
	e.POST("/api/workflow", echoBody, echomw.Verify(keyOptions()...))

	w := serve(e, httptest.NewRequest(http.MethodPost, appURL+"/api/workflow", nil))

	var body struct{ Message string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusUnauthorized || body.Message != "missing signature" {
		t.Errorf("got %d %q, want 401 and Echo's {\"message\":\"missing signature\"}",
			w.Code, w.Body)
	}
}

func TestVerifyOverAServer(t *testing.T) {
	e := newEcho()
	e.POST("/api/workflow", echoBody, echomw.Verify(keyOptions()...))
	srv := httptest.NewServer(e)
	defer srv.Close()

	tests := []struct {
		name       string
		signedURL  string
		wantStatus int
	}{
		{"token signed for the server's own URL is accepted", srv.URL + "/api/workflow",
			http.StatusOK},
		{"token signed for the public URL is refused without WithPublicBaseURL",
			"https://app.example.com/api/workflow", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const body = `{"order":"ord_1"}`
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/workflow",
				strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(core.HeaderSignature, signature(t, currentKey, tt.signedURL, body))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}

func TestVerifyKeepsTheBody(t *testing.T) {
	type order struct {
		Order  string `json:"order"`
		Amount int    `json:"amount"`
	}
	const body = `{"order":"ord_1","amount":4200}`
	tests := []struct {
		name    string
		handler echo.HandlerFunc
		want    string
	}{
		{"Bind decodes the body", func(c echo.Context) error {
			var o order
			if err := c.Bind(&o); err != nil {
				return err
			}
			return c.String(http.StatusOK, fmt.Sprintf("%s %d", o.Order, o.Amount))
		}, "ord_1 4200"},
		{"Request().Body reads the bytes sent", echoBody, body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEcho()
			e.POST("/api/workflow", tt.handler, echomw.Verify(keyOptions()...))

			w := serve(e, signedRequest(t, http.MethodPost, appURL+"/api/workflow", body))

			if w.Code != http.StatusOK || w.Body.String() != tt.want {
				t.Errorf("got %d %q, want 200 %q", w.Code, w.Body, tt.want)
			}
		})
	}
}

func TestVerifyScope(t *testing.T) {
	ok := func(c echo.Context) error { return c.NoContent(http.StatusOK) }
	type call struct {
		path   string
		signed bool
		want   int
	}
	tests := []struct {
		name  string
		route func(e *echo.Echo)
		calls []call
	}{
		{
			name: "per-route use leaves other routes open",
			route: func(e *echo.Echo) {
				e.POST("/guarded", ok, echomw.Verify(keyOptions()...))
				e.POST("/open", ok)
			},
			calls: []call{{"/guarded", false, 401}, {"/guarded", true, 200}, {"/open", false, 200}},
		},
		{
			name: "router-wide use guards every route",
			route: func(e *echo.Echo) {
				e.Use(echomw.Verify(keyOptions()...))
				e.POST("/a", ok)
				e.POST("/b", ok)
			},
			calls: []call{{"/a", false, 401}, {"/b", false, 401}, {"/a", true, 200},
				{"/b", true, 200}},
		},
		{
			name: "a route group guards its own routes only",
			route: func(e *echo.Echo) {
				api := e.Group("/api", echomw.Verify(keyOptions()...))
				api.POST("/workflow", ok)
				e.POST("/health", ok)
			},
			calls: []call{{"/api/workflow", false, 401}, {"/api/workflow", true, 200},
				{"/health", false, 200}},
		},
		{
			name: "the skipper lets the requests it picks through unchecked",
			route: func(e *echo.Echo) {
				skip := func(c echo.Context) bool { return c.Path() == "/health" }
				e.Use(echomw.VerifyWithConfig(echomw.Config{Skipper: skip}, keyOptions()...))
				e.POST("/api/workflow", ok)
				e.POST("/health", ok)
			},
			calls: []call{{"/api/workflow", false, 401}, {"/api/workflow", true, 200},
				{"/health", false, 200}},
		},
		{
			name: "a config without a skipper checks every request",
			route: func(e *echo.Echo) {
				e.Use(echomw.VerifyWithConfig(echomw.Config{}, keyOptions()...))
				e.POST("/health", ok)
			},
			calls: []call{{"/health", false, 401}, {"/health", true, 200}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEcho()
			tt.route(e)
			for _, c := range tt.calls {
				req := httptest.NewRequest(http.MethodPost, appURL+c.path, strings.NewReader("{}"))
				if c.signed {
					req = signedRequest(t, http.MethodPost, appURL+c.path, "{}")
				}
				if w := serve(e, req); w.Code != c.want {
					t.Errorf("%s (signed %v): status %d, want %d", c.path, c.signed, w.Code, c.want)
				}
			}
		})
	}
}

func TestSkippersOfTheGuards(t *testing.T) {
	skip := echomw.Config{Skipper: func(c echo.Context) bool { return true }}
	tests := []struct {
		name string
		mw   echo.MiddlewareFunc
	}{
		{"WorkflowWithConfig skips what its skipper picks",
			echomw.WorkflowWithConfig(skip, guardOptions()...)},
		{"FailureWithConfig skips what its skipper picks",
			echomw.FailureWithConfig(skip, guardOptions()...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEcho()
			e.POST("/hook", func(c echo.Context) error { return c.NoContent(http.StatusOK) }, tt.mw)
			w := serve(e, httptest.NewRequest(http.MethodPost, appURL+"/hook", nil))
			if w.Code != http.StatusOK {
				t.Errorf("status %d, want 200", w.Code)
			}
		})
	}
}

func TestVerifyConcurrentRequests(t *testing.T) {
	e := newEcho()
	e.POST("/api/workflow", echoBody, echomw.Verify(keyOptions()...))

	const workers, perWorker = 32, 25
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range perWorker {
				body := fmt.Sprintf(`{"worker":%d,"call":%d}`, g, i)
				req := signedRequest(t, http.MethodPost, appURL+"/api/workflow", body)
				forged := (g+i)%2 == 1
				if forged {
					req.Header.Set(core.HeaderSignature,
						signature(t, otherKey, appURL+"/api/workflow", body))
				}
				w := serve(e, req)
				switch {
				case forged && w.Code != http.StatusUnauthorized:
					t.Errorf("forged call %d/%d: status %d, want 401", g, i, w.Code)
				case !forged && (w.Code != http.StatusOK || w.Body.String() != body):
					t.Errorf("valid call %d/%d: got %d %q, want 200 %q", g, i, w.Code, w.Body, body)
				}
			}
		})
	}
	wg.Wait()
}

func TestConstructorsPanicWithoutKeys(t *testing.T) {
	for _, name := range []string{core.EnvCurrentSigningKey, core.EnvNextSigningKey,
		core.EnvRegion, core.EnvDev} {
		t.Setenv(name, "")
	}
	tests := []struct {
		name  string
		build func()
	}{
		{"Verify panics without keys", func() { echomw.Verify() }},
		{"VerifyWithConfig panics without keys",
			func() { echomw.VerifyWithConfig(echomw.Config{}) }},
		{"Workflow panics without keys", func() { echomw.Workflow() }},
		{"Failure panics without keys", func() { echomw.Failure() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := panicMessage(t, tt.build)
			if !strings.HasPrefix(msg, "echomw: ") ||
				!strings.Contains(msg, "QSTASH_CURRENT_SIGNING_KEY") {
				t.Errorf("panic %q, want one starting with echomw: and naming "+
					"QSTASH_CURRENT_SIGNING_KEY", msg)
			}
		})
	}
}

func TestFailurePanicsWithoutAuthentication(t *testing.T) {
	msg := panicMessage(t, func() { echomw.Failure(core.WithoutSignature()) })
	if !strings.HasPrefix(msg, "echomw: ") || !strings.Contains(msg, "WithBearer") {
		t.Errorf("panic %q, want one starting with echomw: and naming WithBearer", msg)
	}
}

// panicMessage runs f and returns the string it panicked with.
func panicMessage(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		p := recover()
		if p == nil {
			t.Fatal("no panic")
		}
		s, ok := p.(string)
		if !ok {
			t.Fatalf("panicked with %T %v, want a string", p, p)
		}
		msg = s
	}()
	f()
	return ""
}

func TestRejectionLogs(t *testing.T) {
	const body = `{"order":"ord_1"}`
	url := appURL + "/api/workflow"
	tests := []struct {
		name      string
		signedURL string
		sent      string
		want      map[string]string
	}{
		{
			name: "a URL mismatch logs both URLs", signedURL: appURL + "/api/other", sent: body,
			want: map[string]string{"reason": "url mismatch", "want_url": url,
				"got_url": appURL + "/api/other", "message_id": "msg_log"},
		},
		{
			name: "a body mismatch logs the reason and message id", signedURL: url, sent: "{}",
			want: map[string]string{"reason": "body mismatch", "message_id": "msg_log"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&buf,
				&slog.HandlerOptions{Level: slog.LevelDebug}))
			e := newEcho()
			e.POST("/api/workflow", echoBody, echomw.Verify(keyOptions(core.WithLogger(logger))...))
			token := signature(t, currentKey, tt.signedURL, body)
			req := httptest.NewRequest(http.MethodPost, url, strings.NewReader(tt.sent))
			req.Header.Set(core.HeaderSignature, token)
			req.Header.Set(core.HeaderMessageID, "msg_log")

			if w := serve(e, req); w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", w.Code)
			}

			var entry map[string]any
			if err := json.Unmarshal(buf.Bytes(), &entry); err != nil {
				t.Fatalf("log %q: %v", buf.String(), err)
			}
			for k, want := range tt.want {
				if got := entry[k]; got != want {
					t.Errorf("%s = %v, want %q", k, got, want)
				}
			}
			for _, secret := range []string{currentKey, nextKey, token} {
				if strings.Contains(buf.String(), secret) {
					t.Errorf("log holds a key or the token: %s", buf.String())
				}
			}
		})
	}
}

func TestHooks(t *testing.T) {
	var events []string
	var rejected error
	var verified *core.Result
	opts := keyOptions(
		core.WithRejectHook(func(r *http.Request, err error) {
			events = append(events, "reject "+r.URL.Path)
			rejected = err
		}),
		core.WithSuccessHook(func(r *http.Request, res *core.Result) {
			events = append(events, "success "+r.URL.Path)
			verified = res
		}),
	)
	e := newEcho()
	e.POST("/api/workflow", func(c echo.Context) error {
		events = append(events, "handler")
		return c.NoContent(http.StatusOK)
	}, echomw.Verify(opts...))

	serve(e, signedRequest(t, http.MethodPost, appURL+"/api/workflow", "{}"))
	serve(e, httptest.NewRequest(http.MethodPost, appURL+"/api/workflow", nil))

	want := []string{"success /api/workflow", "handler", "reject /api/workflow"}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("events %q, want %q", events, want)
	}
	if !errors.Is(rejected, core.ErrMissingSignature) {
		t.Errorf("reject hook got %v, want ErrMissingSignature", rejected)
	}
	if verified == nil || verified.Claims.Subject != appURL+"/api/workflow" {
		t.Errorf("success hook got %+v, want the claims of the request", verified)
	}
}

func TestResultReachesTheHandler(t *testing.T) {
	report := func(c echo.Context) error {
		res, ok := echomw.Result(c)
		fromCtx, ctxOK := core.FromContext(c.Request().Context())
		claims, claimsOK := echomw.Claims(c)
		_, principalOK := echomw.Principal(c)
		_, failureOK := echomw.FailurePayload(c)
		switch {
		case !ok && !ctxOK && !claimsOK && !principalOK && !failureOK:
			return c.String(http.StatusOK, "none")
		case ok && ctxOK && res == fromCtx && claimsOK && claims == res.Claims &&
			!principalOK && !failureOK:
			return c.String(http.StatusOK, fmt.Sprintf("%s %s %d", claims.Key,
				res.Delivery.MessageID, res.Delivery.Retried))
		}
		return c.String(http.StatusInternalServerError, fmt.Sprintf(
			"inconsistent: %v %v %v %v %v", ok, ctxOK, claimsOK, principalOK, failureOK))
	}
	e := newEcho()
	e.POST("/guarded", report, echomw.Verify(keyOptions()...))
	e.POST("/open", report)

	tests := []struct {
		name string
		req  *http.Request
		want string
	}{
		{"a guarded handler sees the result in the context and the request",
			signedRequest(t, http.MethodPost, appURL+"/guarded", "{}"), "current msg_7 2"},
		{"an open handler sees no result",
			httptest.NewRequest(http.MethodPost, appURL+"/open", nil), "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Header.Set(core.HeaderMessageID, "msg_7")
			tt.req.Header.Set(core.HeaderRetried, "2")
			w := serve(e, tt.req)
			if w.Code != http.StatusOK || w.Body.String() != tt.want {
				t.Errorf("got %d %q, want 200 %q", w.Code, w.Body, tt.want)
			}
		})
	}
}

func TestReplayProtectionSettles(t *testing.T) {
	tests := []struct {
		name    string
		handler echo.HandlerFunc
		first   int
		second  int
	}{
		{"a delivery answered with 500 can be retried with its token",
			func(c echo.Context) error { return c.NoContent(http.StatusInternalServerError) },
			500, 500},
		{"a delivery whose handler returned an error can be retried with its token",
			func(c echo.Context) error { return echo.NewHTTPError(http.StatusBadGateway) },
			502, 502},
		{"a delivery answered with 200 is refused when sent again",
			func(c echo.Context) error { return c.NoContent(http.StatusOK) },
			200, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := core.NewMemoryReplayStore(16, core.WithReplayClock(fixedClock))
			e := newEcho()
			e.POST("/api/workflow", tt.handler,
				echomw.Verify(keyOptions(core.WithReplayProtection(store))...))
			req := signedRequest(t, http.MethodPost, appURL+"/api/workflow", "{}")
			sig := req.Header.Get(core.HeaderSignature)

			first := serve(e, req)
			again := httptest.NewRequest(http.MethodPost, appURL+"/api/workflow",
				strings.NewReader("{}"))
			again.Header.Set(core.HeaderSignature, sig)
			second := serve(e, again)

			if first.Code != tt.first || second.Code != tt.second {
				t.Errorf("statuses %d then %d, want %d then %d", first.Code, second.Code,
					tt.first, tt.second)
			}
		})
	}
}

// failurePayload is a failure callback's body as Upstash Workflow sends
// it; its sourceHeader carries "Authorization: Bearer trigger-token-1".
func failurePayload(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/failure/workflow-list-headers.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWorkflowAndFailure(t *testing.T) {
	bearer := core.WithBearer(core.StaticTokens("trigger-token-0", "trigger-token-1"))
	report := func(c echo.Context) error {
		out := map[string]any{}
		if p, ok := echomw.Principal(c); ok {
			out["principal"] = p.(core.StaticPrincipal).Index
		}
		if f, ok := echomw.FailurePayload(c); ok {
			out["run"], out["status"] = f.WorkflowRunID, f.Status
			out["source"] = string(f.SourceBody)
		}
		_, out["signed"] = echomw.Claims(c)
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return c.JSONBlob(http.StatusOK, b)
	}
	e := newEcho()
	e.POST("/api/workflow", report, echomw.Workflow(guardOptions(bearer)...))
	e.POST("/api/combined", report, echomw.Workflow(guardOptions(core.AllowFailureCallbacks())...))
	e.POST("/api/workflow/failure", report, echomw.Failure(guardOptions(bearer)...))
	e.POST("/api/bearer-only", report, echomw.Workflow(core.WithoutSignature(), bearer))

	step := `[{"stepId":0,"stepName":"init","out":"e30="}]`
	failure := failurePayload(t)
	tests := []struct {
		name          string
		path          string
		body          string
		failure       bool   // marked as a failure callback
		unsigned      bool   // sent without Upstash-Signature
		authorization string // the Authorization header, if any
		wantStatus    int
		wantReason    string
		wantChallenge string // WWW-Authenticate
		want          string // the handler's JSON
	}{
		{name: "step with a bearer token passes and names its principal",
			path: "/api/workflow", body: step, authorization: "Bearer trigger-token-1",
			wantStatus: 200, want: `{"principal":1,"signed":true}`},
		{name: "step without a bearer token is refused with a challenge",
			path: "/api/workflow", body: step,
			wantStatus: 401, wantReason: "missing bearer token", wantChallenge: "Bearer"},
		{name: "step with a wrong bearer token is refused as an invalid token",
			path: "/api/workflow", body: step, authorization: "Bearer not-the-token",
			wantStatus: 401, wantReason: "invalid bearer token",
			wantChallenge: `Bearer error="invalid_token"`},
		{name: "unsigned step with a bearer token is refused",
			path: "/api/workflow", body: step, unsigned: true,
			authorization: "Bearer trigger-token-0",
			wantStatus:    401, wantReason: "missing signature"},
		{name: "bearer-only guard passes an unsigned step without claims",
			path: "/api/bearer-only", body: step, unsigned: true,
			authorization: "Bearer trigger-token-0",
			wantStatus:    200, want: `{"principal":0,"signed":false}`},
		{name: "failure callback is refused on the workflow route",
			path: "/api/workflow", body: failure, failure: true,
			authorization: "Bearer trigger-token-1",
			wantStatus:    403, wantReason: "failure callback not allowed"},
		{name: "failure callback passes a workflow route that allows them",
			path: "/api/combined", body: failure, failure: true, wantStatus: 200,
			want: `{"run":"wfr_Ab3dEfGh1jKlMnOp","signed":true,` +
				`"source":"{\"orderId\":\"ord_1042\",\"amount\":1999}","status":500}`},
		{name: "failure route refuses a workflow step",
			path: "/api/workflow/failure", body: step, authorization: "Bearer trigger-token-1",
			wantStatus: 403, wantReason: "not a failure callback"},
		{name: "failure route hands the handler the decoded payload",
			path: "/api/workflow/failure", body: failure, failure: true,
			authorization: "Bearer trigger-token-0", wantStatus: 200,
			want: `{"principal":0,"run":"wfr_Ab3dEfGh1jKlMnOp","signed":true,` +
				`"source":"{\"orderId\":\"ord_1042\",\"amount\":1999}","status":500}`},
		{name: "failure callback with the token only in its sourceHeader passes",
			path: "/api/workflow/failure", body: failure, failure: true, wantStatus: 200,
			want: `{"principal":1,"run":"wfr_Ab3dEfGh1jKlMnOp","signed":true,` +
				`"source":"{\"orderId\":\"ord_1042\",\"amount\":1999}","status":500}`},
		{name: "unsigned failure callback is refused",
			path: "/api/workflow/failure", body: failure, failure: true, unsigned: true,
			wantStatus: 401, wantReason: "missing signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := signedRequest(t, http.MethodPost, appURL+tt.path, tt.body)
			if tt.unsigned {
				req.Header.Del(core.HeaderSignature)
			}
			if tt.failure {
				req.Header.Set(core.HeaderWorkflowIsFailure, "true")
			}
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}

			w := serve(e, req)

			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body)
			}
			if got := w.Header().Get(echo.HeaderWWWAuthenticate); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.wantChallenge)
			}
			if tt.wantReason != "" {
				want := rendered{Error: tt.wantReason, Internal: tt.wantReason}
				if got := errorBody(t, w); got != want {
					t.Errorf("error handler rendered %+v, want %+v", got, want)
				}
				return
			}
			if got := strings.TrimSpace(w.Body.String()); got != tt.want {
				t.Errorf("handler answered %s, want %s", got, tt.want)
			}
		})
	}
}
