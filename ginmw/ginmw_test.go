package ginmw_test

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

	"github.com/gin-gonic/gin"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/ginmw"
)

const (
	currentKey = "sig_ginmwCurrentKey11111111111"
	nextKey    = "sig_ginmwNextKey22222222222222"
	otherKey   = "sig_notTheAccountsKey333333333"
	appURL     = "http://example.com"
)

// fixedNow is the time every test verifies at; tokens are issued at it.
var fixedNow = time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)

func fixedClock() time.Time { return fixedNow }

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

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

// signedRequest returns a request to url carrying body, signed for both
// with the current key.
func signedRequest(t testing.TB, method, url, body string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, url, strings.NewReader(body))
	r.Header.Set(core.HeaderSignature, signature(t, currentKey, url, body))
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// errorReason returns the "error" field of a JSON error body, or "" when
// the body is not one.
func errorReason(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct{ Error string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		return ""
	}
	return body.Error
}

// echoBody answers 200 with the body the handler read.
func echoBody(c *gin.Context) {
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		c.String(http.StatusInternalServerError, err.Error())
		return
	}
	c.Data(http.StatusOK, "text/plain", b)
}

func TestVerify(t *testing.T) {
	r := gin.New()
	r.Any("/api/workflow", ginmw.Verify(keyOptions(core.WithMaxBodyBytes(64))...), echoBody)

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

			w := serve(r, req)

			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body)
			}
			if tt.wantReason == "" {
				if got := w.Body.String(); got != sent {
					t.Errorf("handler read %q, want %q", got, sent)
				}
				return
			}
			if got := errorReason(t, w); got != tt.wantReason {
				t.Errorf("error %q, want %q (body %s)", got, tt.wantReason, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != "" {
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

func TestVerifyOverAServer(t *testing.T) {
	r := gin.New()
	r.POST("/api/workflow", ginmw.Verify(keyOptions()...), echoBody)
	srv := httptest.NewServer(r)
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
		Order  string `json:"order" binding:"required"`
		Amount int    `json:"amount"`
	}
	const body = `{"order":"ord_1","amount":4200}`
	tests := []struct {
		name    string
		handler gin.HandlerFunc
		want    string
	}{
		{"ShouldBindJSON decodes the body", func(c *gin.Context) {
			var o order
			if err := c.ShouldBindJSON(&o); err != nil {
				c.String(http.StatusBadRequest, err.Error())
				return
			}
			c.String(http.StatusOK, "%s %d", o.Order, o.Amount)
		}, "ord_1 4200"},
		{"GetRawData returns the bytes sent", func(c *gin.Context) {
			b, err := c.GetRawData()
			if err != nil {
				c.String(http.StatusBadRequest, err.Error())
				return
			}
			c.Data(http.StatusOK, "text/plain", b)
		}, body},
		{"Request.Body reads the bytes sent", echoBody, body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			r.POST("/api/workflow", ginmw.Verify(keyOptions()...), tt.handler)

			w := serve(r, signedRequest(t, http.MethodPost, appURL+"/api/workflow", body))

			if w.Code != http.StatusOK || w.Body.String() != tt.want {
				t.Errorf("got %d %q, want 200 %q", w.Code, w.Body, tt.want)
			}
		})
	}
}

func TestVerifyScope(t *testing.T) {
	ok := func(c *gin.Context) { c.Status(http.StatusOK) }
	type call struct {
		path   string
		signed bool
		want   int
	}
	tests := []struct {
		name  string
		route func(r *gin.Engine, mw gin.HandlerFunc)
		calls []call
	}{
		{
			name: "per-route use leaves other routes open",
			route: func(r *gin.Engine, mw gin.HandlerFunc) {
				r.POST("/guarded", mw, ok)
				r.POST("/open", ok)
			},
			calls: []call{{"/guarded", false, 401}, {"/guarded", true, 200}, {"/open", false, 200}},
		},
		{
			name: "router-wide use guards every route",
			route: func(r *gin.Engine, mw gin.HandlerFunc) {
				r.Use(mw)
				r.POST("/a", ok)
				r.POST("/b", ok)
			},
			calls: []call{{"/a", false, 401}, {"/b", false, 401}, {"/a", true, 200},
				{"/b", true, 200}},
		},
		{
			name: "a route group guards its own routes only",
			route: func(r *gin.Engine, mw gin.HandlerFunc) {
				api := r.Group("/api", mw)
				api.POST("/workflow", ok)
				r.POST("/health", ok)
			},
			calls: []call{{"/api/workflow", false, 401}, {"/api/workflow", true, 200},
				{"/health", false, 200}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			tt.route(r, ginmw.Verify(keyOptions()...))
			for _, c := range tt.calls {
				req := httptest.NewRequest(http.MethodPost, appURL+c.path, strings.NewReader("{}"))
				if c.signed {
					req = signedRequest(t, http.MethodPost, appURL+c.path, "{}")
				}
				if w := serve(r, req); w.Code != c.want {
					t.Errorf("%s (signed %v): status %d, want %d", c.path, c.signed, w.Code, c.want)
				}
			}
		})
	}
}

func TestVerifyConcurrentRequests(t *testing.T) {
	r := gin.New()
	r.POST("/api/workflow", ginmw.Verify(keyOptions()...), echoBody)

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
				w := serve(r, req)
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
		{"Verify panics without keys", func() { ginmw.Verify() }},
		{"Workflow panics without keys", func() { ginmw.Workflow() }},
		{"Failure panics without keys", func() { ginmw.Failure() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := panicMessage(t, tt.build)
			if !strings.HasPrefix(msg, "ginmw: ") ||
				!strings.Contains(msg, "QSTASH_CURRENT_SIGNING_KEY") {
				t.Errorf("panic %q, want one starting with ginmw: and naming "+
					"QSTASH_CURRENT_SIGNING_KEY", msg)
			}
		})
	}
}

