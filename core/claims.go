package core

import (
	"context"
	"fmt"
	"time"
)

// Issuer is the iss claim of every token QStash signs.
const Issuer = "Upstash"

// Claims are the verified claims of an Upstash-Signature token.
type Claims struct {
	// Issuer is always "Upstash" once verified.
	Issuer string
	// Subject is the URL QStash called, as it signed it.
	Subject string
	// ID is the token's jti, unique per delivery attempt.
	ID string
	// IssuedAt, NotBefore and ExpiresAt are the token's iat, nbf and exp.
	// IssuedAt and NotBefore are zero when the token lacks them.
	IssuedAt, NotBefore, ExpiresAt time.Time
	// Body is the body claim: base64url of the SHA-256 of the body, as the
	// token carries it (QStash pads it with '=').
	Body string
	// Key says which signing key verified the signature.
	Key Key
	// Region is the region whose keys verified it, such as "EU_CENTRAL_1",
	// or "" for the unprefixed keys.
	Region string

	// replay is the store holding this token's id, when replay protection
	// reserved it.
	replay ReplayStore
}

// Reserved reports whether replay protection holds this token's id, that is
// whether Settle has anything to do. Adapters use it to watch the response
// status only when it matters.
func (c *Claims) Reserved() bool { return c != nil && c.replay != nil }

// Settle tells the replay store how the handler answered: a status outside
// 2xx releases the token's id, so that QStash's retry of this delivery, or a
// resend of the same message after a fix, is not refused as a replay. The
// adapters call it after the handler; an app using core directly calls it
// itself. Without replay protection, or for a nil Claims, it does nothing.
func (c *Claims) Settle(ctx context.Context, status int) error {
	if c == nil || c.replay == nil || (status >= 200 && status < 300) {
		return nil
	}
	// The request may be over by now, its context cancelled; the release
	// must still reach the store.
	return c.replay.Release(context.WithoutCancel(ctx), c.ID)
}

// claim bits, to require exp and to refuse a claim given twice.
const (
	seenIss = 1 << iota
	seenSub
	seenJti
	seenBody
	seenExp
	seenNbf
	seenIat
)

// decodeClaims reads the claims JSON of a token whose signature has already
// been verified. Claims other than these are skipped; aud is skipped too,
// since QStash sends it empty.
func decodeClaims(payload string, c *Claims) error {
	var seen uint
	d := jsonReader{s: payload}
	err := d.object(func(key string) error {
		var bit uint
		var err error
		switch key {
		case "iss":
			bit = seenIss
			c.Issuer, err = d.str()
		case "sub":
			bit = seenSub
			c.Subject, err = d.str()
		case "jti":
			bit = seenJti
			c.ID, err = d.str()
		case "body":
			bit = seenBody
			c.Body, err = d.str()
		case "exp":
			bit = seenExp
			c.ExpiresAt, err = d.date()
		case "nbf":
			bit = seenNbf
			c.NotBefore, err = d.date()
		case "iat":
			bit = seenIat
			c.IssuedAt, err = d.date()
		default:
			return d.skip(0)
		}
		if err != nil {
			return fmt.Errorf("claim %q: %w", key, err)
		}
		if seen&bit != 0 {
			return fmt.Errorf("claim %q: %w", key, errJSONDuplicate)
		}
		seen |= bit
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: claims: %w", ErrMalformedSignature, err)
	}
	if seen&seenExp == 0 {
		return fmt.Errorf("%w: no exp claim", ErrMalformedSignature)
	}
	return nil
}

func (d *jsonReader) date() (time.Time, error) {
	s, err := d.unixSeconds()
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(s, 0), nil
}
