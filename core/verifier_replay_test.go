package core

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// failingStore is a replay store whose backend is down.
type failingStore struct{}

func (failingStore) Reserve(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

func (failingStore) Release(context.Context, string) error { return nil }

func TestReplayProtection(t *testing.T) {
	deliver := func(t *testing.T, v *Verifier, sig string) (*Claims, error) {
		t.Helper()
		r := signedRequest(t, testCurrentKey, "body", testURL)
		r.Header.Set(HeaderSignature, sig)
		return v.VerifyRequest(r)
	}
	sig := signTest(t, testCurrentKey, "body", testURL)

	t.Run("a replayed delivery is refused", func(t *testing.T) {
		v := newTestVerifier(t, WithReplayProtection(NewMemoryReplayStore(10)))
		if _, err := deliver(t, v, sig); err != nil {
			t.Fatal(err)
		}
		_, err := deliver(t, v, sig)
		if !errors.Is(err, ErrReplayed) || StatusCode(err) != http.StatusConflict {
			t.Fatalf("err = %v, want ErrReplayed (409)", err)
		}
	})

	t.Run("a delivery answered with 5xx can be retried", func(t *testing.T) {
		v := newTestVerifier(t, WithReplayProtection(NewMemoryReplayStore(10)))
		c, err := deliver(t, v, sig)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Settle(context.Background(), http.StatusInternalServerError); err != nil {
			t.Fatal(err)
		}
		if _, err := deliver(t, v, sig); err != nil {
			t.Fatalf("retry after a 500 refused: %v", err)
		}
	})

	t.Run("a delivery answered with 2xx stays reserved", func(t *testing.T) {
		v := newTestVerifier(t, WithReplayProtection(NewMemoryReplayStore(10)))
		c, err := deliver(t, v, sig)
		if err != nil {
			t.Fatal(err)
		}
		c.Settle(context.Background(), http.StatusNoContent)
		if _, err := deliver(t, v, sig); !errors.Is(err, ErrReplayed) {
			t.Fatalf("err = %v, want ErrReplayed", err)
		}
	})

	t.Run("a guard releases the id of a call it refuses after the signature", func(t *testing.T) {
		store := NewMemoryReplayStore(10)
		g, err := NewWorkflowGuard(WithSigningKeys(testCurrentKey, ""), WithClock(fixedClock(testNow)),
			WithReplayProtection(store), WithBearer(StaticTokens(appToken)))
		if err != nil {
			t.Fatal(err)
		}
		r := signedRequest(t, testCurrentKey, "body", testURL)
		if _, err := g.Check(r); !errors.Is(err, ErrMissingBearer) {
			t.Fatalf("err = %v", err)
		}
		r = signedRequest(t, testCurrentKey, "body", testURL)
		r.Header.Set(HeaderSignature, sig)
		r.Header.Set("Authorization", "Bearer "+appToken)
		if _, err := g.Check(r); err != nil {
			t.Fatalf("the same delivery with its bearer refused: %v", err)
		}
	})

	t.Run("two identical deliveries racing: exactly one passes", func(t *testing.T) {
		v := newTestVerifier(t, WithReplayProtection(NewMemoryReplayStore(10)))
		var passed atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				r := signedRequest(t, testCurrentKey, "body", testURL)
				r.Header.Set(HeaderSignature, sig)
				if _, err := v.VerifyRequest(r); err == nil {
					passed.Add(1)
				}
			})
		}
		wg.Wait()
		if passed.Load() != 1 {
			t.Fatalf("%d of 16 identical deliveries passed, want 1", passed.Load())
		}
	})

	t.Run("a store outage fails closed with 503", func(t *testing.T) {
		v := newTestVerifier(t, WithReplayProtection(failingStore{}))
		_, err := deliver(t, v, sig)
		if !errors.Is(err, ErrReplayStoreUnavailable) || StatusCode(err) != 503 {
			t.Fatalf("err = %v, want ErrReplayStoreUnavailable (503)", err)
		}
	})

	t.Run("a store outage lets requests through when told to, and logs it", func(t *testing.T) {
		var buf bytes.Buffer
		v := newTestVerifier(t, WithReplayProtection(failingStore{}), WithReplayFailOpen(),
			WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
		if _, err := deliver(t, v, sig); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "replay store unavailable") {
			t.Fatalf("fail-open not logged: %q", buf.String())
		}
	})

	t.Run("a token without jti is refused under replay protection", func(t *testing.T) {
		v := newTestVerifier(t, WithReplayProtection(NewMemoryReplayStore(10)))
		noID := mintRaw(testCurrentKey, qstashHeader, claimsJSON(t, "body", testURL,
			map[string]any{"jti": nil}))
		if _, err := deliver(t, v, noID); !errors.Is(err, ErrMalformedSignature) {
			t.Fatalf("err = %v", err)
		}
	})
}
