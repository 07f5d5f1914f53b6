package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/examples/gin/app"
)

const demoUsage = `Usage: qstashguard demo [--verbose]

Starts the Gin example app (examples/gin) on a loopback port, with its
workflow and failure guards, QStash signature verification on the local dev
server's published keys and a demo bearer token, then sends it a scripted
series of calls shaped like the ones QStash and Upstash Workflow send: good
ones, forged ones, expired ones, failure callbacks with and without
authentication. It prints what each call should get and what it got, stops
the app, and exits 0 only if every call got what it should.

It needs no keys, no account and no network beyond the loopback interface.
`

// Bounds that keep the demo from hanging on a broken app: each call, the
// whole run, and the server's shutdown.
const (
	demoCallTimeout     = 10 * time.Second
	demoRunTimeout      = 60 * time.Second
	demoShutdownTimeout = 5 * time.Second
)

// demoBearer is the token the demo's trigger sends, as an app's own caller
// would; Upstash Workflow forwards it on every call of the run.
const demoBearer = "demo-token"

// demoMaxBody is the app's body limit in the demo, set below core's default
// to show the option at work.
const demoMaxBody = 64 << 10

// demoCall is one scripted request and what the guards should answer.
type demoCall struct {
	name       string
	wantStatus int
	wantReason string // the error body's reason; "" for a call that passes
	wantNote   string // for a call that passes, what the handler must report
	build      func(d *demoRun) (*http.Request, error)
}

// demoRun holds what the calls are built from.
type demoRun struct {
	ctx         context.Context
	base        string // http://127.0.0.1:port
	workflow    string // path of the workflow route
	failure     string // path of the failure route
	maxBody     int64
	now         time.Time
	runID       string
	triggerBody []byte
	sent        int // calls so far, to number the message ids
}

func runDemo(e *env, args []string) int {
	fs := newFlagSet(e, "demo")
	verbose := fs.Bool("verbose", false,
		"also print the app's log of each rejection, the operator's detail, to stderr")
	if status, done := parseFlags(e, fs, demoUsage, args); done {
		return status
	}

	ctx, cancel := context.WithTimeout(context.Background(), demoRunTimeout)
	defer cancel()

	var logger *slog.Logger
	if *verbose {
		logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	// Release mode keeps Gin from printing its routes over the table.
	gin.SetMode(gin.ReleaseMode)
	handler, err := app.New(app.Config{
		Verifier:     []core.Option{core.WithDevMode(true), core.WithMaxBodyBytes(demoMaxBody)},
		BearerTokens: []string{demoBearer},
		Logger:       logger,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "qstashguard demo: building the example app: %v\n", err)
		return exitRejected
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(e.stderr, "qstashguard demo: %v\n", err)
		return exitRejected
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: demoCallTimeout,
		ReadTimeout: demoCallTimeout}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	d := &demoRun{
		ctx:         ctx,
		base:        "http://" + ln.Addr().String(),
		workflow:    app.WorkflowPath,
		failure:     app.FailurePath,
		maxBody:     demoMaxBody,
		now:         time.Now(),
		runID:       "wfr_demo",
		triggerBody: []byte(`{"orderId":"ord_1042","amount":4200,"currency":"EUR"}`),
	}
	fmt.Fprintf(e.stdout, "qstashguard demo: the Gin example app is listening on %s\n", d.base)
	fmt.Fprintf(e.stdout, "routes %s and %s; the QStash dev server's keys; bearer token %q; "+
		"body limit %d KiB\n\n", d.workflow, d.failure, demoBearer, demoMaxBody>>10)
	ok := d.play(e.stdout)

	shutdownCtx, stop := context.WithTimeout(context.Background(), demoShutdownTimeout)
	defer stop()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintf(e.stderr, "qstashguard demo: stopping the app: %v\n", err)
		srv.Close()
		ok = false
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(e.stderr, "qstashguard demo: the app stopped: %v\n", err)
		ok = false
	}
	if !ok {
		return exitRejected
	}
	return exitOK
}

