package core

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// replayClock is a clock for the replay store tests that moves only when
// told to; it is safe for concurrent use.
type replayClock struct{ nanos atomic.Int64 }

func newReplayClock(start time.Time) *replayClock {
	c := &replayClock{}
	c.nanos.Store(start.UnixNano())
	return c
}

func (c *replayClock) now() time.Time          { return time.Unix(0, c.nanos.Load()) }
func (c *replayClock) advance(d time.Duration) { c.nanos.Add(int64(d)) }

// replayStep is one call on a MemoryReplayStore, after the clock has moved by
// advance: Release of id when release is set, else Reserve of id until
// now+ttl.
type replayStep struct {
	advance time.Duration
	release bool
	id      string
	ttl     time.Duration
	want    bool
	wantErr error
}

func reserve(id string, ttl time.Duration, want bool) replayStep {
	return replayStep{id: id, ttl: ttl, want: want}
}

func TestMemoryReplayStore(t *testing.T) {
	const life = 5 * time.Minute
	tests := []struct {
		name  string
		max   int
		steps []replayStep
	}{
		{
			name:  "a repeated id is refused",
			steps: []replayStep{reserve("a", life, true), reserve("a", life, false)},
		},
		{
			name: "distinct ids are all accepted",
			steps: []replayStep{
				reserve("a", life, true), reserve("b", life, true), reserve("c", life, true),
			},
		},
		{
			name: "a released id is accepted again",
			steps: []replayStep{
				reserve("a", life, true),
				{release: true, id: "a"},
				reserve("a", life, true),
				reserve("a", life, false),
			},
		},
		{
			name: "releasing an unknown id is no error",
			steps: []replayStep{
				{release: true, id: "never-seen"},
				reserve("never-seen", life, true),
			},
		},
		{
			name: "releasing one id leaves the others reserved",
			steps: []replayStep{
				reserve("a", 1*time.Minute, true),
				reserve("b", 2*time.Minute, true),
				reserve("c", 3*time.Minute, true),
				{release: true, id: "b"},
				reserve("a", life, false),
				reserve("c", life, false),
				reserve("b", life, true),
			},
		},
		{
			name: "an id is still refused just before its reservation ends",
			steps: []replayStep{
				reserve("a", life, true),
				{advance: life - time.Nanosecond, id: "a", ttl: life, want: false},
			},
		},
		{
			name: "an id is accepted again from the instant its reservation ends",
			steps: []replayStep{
				reserve("a", life, true),
				{advance: life, id: "a", ttl: life, want: true},
				reserve("a", life, false),
			},
		},
		{
			name:  "an until already past reserves nothing",
			steps: []replayStep{reserve("a", -time.Second, true), reserve("a", life, true)},
		},
		{
			name:  "an until of now reserves nothing",
			steps: []replayStep{reserve("a", 0, true), reserve("a", life, true)},
		},
		{
			name:  "an until already past still refuses a reserved id",
			steps: []replayStep{reserve("a", life, true), reserve("a", -time.Second, false)},
		},
		{
			name: "an expired id reserved again with an until already past stays free",
			steps: []replayStep{
				reserve("a", time.Minute, true),
				{advance: time.Minute, id: "a", ttl: -time.Second, want: true},
				reserve("a", life, true),
			},
		},
		{
			name:  "an empty id is refused as malformed",
			steps: []replayStep{{id: "", ttl: life, wantErr: ErrMalformedSignature}},
		},
		{
			name: "a full store refuses a new id rather than evict a live one",
			max:  2,
			steps: []replayStep{
				reserve("a", life, true),
				reserve("b", life, true),
				{id: "c", ttl: life, wantErr: ErrReplayStoreUnavailable},
				reserve("a", life, false),
				reserve("b", life, false),
			},
		},
		{
			name:  "a full store accepts an until already past, since it stores nothing",
			max:   1,
			steps: []replayStep{reserve("a", life, true), reserve("b", -time.Second, true)},
		},
		{
			name:  "a full store still reports a replay as a replay",
			max:   1,
			steps: []replayStep{reserve("a", life, true), reserve("a", life, false)},
		},
		{
			name: "an expired entry makes room in a full store",
			max:  2,
			steps: []replayStep{
				reserve("a", time.Minute, true),
				reserve("b", life, true),
				{id: "c", ttl: life, wantErr: ErrReplayStoreUnavailable},
				{advance: time.Minute, id: "c", ttl: life, want: true},
				reserve("b", life, false),
				reserve("c", life, false),
				{id: "d", ttl: life, wantErr: ErrReplayStoreUnavailable},
			},
		},
		{
			name: "a release makes room in a full store",
			max:  1,
			steps: []replayStep{
				reserve("a", life, true),
				{id: "b", ttl: life, wantErr: ErrReplayStoreUnavailable},
				{release: true, id: "a"},
				reserve("b", life, true),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newReplayClock(testNow)
			s := NewMemoryReplayStore(tc.max, WithReplayClock(clock.now))
			ctx := context.Background()
			for i, step := range tc.steps {
				clock.advance(step.advance)
				if step.release {
					if err := s.Release(ctx, step.id); err != nil {
						t.Fatalf("step %d: Release(%q) = %v", i, step.id, err)
					}
					continue
				}
				got, err := s.Reserve(ctx, step.id, clock.now().Add(step.ttl))
				if !errors.Is(err, step.wantErr) || (err == nil) != (step.wantErr == nil) {
					t.Fatalf("step %d: Reserve(%q) error = %v, want %v", i, step.id, err, step.wantErr)
				}
				if got != step.want {
					t.Fatalf("step %d: Reserve(%q) = %t, want %t", i, step.id, got, step.want)
				}
			}
			checkReplayHeap(t, s)
		})
	}
}

