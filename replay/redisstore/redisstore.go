package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qstashguard/qstashguard/core"
)

// DefaultPrefix is put before every message id to make its key when New is
// given an empty prefix.
const DefaultPrefix = "qstashguard:jti:"

// Store is a core.ReplayStore kept in Redis, so that every instance of an app
// that shares the server refuses a message id any of them has seen. It is
// safe for concurrent use, as the client is.
type Store struct {
	client redis.UniversalClient
	prefix string
}

var _ core.ReplayStore = (*Store)(nil)

// New returns a Store that keeps each message id under the key prefix+id,
// through client: a *redis.Client, a Sentinel-backed *redis.Client from
// redis.NewFailoverClient, a *redis.ClusterClient, or whatever
// redis.NewUniversalClient builds. An empty prefix means DefaultPrefix. The
// Store does not own the client: the app closes it.
//
// New panics if client is nil.
func New(client redis.UniversalClient, prefix string) *Store {
	if client == nil {
		panic("redisstore: New needs a Redis client")
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{client: client, prefix: prefix}
}

// Reserve records id until the given time in one round trip,
// SET key 1 NX PXAT until, and reports false when the key already exists.
// Because the expiry travels as a point in time (rounded up to the
// millisecond) rather than a duration, a slow network does not move it;
// it is read by the Redis server's clock, so keep the clocks of the app and
// the server in sync. An until not after the server's now stores nothing,
// but still reports false for an id that is reserved. Every key carries an
// expiry: an until before 1970 is sent as the first millisecond of 1970.
//
// Any failure to get an answer, a timeout or a cancelled ctx among them,
// returns an error wrapping core.ErrReplayStoreUnavailable and the client's
// error, so the request is refused rather than let through unchecked. An
// empty id returns an error wrapping core.ErrMalformedSignature: a delivery
// without a jti cannot be told apart from its replay.
func (s *Store) Reserve(ctx context.Context, id string, until time.Time) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("%w: no message id (jti) to reserve", core.ErrMalformedSignature)
	}

	err := s.client.SetArgs(ctx, s.prefix+id, 1, redis.SetArgs{
		Mode:     "NX",
		ExpireAt: expireAt(until),
	}).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil):
		return false, nil
	default:
		return false, fmt.Errorf("%w: redis set: %w", core.ErrReplayStoreUnavailable, err)
	}
}

// Release deletes the key of id. Releasing an id that is not reserved is not
// an error. A cancelled ctx fails the call like any other error, so a caller
// releasing after its request's context may have ended should pass
// context.WithoutCancel(ctx).
func (s *Store) Release(ctx context.Context, id string) error {
	if err := s.client.Del(ctx, s.prefix+id).Err(); err != nil {
		return fmt.Errorf("%w: redis del: %w", core.ErrReplayStoreUnavailable, err)
	}
	return nil
}

// expireAt rounds until up to the next whole millisecond, so that the key
// never expires before until, and keeps it at or after the first millisecond
// of 1970: Redis refuses a PXAT that is not positive, and the client would
// send a zero time.Time with no expiry at all.
func expireAt(until time.Time) time.Time {
	ms := until.UnixMilli()
	if until.After(time.UnixMilli(ms)) {
		ms++
	}
	return time.UnixMilli(max(ms, 1))
}
