package core

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small, strict JSON reader for the flat objects inside a
// token (its header and its claims). encoding/json would do, but decoding the
// claims with it costs more than the rest of a verification put together, and
// it is lenient where a verifier should not be: it takes the last of two
// duplicate keys, replaces invalid UTF-8 instead of refusing it, and matches
// keys regardless of case. This reader refuses all three. It returns strings
// that share the input's memory unless they hold escapes.

// maxJSONDepth bounds the nesting of values the reader skips over, so a
// hostile token cannot recurse deeply. Tokens are size-capped as well.
const maxJSONDepth = 32

var (
	errJSONSyntax    = errors.New("invalid JSON")
	errJSONDepth     = errors.New("JSON nested too deeply")
	errJSONUTF8      = errors.New("invalid UTF-8 in JSON string")
	errJSONDuplicate = errors.New("duplicate key")
)

type jsonReader struct {
	s string
	i int
}

func (d *jsonReader) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte without consuming it,
// or 0 at the end of the input.
func (d *jsonReader) next() byte {
	d.space()
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

func (d *jsonReader) consume(c byte) bool {
	if d.next() == c {
		d.i++
		return true
	}
	return false
}

// object reads an object, calling field for each key with the reader
// positioned at the value; field must read the value. It requires the input
// to hold that object and nothing else.
func (d *jsonReader) object(field func(key string) error) error {
	if !d.consume('{') {
		return errJSONSyntax
	}
	if !d.consume('}') {
		for {
			if d.next() != '"' {
				return errJSONSyntax
			}
			key, err := d.str()
			if err != nil {
				return err
			}
			if !d.consume(':') {
				return errJSONSyntax
			}
			d.space()
			if err := field(key); err != nil {
				return err
			}
			if d.consume(',') {
				continue
			}
			if d.consume('}') {
				break
			}
			return errJSONSyntax
		}
	}
	// Nothing may follow the object, a NUL byte included (which next
	// would report as the end).
	if d.space(); d.i != len(d.s) {
		return errJSONSyntax
	}
	return nil
}

// plainASCII marks the bytes a string can hold as they are: printable
// ASCII but for the quote and the backslash. One table look-up per byte keeps
// the common case, a URL or a hash, to a tight loop.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Byte-wise masks for specialBytes, one copy of the byte in each lane.
const (
	laneOnes  = 0x0101010101010101
	laneHighs = 0x8080808080808080
)

// specialBytes flags, in the high bit of its lane, each byte of w (eight
// bytes of a string, the first in the low lane) that plainASCII does not
// mark: a control byte, a non-ASCII byte, '"' or '\\'. Above the first
// flagged byte a plain byte may be flagged too, since a lane's borrow
// carries into the next; the lowest flag is always exact, and that is the
// only one str uses.
func specialBytes(w uint64) uint64 {
	control := (w - 0x20*laneOnes) &^ w
	quote := w ^ '"'*laneOnes
	backslash := w ^ '\\'*laneOnes
	return (control | w | (quote-laneOnes)&^quote | (backslash-laneOnes)&^backslash) & laneHighs
}

// str reads a string value. Without escapes the result is a substring of
// the input; with them, a new string.
func (d *jsonReader) str() (string, error) {
	if d.next() != '"' {
		return "", errJSONSyntax
	}
	d.i++
	start := d.i
	for d.i < len(d.s) {
		if d.i+8 <= len(d.s) {
			// Eight bytes at a time while they are all plain: the URL
			// and the hashes in a token are long runs of them.
			m := specialBytes(binary.LittleEndian.Uint64(bytesOf(d.s[d.i : d.i+8])))
			if m == 0 {
				d.i += 8
				continue
			}
			d.i += bits.TrailingZeros64(m) >> 3
		}
		c := d.s[d.i]
		if plainASCII[c] {
			d.i++
			continue
		}
		switch {
		case c == '"':
			d.i++
			return d.s[start : d.i-1], nil
		case c == '\\':
			return d.escapedStr(start)
		case c < 0x20:
			return "", errJSONSyntax
		default:
			r, n := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && n == 1 {
				return "", errJSONUTF8
			}
			d.i += n
		}
	}
	return "", errJSONSyntax
}

// escapedStr finishes a string that holds escapes, from its first byte at
// start. Lone surrogates are refused rather than replaced.
func (d *jsonReader) escapedStr(start int) (string, error) {
	var b strings.Builder
	b.WriteString(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return b.String(), nil
		case c < 0x20:
			return "", errJSONSyntax
		case c != '\\':
			r, n := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && n == 1 {
				return "", errJSONUTF8
			}
			b.WriteString(d.s[d.i : d.i+n])
			d.i += n
			continue
		}
		if d.i+1 >= len(d.s) {
			return "", errJSONSyntax
		}
		e := d.s[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", errJSONSyntax
			}
			if utf16.IsSurrogate(r) {
				if !strings.HasPrefix(d.s[d.i:], `\u`) {
					return "", errJSONUTF8
				}
				d.i += 2
				lo, ok := d.hex4()
				if !ok {
					return "", errJSONSyntax
				}
				if r = utf16.DecodeRune(r, lo); r == utf8.RuneError {
					return "", errJSONUTF8
				}
			}
			b.WriteRune(r)
		default:
			return "", errJSONSyntax
		}
	}
	return "", errJSONSyntax
}

