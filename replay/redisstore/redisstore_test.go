package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/replay/redisstore"
)

// redisAddr is the address of the redis-server TestMain starts for the
// Example and the benchmarks. Tests start servers of their own, so that
// none depends on what another left behind.
var redisAddr string

// TestMain needs redis-server on PATH. Without it the package is skipped as
// a whole, since the Example's output cannot be checked without a server;
// under CI=true a missing server is a failure, so that a CI job cannot pass
// without running these tests.
func TestMain(m *testing.M) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "redis-server not installed: .ci/run must apt-get install redis-server")
			os.Exit(1)
		}
		fmt.Println("skipping redisstore tests: redis-server is not on PATH " +
			"(apt-get install redis-server to run them)")
		os.Exit(0)
	}

	dir, err := os.MkdirTemp("", "redisstore-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv, err := startRedis(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	redisAddr = srv.addr

	code := m.Run()

	srv.stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// redisServer is a redis-server process listening on a free loopback port,
// persisting nothing.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
	once sync.Once
}

// startRedis starts a redis-server whose files live in dir, and returns once
// it answers PING. A port taken between choosing it and binding it is
// retried on another.
func startRedis(dir string) (*redisServer, error) {
	var errs []error
	for range 3 {
		srv, err := tryStartRedis(dir)
		if err == nil {
			return srv, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("start redis-server: %w", errors.Join(errs...))
}

func tryStartRedis(dir string) (*redisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "redis-"+port+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()

	cmd := exec.Command("redis-server",
		"--port", port,
		"--bind", "127.0.0.1",
		"--protected-mode", "yes",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	srv := &redisServer{addr: net.JoinHostPort("127.0.0.1", port), cmd: cmd}

	if err := waitForPing(srv.addr, 5*time.Second); err != nil {
		srv.stop()
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%s did not answer PING: %w\n%s", srv.addr, err, log)
	}
	return srv, nil
}

// stop kills the server and waits for it to exit; calling it again does
// nothing.
func (s *redisServer) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// waitForPing sends PING to addr until it answers PONG or timeout passes.
func waitForPing(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ping(addr)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// newServer starts a redis-server for one test and stops it when the test
// ends.
func newServer(t *testing.T) *redisServer {
	t.Helper()
	srv, err := startRedis(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.stop)
	return srv
}

// newClient returns a client of addr with the short timeouts the package
// doc asks apps to set, closed when the test ends.
func newClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:          addr,
		DialTimeout:   500 * time.Millisecond,
		ReadTimeout:   500 * time.Millisecond,
		WriteTimeout:  500 * time.Millisecond,
		MaxRetries:    -1,
		DialerRetries: 1,
	})
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
	})
	return c
}

// checkLeaks fails the test if goroutines are left once it and its other
// cleanups are done; call it first, so that its cleanup runs last.
func checkLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// storeStep is one call on a Store: Release of id when release is set, else
// Reserve of id until now+ttl.
type storeStep struct {
	release bool
	id      string
	ttl     time.Duration
	want    bool
	wantErr error
}

func reserve(id string, ttl time.Duration, want bool) storeStep {
	return storeStep{id: id, ttl: ttl, want: want}
}

func TestStore(t *testing.T) {
	checkLeaks(t)
	const life = 5 * time.Minute
	client := newClient(t, newServer(t).addr)
	tests := []struct {
		name  string
		steps []storeStep
	}{
		{
			name:  "a first reservation is accepted and a repeat refused",
			steps: []storeStep{reserve("a", life, true), reserve("a", life, false)},
		},
		{
			name: "distinct ids are all accepted",
			steps: []storeStep{
				reserve("a", life, true), reserve("b", life, true), reserve("c", life, true),
			},
		},
		{
			name: "a released id is accepted again",
			steps: []storeStep{
				reserve("a", life, true),
				{release: true, id: "a"},
				reserve("a", life, true),
				reserve("a", life, false),
			},
		},
		{
			name: "releasing an unknown id is no error",
			steps: []storeStep{
				{release: true, id: "never-seen"},
				reserve("never-seen", life, true),
			},
		},
		{
			name:  "an until already past reserves nothing",
			steps: []storeStep{reserve("a", -time.Second, true), reserve("a", life, true)},
		},
		{
			name:  "an until already past still refuses a reserved id",
			steps: []storeStep{reserve("a", life, true), reserve("a", -time.Second, false)},
		},
		{
			name:  "an empty id is refused as malformed",
			steps: []storeStep{{id: "", ttl: life, wantErr: core.ErrMalformedSignature}},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := redisstore.New(client, fmt.Sprintf("case%d:", i))
			ctx := context.Background()
			for j, step := range tc.steps {
				if step.release {
					if err := s.Release(ctx, step.id); err != nil {
						t.Fatalf("step %d: Release(%q) = %v", j, step.id, err)
					}
					continue
				}
				got, err := s.Reserve(ctx, step.id, time.Now().Add(step.ttl))
				if !errors.Is(err, step.wantErr) || (err == nil) != (step.wantErr == nil) {
					t.Fatalf("step %d: Reserve(%q) error = %v, want %v", j, step.id, err, step.wantErr)
				}
				if got != step.want {
					t.Fatalf("step %d: Reserve(%q) = %t, want %t", j, step.id, got, step.want)
				}
			}
		})
	}
}

