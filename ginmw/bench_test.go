package ginmw_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/ginmw"
)

// BenchmarkRoute sends a 1 KiB signed request through a Gin engine, to a
// route behind Verify and to the same handler on a route without it. The
// difference, less BenchmarkCore, is what the adapter itself costs.
func BenchmarkRoute(b *testing.B) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	serve := func(c *gin.Context) {
		_, _ = io.Copy(io.Discard, c.Request.Body)
		c.Status(http.StatusNoContent)
	}
	r.POST("/protected", ginmw.Verify(benchOptions()...), serve)
	r.POST("/unprotected", serve)

	for _, path := range []string{"/protected", "/unprotected"} {
		b.Run(path[1:], func(b *testing.B) {
			req, reset := benchRequest(b, path)
			w := &discardWriter{header: http.Header{}}
			b.SetBytes(benchBodySize)
			b.ReportAllocs()
			for b.Loop() {
				reset()
				clear(w.header)
				w.status = 0
				r.ServeHTTP(w, req)
				if w.status != http.StatusNoContent {
					b.Fatalf("status %d, want %d", w.status, http.StatusNoContent)
				}
			}
		})
	}
}

// BenchmarkCore verifies the request of BenchmarkRoute/protected with core
// alone, without a router.
func BenchmarkCore(b *testing.B) {
	v, err := core.NewVerifier(benchOptions()...)
	if err != nil {
		b.Fatal(err)
	}
	req, reset := benchRequest(b, "/protected")
	b.SetBytes(benchBodySize)
	b.ReportAllocs()
	for b.Loop() {
		reset()
		if _, err := v.VerifyRequest(req); err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, req.Body)
	}
}

const (
	benchKey      = "sig_benchCurrentKey1111111111111"
	benchBase     = "http://example.com"
	benchBodySize = 1 << 10
)

func benchOptions() []core.Option {
	return []core.Option{core.WithSigningKeys(benchKey, ""), core.WithClock(fixedClock)}
}

// benchRequest returns a signed request for path and a function that gives
// it a fresh body, as the server would for each request.
func benchRequest(b *testing.B, path string) (*http.Request, func()) {
	b.Helper()
	body := bytes.Repeat([]byte{'x'}, benchBodySize)
	sig, err := core.Sign(benchKey, core.Message{URL: benchBase + "/protected", Body: body,
		IssuedAt: fixedNow})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, benchBase+path, nil)
	req.RequestURI = req.URL.RequestURI()
	req.Header.Set(core.HeaderSignature, sig)
	req.Header.Set(core.HeaderMessageID, "msg_benchMessage1")
	req.Header.Set(core.HeaderRetried, "0")
	rd := bytes.NewReader(body)
	rc := io.NopCloser(rd)
	return req, func() {
		rd.Reset(body)
		req.Body, req.ContentLength = rc, int64(len(body))
	}
}

// discardWriter is a ResponseWriter that keeps only the status, so the
// benchmark measures the router and not a recorder.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}