func TestNewMemoryReplayStoreBound(t *testing.T) {
	tests := []struct {
		name       string
		maxEntries int
		want       int
	}{
		{"a positive bound is kept", 7, 7},
		{"a zero bound means the default", 0, DefaultMaxReplayEntries},
		{"a negative bound means the default", -1, DefaultMaxReplayEntries},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewMemoryReplayStore(tc.maxEntries).max; got != tc.want {
				t.Errorf("bound = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestWithReplayClockNilPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewMemoryReplayStore with a nil clock did not panic")
		}
	}()
	NewMemoryReplayStore(1, WithReplayClock(nil))
}

// TestMemoryReplayStorePrunesInSteps checks that expired entries are removed
// a bounded number at a time, not by a scan of the whole store, and that
// they are all gone after enough calls.
func TestMemoryReplayStorePrunesInSteps(t *testing.T) {
	const n = 10 * maxPrunePerReserve
	clock := newReplayClock(testNow)
	s := NewMemoryReplayStore(0, WithReplayClock(clock.now))
	for i := range n {
		mustReserve(t, s, "old-"+strconv.Itoa(i), clock.now().Add(time.Minute))
	}
	clock.advance(time.Minute)

	mustReserve(t, s, "new-0", clock.now().Add(time.Minute))
	if got, want := len(s.entries), n-maxPrunePerReserve+1; got != want {
		t.Fatalf("after one Reserve the store holds %d entries, want %d", got, want)
	}

	for i := 1; i < n/maxPrunePerReserve; i++ {
		mustReserve(t, s, "new-"+strconv.Itoa(i), clock.now().Add(time.Minute))
	}
	if got, want := len(s.entries), n/maxPrunePerReserve; got != want {
		t.Fatalf("once pruned the store holds %d entries, want %d", got, want)
	}
	checkReplayHeap(t, s)
}

