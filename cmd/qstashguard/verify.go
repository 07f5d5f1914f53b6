package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/qstashguard/qstashguard/core"
)

const verifyUsage = `Usage: qstashguard verify --signature SIG --url URL
                          (--body TEXT | --body-file FILE) [flags]

Checks an Upstash-Signature value against the URL QStash called and the body
it sent, with package core's verifier and the keys from the environment
(QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY, or QSTASH_DEV=true).
It prints core's verdict, then each check on its own: which key matched, the
issuer, the expiry in plain words, the expected and the signed URL with the
first position where they differ, and the body hash expected and got.

Exit status: 0 when core accepts the signature, 1 when it rejects it, 2 for
a usage or configuration error.

Examples:
  qstashguard verify --signature "$SIG" --url https://example.com/api/workflow --body-file body.json
  qstashguard verify --signature "$SIG" --url "$URL" --body 'Hello World' --at 2024-07-15T18:40:00Z
`

func runVerify(e *env, args []string) int {
	fs := newFlagSet(e, "verify")
	sig := fs.String("signature", "", "the Upstash-Signature `value` to check")
	dest := fs.String("url", "", "the `URL` the request was sent to, as QStash called it")
	body := fs.String("body", "", "the request body, as `text`")
	bodyFile := fs.String("body-file", "", "read the request body from `file`, byte for byte")
	at := fs.String("at", "", "check as at `TIME`, RFC 3339 or Unix seconds (default now)")
	tolerance := fs.Duration("tolerance", 0, "clock skew to allow around the token's times")
	key := fs.String("key", "", "verify with this `key` instead of the environment's "+
		"(it lands in the shell's history)")
	region := fs.String("region", "", "use this QStash `region`'s keys, as for a request "+
		"with that Upstash-Region header")
	if status, done := parseFlags(e, fs, verifyUsage, args); done {
		return status
	}

	// A signature pasted from a log often brings white space along.
	*sig = strings.TrimSpace(*sig)
	if *sig == "" {
		return usageError(e, fs, "--signature is required")
	}
	if *dest == "" {
		return usageError(e, fs, "--url is required")
	}
	b, err := bodyFromFlags(fs, *body, *bodyFile)
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	now := time.Now()
	if *at != "" {
		if now, err = parseTime(*at); err != nil {
			return usageError(e, fs, "--at: %v", err)
		}
	}
	if *tolerance < 0 {
		return usageError(e, fs, "--tolerance must not be negative")
	}
	keys, err := resolveKeys(e.getenv, flagValue(fs, "key", *key), *region)
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	if keys.fromFlag {
		fmt.Fprintln(e.stderr, "qstashguard verify: note: --key puts the signing key in the "+
			"shell's history; prefer "+core.EnvCurrentSigningKey)
	}

	opts := append(keys.verifierOptions(),
		core.WithClock(func() time.Time { return now }),
		core.WithClockTolerance(*tolerance))
	v, err := core.NewVerifier(opts...)
	if err != nil {
		fmt.Fprintf(e.stderr, "qstashguard verify: %v\n", err)
		return exitUsage
	}
	claims, verr := v.VerifySignature(*sig, b, *dest)

	w := e.stdout
	fmt.Fprintf(w, "keys:    %s\n", keys.source)
	fmt.Fprintf(w, "checked: at %s, tolerance %s\n", utc(now), *tolerance)
	if verr == nil {
		fmt.Fprintf(w, "verdict: VALID, signed with %s\n", keys.name(claims.Key))
	} else {
		fmt.Fprintf(w, "verdict: REJECTED (%s): %v\n", core.Reason(verr), verr)
	}
	d := diagnosis{sig: *sig, body: b, url: *dest, now: now, tolerance: *tolerance, keys: keys}
	d.report(w, verr == nil)

	if verr != nil {
		return exitRejected
	}
	return exitOK
}

// parseTime reads a time given as RFC 3339 or as Unix seconds.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(sec, 0), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2024-07-15T18:45:51Z) "+
		"nor Unix seconds", s)
}

func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// diagnosis explains a verdict check by check. It decodes the token itself,
// apart from core, because core stops at the first failed check and the
// user wants to see all of them. Its findings explain; they never decide.
type diagnosis struct {
	sig       string
	body      []byte
	url       string
	now       time.Time
	tolerance time.Duration
	keys      keySet
}

// unverifiedClaims are the claims as the token states them. Times are
// pointers so that a missing claim can be told from a zero one.
type unverifiedClaims struct {
	Iss  string `json:"iss"`
	Sub  string `json:"sub"`
	Jti  string `json:"jti"`
	Body string `json:"body"`
	Exp  *int64 `json:"exp"`
	Nbf  *int64 `json:"nbf"`
	Iat  *int64 `json:"iat"`
}

