package ginmw_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/ginmw"
)

func TestReplayReservationReleasedAfterAPanic(t *testing.T) {
	gin.SetMode(gin.TestMode)
	const key, url = "sig_panicTestKey", "http://example.com/api/workflow"
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	store := core.NewMemoryReplayStore(10, core.WithReplayClock(clock))

	r := gin.New()
	r.Use(gin.CustomRecovery(func(c *gin.Context, _ any) { c.AbortWithStatus(500) }))
	calls := 0
	r.POST("/api/workflow", ginmw.Verify(core.WithSigningKeys(key, ""), core.WithClock(clock),
		core.WithReplayProtection(store)), func(c *gin.Context) {
		if calls++; calls == 1 {
			panic("handler failed")
		}
		c.Status(http.StatusOK)
	})
	sig, err := core.Sign(key, core.Message{URL: url, Body: []byte("{}"), IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	send := func() int {
		req := httptest.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
		req.Header.Set(core.HeaderSignature, sig)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}

	if first, second := send(), send(); first != 500 || second != 200 {
		t.Fatalf("statuses %d then %d, want 500 (the recovered panic) then 200", first, second)
	}
}