// play sends every call and prints the table; it reports whether every call
// got the status and reason it should.
func (d *demoRun) play(w io.Writer) bool {
	client := &http.Client{
		Timeout: demoCallTimeout,
		Transport: &http.Transport{
			// The over-limit call asks for 100-continue, so that the app
			// refuses it before the client sends a body the app will not
			// read; a server that closes a connection with unread data
			// may reset it before the client reads the answer.
			ExpectContinueTimeout: demoCallTimeout,
			DisableKeepAlives:     true,
		},
	}
	defer client.CloseIdleConnections()

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tcall\twant\tgot\tmatch\treason, or what the handler saw")
	passed := 0
	calls := demoCalls()
	for i, c := range calls {
		got, reason, err := d.send(client, c)
		mark := "yes"
		switch {
		case err != nil:
			mark, reason = "NO", err.Error()
		case got != c.wantStatus || (c.wantReason != "" && reason != c.wantReason) ||
			(c.wantNote != "" && reason != c.wantNote):
			mark = "NO"
		default:
			passed++
		}
		if reason == "" {
			reason = "-"
		}
		if want := c.wantReason + c.wantNote; mark == "NO" && want != "" {
			reason += " (want " + want + ")"
		}
		gotText := "-"
		if got != 0 {
			gotText = fmt.Sprint(got)
		}
		fmt.Fprintf(tw, "%3d\t%s\t%d\t%s\t%s\t%s\n", i+1, c.name, c.wantStatus, gotText,
			mark, reason)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d of %d calls answered as expected.\n", passed, len(calls))
	return passed == len(calls)
}

// send makes one call and returns its status and the reason of its error
// body.
func (d *demoRun) send(client *http.Client, c demoCall) (int, string, error) {
	req, err := c.build(d)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return resp.StatusCode, "", err
	}
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, handlerNote(body), nil
	}
	return resp.StatusCode, errorReason(body), nil
}

// errorReason takes the short reason out of a JSON error body.
func errorReason(body []byte) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	if e.Error != "" {
		return e.Error
	}
	return e.Message
}

// handlerNote says what the example app's handler reported about a call it
// served: which key verified a step, which run a failure callback was for.
func handlerNote(body []byte) string {
	var r struct {
		Key          string `json:"key"`
		WorkflowRun  string `json:"workflow_run"`
		FailedStatus int    `json:"failed_status"`
	}
	if json.Unmarshal(body, &r) != nil {
		return ""
	}
	switch {
	case r.Key != "":
		return "step verified with the " + r.Key + " key"
	case r.WorkflowRun != "":
		return fmt.Sprintf("failure of run %s, status %d", r.WorkflowRun, r.FailedStatus)
	}
	return ""
}

// requestSpec describes one call of the demo run; its zero values give a
// call as QStash would send it.
type requestSpec struct {
	path       string
	body       []byte
	signedBody []byte // nil: the body itself
	sigURL     string // "": the request's own URL
	key        string // "": the current key; "-": no signature
	issuedAt   time.Time
	bearer     string // "": demoBearer; "-": none
	failure    bool   // marked as a failure callback
}

