package core

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"testing"
)

const appToken = "app-secret-token-1"

// failureBody is a failure callback payload as Upstash Workflow sends it,
// its header values as lists, with the trigger's Authorization header in
// sourceHeader.
func failureBody(sourceAuth string) string {
	enc := base64.StdEncoding.EncodeToString
	src := `{"Content-Type":["application/json"]`
	if sourceAuth != "" {
		src += `,"Authorization":["` + sourceAuth + `"]`
	}
	src += `}`
	return `{"status":500,"header":{"Content-Type":["text/plain"]},"body":"` +
		enc([]byte("boom")) + `","url":"` + testURL + `","method":"POST","sourceHeader":` + src +
		`,"sourceBody":"` + enc([]byte(`{"order":42}`)) + `","workflowRunId":"wfr_abc",` +
		`"workflowCreatedAt":1800000000000,"sourceMessageId":"msg_123","retried":3,` +
		`"maxRetries":3,"dlqId":"dlq_1","notBefore":0,"createdAt":1800000000001,` +
		`"scheduleId":"","callerIP":"203.0.113.9"}`
}

type call struct {
	signed  bool
	bearer  string
	failure bool
	body    string
}

func (c call) request(t *testing.T) *http.Request {
	t.Helper()
	var r *http.Request
	if c.signed {
		r = signedRequest(t, testCurrentKey, c.body, testURL)
	} else {
		r = signedRequest(t, testCurrentKey, c.body, testURL)
		r.Header.Del(HeaderSignature)
	}
	if c.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.failure {
		r.Header.Set("Upstash-Workflow-Is-Failure", "true")
	}
	r.Header.Set(HeaderMessageID, "msg_123")
	r.Header.Set(HeaderRetried, "2")
	r.Header.Set(HeaderWorkflowRunID, "wfr_abc")
	return r
}