// TestMemoryReplayStoreExpiredNotPruned covers an id whose reservation has
// expired while more expired entries than one Reserve prunes lie before it.
func TestMemoryReplayStoreExpiredNotPruned(t *testing.T) {
	tests := []struct {
		name  string
		ttl   time.Duration
		again bool // what a second Reserve of the id reports
	}{
		{"an expired id not yet pruned is reserved again", time.Minute, false},
		{"an expired id not yet pruned stays free with an until already past", -time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newReplayClock(testNow)
			s := NewMemoryReplayStore(0, WithReplayClock(clock.now))
			ctx := context.Background()
			for i := range 2 * maxPrunePerReserve {
				mustReserve(t, s, "old-"+strconv.Itoa(i), clock.now().Add(time.Minute))
			}
			mustReserve(t, s, "a", clock.now().Add(2*time.Minute))
			clock.advance(2 * time.Minute)

			if ok, err := s.Reserve(ctx, "a", clock.now().Add(tc.ttl)); !ok || err != nil {
				t.Fatalf("Reserve of the expired id = %t, %v; want true", ok, err)
			}
			if _, held := s.entries["a"]; held != (tc.ttl > 0) {
				t.Fatalf("store holds the id: %t, want %t", held, tc.ttl > 0)
			}
			if ok, err := s.Reserve(ctx, "a", clock.now().Add(time.Minute)); ok != tc.again || err != nil {
				t.Fatalf("second Reserve = %t, %v; want %t", ok, err, tc.again)
			}
			checkReplayHeap(t, s)
		})
	}
}

func mustReserve(t *testing.T, s *MemoryReplayStore, id string, until time.Time) {
	t.Helper()
	if ok, err := s.Reserve(context.Background(), id, until); !ok || err != nil {
		t.Fatalf("Reserve(%q) = %t, %v; want true", id, ok, err)
	}
}

// TestMemoryReplayStoreMatchesModel runs long random sequences of calls on a
// store and compares every answer, and the ids held, with a plain map that
// scans itself, to catch a heap that loses track of an entry.
func TestMemoryReplayStoreMatchesModel(t *testing.T) {
	tests := []struct {
		name       string
		maxEntries int
		ids        int
		step       time.Duration // the clock moves up to this much per call
		jumpEvery  int           // and, about once in so many calls, past every expiry
	}{
		{"a small store with ids expiring one by one", 8, 12, 3 * time.Second, 0},
		{"a full store whose ids expire together", 200, 300, 20 * time.Millisecond, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			clock := newReplayClock(testNow)
			s := NewMemoryReplayStore(tc.maxEntries, WithReplayClock(clock.now))
			model := map[string]time.Time{}
			ctx := context.Background()

			for i := range 8_000 {
				clock.advance(time.Duration(rng.Int64N(int64(tc.step))))
				if tc.jumpEvery > 0 && rng.IntN(tc.jumpEvery) == 0 {
					clock.advance(time.Minute)
				}
				now := clock.now()
				for id, until := range model {
					if !until.After(now) {
						delete(model, id)
					}
				}
				id := "id-" + strconv.Itoa(rng.IntN(tc.ids))

				if rng.IntN(5) == 0 {
					if err := s.Release(ctx, id); err != nil {
						t.Fatalf("op %d: Release(%q) = %v", i, id, err)
					}
					delete(model, id)
					continue
				}

				until := now.Add(time.Duration(rng.IntN(12_000)-2_000) * time.Millisecond)
				var want bool
				var wantErr error
				_, reserved := model[id]
				switch {
				case reserved:
					want = false
				case !until.After(now):
					want = true
				case len(model) >= tc.maxEntries:
					wantErr = ErrReplayStoreUnavailable
				default:
					want = true
					model[id] = until
				}
				got, err := s.Reserve(ctx, id, until)
				if got != want || !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
					t.Fatalf("op %d: Reserve(%q) = %t, %v; want %t, %v",
						i, id, got, err, want, wantErr)
				}
				checkLiveEntries(t, s, now, model)
				checkReplayHeap(t, s)
			}
		})
	}
}

// checkLiveEntries fails the test unless the ids s holds unexpired at now are
// those of want, each until the same time.
func checkLiveEntries(t *testing.T, s *MemoryReplayStore, now time.Time,
	want map[string]time.Time,
) {
	t.Helper()
	live := 0
	for id, e := range s.entries {
		if !e.until.After(now) {
			continue
		}
		live++
		if until, ok := want[id]; !ok || !until.Equal(e.until) {
			t.Fatalf("store holds %q until %s, want %s (held: %t)", id, e.until, until, ok)
		}
	}
	if live != len(want) {
		t.Fatalf("store holds %d live ids, want %d", live, len(want))
	}
}

