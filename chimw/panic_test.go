package chimw_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/qstashguard/qstashguard/chimw"
	"github.com/qstashguard/qstashguard/core"
)

func TestReplayReservationReleasedAfterAPanic(t *testing.T) {
	const key, url = "sig_panicTestKey", "http://example.com/api/workflow"
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	store := core.NewMemoryReplayStore(10, core.WithReplayClock(clock))

	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	calls := 0
	r.With(chimw.Verify(core.WithSigningKeys(key, ""), core.WithClock(clock),
		core.WithReplayProtection(store))).Post("/api/workflow",
		func(w http.ResponseWriter, _ *http.Request) {
			if calls++; calls == 1 {
				panic("handler failed")
			}
			w.WriteHeader(http.StatusOK)
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