func TestGuards(t *testing.T) {
	both := []GuardOption{WithSigningKeys(testCurrentKey, ""), WithClock(fixedClock(testNow)),
		WithBearer(StaticTokens(appToken))}
	bearerOnly := []GuardOption{WithoutSignature(), WithBearer(StaticTokens("old-token", appToken))}
	signatureOnly := []GuardOption{WithSigningKeys(testCurrentKey, ""), WithClock(fixedClock(testNow))}
	step := `{"step":1}`
	cases := []struct {
		name    string
		failure bool // a failure guard, else a workflow guard
		opts    []GuardOption
		call    call
		wantErr error
	}{
		{"an anonymous call is refused on a failure route needing both", true, both,
			call{failure: true, body: failureBody("")}, ErrMissingSignature},
		{"a call with only the bearer is refused on a failure route needing both", true, both,
			call{bearer: appToken, failure: true, body: failureBody("")}, ErrMissingSignature},
		{"a call with only the signature is refused on a failure route needing both", true, both,
			call{signed: true, failure: true, body: failureBody("")}, ErrMissingBearer},
		{"a signed failure callback with the bearer passes", true, both,
			call{signed: true, bearer: appToken, failure: true, body: failureBody("")}, nil},
		{"the bearer is found in sourceHeader", true, both,
			call{signed: true, failure: true, body: failureBody("Bearer " + appToken)}, nil},
		{"a wrong bearer in sourceHeader is refused", true, both,
			call{signed: true, failure: true, body: failureBody("Bearer nope")}, ErrInvalidBearer},
		{"a wrong bearer header is refused even with a good sourceHeader", true, both,
			call{signed: true, bearer: "nope", failure: true, body: failureBody("Bearer " + appToken)},
			ErrInvalidBearer},
		{"a normal step on the failure route is refused", true, both,
			call{signed: true, bearer: appToken, body: step}, ErrNotFailureCallback},
		{"a malformed payload is refused", true, both,
			call{signed: true, bearer: appToken, failure: true, body: `{"status":"500"}`},
			ErrMalformedFailurePayload},
		{"a failure callback on the workflow route is refused", false, both,
			call{signed: true, bearer: appToken, failure: true, body: failureBody("")},
			ErrFailureCallbackNotAllowed},
		{"a failure callback on the workflow route passes when allowed", false,
			append(both[:len(both):len(both)], AllowFailureCallbacks()),
			call{signed: true, bearer: appToken, failure: true, body: failureBody("")}, nil},
		{"a workflow step with signature and bearer passes", false, both,
			call{signed: true, bearer: appToken, body: step}, nil},
		{"a workflow step without the bearer is refused", false, both,
			call{signed: true, body: step}, ErrMissingBearer},
		{"bearer-only mode passes a step with no signing keys at all", false, bearerOnly,
			call{bearer: appToken, body: step}, nil},
		{"a rotated-out token still listed is accepted", false, bearerOnly,
			call{bearer: "old-token", body: step}, nil},
		{"bearer-only mode refuses an anonymous step", false, bearerOnly,
			call{body: step}, ErrMissingBearer},
		{"bearer-only failure route takes the token from sourceHeader", true, bearerOnly,
			call{failure: true, body: failureBody("Bearer " + appToken)}, nil},
		{"bearer-only failure route refuses an anonymous garbage payload as unauthenticated", true,
			bearerOnly, call{failure: true, body: "{not json"}, ErrMissingBearer},
		{"signature-only mode passes a signed step", false, signatureOnly,
			call{signed: true, body: step}, nil},
		{"signature-only mode refuses an unsigned step with a bearer", false, signatureOnly,
			call{bearer: appToken, body: step}, ErrMissingSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			newGuard := NewWorkflowGuard
			if tc.failure {
				newGuard = NewFailureGuard
			}
			g, err := newGuard(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			r := tc.call.request(t)
			res, err := g.Check(r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if res.Delivery.MessageID != "msg_123" || res.Delivery.Retried != 2 ||
				res.Delivery.WorkflowRunID != "wfr_abc" ||
				res.Delivery.FailureCallback != tc.call.failure {
				t.Errorf("delivery = %+v", res.Delivery)
			}
			if (res.Claims != nil) != tc.call.signed {
				t.Errorf("claims = %v for a call signed: %v", res.Claims, tc.call.signed)
			}
			if got, _ := io.ReadAll(r.Body); string(got) != tc.call.body {
				t.Errorf("handler reads body %q, want %q", got, tc.call.body)
			}
			if tc.call.failure != (res.Failure != nil) {
				t.Fatalf("failure payload = %v for a failure callback: %v", res.Failure,
					tc.call.failure)
			}
			if res.Failure != nil && (res.Failure.Status != 500 || string(res.Failure.Body) != "boom" ||
				res.Failure.WorkflowRunID != "wfr_abc" || string(res.Failure.SourceBody) != `{"order":42}`) {
				t.Errorf("failure payload = %+v", res.Failure)
			}
		})
	}
}

func TestGuardPrincipal(t *testing.T) {
	type user struct{ name string }
	g, err := NewWorkflowGuard(WithoutSignature(), WithBearer(BearerFunc(
		func(_ context.Context, token string) (any, error) {
			if token != appToken {
				return nil, errors.New("unknown token")
			}
			return user{"ada"}, nil
		})))
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Check(call{bearer: appToken, body: "{}"}.request(t))
	if err != nil || res.Principal != (user{"ada"}) {
		t.Fatalf("principal = %v, err = %v", res, err)
	}
	_, err = g.Check(call{bearer: "other", body: "{}"}.request(t))
	if !errors.Is(err, ErrInvalidBearer) || StatusCode(err) != http.StatusUnauthorized {
		t.Fatalf("a refusal by the app's function is %v, want ErrInvalidBearer", err)
	}
}

func TestGuardConfig(t *testing.T) {
	v := newTestVerifier(t)
	cases := []struct {
		name    string
		failure bool
		opts    []GuardOption
	}{
		{"a guard with neither check refuses to build", false, []GuardOption{WithoutSignature()}},
		{"a failure guard with neither check refuses to build", true,
			[]GuardOption{WithoutSignature()}},
		{"a guard without keys in the environment refuses to build", true, nil},
		{"static tokens with no token refuse to build", false,
			[]GuardOption{WithoutSignature(), WithBearer(StaticTokens())}},
		{"a nil bearer function refuses to build", false,
			[]GuardOption{WithoutSignature(), WithBearer(BearerFunc(nil))}},
		{"WithoutSignature contradicts WithVerifier", false,
			[]GuardOption{WithVerifier(v), WithoutSignature(), WithBearer(StaticTokens(appToken))}},
		{"verifier options beside WithVerifier are refused", false,
			[]GuardOption{WithVerifier(v), WithClockTolerance(0)}},
		{"AllowFailureCallbacks on a failure guard is refused", true,
			[]GuardOption{WithVerifier(v), AllowFailureCallbacks()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			newGuard := NewWorkflowGuard
			if tc.failure {
				newGuard = NewFailureGuard
			}
			if _, err := newGuard(tc.opts...); !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
		})
	}
}