func (d *jsonReader) hex4() (rune, bool) {
	if d.i+4 > len(d.s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(d.s[d.i : d.i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.i += 4
	return r, true
}

// number reads a number and returns its literal text, checked against the
// JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jsonReader) number() (string, error) {
	start := d.i
	if d.i < len(d.s) && d.s[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case d.digits() == 0:
		return "", errJSONSyntax
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return "", errJSONSyntax
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return "", errJSONSyntax
		}
	}
	return d.s[start:d.i], nil
}

func (d *jsonReader) digits() int {
	start := d.i
	for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}

// skip reads and discards any value.
func (d *jsonReader) skip(depth int) error {
	if depth > maxJSONDepth {
		return errJSONDepth
	}
	switch c := d.next(); {
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || ('0' <= c && c <= '9'):
		_, err := d.number()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '[':
		d.i++
		if d.consume(']') {
			return nil
		}
		for {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			if d.consume(',') {
				continue
			}
			if d.consume(']') {
				return nil
			}
			return errJSONSyntax
		}
	case c == '{':
		d.i++
		if d.consume('}') {
			return nil
		}
		for {
			if _, err := d.str(); err != nil {
				return err
			}
			if !d.consume(':') {
				return errJSONSyntax
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			if d.consume(',') {
				continue
			}
			if d.consume('}') {
				return nil
			}
			return errJSONSyntax
		}
	}
	return errJSONSyntax
}

func (d *jsonReader) literal(word string) error {
	if !strings.HasPrefix(d.s[d.i:], word) {
		return errJSONSyntax
	}
	d.i += len(word)
	return nil
}

// The range of NumericDate values accepted: the years 1 to 9999, the range
// time.Time formats. Real tokens have carried a not-before of year 1.
const (
	minUnixSeconds = -62135596800
	maxUnixSeconds = 253402300799
)

var errDateRange = errors.New("date outside the years 1 to 9999")

// unixSeconds reads a NumericDate (RFC 7519 §2): a JSON number of seconds.
// Fractions are refused rather than rounded, since QStash issues whole
// seconds and a rounding rule would be one more thing to disagree on.
func (d *jsonReader) unixSeconds() (int64, error) {
	if n, ok := d.shortInt(); ok {
		if n < minUnixSeconds || n > maxUnixSeconds {
			return 0, errDateRange
		}
		return n, nil
	}
	lit, err := d.number()
	if err != nil {
		return 0, err
	}
	if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
		if n < minUnixSeconds || n > maxUnixSeconds {
			return 0, errDateRange
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || f < minUnixSeconds || f > maxUnixSeconds {
		return 0, errDateRange
	}
	if f != math.Trunc(f) {
		return 0, errors.New("date is not a whole number of seconds")
	}
	return int64(f), nil
}

// shortInt reads a number written as an integer of at most 18 digits,
// which cannot overflow an int64, and reports false, having read nothing,
// for any other input. Every token's dates are such numbers: reading them
// in one pass spares number's scan and strconv's general parser.
func (d *jsonReader) shortInt() (int64, bool) {
	i := d.i
	neg := i < len(d.s) && d.s[i] == '-'
	if neg {
		i++
	}
	start := i
	var n int64
	for ; i < len(d.s) && '0' <= d.s[i] && d.s[i] <= '9'; i++ {
		n = n*10 + int64(d.s[i]-'0')
	}
	switch digits := i - start; {
	case digits == 0 || digits > 18:
		return 0, false
	case digits > 1 && d.s[start] == '0':
		return 0, false // a leading zero, which the grammar refuses
	case i < len(d.s) && (d.s[i] == '.' || d.s[i] == 'e' || d.s[i] == 'E'):
		return 0, false // a fraction or an exponent
	}
	d.i = i
	if neg {
		n = -n
	}
	return n, true
}
