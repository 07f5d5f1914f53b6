package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/examples/gin/app"
)

var requestsFlag = flag.Int("requests", 0,
	"requests to send; 0 means $LOADTEST_REQUESTS, else 20000, or 2000 with -short")

const (
	workers = 64
	// runLimit stops a run that takes longer, so the test ends by itself.
	runLimit = 5 * time.Minute
	// heapBound is the most heap the process may hold in use at any sample.
	heapBound = 512 << 20
	// sampleEvery is how often memory is sampled; ReadMemStats stops the
	// world, so not much more often.
	sampleEvery = 50 * time.Millisecond

	currentKey = "sig_loadCurrentKey1111111111"
	nextKey    = "sig_loadNextKey22222222222222"
	forgedKey  = "sig_forgedByAnAttacker333333"
	appToken   = "load-test-trigger-token"
)

// kind is one sort of request in the mix.
type kind int

const (
	valid      kind = iota // signed for this route, small body
	validLarge             // signed for this route, a body of exactly the limit
	forged                 // signed with a key the app does not hold
	forgedLarge
	otherRoute       // QStash's signature for the failure route, sent to the workflow route
	overLimit        // validly signed, a body over the limit, Content-Length declared
	overLimitChunked // the same, sent chunked, so the limit is found by reading
	kinds            // the number of kinds
)

var kindNames = [kinds]string{"valid", "valid 1 MiB", "forged", "forged 1 MiB",
	"other route", "over limit", "over limit, chunked"}

// wantStatus is the answer each kind must get.
var wantStatus = [kinds]int{
	valid:            http.StatusOK,
	validLarge:       http.StatusOK,
	forged:           http.StatusUnauthorized,
	forgedLarge:      http.StatusUnauthorized,
	otherRoute:       http.StatusUnauthorized,
	overLimit:        http.StatusRequestEntityTooLarge,
	overLimitChunked: http.StatusRequestEntityTooLarge,
}

// kindOf spreads the kinds over the requests: in every 80, one of each
// large kind (5% carry about 1 MiB), 12 forged, 8 for another route, the
// rest valid.
func kindOf(i int) kind {
	switch n := i % 80; {
	case n == 0:
		return validLarge
	case n == 1:
		return overLimit
	case n == 2:
		return overLimitChunked
	case n == 3:
		return forgedLarge
	case n < 16:
		return forged
	case n < 24:
		return otherRoute
	}
	return valid
}

func requestCount(t *testing.T) int {
	t.Helper()
	if *requestsFlag > 0 {
		return *requestsFlag
	}
	if v := os.Getenv("LOADTEST_REQUESTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("LOADTEST_REQUESTS=%q is not a positive number", v)
		}
		return n
	}
	if testing.Short() {
		return 2000
	}
	return 20000
}

// TestLoad serves the Gin example app on a loopback port and sends it a mix
// of requests from 64 workers. Every forged, misrouted or over-limit request
// must be refused with its status and every valid one accepted; the heap
// must stay bounded; and once the server is shut down no goroutine may be
// left.
func TestLoad(t *testing.T) {
	before := goleak.IgnoreCurrent()
	total := requestCount(t)

	gin.SetMode(gin.ReleaseMode)
	handler, err := app.New(app.Config{
		Verifier: []core.Option{
			core.WithSigningKeys(currentKey, nextKey),
			core.WithDevMode(false), // a stray QSTASH_DEV must not change the keys
		},
		BearerTokens: []string{appToken},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	transport := &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true}
	client := &http.Client{Transport: transport}

	ctx, cancel := context.WithTimeout(context.Background(), runLimit)
	defer cancel()
	mem := sampleMemory()
	l := newLoad("http://"+ln.Addr().String(), client)
	start := time.Now()
	l.run(ctx, total)
	elapsed := time.Since(start)
	peakHeap, peakSys := mem.stop()

	// The client's idle connections go first: the server counts a
	// connection that has not sent a request yet as busy for five seconds.
	transport.CloseIdleConnections()
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelShutdown()
	shutdownStart := time.Now()
	if err := srv.Shutdown(shutdown); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("serve: %v", err)
	}
	t.Logf("server shut down in %s", time.Since(shutdownStart).Round(time.Millisecond))

	l.report(t, total, elapsed)
	t.Logf("peak memory: heap in use %d MiB, obtained from the OS %d MiB (bound %d MiB)",
		peakHeap>>20, peakSys>>20, heapBound>>20)
	if peakHeap > heapBound {
		t.Errorf("heap in use peaked at %d MiB, over %d MiB", peakHeap>>20, heapBound>>20)
	}
	goleak.VerifyNone(t, before)
}

// load sends the requests and tallies the answers.
type load struct {
	base   string
	client *http.Client
	large  []byte // a JSON object of exactly core.DefaultMaxBodyBytes
	over   []byte // a JSON object 1 KiB over it

	next     atomic.Int64
	mu       sync.Mutex
	statuses [kinds]map[int]int // per kind, the count of each status
	failures []string           // the first few unexpected answers
	failed   int
}

func newLoad(base string, client *http.Client) *load {
	l := &load{base: base, client: client,
		large: jsonOfSize(int(core.DefaultMaxBodyBytes)),
		over:  jsonOfSize(int(core.DefaultMaxBodyBytes) + 1<<10)}
	for k := range l.statuses {
		l.statuses[k] = map[int]int{}
	}
	return l
}

