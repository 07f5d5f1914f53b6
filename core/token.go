package core

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"unsafe"
)

// MaxSignatureLength is the longest Upstash-Signature accepted, in bytes. A
// real token is about 500 bytes plus the length of the URL it names, so this
// leaves room for URLs of some 5,000 characters while capping the work a
// hostile header can cause. Longer values are refused before any decoding.
const MaxSignatureLength = 8 << 10

// hs256Header is the header segment of every token QStash issues,
// {"alg":"HS256","typ":"JWT"}. Comparing with it spares decoding the header
// in the common case.
const hs256Header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

// strictRawURL decodes the segments of a token: base64url without padding,
// refusing non-zero trailing bits so that each segment has one encoding only.
// Strict copies the encoding, which is why it is made once.
var strictRawURL = base64.RawURLEncoding.Strict()

// signedToken is a token whose form has been checked but whose signature
// has not.
type signedToken struct {
	signingInput string // header.payload, what the HMAC covers
	payload      string // base64url of the claims
	mac          [sha256.Size]byte
}

// parseToken checks the compact form (RFC 7515 §7.1) and the header, and
// decodes the signature. Nothing here trusts the token yet, which is why it
// decodes no claims: unauthenticated input reaches no JSON decoder except
// for headers other than QStash's own.
func parseToken(tok string, t *signedToken) error {
	if tok == "" {
		return ErrMissingSignature
	}
	if len(tok) > MaxSignatureLength {
		return fmt.Errorf("%w: %d bytes, over the limit of %d",
			ErrMalformedSignature, len(tok), MaxSignatureLength)
	}
	dot1 := strings.IndexByte(tok, '.')
	dot2 := strings.LastIndexByte(tok, '.')
	if dot1 < 0 || dot1 == dot2 || strings.IndexByte(tok[dot1+1:dot2], '.') >= 0 {
		return fmt.Errorf("%w: not three dot-separated segments", ErrMalformedSignature)
	}
	header, payload, mac := tok[:dot1], tok[dot1+1:dot2], tok[dot2+1:]
	if header == "" || payload == "" {
		return fmt.Errorf("%w: empty header or claims segment", ErrMalformedSignature)
	}
	if mac == "" {
		return fmt.Errorf("%w: signature segment stripped", ErrMalformedSignature)
	}
	if header != hs256Header {
		if err := checkHeader(header); err != nil {
			return err
		}
	}
	if len(mac) != base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return fmt.Errorf("%w: signature segment is %d characters, not the %d of HS256",
			ErrMalformedSignature, len(mac), base64.RawURLEncoding.EncodedLen(sha256.Size))
	}
	// The decoder skips line breaks, so a 43-byte segment holding one
	// decodes to fewer bytes; only a full 32 is a signature.
	if n, err := strictRawURL.Decode(t.mac[:], bytesOf(mac)); err != nil || n != sha256.Size {
		return fmt.Errorf("%w: signature segment is not base64url", ErrMalformedSignature)
	}
	t.signingInput, t.payload = tok[:dot2], payload
	return nil
}

// checkHeader accepts a JOSE header that asks for HS256 and nothing this
// verifier does not implement.
func checkHeader(seg string) error {
	raw, ok := decodeSegment(seg)
	if !ok {
		return fmt.Errorf("%w: header is not base64url", ErrMalformedSignature)
	}
	var alg string
	var seenAlg, seenTyp bool
	d := jsonReader{s: string(raw)}
	err := d.object(func(key string) error {
		switch key {
		case "alg":
			if seenAlg {
				return errJSONDuplicate
			}
			seenAlg = true
			var err error
			alg, err = d.str()
			return err
		case "typ":
			if seenTyp {
				return errJSONDuplicate
			}
			seenTyp = true
			_, err := d.str()
			return err
		case "crit":
			// RFC 7515 §4.1.11: a recipient must refuse a token whose crit
			// lists extensions it does not understand. This verifier
			// understands none, so any crit is refused (b64:false among
			// them, which would sign the raw payload instead of its
			// encoding).
			return fmt.Errorf("crit header parameter present")
		}
		return d.skip(0)
	})
	if err != nil {
		return fmt.Errorf("%w: header: %w", ErrMalformedSignature, err)
	}
	if alg != "HS256" {
		// QStash signs with HS256 only. Accepting an algorithm named by
		// the token is how "none" and key-confusion attacks get in.
		return fmt.Errorf("%w: algorithm %q is not HS256", ErrInvalidSignature, alg)
	}
	return nil
}

// verifyMAC tries the current key, then the next. QStash signs with the
// current key until a rotation promotes the next one, so during a rotation
// either may have signed a request in flight.
func verifyMAC(t *signedToken, keys keyPair) (Key, error) {
	if keys.current != nil && keys.current.matches(t.signingInput, &t.mac) {
		return KeyCurrent, nil
	}
	if keys.next != nil && keys.next.matches(t.signingInput, &t.mac) {
		return KeyNext, nil
	}
	return 0, fmt.Errorf("%w: matches neither the current nor the next signing key",
		ErrInvalidSignature)
}

// decodePayload decodes the claims segment once the signature is known to
// be good.
func decodePayload(seg string) (string, error) {
	raw, ok := decodeSegment(seg)
	if !ok {
		return "", fmt.Errorf("%w: claims segment is not base64url", ErrMalformedSignature)
	}
	// raw is never written again, so it can back a string without a copy.
	return unsafe.String(unsafe.SliceData(raw), len(raw)), nil
}

// decodeSegment decodes one segment of a token. The decoder skips line
// breaks; refusing them keeps one spelling per segment, as golang-jwt's
// strict decoding does.
func decodeSegment(seg string) ([]byte, bool) {
	if strings.IndexByte(seg, '\n') >= 0 || strings.IndexByte(seg, '\r') >= 0 {
		return nil, false
	}
	raw, err := strictRawURL.DecodeString(seg)
	return raw, err == nil
}

// bodyHash returns base64url(SHA-256(body)) with its '=' padding, as QStash
// puts it in the body claim.
func bodyHash(body []byte) [44]byte {
	sum := sha256.Sum256(body)
	var enc [44]byte
	base64.URLEncoding.Encode(enc[:], sum[:])
	return enc
}

// checkBody compares the body claim with the body. QStash pads the hash
// with '='; other signers often do not, and both mean the same hash.
func checkBody(claim string, body []byte) error {
	h := bodyHash(body)
	if claim == string(h[:]) || claim == string(h[:43]) {
		return nil
	}
	// A copy of the hash, so that h itself stays on the stack.
	return fmt.Errorf("%w: body hashes to %s, signature covers %q", ErrBodyMismatch,
		string(h[:]), claim)
}

// bytesOf views s as bytes without copying, for hash and decode calls that
// only read their input (the io.Writer contract forbids retaining it).
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
