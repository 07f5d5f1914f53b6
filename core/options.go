package core

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
)

// DefaultMaxBodyBytes is the largest body VerifyRequest reads unless
// WithMaxBodyBytes says otherwise: 1 MiB, QStash's own message size limit
// on its larger plans.
const DefaultMaxBodyBytes int64 = 1 << 20

// Option configures a Verifier.
type Option func(*config)

// config collects what the options say; NewVerifier turns it into a
// Verifier once every option has run, so their order does not matter.
type config struct {
	current, next string
	regions       []regionKeys
	explicitKeys  bool
	devMode       *bool
	tolerance     time.Duration
	now           func() time.Time
	maxBody       int64
	url           string
	baseURL       string
	noURLCheck    bool
	urlOptions    int
	replay        ReplayStore
	replayOpen    bool
	observer      observer
	// settings counts the options that shape verification (all but the
	// logger and the hooks), so a guard can refuse them beside a verifier
	// it was handed.
	settings int
	errs     []error
}

type regionKeys struct {
	region, current, next string
}

// WithSigningKeys sets the current and next signing keys explicitly, in
// place of the environment (for platforms that have no environment
// variables). A current key alone is enough; next may be empty until the
// first rotation. Surrounding white space is ignored.
func WithSigningKeys(current, next string) Option {
	return func(c *config) {
		c.settings++
		c.current, c.next = strings.TrimSpace(current), strings.TrimSpace(next)
		c.explicitKeys = true
	}
}

// WithRegionKeys sets the signing keys of one QStash region (US_EAST_1,
// EU_CENTRAL_1; also written us-east-1), used for requests whose
// Upstash-Region header names it. It can be given once per region, beside
// or instead of WithSigningKeys; like WithSigningKeys it replaces the
// environment.
func WithRegionKeys(region, current, next string) Option {
	return func(c *config) {
		c.settings++
		name, ok := normalizeRegion(region)
		if !ok {
			c.errs = append(c.errs, fmt.Errorf("%w: region %q is not a QStash region name",
				ErrConfig, region))
			return
		}
		c.regions = append(c.regions, regionKeys{
			region:  name,
			current: strings.TrimSpace(current),
			next:    strings.TrimSpace(next),
		})
		c.explicitKeys = true
	}
}

// WithDevMode(true) selects the published, non-secret keys of the QStash
// local development server, whatever else is configured. WithDevMode(false)
// pins dev mode off: QSTASH_DEV in the environment is then ignored, which
// production code may want so that a stray variable cannot switch to keys
// anyone can sign with.
func WithDevMode(on bool) Option {
	return func(c *config) {
		c.settings++
		c.devMode = &on
	}
}

// WithClockTolerance allows for clock skew between QStash and this host: a
// token is accepted up to d after its expiry and from d before its
// not-before time. The default is no tolerance.
func WithClockTolerance(d time.Duration) Option {
	return func(c *config) {
		c.settings++
		if d < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: negative clock tolerance %s", ErrConfig, d))
			return
		}
		c.tolerance = d
	}
}

// WithClock sets the source of the current time, for tests and for apps
// that keep their own clock. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		c.settings++
		if now == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: nil clock", ErrConfig))
			return
		}
		c.now = now
	}
}

// WithMaxBodyBytes sets the largest body VerifyRequest reads; a longer one
// is refused with ErrBodyTooLarge without being read past the limit. The
// default is DefaultMaxBodyBytes. A guard built WithoutSignature takes it
// too, as the bound of the failure payloads it reads; beside WithVerifier
// it is ignored, the verifier's own limit applying.
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) {
		if n <= 0 || n >= math.MaxInt64 {
			c.errs = append(c.errs, fmt.Errorf("%w: body limit %d is not in 1..MaxInt64-1",
				ErrConfig, n))
			return
		}
		c.maxBody = n
	}
}

// WithURL makes VerifyRequest compare the signed URL with u, exactly, in
// place of the URL built from the request. Use it when the endpoint has one
// public URL that the request as it arrives does not show (behind a proxy
// that rewrites paths, say).
func WithURL(u string) Option {
	return func(c *config) {
		c.settings++
		c.urlOptions++
		if u == "" {
			c.errs = append(c.errs, fmt.Errorf("%w: empty URL; use WithoutURLCheck to skip the check",
				ErrConfig))
			return
		}
		c.url = u
	}
}

// WithPublicBaseURL makes VerifyRequest build the expected URL from base
// (scheme://host[:port], as QStash calls it) and the path and query of the
// request. Use it behind a proxy or load balancer that terminates TLS or
// changes the Host header: forwarded headers are not trusted, since anyone
// can send them.
func WithPublicBaseURL(base string) Option {
	return func(c *config) {
		c.settings++
		c.urlOptions++
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" ||
			u.User != nil {
			c.errs = append(c.errs, fmt.Errorf("%w: public base URL %q is not scheme://host[:port]",
				ErrConfig, base))
			return
		}
		c.baseURL = u.Scheme + "://" + u.Host
	}
}

// WithoutURLCheck turns off the comparison of the signed URL with the
// request's. The signature then no longer proves that QStash meant this
// endpoint: any request QStash signed for the account, to any URL, passes.
// Prefer WithPublicBaseURL or WithURL.
func WithoutURLCheck() Option {
	return func(c *config) {
		c.settings++
		c.urlOptions++
		c.noURLCheck = true
	}
}

// WithReplayProtection refuses a delivery whose token id (jti) store has
// already seen, with ErrReplayed. A signed request stays valid for its whole
// lifetime (five minutes); anyone who sees one in that time (a logging
// proxy, another endpoint the same account publishes to) could otherwise
// send it again. QStash gives every delivery attempt its own id, so retries
// are never refused as replays; and the adapters release the reservation of
// a request the handler answered outside 2xx, so an attempt that failed
// here can be retried.
//
// When the store cannot answer, the request is refused with
// ErrReplayStoreUnavailable (503) unless WithReplayFailOpen is given.
func WithReplayProtection(store ReplayStore) Option {
	return func(c *config) {
		c.settings++
		if store == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: nil replay store", ErrConfig))
			return
		}
		c.replay = store
	}
}

// WithReplayFailOpen lets requests through, unchecked for replay, while the
// replay store cannot answer (they are still logged at Error). It trades
// replay protection for availability during a store outage; the default is
// to refuse them.
func WithReplayFailOpen() Option {
	return func(c *config) {
		c.settings++
		c.replayOpen = true
	}
}
