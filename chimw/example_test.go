package chimw_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/qstashguard/qstashguard/chimw"
	"github.com/qstashguard/qstashguard/core"
)

// A workflow route and its failure route, with the app's own bearer token
// required on both. A real app leaves out WithSigningKeys and sets
// QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY instead.
func Example() {
	const current, next = "sig_exampleCurrentKey", "sig_exampleNextKey"
	keys := core.WithSigningKeys(current, next)
	bearer := core.WithBearer(core.StaticTokens("trigger-token"))

	r := chi.NewRouter()
	r.With(chimw.Workflow(keys, bearer)).Post("/api/workflow",
		func(w http.ResponseWriter, r *http.Request) {
			var step []map[string]any
			if err := json.NewDecoder(r.Body).Decode(&step); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			claims, _ := chimw.Claims(r)
			fmt.Fprintf(w, "%d step(s), signed with the %s key", len(step), claims.Key)
		})
	r.With(chimw.Failure(keys, bearer)).Post("/api/workflow/failure",
		func(w http.ResponseWriter, r *http.Request) {
			p, _ := chimw.FailurePayload(r)
			fmt.Fprintf(w, "run %s failed with %d", p.WorkflowRunID, p.Status)
		})

	// A workflow step as QStash would send it, then the same step unsigned.
	body := `[{"stepId":0,"stepName":"init"}]`
	sig, _ := core.Sign(next, core.Message{URL: "http://example.com/api/workflow",
		Body: []byte(body)})
	for _, signed := range []bool{true, false} {
		req := httptest.NewRequest(http.MethodPost, "http://example.com/api/workflow",
			strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer trigger-token")
		if signed {
			req.Header.Set(core.HeaderSignature, sig)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 1 step(s), signed with the next key
	// 401 {"error":"missing signature"}
}

// The middleware serves the standard library's ServeMux as well.
func ExampleVerify_serveMux() {
	mux := http.NewServeMux()
	verify := chimw.Verify(core.WithSigningKeys("sig_exampleCurrentKey", ""))
	mux.Handle("POST /messages", verify(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "delivered") })))

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "http://example.com/messages", nil))
	fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	// Output: 401 {"error":"missing signature"}
}

// An error handler of the app's own, here one that answers in plain text.
func ExampleVerifyWithConfig() {
	verify := chimw.VerifyWithConfig(chimw.Config{
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "refused: "+core.Reason(err), core.StatusCode(err))
		},
	}, core.WithSigningKeys("sig_exampleCurrentKey", ""))
	r := chi.NewRouter()
	r.With(verify).Post("/messages", func(w http.ResponseWriter, r *http.Request) {})

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "http://example.com/messages", nil))
	fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	// Output: 401 refused: missing signature
}
