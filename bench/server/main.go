// Command server serves one router's routes for the load test of bench/run:
// POST /protected behind the router's qstashguard middleware, and POST
// /unprotected, the same handler with no middleware. Both handlers read the
// whole body and answer 204, so the two routes differ by the verification
// alone.
//
// It listens on a loopback address only, writes the address it got to the
// file named by -addr-file once it accepts connections, and stops on
// SIGINT or SIGTERM. The signing keys come from the environment, as in
// production (QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/labstack/echo/v4"

	"github.com/qstashguard/qstashguard/chimw"
	"github.com/qstashguard/qstashguard/echomw"
	"github.com/qstashguard/qstashguard/ginmw"
)

// Routes served, each under every router.
const (
	protectedPath   = "/protected"
	unprotectedPath = "/unprotected"
)

func main() {
	router := flag.String("router", "chi", "the router to serve with: gin, echo or chi")
	addr := flag.String("addr", "127.0.0.1:0", "the loopback `address` to listen on")
	addrFile := flag.String("addr-file", "", "write the address listened on to `file`")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to `file`")
	flag.Parse()

	serve := func() error { return run(*router, *addr, *addrFile) }
	if err := profiled(*cpuProfile, serve); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// profiled calls f, under the CPU profiler when path is not empty, so that
// a profile shows where a protected request's time goes on a real server.
func profiled(path string, f func() error) error {
	if path == "" {
		return f()
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return err
	}
	err = f()
	pprof.StopCPUProfile()
	return errors.Join(err, out.Close())
}

func run(router, addr, addrFile string) error {
	h, err := newHandler(router)
	if err != nil {
		return err
	}
	if err := checkLoopback(addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if addrFile != "" {
		// Written once the socket accepts, so the script may connect as
		// soon as it sees the file.
		if err := os.WriteFile(addrFile, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			ln.Close()
			return err
		}
	}

	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// checkLoopback refuses any address but a loopback one: the load test
// sends traffic to nothing else.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s is not a loopback address", addr)
	}
	return nil
}

// newHandler builds the two routes with router. Each middleware reads its
// keys from the environment and panics without them, as in an app.
func newHandler(router string) (http.Handler, error) {
	switch router {
	case "gin":
		gin.SetMode(gin.ReleaseMode)
		r := gin.New()
		serve := func(c *gin.Context) { drain(c.Writer, c.Request) }
		r.POST(protectedPath, ginmw.Verify(), serve)
		r.POST(unprotectedPath, serve)
		return r, nil
	case "echo":
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		serve := func(c echo.Context) error {
			drain(c.Response(), c.Request())
			return nil
		}
		e.POST(protectedPath, serve, echomw.Verify())
		e.POST(unprotectedPath, serve)
		return e, nil
	case "chi":
		r := chi.NewRouter()
		serve := func(w http.ResponseWriter, r *http.Request) { drain(w, r) }
		r.With(chimw.Verify()).Post(protectedPath, serve)
		r.Post(unprotectedPath, serve)
		return r, nil
	}
	return nil, fmt.Errorf("-router %q: want gin, echo or chi", router)
}

// drain reads the whole body, as a handler that uses it would, and answers
// 204, or 500 if the body could not be read.
func drain(w http.ResponseWriter, r *http.Request) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