// TestStoreKeys looks at the keys a reservation leaves in Redis.
func TestStoreKeys(t *testing.T) {
	checkLeaks(t)
	const life = 5 * time.Minute
	client := newClient(t, newServer(t).addr)
	ctx := context.Background()
	// A whole millisecond, so that the key's PTTL cannot exceed life.
	now := time.Now().Truncate(time.Millisecond)
	inAnHour := now.Add(time.Hour)

	tests := []struct {
		name    string
		prefix  string
		until   time.Time
		wantKey string // "" when no key may be left
		check   func(t *testing.T, key string)
	}{
		{
			name:    "a reservation's key has a ttl within the requested lifetime",
			prefix:  "ttl:",
			until:   now.Add(life),
			wantKey: "ttl:id",
			check: func(t *testing.T, key string) {
				ttl, err := client.PTTL(ctx, key).Result()
				if err != nil {
					t.Fatal(err)
				}
				if ttl <= 0 || ttl > life {
					t.Errorf("PTTL = %s, want in (0, %s]", ttl, life)
				}
			},
		},
		{
			name:    "the key expires at until rounded up to the millisecond",
			prefix:  "round:",
			until:   inAnHour.Add(500 * time.Microsecond),
			wantKey: "round:id",
			check: func(t *testing.T, key string) {
				at, err := client.Do(ctx, "pexpiretime", key).Int64()
				if err != nil {
					t.Fatal(err)
				}
				if want := inAnHour.UnixMilli() + 1; at != want {
					t.Errorf("PEXPIRETIME = %d, want %d", at, want)
				}
			},
		},
		{
			name:    "an empty prefix means DefaultPrefix",
			until:   now.Add(life),
			wantKey: redisstore.DefaultPrefix + "id",
		},
		{
			name:   "an until already past leaves no key",
			prefix: "past:",
			until:  now.Add(-time.Second),
		},
		{
			name:   "a zero until leaves no key without an expiry",
			prefix: "zero:",
			until:  time.Time{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := redisstore.New(client, tc.prefix)
			if ok, err := s.Reserve(ctx, "id", tc.until); !ok || err != nil {
				t.Fatalf("Reserve = %t, %v; want true", ok, err)
			}
			pattern := tc.prefix
			if pattern == "" {
				pattern = redisstore.DefaultPrefix
			}
			keys, err := client.Keys(ctx, pattern+"*").Result()
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if tc.wantKey != "" {
				want = []string{tc.wantKey}
			}
			if fmt.Sprint(keys) != fmt.Sprint(want) {
				t.Fatalf("keys = %q, want %q", keys, want)
			}
			if tc.check != nil {
				tc.check(t, tc.wantKey)
			}
		})
	}
}

// TestStoreSharedBetweenInstances plays two instances of an app, each with
// its own client, sharing one Redis.
func TestStoreSharedBetweenInstances(t *testing.T) {
	checkLeaks(t)
	addr := newServer(t).addr
	universal := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:       []string{addr},
		DialTimeout: 500 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond,
	})
	t.Cleanup(func() { universal.Close() })
	a := redisstore.New(universal, "")
	b := redisstore.New(newClient(t, addr), redisstore.DefaultPrefix)
	ctx := context.Background()
	until := time.Now().Add(5 * time.Minute)

	steps := []struct {
		name  string
		store *redisstore.Store
		op    string
		want  bool
	}{
		{"the first instance accepts a new id", a, "reserve", true},
		{"the second instance refuses the same id", b, "reserve", false},
		{"the first instance refuses it too", a, "reserve", false},
		{"the second instance releases it", b, "release", false},
		{"the first instance accepts it again", a, "reserve", true},
		{"the second instance refuses it again", b, "reserve", false},
	}
	for _, step := range steps {
		if step.op == "release" {
			if err := step.store.Release(ctx, "jwt_shared"); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			continue
		}
		got, err := step.store.Reserve(ctx, "jwt_shared", until)
		if err != nil || got != step.want {
			t.Fatalf("%s: Reserve = %t, %v; want %t", step.name, got, err, step.want)
		}
	}
}

func TestStoreConcurrentReserve(t *testing.T) {
	checkLeaks(t)
	const goroutines = 32
	addr := newServer(t).addr
	stores := []*redisstore.Store{
		redisstore.New(newClient(t, addr), ""), redisstore.New(newClient(t, addr), ""),
	}
	until := time.Now().Add(5 * time.Minute)

	var wins atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			ok, err := stores[g%len(stores)].Reserve(context.Background(), "jwt_race", until)
			if ok {
				wins.Add(1)
			}
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := wins.Load(); got != 1 {
		t.Errorf("%d reservations of one id won, want 1", got)
	}
}

