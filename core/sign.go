package core

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// SignatureLifetime is how long a token QStash issues stays valid: exp is
// five minutes after iat.
const SignatureLifetime = 5 * time.Minute

// Message is what Sign signs: a request as QStash would deliver it.
type Message struct {
	// URL is the destination, the sub claim.
	URL string
	// Body is the raw request body.
	Body []byte
	// IssuedAt is the iat and nbf claim; zero means now.
	IssuedAt time.Time
	// TTL is the time from IssuedAt to exp; zero means SignatureLifetime.
	TTL time.Duration
	// ID is the jti claim; empty means a random "jwt_..." id.
	ID string
}

// wireClaims are the claims in the order and form QStash sends them.
type wireClaims struct {
	Aud  string `json:"aud"`
	Body string `json:"body"`
	Exp  int64  `json:"exp"`
	Iat  int64  `json:"iat"`
	Iss  string `json:"iss"`
	Jti  string `json:"jti"`
	Nbf  int64  `json:"nbf"`
	Sub  string `json:"sub"`
}

// Sign returns an Upstash-Signature value for m, shaped exactly as QStash
// issues them: HS256 header, the claims QStash sends, the body hash with its
// '=' padding, the HMAC keyed with the signing key's own bytes. It is for
// testing an endpoint without QStash; production requests are signed by
// QStash itself.
func Sign(key string, m Message) (string, error) {
	if key == "" {
		return "", fmt.Errorf("%w: empty signing key", ErrConfig)
	}
	iat := m.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	ttl := m.TTL
	if ttl == 0 {
		ttl = SignatureLifetime
	}
	id := m.ID
	if id == "" {
		id = newMessageID()
	}
	hash := bodyHash(m.Body)
	claims, err := json.Marshal(wireClaims{
		Body: string(hash[:]),
		Exp:  iat.Add(ttl).Unix(),
		Iat:  iat.Unix(),
		Iss:  Issuer,
		Jti:  id,
		Nbf:  iat.Unix(),
		Sub:  m.URL,
	})
	if err != nil {
		return "", err
	}
	input := hs256Header + "." + base64.RawURLEncoding.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// newMessageID returns a random jti in QStash's style: "jwt_" and 128 bits
// of randomness.
func newMessageID() string {
	return "jwt_" + rand.Text()
}