func TestFailurePanicsWithoutAuthentication(t *testing.T) {
	msg := panicMessage(t, func() { ginmw.Failure(core.WithoutSignature()) })
	if !strings.HasPrefix(msg, "ginmw: ") || !strings.Contains(msg, "WithBearer") {
		t.Errorf("panic %q, want one starting with ginmw: and naming WithBearer", msg)
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
			r := gin.New()
			r.POST("/api/workflow", ginmw.Verify(keyOptions(core.WithLogger(logger))...), echoBody)
			token := signature(t, currentKey, tt.signedURL, body)
			req := httptest.NewRequest(http.MethodPost, url, strings.NewReader(tt.sent))
			req.Header.Set(core.HeaderSignature, token)
			req.Header.Set(core.HeaderMessageID, "msg_log")

			if w := serve(r, req); w.Code != http.StatusUnauthorized {
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
	r := gin.New()
	r.POST("/api/workflow", ginmw.Verify(opts...), func(c *gin.Context) {
		events = append(events, "handler")
		c.Status(http.StatusOK)
	})

	serve(r, signedRequest(t, http.MethodPost, appURL+"/api/workflow", "{}"))
	serve(r, httptest.NewRequest(http.MethodPost, appURL+"/api/workflow", nil))

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
	r := gin.New()
	report := func(c *gin.Context) {
		res, ok := ginmw.Result(c)
		fromCtx, ctxOK := core.FromContext(c.Request.Context())
		claims, claimsOK := ginmw.Claims(c)
		_, principalOK := ginmw.Principal(c)
		_, failureOK := ginmw.FailurePayload(c)
		switch {
		case !ok && !ctxOK && !claimsOK && !principalOK && !failureOK:
			c.String(http.StatusOK, "none")
		case ok && ctxOK && res == fromCtx && claimsOK && claims == res.Claims &&
			!principalOK && !failureOK:
			c.String(http.StatusOK, "%s %s %d", claims.Key, res.Delivery.MessageID,
				res.Delivery.Retried)
		default:
			c.String(http.StatusInternalServerError, "inconsistent: %v %v %v %v %v",
				ok, ctxOK, claimsOK, principalOK, failureOK)
		}
	}
	r.POST("/guarded", ginmw.Verify(keyOptions()...), report)
	r.POST("/open", report)

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
			w := serve(r, tt.req)
			if w.Code != http.StatusOK || w.Body.String() != tt.want {
				t.Errorf("got %d %q, want 200 %q", w.Code, w.Body, tt.want)
			}
		})
	}
}

func TestReplayProtectionSettles(t *testing.T) {
	tests := []struct {
		name   string
		answer int
		second int
	}{
		{"a delivery answered with 500 can be retried with its token", 500, 500},
		{"a delivery answered with 200 is refused when sent again", 200, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := core.NewMemoryReplayStore(16, core.WithReplayClock(fixedClock))
			r := gin.New()
			r.POST("/api/workflow",
				ginmw.Verify(keyOptions(core.WithReplayProtection(store))...),
				func(c *gin.Context) { c.Status(tt.answer) })
			req := signedRequest(t, http.MethodPost, appURL+"/api/workflow", "{}")
			sig := req.Header.Get(core.HeaderSignature)

			first := serve(r, req)
			again := httptest.NewRequest(http.MethodPost, appURL+"/api/workflow",
				strings.NewReader("{}"))
			again.Header.Set(core.HeaderSignature, sig)
			second := serve(r, again)

			if first.Code != tt.answer || second.Code != tt.second {
				t.Errorf("statuses %d then %d, want %d then %d", first.Code, second.Code,
					tt.answer, tt.second)
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
	report := func(c *gin.Context) {
		out := gin.H{}
		if p, ok := ginmw.Principal(c); ok {
			out["principal"] = p.(core.StaticPrincipal).Index
		}
		if f, ok := ginmw.FailurePayload(c); ok {
			out["run"], out["status"] = f.WorkflowRunID, f.Status
			out["source"] = string(f.SourceBody)
		}
		_, out["signed"] = ginmw.Claims(c)
		c.JSON(http.StatusOK, out)
	}
	r := gin.New()
	r.POST("/api/workflow", ginmw.Workflow(guardOptions(bearer)...), report)
	r.POST("/api/combined", ginmw.Workflow(guardOptions(core.AllowFailureCallbacks())...), report)
	r.POST("/api/workflow/failure", ginmw.Failure(guardOptions(bearer)...), report)
	r.POST("/api/bearer-only", ginmw.Workflow(core.WithoutSignature(), bearer), report)

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

			w := serve(r, req)

			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.wantChallenge)
			}
			if tt.wantReason != "" {
				if got := errorReason(t, w); got != tt.wantReason {
					t.Errorf("error %q, want %q", got, tt.wantReason)
				}
				return
			}
			if got := w.Body.String(); got != tt.want {
				t.Errorf("handler answered %s, want %s", got, tt.want)
			}
		})
	}
}
