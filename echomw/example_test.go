package echomw_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/echomw"
)

// A workflow route and its failure route, with the app's own bearer token
// required on both. A real app leaves out WithSigningKeys and sets
// QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY instead.
func Example() {
	const current, next = "sig_exampleCurrentKey", "sig_exampleNextKey"
	keys := core.WithSigningKeys(current, next)
	bearer := core.WithBearer(core.StaticTokens("trigger-token"))

	e := echo.New()
	e.POST("/api/workflow", func(c echo.Context) error {
		var step []map[string]any
		if err := c.Bind(&step); err != nil {
			return err
		}
		claims, _ := echomw.Claims(c)
		return c.String(http.StatusOK,
			fmt.Sprintf("%d step(s), signed with the %s key", len(step), claims.Key))
	}, echomw.Workflow(keys, bearer))
	e.POST("/api/workflow/failure", func(c echo.Context) error {
		p, _ := echomw.FailurePayload(c)
		return c.String(http.StatusOK,
			fmt.Sprintf("run %s failed with %d", p.WorkflowRunID, p.Status))
	}, echomw.Failure(keys, bearer))

	// A workflow step as QStash would send it, then the same step unsigned.
	body := `[{"stepId":0,"stepName":"init"}]`
	sig, _ := core.Sign(next, core.Message{URL: "http://example.com/api/workflow",
		Body: []byte(body)})
	for _, signed := range []bool{true, false} {
		req := httptest.NewRequest(http.MethodPost, "http://example.com/api/workflow",
			strings.NewReader(body))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		req.Header.Set("Authorization", "Bearer trigger-token")
		if signed {
			req.Header.Set(core.HeaderSignature, sig)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 1 step(s), signed with the next key
	// 401 {"message":"missing signature"}
}

// A skipper lets a health check under a guarded group through unchecked.
func ExampleVerifyWithConfig() {
	e := echo.New()
	api := e.Group("/api", echomw.VerifyWithConfig(echomw.Config{
		Skipper: func(c echo.Context) bool { return c.Path() == "/api/health" },
	}, core.WithSigningKeys("sig_exampleCurrentKey", "")))
	api.GET("/health", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	api.POST("/messages", func(c echo.Context) error { return c.NoContent(http.StatusOK) })

	for _, path := range []string{"/api/health", "/api/messages"} {
		method := http.MethodGet
		if path == "/api/messages" {
			method = http.MethodPost
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(method, "http://example.com"+path, nil))
		fmt.Println(path, w.Code)
	}
	// Output:
	// /api/health 200
	// /api/messages 401
}
