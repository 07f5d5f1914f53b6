// Package redisstore keeps the message ids that qstashguard has seen in
// Redis, so that a replayed QStash delivery is refused by every instance of
// an app, not only by the one that saw it first, and across restarts.
//
// New wraps any go-redis v9 client: a single server (redis.NewClient), a
// Sentinel-managed one (redis.NewFailoverClient) or a cluster
// (redis.NewClusterClient), or whichever of them redis.NewUniversalClient
// picks. Each call touches one key, so the store is safe on a cluster, where
// ids spread over the slots.
//
// Reserve is one SET ... NX PXAT command, which needs Redis 6.2 or later.
// Every key expires when the reservation does, so the keyspace holds at
// most the ids of the deliveries of one token lifetime, and nothing has to
// clean up after it.
//
// The store fails closed: when Redis does not answer, Reserve returns an
// error wrapping core.ErrReplayStoreUnavailable and the request is refused
// with 503, which QStash retries later. How long "does not answer" takes is
// up to the client, so set its DialTimeout, ReadTimeout and WriteTimeout to
// a fraction of a second and keep MaxRetries and DialerRetries small: by
// default go-redis allows five seconds per attempt, and retries both dials
// and commands. Set ContextTimeoutEnabled as well if the request's own
// deadline should cut a call short.
package redisstore
