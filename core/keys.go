package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// The published keys of the QStash local development server. They are not
// secret: anyone can sign with them, which is why dev mode must be asked for.
const (
	devCurrentSigningKey = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r"
	devNextSigningKey    = "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs"
)

// Environment variables read by NewVerifier when no key option is given.
const (
	EnvCurrentSigningKey = "QSTASH_CURRENT_SIGNING_KEY"
	EnvNextSigningKey    = "QSTASH_NEXT_SIGNING_KEY"
	EnvRegion            = "QSTASH_REGION"
	EnvDev               = "QSTASH_DEV"
)

// knownRegions are the regions whose prefixed keys are read from the
// environment; QSTASH_REGION adds its own if it names another.
var knownRegions = []string{"US_EAST_1", "EU_CENTRAL_1"}

// Key says which signing key a signature matched.
type Key uint8

const (
	KeyCurrent Key = iota + 1 // the current signing key
	KeyNext                   // the next signing key, after a rotation
)

// String returns "current" or "next".
func (k Key) String() string {
	switch k {
	case KeyCurrent:
		return "current"
	case KeyNext:
		return "next"
	}
	return "none"
}

// signingKey holds keyed HMAC-SHA256 states for one key. Keying a fresh
// HMAC hashes the key into two blocks; pooling keyed states and resetting
// them skips that work on every request.
type signingKey struct {
	pool sync.Pool
}

type keyedMAC struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// newSigningKey returns nil for an empty key: an HMAC under an empty key can
// be computed by anyone, so no code path may ever verify against one.
func newSigningKey(secret string) *signingKey {
	if secret == "" {
		return nil
	}
	k := []byte(secret)
	return &signingKey{pool: sync.Pool{New: func() any {
		return &keyedMAC{h: hmac.New(sha256.New, k)}
	}}}
}

// matches reports whether mac is the HMAC-SHA256 of input under k, in
// constant time.
func (k *signingKey) matches(input string, mac *[sha256.Size]byte) bool {
	m := k.pool.Get().(*keyedMAC)
	m.h.Reset()
	m.h.Write(bytesOf(input))
	ok := hmac.Equal(m.h.Sum(m.sum[:0]), mac[:])
	k.pool.Put(m)
	return ok
}

// keyPair is the current and next key of one region, or of the unprefixed
// configuration. Either may be nil.
type keyPair struct {
	current, next *signingKey
}

func newKeyPair(current, next string) keyPair {
	return keyPair{current: newSigningKey(current), next: newSigningKey(next)}
}

func (p keyPair) empty() bool { return p.current == nil && p.next == nil }

// keyring is every key a verifier holds, and the rule for choosing among
// them per request.
type keyring struct {
	base          keyPair
	regions       map[string]keyPair
	defaultRegion string
}

// forRegion returns the keys for a request whose Upstash-Region header is
// header, and the region they belong to ("" for the unprefixed pair). A
// known region uses its own pair; anything else uses the unprefixed pair,
// and failing that the default region's.
func (k *keyring) forRegion(header string) (keyPair, string) {
	if header != "" && len(k.regions) > 0 {
		if name, ok := normalizeRegion(header); ok {
			if p, ok := k.regions[name]; ok {
				return p, name
			}
		}
	}
	if !k.base.empty() {
		return k.base, ""
	}
	return k.regions[k.defaultRegion], k.defaultRegion
}

// normalizeRegion turns "us-east-1" and "US_EAST_1" into "US_EAST_1". It
// refuses anything that could not be a prefix of an environment variable.
func normalizeRegion(s string) (string, bool) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
	if s == "" || len(s) > 32 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return "", false
		}
	}
	return s, true
}

// parseDev reads QSTASH_DEV. Only true/1 and false/0 (or unset) mean
// anything; a typo must not silently leave the real keys in place, nor turn
// them off.
func parseDev(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, fmt.Errorf("%w: %s=%q; use true, 1, false or 0", ErrConfig, EnvDev, v)
}

// buildKeyring applies the precedence of the protocol: dev mode over
// everything, explicit keys over the environment.
func buildKeyring(c *config, getenv func(string) string) (*keyring, error) {
	dev := false
	if c.devMode != nil {
		dev = *c.devMode
	} else {
		on, err := parseDev(getenv(EnvDev))
		if err != nil {
			return nil, err
		}
		dev = on
	}
	if dev {
		return &keyring{base: newKeyPair(devCurrentSigningKey, devNextSigningKey)}, nil
	}

	k := &keyring{regions: map[string]keyPair{}}
	if c.explicitKeys {
		k.base = newKeyPair(c.current, c.next)
		for _, r := range c.regions {
			k.regions[r.region] = newKeyPair(r.current, r.next)
			if k.defaultRegion == "" {
				k.defaultRegion = r.region
			}
		}
	} else {
		if err := keysFromEnv(k, getenv); err != nil {
			return nil, err
		}
	}
	for name, p := range k.regions {
		if p.empty() {
			delete(k.regions, name)
		}
	}
	if _, ok := k.regions[k.defaultRegion]; !ok {
		k.defaultRegion = ""
	}
	if k.base.empty() && len(k.regions) == 0 {
		hint := fmt.Sprintf(", or set %s=true for the local dev server", EnvDev)
		if c.devMode != nil {
			hint = "" // WithDevMode(false) pinned dev mode off
		}
		return nil, fmt.Errorf("%w: no signing key; set %s (and %s after a rotation), "+
			"or pass core.WithSigningKeys%s", ErrConfig, EnvCurrentSigningKey, EnvNextSigningKey,
			hint)
	}
	if k.base.empty() && k.defaultRegion == "" {
		return nil, fmt.Errorf("%w: no keys for requests without an Upstash-Region header; "+
			"set %s and that region's keys, or the unprefixed %s", ErrConfig, EnvRegion,
			EnvCurrentSigningKey)
	}
	return k, nil
}

func keysFromEnv(k *keyring, getenv func(string) string) error {
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	k.base = newKeyPair(env(EnvCurrentSigningKey), env(EnvNextSigningKey))

	// Region-prefixed keys only count in multi-region mode, which
	// QSTASH_REGION turns on.
	v := getenv(EnvRegion)
	if v == "" {
		return nil
	}
	name, ok := normalizeRegion(v)
	if !ok {
		return fmt.Errorf("%w: %s=%q is not a QStash region name", ErrConfig, EnvRegion, v)
	}
	k.defaultRegion = name
	for _, r := range append([]string{name}, knownRegions...) {
		p := newKeyPair(env(r+"_"+EnvCurrentSigningKey), env(r+"_"+EnvNextSigningKey))
		if !p.empty() {
			k.regions[r] = p
		}
	}
	return nil
}
