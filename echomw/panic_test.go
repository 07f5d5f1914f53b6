package echomw_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/echomw"
)

func TestReplayReservationReleasedAfterAPanic(t *testing.T) {
	const key, url = "sig_panicTestKey", "http://example.com/api/workflow"
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	store := core.NewMemoryReplayStore(10, core.WithReplayClock(clock))

	e := echo.New()
	e.Use(middleware.Recover())
	calls := 0
	e.POST("/api/workflow", func(c echo.Context) error {
		if calls++; calls == 1 {
			panic("handler failed")
		}
		return c.NoContent(http.StatusOK)
	}, echomw.Verify(core.WithSigningKeys(key, ""), core.WithClock(clock),
		core.WithReplayProtection(store)))
	sig, err := core.Sign(key, core.Message{URL: url, Body: []byte("{}"), IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	send := func() int {
		req := httptest.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
		req.Header.Set(core.HeaderSignature, sig)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		return w.Code
	}

	if first, second := send(), send(); first != 500 || second != 200 {
		t.Fatalf("statuses %d then %d, want 500 (the recovered panic) then 200", first, second)
	}
}