func TestMemoryReplayStoreConcurrent(t *testing.T) {
	const goroutines = 64
	ctx := context.Background()
	until := time.Now().Add(time.Hour)

	t.Run("exactly one of many reservations of the same id wins", func(t *testing.T) {
		s := NewMemoryReplayStore(0)
		var wins atomic.Int32
		runTogether(t, goroutines, func(int) error {
			ok, err := s.Reserve(ctx, "same", until)
			if ok {
				wins.Add(1)
			}
			return err
		})
		if got := wins.Load(); got != 1 {
			t.Errorf("%d reservations won, want 1", got)
		}
	})

	t.Run("many distinct ids reserved at once all succeed", func(t *testing.T) {
		const perGoroutine = 200
		s := NewMemoryReplayStore(0)
		runTogether(t, goroutines, func(g int) error {
			for i := range perGoroutine {
				id := strconv.Itoa(g) + "-" + strconv.Itoa(i)
				ok, err := s.Reserve(ctx, id, until)
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("distinct id " + id + " refused")
				}
				if i%3 == 0 {
					if err := s.Release(ctx, id); err != nil {
						return err
					}
				}
			}
			return nil
		})
		released := goroutines * ((perGoroutine + 2) / 3)
		if got, want := len(s.entries), goroutines*perGoroutine-released; got != want {
			t.Errorf("store holds %d ids, want %d", got, want)
		}
		checkReplayHeap(t, s)
	})
}

// runTogether starts n goroutines that call f at the same moment, waits for
// them all, and fails the test with the first error any of them returned.
func runTogether(t *testing.T, n int, f func(g int) error) {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			<-start
			errs <- f(g)
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
}

// checkReplayHeap fails the test unless the store's map and heap hold the
// same entries, each at the index it records, in heap order.
func checkReplayHeap(t *testing.T, s *MemoryReplayStore) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.expiry) != len(s.entries) {
		t.Fatalf("heap holds %d entries, map %d", len(s.expiry), len(s.entries))
	}
	for i, e := range s.expiry {
		if e.index != i {
			t.Fatalf("entry %q at heap index %d records index %d", e.id, i, e.index)
		}
		if s.entries[e.id] != e {
			t.Fatalf("entry %q in the heap is not the one in the map", e.id)
		}
		if i > 0 && s.expiry[(i-1)/2].until.After(e.until) {
			t.Fatalf("entry %q expires before its parent in the heap", e.id)
		}
	}
}

// BenchmarkMemoryReplayStore measures Reserve of a new id each time, in a
// steady state where as many reservations expire as are made: ids live 300
// simulated seconds and the clock moves 1 ms per call, so about 300,000 are
// held at once.
func BenchmarkMemoryReplayStore(b *testing.B) {
	const (
		life = 300 * time.Second
		step = time.Millisecond
	)
	ids := make([]string, 1<<20) // reused only long after they expired
	for i := range ids {
		ids[i] = "jwt_" + strconv.Itoa(i)
	}
	ctx := context.Background()

	b.Run("serial", func(b *testing.B) {
		clock := newReplayClock(testNow)
		s := NewMemoryReplayStore(1<<20, WithReplayClock(clock.now))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			clock.advance(step)
			if ok, err := s.Reserve(ctx, ids[i&(len(ids)-1)], clock.now().Add(life)); !ok || err != nil {
				b.Fatalf("Reserve = %t, %v", ok, err)
			}
			i++
		}
	})

	b.Run("parallel", func(b *testing.B) {
		clock := newReplayClock(testNow)
		s := NewMemoryReplayStore(1<<20, WithReplayClock(clock.now))
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1)
				clock.advance(step)
				ok, err := s.Reserve(ctx, ids[i&int64(len(ids)-1)], clock.now().Add(life))
				if !ok || err != nil {
					b.Errorf("Reserve = %t, %v", ok, err)
					return
				}
			}
		})
	})
}
