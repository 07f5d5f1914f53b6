package core

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"
)

// ReplayStore remembers message ids (the jti of each delivery's token)
// between deliveries, so that a delivery sent again is refused. QStash gives
// every delivery attempt its own jti, so an id seen twice is a replay.
//
// An implementation must be safe for concurrent use, and when two callers
// reserve the same id at once exactly one of them must win. When it cannot
// answer it returns an error wrapping ErrReplayStoreUnavailable, so that
// the request is refused (fail closed) instead of let through unchecked.
type ReplayStore interface {
	// Reserve records id until the given time; it reports false (and no
	// error) when id is already reserved and not expired.
	Reserve(ctx context.Context, id string, until time.Time) (bool, error)
	// Release forgets id, so a retry of a delivery the app answered with an
	// error is not refused.
	Release(ctx context.Context, id string) error
}

// DefaultMaxReplayEntries is the number of ids a MemoryReplayStore holds
// when NewMemoryReplayStore is given no positive bound. At about 150 bytes
// an entry it costs some 15 MB when full.
const DefaultMaxReplayEntries = 100_000

// maxPrunePerReserve bounds how many expired entries one Reserve removes,
// so that a burst of expiries is spread over the calls that follow instead
// of stalling one request. Each call adds at most one entry, so pruning
// still outpaces growth.
const maxPrunePerReserve = 64

// MemoryReplayOption configures a MemoryReplayStore.
type MemoryReplayOption func(*MemoryReplayStore)

// WithReplayClock sets the clock a MemoryReplayStore reads to tell whether a
// reservation has expired; tests use it to move time without sleeping. The
// default is time.Now. NewMemoryReplayStore panics if now is nil.
func WithReplayClock(now func() time.Time) MemoryReplayOption {
	return func(s *MemoryReplayStore) { s.now = now }
}

// MemoryReplayStore is a ReplayStore held in the memory of one process. It
// protects a single instance of an app only: with several instances behind a
// load balancer, a replay sent to another instance is not seen, and a
// restart forgets every id. Use a shared store (such as the one in package
// replay/redisstore) for those.
//
// It holds at most a fixed number of ids. Expired ids are removed lazily,
// a few at a time, by the calls to Reserve; there is no background
// goroutine and nothing to stop. When the store is full of ids that have not
// expired, Reserve fails closed with ErrReplayStoreUnavailable rather than
// evict one: evicting a live id would let its replay through. Size it for
// the most deliveries the app may receive within one token lifetime (the
// token's five minutes plus the clock tolerance).
//
// It is safe for concurrent use.
type MemoryReplayStore struct {
	now func() time.Time
	max int

	mu      sync.Mutex
	entries map[string]*replayEntry
	expiry  replayHeap // the same entries, soonest expiry first
}

type replayEntry struct {
	id    string
	until time.Time
	index int // position in the heap, kept up to date by replayHeap
}

// NewMemoryReplayStore returns an empty MemoryReplayStore that holds at most
// maxEntries ids, or DefaultMaxReplayEntries if maxEntries is zero or
// negative.
func NewMemoryReplayStore(maxEntries int, opts ...MemoryReplayOption) *MemoryReplayStore {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxReplayEntries
	}
	s := &MemoryReplayStore{
		now:     time.Now,
		max:     maxEntries,
		entries: make(map[string]*replayEntry),
	}
	for _, opt := range opts {
		opt(s)
	}
	if s.now == nil {
		panic("core: WithReplayClock needs a non-nil clock")
	}
	return s
}

// Reserve records id until the given time, which is exclusive: from until
// on the id is free again. It reports false when id is already reserved and
// not expired. An until that is not after now stores nothing, since such a
// reservation would be over at once, but it still reports false for an id
// that is reserved.
//
// It returns an error wrapping ErrReplayStoreUnavailable when the store is
// full of unexpired ids, and one wrapping ErrMalformedSignature for an empty
// id: a delivery without a jti cannot be told apart from its replay. The
// context is not used, since the store never waits.
func (s *MemoryReplayStore) Reserve(_ context.Context, id string, until time.Time) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("%w: no message id (jti) to reserve", ErrMalformedSignature)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.prune(now, maxPrunePerReserve)

	if e, ok := s.entries[id]; ok {
		if e.until.After(now) {
			return false, nil
		}
		// Expired but not pruned yet: the id is free, and its entry is reused.
		if !until.After(now) {
			s.remove(e)
			return true, nil
		}
		e.until = until
		heap.Fix(&s.expiry, e.index)
		return true, nil
	}
	if !until.After(now) {
		return true, nil
	}

	// The prune above either removed every expired entry or freed
	// maxPrunePerReserve places, so a store still full holds live ids only.
	if len(s.entries) >= s.max {
		return false, fmt.Errorf("%w: memory store holds %d unexpired ids, its limit",
			ErrReplayStoreUnavailable, s.max)
	}
	e := &replayEntry{id: id, until: until}
	s.entries[id] = e
	heap.Push(&s.expiry, e)
	return true, nil
}

// Release forgets id. Releasing an id that is not reserved is not an error.
// The context is not used.
func (s *MemoryReplayStore) Release(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[id]; ok {
		s.remove(e)
	}
	return nil
}

// prune removes up to limit entries that have expired at now, soonest
// first. It never looks past the first entry still alive, so its cost is
// O(log n) per entry removed and each entry is removed once.
func (s *MemoryReplayStore) prune(now time.Time, limit int) {
	for ; limit > 0 && len(s.expiry) > 0; limit-- {
		e := s.expiry[0]
		if e.until.After(now) {
			return
		}
		s.remove(e)
	}
}

func (s *MemoryReplayStore) remove(e *replayEntry) {
	heap.Remove(&s.expiry, e.index)
	delete(s.entries, e.id)
}

// replayHeap orders entries by expiry for container/heap.
type replayHeap []*replayEntry

func (h replayHeap) Len() int           { return len(h) }
func (h replayHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }

func (h replayHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *replayHeap) Push(x any) {
	e := x.(*replayEntry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *replayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
