package bench_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qstashguard/qstashguard/core"
	"github.com/qstashguard/qstashguard/replay/redisstore"
)

// EnvRedisAddr names the Redis server, host:port on loopback, that
// BenchmarkVerifyRequestReplay reserves ids in; bench/run starts one and
// sets it. Without it the Redis case is skipped.
const EnvRedisAddr = "QSTASH_BENCH_REDIS_ADDR"

const (
	benchKey = "sig_benchCurrentKey1111111111111"
	benchURL = "https://example.com/api/workflow"
)

// rounds numbers the rounds of every benchmark in the process, so that the
// ids of one round never meet those of another in a store that outlives it.
var rounds atomic.Int64

// BenchmarkVerifyRequestReplay measures VerifyRequest of a 1 KiB request
// with each replay store: none, the in-memory store, and Redis over
// loopback. Each iteration sends a token with an id of its own, as QStash
// does for every delivery, so each one is a first reservation: the cost a
// real request pays. The tokens are signed before the timer starts, which is
// why this benchmark counts b.N rather than calling b.Loop. The difference
// between a store's row and the row without one is the price of replay
// protection per request.
func BenchmarkVerifyRequestReplay(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B, size int) core.ReplayStore // nil: no replay protection
	}{
		{"none", nil},
		{"memory", func(_ *testing.B, size int) core.ReplayStore {
			return core.NewMemoryReplayStore(size)
		}},
		{"redis", openRedis},
	}
	body := bytes.Repeat([]byte{'x'}, 1<<10)
	for _, s := range stores {
		b.Run("store="+s.name, func(b *testing.B) {
			opts := []core.Option{core.WithSigningKeys(benchKey, "")}
			if s.open != nil {
				opts = append(opts, core.WithReplayProtection(s.open(b, b.N)))
			}
			v, err := core.NewVerifier(opts...)
			if err != nil {
				b.Fatal(err)
			}
			sigs := signDistinct(b, body, b.N)

			r := httptest.NewRequest(http.MethodPost, benchURL, nil)
			r.RequestURI = r.URL.RequestURI()
			r.Header.Set(core.HeaderSignature, "")
			rd := bytes.NewReader(body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r.Header[core.HeaderSignature][0] = sigs[i]
				rd.Reset(body)
				r.Body, r.ContentLength = readCloser{rd}, int64(len(body))
				if _, err := v.VerifyRequest(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// signDistinct signs n requests for body, each with an id no other round
// of the process uses.
func signDistinct(b *testing.B, body []byte, n int) []string {
	b.Helper()
	prefix := "jwt_bench_" + strconv.FormatInt(time.Now().UnixNano(), 36) + "_" +
		strconv.FormatInt(rounds.Add(1), 10) + "_"
	sigs := make([]string, n)
	for i := range sigs {
		sig, err := core.Sign(benchKey, core.Message{
			URL: benchURL, Body: body, ID: prefix + strconv.Itoa(i),
		})
		if err != nil {
			b.Fatal(err)
		}
		sigs[i] = sig
	}
	return sigs
}

// openRedis returns a store in the Redis server named by EnvRedisAddr,
// closing its client when the benchmark ends, or skips the benchmark when
// no server is named.
func openRedis(b *testing.B, _ int) core.ReplayStore {
	b.Helper()
	addr := os.Getenv(EnvRedisAddr)
	if addr == "" {
		b.Skipf("%s is not set; bench/run starts a redis-server and sets it", EnvRedisAddr)
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	b.Cleanup(func() {
		if err := client.Close(); err != nil {
			b.Error(err)
		}
	})
	if err := client.Ping(context.Background()).Err(); err != nil {
		b.Fatalf("redis at %s: %v", addr, err)
	}
	return redisstore.New(client, "qstashguard-bench:")
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