func (d *diagnosis) report(w io.Writer, verified bool) {
	if verified {
		fmt.Fprintln(w, "\nchecks (claims verified by core):")
	} else {
		fmt.Fprintln(w, "\nchecks (claims decoded WITHOUT verification, to explain the verdict):")
	}
	row := func(check string, ok bool, format string, args ...any) {
		mark := "pass"
		if !ok {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %-10s %s  %s\n", check, mark, fmt.Sprintf(format, args...))
	}

	header, payload, mac, err := splitToken(d.sig)
	if err != nil {
		row("form", false, "%v; nothing else can be checked", err)
		return
	}
	alg, err := tokenAlgorithm(header)
	if err != nil {
		row("form", false, "%v; nothing else can be checked", err)
		return
	}
	row("form", alg == "HS256", "three segments, algorithm %s (QStash signs with HS256)",
		strconv.Quote(alg))

	matched := d.keyMatch(header+"."+payload, mac)
	switch {
	case matched != 0:
		row("key", true, "matches %s", d.keys.name(matched))
	case d.keys.fromFlag:
		row("key", false, "does not match the key given with --key")
	default:
		row("key", false, "matches neither the current nor the next signing key")
	}

	var c unverifiedClaims
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil {
		row("claims", false, "cannot be decoded: %v", err)
		return
	}
	// The claims are not verified yet: a pasted token must not be able to
	// drive the terminal with escape sequences.
	c.Iss, c.Sub, c.Jti, c.Body = printable(c.Iss), printable(c.Sub), printable(c.Jti),
		printable(c.Body)

	if c.Iss == core.Issuer {
		row("issuer", true, "%q", c.Iss)
	} else {
		row("issuer", false, "%q, want %q", c.Iss, core.Issuer)
	}
	d.reportTimes(row, &c)
	d.reportURL(w, row, c.Sub)

	got := sha256.Sum256(d.body)
	want := base64.URLEncoding.EncodeToString(got[:])
	if c.Body == want || c.Body == strings.TrimRight(want, "=") {
		row("body", true, "SHA-256 %s", want)
	} else {
		row("body", false, "the body given hashes to %s; the signature covers %q", want, c.Body)
	}
	if c.Jti != "" {
		fmt.Fprintf(w, "\nmessage id (jti): %s\n", c.Jti)
	}
}

func (d *diagnosis) reportTimes(row func(string, bool, string, ...any), c *unverifiedClaims) {
	if c.Exp == nil {
		row("expiry", false, "the token has no exp claim")
	} else {
		exp := time.Unix(*c.Exp, 0)
		late := d.now.Sub(exp).Round(time.Second)
		switch {
		case !d.now.Before(exp.Add(d.tolerance)):
			row("expiry", false, "expired %s ago at %s", late, utc(exp))
		case !d.now.Before(exp):
			row("expiry", true, "expired %s ago at %s, within the tolerance of %s",
				late, utc(exp), d.tolerance)
		default:
			row("expiry", true, "expires in %s, at %s", -late, utc(exp))
		}
	}

	// QStash has been seen sending nbf as year 1, which sets no limit.
	if c.Nbf == nil || time.Unix(*c.Nbf, 0).IsZero() {
		row("not-before", true, "no not-before time")
		return
	}
	nbf := time.Unix(*c.Nbf, 0)
	if d.now.Before(nbf.Add(-d.tolerance)) {
		row("not-before", false, "not valid for another %s, until %s",
			nbf.Sub(d.now).Round(time.Second), utc(nbf))
		return
	}
	row("not-before", true, "valid since %s", utc(nbf))
}

// reportURL shows both URLs one above the other, with a caret under the
// first character where they part, since long URLs are hard to compare by
// eye.
func (d *diagnosis) reportURL(w io.Writer, row func(string, bool, string, ...any), signed string) {
	if signed == d.url {
		row("url", true, "%s", signed)
		return
	}
	i := 0
	for i < len(signed) && i < len(d.url) && signed[i] == d.url[i] {
		i++
	}
	row("url", false, "the signature names another URL; they differ from byte %d", i)
	const indent = "                    "
	fmt.Fprintf(w, "%sexpected: %s\n", indent, d.url)
	fmt.Fprintf(w, "%ssigned:   %s\n", indent, signed)
	fmt.Fprintf(w, "%s          %s^\n", indent,
		strings.Repeat(" ", utf8.RuneCountInString(d.url[:i])))
}

// keyMatch tells which key made the token's MAC, for the report only: the
// verdict is core's.
func (d *diagnosis) keyMatch(input string, mac []byte) core.Key {
	sum := func(key string) []byte {
		h := hmac.New(sha256.New, []byte(key))
		h.Write([]byte(input))
		return h.Sum(nil)
	}
	switch {
	case d.keys.current != "" && hmac.Equal(sum(d.keys.current), mac):
		return core.KeyCurrent
	case d.keys.next != "" && hmac.Equal(sum(d.keys.next), mac):
		return core.KeyNext
	}
	return 0
}

// splitToken splits a compact JWT and decodes its signature segment.
func splitToken(tok string) (header, payload string, mac []byte, err error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", "", nil, fmt.Errorf("%d dot-separated segments, not the 3 of a JWT",
			len(parts))
	}
	mac, err = base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", "", nil, errors.New("the signature segment is not base64url")
	}
	return parts[0], parts[1], mac, nil
}

// tokenAlgorithm returns the alg of a JOSE header segment.
func tokenAlgorithm(seg string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return "", errors.New("the header segment is not base64url")
	}
	var h struct {
		Alg  string          `json:"alg"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", fmt.Errorf("the header is not a JSON object: %v", err)
	}
	if h.Crit != nil {
		return "", errors.New("the header has a crit parameter, which QStash never sends")
	}
	return h.Alg, nil
}

// printable returns s, or its Go-quoted form without the quotes when it
// holds characters a terminal would act on.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}