// jsonOfSize returns a JSON object of exactly n bytes.
func jsonOfSize(n int) []byte {
	const head, tail = `{"data":"`, `"}`
	return []byte(head + strings.Repeat("x", n-len(head)-len(tail)) + tail)
}

// run sends total requests from the workers, until they are sent or ctx
// ends.
func (l *load) run(ctx context.Context, total int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(l.next.Add(1) - 1)
				if i >= total || ctx.Err() != nil {
					return
				}
				l.send(ctx, i)
			}
		})
	}
	wg.Wait()
}

// send sends request i and records how it was answered.
func (l *load) send(ctx context.Context, i int) {
	k := kindOf(i)
	status, detail := l.roundTrip(ctx, i, k)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statuses[k][status]++
	if detail != "" {
		l.failed++
		if len(l.failures) < 10 {
			l.failures = append(l.failures, fmt.Sprintf("request %d (%s): %s", i,
				kindNames[k], detail))
		}
	}
}

// roundTrip sends request i, of kind k, and returns its status (0 when none
// came back) and, when the answer is not the one due, what was wrong.
func (l *load) roundTrip(ctx context.Context, i int, k kind) (int, string) {
	url := l.base + app.WorkflowPath
	signedURL, key := url, currentKey
	if i%2 == 1 {
		key = nextKey // both keys sign, as during a rotation
	}
	body := []byte(fmt.Sprintf(`{"request":%d}`, i))
	switch k {
	case validLarge, forgedLarge:
		body = l.large
	case overLimit, overLimitChunked:
		body = l.over
	case otherRoute:
		signedURL = l.base + app.FailurePath
	}
	if k == forged || k == forgedLarge {
		key = forgedKey
	}
	sig, err := core.Sign(key, core.Message{URL: signedURL, Body: body})
	if err != nil {
		return 0, err.Error()
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	if k == overLimitChunked {
		req.Body, req.ContentLength, req.GetBody = io.NopCloser(bytes.NewReader(body)), -1, nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+appToken)
	req.Header.Set(core.HeaderSignature, sig)
	req.Header.Set(core.HeaderMessageID, "msg_"+strconv.Itoa(i))
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "reading the answer: " + err.Error()
	}
	if resp.StatusCode != wantStatus[k] {
		return resp.StatusCode, fmt.Sprintf("status %d, want %d: %s", resp.StatusCode,
			wantStatus[k], answer)
	}
	if resp.StatusCode == http.StatusOK {
		var got struct {
			OK  bool   `json:"ok"`
			Key string `json:"key"`
		}
		wantKey := "current"
		if key == nextKey {
			wantKey = "next"
		}
		if err := json.Unmarshal(answer, &got); err != nil || !got.OK || got.Key != wantKey {
			return resp.StatusCode, fmt.Sprintf("answer %s, want ok and key %s", answer, wantKey)
		}
	}
	return resp.StatusCode, ""
}

// report logs the tally and fails the test on any unexpected answer.
func (l *load) report(t *testing.T, total int, elapsed time.Duration) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	sent := 0
	for k, counts := range l.statuses {
		n := 0
		for _, c := range counts {
			n += c
		}
		sent += n
		t.Logf("%-20s %6d requests, answered %v", kindNames[k], n, counts)
	}
	t.Logf("%d requests in %s (%.0f/s) from %d workers, GOMAXPROCS %d", sent,
		elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds(), workers,
		runtime.GOMAXPROCS(0))
	if sent != total {
		t.Errorf("sent %d of %d requests before the %s limit", sent, total, runLimit)
	}
	accepted := l.statuses[forged][http.StatusOK] + l.statuses[forgedLarge][http.StatusOK] +
		l.statuses[otherRoute][http.StatusOK]
	if accepted > 0 {
		t.Errorf("%d forged or misrouted requests were accepted", accepted)
	}
	refused := l.statuses[valid][http.StatusOK] + l.statuses[validLarge][http.StatusOK]
	if want := countOf(total, valid) + countOf(total, validLarge); refused != want {
		t.Errorf("%d of %d valid requests were accepted", refused, want)
	}
	if l.failed > 0 {
		t.Errorf("%d requests were not answered as due; the first:\n%s", l.failed,
			strings.Join(l.failures, "\n"))
	}
}

// countOf is how many of the first total requests are of kind k.
func countOf(total int, k kind) int {
	n := 0
	for i := range total {
		if kindOf(i) == k {
			n++
		}
	}
	return n
}

// memorySampler records the peak of the heap in use and of the memory
// obtained from the OS.
type memorySampler struct {
	done             chan struct{}
	wg               sync.WaitGroup
	peakHeap, peakOS uint64
}

func sampleMemory() *memorySampler {
	m := &memorySampler{done: make(chan struct{})}
	m.wg.Go(func() {
		tick := time.NewTicker(sampleEvery)
		defer tick.Stop()
		for {
			m.sample()
			select {
			case <-m.done:
				return
			case <-tick.C:
			}
		}
	})
	return m
}

func (m *memorySampler) sample() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.peakHeap = max(m.peakHeap, s.HeapInuse)
	m.peakOS = max(m.peakOS, s.Sys)
}

// stop ends the sampling, takes a last sample and returns the peaks.
func (m *memorySampler) stop() (heap, sys uint64) {
	close(m.done)
	m.wg.Wait()
	m.sample()
	return m.peakHeap, m.peakOS
}