// TestStoreUnavailable checks that a store that cannot get an answer fails
// closed, and soon, with the client's timeouts short.
func TestStoreUnavailable(t *testing.T) {
	const id = "jwt_secretlooking"
	tests := []struct {
		name    string
		prepare func(srv *redisServer) context.Context
		cause   error // also wrapped, when set
	}{
		{
			name: "a stopped server",
			prepare: func(srv *redisServer) context.Context {
				srv.stop()
				return context.Background()
			},
		},
		{
			name: "a cancelled context",
			prepare: func(*redisServer) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			cause: context.Canceled,
		},
		{
			name: "a context past its deadline",
			prepare: func(*redisServer) context.Context {
				ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
				cancel()
				return ctx
			},
			cause: context.DeadlineExceeded,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			srv := newServer(t)
			s := redisstore.New(newClient(t, srv.addr), "")
			// A first call leaves a connection in the pool, so the calls below
			// meet one that the stopped server has closed, as a running app would.
			warmup := time.Now().Add(time.Minute)
			if ok, err := s.Reserve(context.Background(), "jwt_warmup", warmup); !ok || err != nil {
				t.Fatalf("Reserve = %t, %v; want true", ok, err)
			}
			ctx := tc.prepare(srv)

			calls := []struct {
				name string
				call func() error
			}{
				{"Reserve", func() error {
					ok, err := s.Reserve(ctx, id, time.Now().Add(time.Minute))
					if ok {
						return errors.New("reported a reservation")
					}
					return err
				}},
				{"Release", func() error { return s.Release(ctx, id) }},
			}
			for _, c := range calls {
				err := withinBound(t, c.call)
				if !errors.Is(err, core.ErrReplayStoreUnavailable) {
					t.Fatalf("%s error = %v, want one wrapping ErrReplayStoreUnavailable", c.name, err)
				}
				if tc.cause != nil && !errors.Is(err, tc.cause) {
					t.Errorf("%s error = %v, want one wrapping %v too", c.name, err, tc.cause)
				}
				if got := core.StatusCode(err); got != 503 {
					t.Errorf("%s: StatusCode = %d, want 503", c.name, got)
				}
				if strings.Contains(err.Error(), id) {
					t.Errorf("%s error %q names the message id", c.name, err)
				}
			}
		})
	}
}

// withinBound runs call and returns its error, failing the test if it has
// not returned after ten seconds: far more than the client's timeouts allow,
// so only a call that hangs trips it.
func withinBound(t *testing.T, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("call did not return within 10s")
		return nil
	}
}

func TestNewNilClientPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(nil, \"\") did not panic")
		}
	}()
	redisstore.New(nil, "")
}

// Example shows a Store on a client with the short timeouts a request path
// needs; redisAddr is the "host:port" of the Redis server. On a Sentinel or
// cluster setup, give UniversalOptions a MasterName or several Addrs.
func Example() {
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:         []string{redisAddr},
		DialTimeout:   200 * time.Millisecond,
		ReadTimeout:   200 * time.Millisecond,
		WriteTimeout:  200 * time.Millisecond,
		MaxRetries:    1,
		DialerRetries: 1,
	})
	defer client.Close()
	store := redisstore.New(client, "")

	ctx := context.Background()
	const jti = "jwt_01J9EXAMPLE"
	until := time.Now().Add(5 * time.Minute) // the token's exp, plus the clock tolerance
	for _, delivery := range []string{"first delivery", "replay"} {
		ok, err := store.Reserve(ctx, jti, until)
		if err != nil {
			fmt.Println(core.StatusCode(err), err)
			return
		}
		fmt.Printf("%s accepted: %t\n", delivery, ok)
	}

	// Had the handler failed, the app would release the id, so that the
	// delivery can be made again.
	if err := store.Release(ctx, jti); err != nil {
		fmt.Println(core.StatusCode(err), err)
	}
	// Output:
	// first delivery accepted: true
	// replay accepted: false
}

// BenchmarkReserve measures Reserve of a new id each time against a local
// redis-server: one round trip over loopback.
func BenchmarkReserve(b *testing.B) {
	client := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer client.Close()
	until := time.Now().Add(time.Minute)
	// Keys stay distinct over every round of b.N and every -count.
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var next atomic.Int64

	b.Run("serial", func(b *testing.B) {
		s := redisstore.New(client, "bench:"+run+":serial:")
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			id := strconv.FormatInt(next.Add(1), 10)
			if ok, err := s.Reserve(ctx, id, until); !ok || err != nil {
				b.Fatalf("Reserve = %t, %v", ok, err)
			}
		}
	})

	b.Run("parallel", func(b *testing.B) {
		s := redisstore.New(client, "bench:"+run+":parallel:")
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := strconv.FormatInt(next.Add(1), 10)
				if ok, err := s.Reserve(ctx, id, until); !ok || err != nil {
					b.Errorf("Reserve = %t, %v", ok, err)
					return
				}
			}
		})
	})
}