// request builds a POST to s.path with the headers QStash and Upstash
// Workflow send, signed as s says.
func (d *demoRun) request(s requestSpec) (*http.Request, error) {
	dest := d.base + s.path
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, dest, bytes.NewReader(s.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	d.sent++
	req.Header.Set(core.HeaderMessageID, fmt.Sprintf("msg_demo_%02d", d.sent))
	req.Header.Set(core.HeaderWorkflowRunID, d.runID)
	req.Header.Set("Upstash-Workflow-Url", d.base+d.workflow)
	if s.failure {
		req.Header.Set(core.HeaderWorkflowIsFailure, "true")
	}
	switch s.bearer {
	case "-":
	case "":
		req.Header.Set("Authorization", "Bearer "+demoBearer)
	default:
		req.Header.Set("Authorization", "Bearer "+s.bearer)
	}
	if s.key == "-" {
		return req, nil
	}

	key := s.key
	if key == "" {
		key = devCurrentSigningKey
	}
	sigURL := s.sigURL
	if sigURL == "" {
		sigURL = dest
	}
	signed := s.signedBody
	if signed == nil {
		signed = s.body
	}
	iat := s.issuedAt
	if iat.IsZero() {
		iat = d.now
	}
	sig, err := core.Sign(key, core.Message{URL: sigURL, Body: signed, IssuedAt: iat})
	if err != nil {
		return nil, err
	}
	req.Header.Set(core.HeaderSignature, sig)
	return req, nil
}

// stepBody is the body of the first call of a workflow run: the payload the
// run was started with, which the app's step reads.
func (d *demoRun) stepBody() []byte { return d.triggerBody }

// failureBody is a failure callback's payload as Upstash Workflow sends it:
// the failed call's response, and the request that started the run, the
// trigger's Authorization header among its headers.
func (d *demoRun) failureBody() []byte {
	b, _ := json.Marshal(map[string]any{
		"status": 500,
		"header": map[string][]string{"Content-Type": {"application/json"}},
		"body": base64.StdEncoding.EncodeToString(
			[]byte(`{"error":"Error","message":"card declined"}`)),
		"url":    d.base + d.workflow,
		"method": "POST",
		"sourceHeader": map[string][]string{
			"Authorization": {"Bearer " + demoBearer},
			"Content-Type":  {"application/json"},
		},
		"sourceBody":        base64.StdEncoding.EncodeToString(d.triggerBody),
		"workflowRunId":     d.runID,
		"workflowCreatedAt": d.now.Add(-time.Minute).UnixMilli(),
		"sourceMessageId":   "msg_demo_source",
		"retried":           3,
		"maxRetries":        3,
		"dlqId":             "dlq_demo_1",
		"createdAt":         d.now.Add(-time.Minute).UnixMilli(),
	})
	return b
}

// demoCalls is the script: a call QStash would send, then each way a forged
// or misdirected one is refused.
func demoCalls() []demoCall {
	step := func(s requestSpec) func(d *demoRun) (*http.Request, error) {
		return func(d *demoRun) (*http.Request, error) {
			s.path = d.workflow
			if s.body == nil {
				s.body = d.stepBody()
			}
			return d.request(s)
		}
	}
	failure := func(s requestSpec) func(d *demoRun) (*http.Request, error) {
		return func(d *demoRun) (*http.Request, error) {
			if s.path == "" {
				s.path = d.failure
			}
			s.body = d.failureBody()
			s.failure = true
			return d.request(s)
		}
	}
	return []demoCall{
		{name: "signed workflow step", wantStatus: http.StatusOK,
			wantNote: "step verified with the current key", build: step(requestSpec{})},
		{name: "same step, body changed after signing", wantStatus: http.StatusUnauthorized,
			wantReason: "body mismatch",
			build: func(d *demoRun) (*http.Request, error) {
				body := d.stepBody()
				tampered := bytes.Replace(body, []byte("4200"), []byte("9999"), 1)
				return d.request(requestSpec{path: d.workflow, body: tampered, signedBody: body})
			}},
		{name: "step signed for another URL", wantStatus: http.StatusUnauthorized,
			wantReason: "url mismatch",
			build: func(d *demoRun) (*http.Request, error) {
				return d.request(requestSpec{path: d.workflow, body: d.stepBody(),
					sigURL: d.base + "/api/other-workflow"})
			}},
		{name: "step whose signature expired 10m ago", wantStatus: http.StatusUnauthorized,
			wantReason: "signature expired",
			build: func(d *demoRun) (*http.Request, error) {
				return d.request(requestSpec{path: d.workflow, body: d.stepBody(),
					issuedAt: d.now.Add(-core.SignatureLifetime - 10*time.Minute)})
			}},
		{name: "unsigned step", wantStatus: http.StatusUnauthorized,
			wantReason: "missing signature", build: step(requestSpec{key: "-"})},
		{name: "step signed with a key not the account's", wantStatus: http.StatusUnauthorized,
			wantReason: "invalid signature",
			build:      step(requestSpec{key: "sig_notTheAccountsKeyAtAll1234"})},
		{name: "step signed with the next key, after a rotation", wantStatus: http.StatusOK,
			wantNote: "step verified with the next key",
			build:    step(requestSpec{key: devNextSigningKey})},
		{name: "signed step without the bearer token", wantStatus: http.StatusUnauthorized,
			wantReason: "missing bearer token", build: step(requestSpec{bearer: "-"})},
		{name: "signed step with a wrong bearer token", wantStatus: http.StatusUnauthorized,
			wantReason: "invalid bearer token", build: step(requestSpec{bearer: "not-the-token"})},
		{name: "failure callback, signed, with the bearer token",
			wantStatus: http.StatusOK, wantNote: "failure of run wfr_demo, status 500",
			build: failure(requestSpec{})},
		{name: "failure callback, signed, token only in its sourceHeader",
			wantStatus: http.StatusOK, wantNote: "failure of run wfr_demo, status 500",
			build: failure(requestSpec{bearer: "-"})},
		{name: "failure callback without authentication",
			wantStatus: http.StatusUnauthorized, wantReason: "missing signature",
			build: failure(requestSpec{key: "-", bearer: "-"})},
		{name: "failure callback sent to the workflow route",
			wantStatus: http.StatusForbidden, wantReason: "failure callback not allowed",
			build: func(d *demoRun) (*http.Request, error) {
				return failure(requestSpec{path: d.workflow})(d)
			}},
		{name: "workflow step sent to the failure route", wantStatus: http.StatusForbidden,
			wantReason: "not a failure callback",
			build: func(d *demoRun) (*http.Request, error) {
				return d.request(requestSpec{path: d.failure, body: d.stepBody()})
			}},
		{name: "signed step with a body over the limit",
			wantStatus: http.StatusRequestEntityTooLarge, wantReason: "body too large",
			build: func(d *demoRun) (*http.Request, error) {
				body := []byte(`{"blob":"` + strings.Repeat("x", int(d.maxBody)) + `"}`)
				req, err := d.request(requestSpec{path: d.workflow, body: body})
				if err == nil {
					req.Header.Set("Expect", "100-continue")
				}
				return req, err
			}},
	}
}
