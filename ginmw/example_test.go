package ginmw_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/ginmw"
)

// A workflow route and its failure route, with the app's own bearer token
// required on both. A real app leaves out WithSigningKeys and sets
// QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY instead.
func Example() {
	const current, next = "sig_exampleCurrentKey", "sig_exampleNextKey"
	keys := core.WithSigningKeys(current, next)
	bearer := core.WithBearer(core.StaticTokens("trigger-token"))

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/api/workflow", ginmw.Workflow(keys, bearer), func(c *gin.Context) {
		var step []map[string]any
		if err := c.ShouldBindJSON(&step); err != nil {
			c.Status(http.StatusBadRequest)
			return
		}
		claims, _ := ginmw.Claims(c)
		c.String(http.StatusOK, "%d step(s), signed with the %s key", len(step), claims.Key)
	})
	r.POST("/api/workflow/failure", ginmw.Failure(keys, bearer), func(c *gin.Context) {
		p, _ := ginmw.FailurePayload(c)
		c.String(http.StatusOK, "run %s failed with %d", p.WorkflowRunID, p.Status)
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
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 1 step(s), signed with the next key
	// 401 {"error":"missing signature"}
}
