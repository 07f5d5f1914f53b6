package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/qstashguard/qstashguard/core"
)

const signUsage = `Usage: qstashguard sign --url URL (--body TEXT | --body-file FILE) [flags]

Prints an Upstash-Signature value for a request to URL with the given body,
shaped exactly as QStash issues them (HS256, the claims QStash sends, the
body hash with its '=' padding), signed with the current signing key from
the environment. With --curl it prints a complete curl command instead, to
call a local endpoint as QStash would without QStash.

The key is read from QSTASH_CURRENT_SIGNING_KEY (QSTASH_NEXT_SIGNING_KEY with
--next), or is the local dev server's with QSTASH_DEV=true. --key takes it
from the command line instead, where it lands in the shell's history.

Examples:
  QSTASH_DEV=true qstashguard sign --url http://127.0.0.1:8080/api/workflow --body '{}'
  qstashguard sign --curl --url http://127.0.0.1:8080/api/workflow --body-file step.json \
    --header 'Authorization: Bearer my-token'
`

// headerList collects repeated --header flags.
type headerList []string

func (h *headerList) String() string { return strings.Join(*h, ", ") }

func (h *headerList) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") ||
		strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("want 'Name: value', got %q", v)
	}
	*h = append(*h, name+": "+strings.TrimSpace(value))
	return nil
}

func runSign(e *env, args []string) int {
	fs := newFlagSet(e, "sign")
	dest := fs.String("url", "", "the `URL` QStash calls, exactly (the signature's sub claim)")
	body := fs.String("body", "", "the request body, as `text`")
	bodyFile := fs.String("body-file", "", "read the request body from `file`, byte for byte")
	ttl := fs.Duration("ttl", core.SignatureLifetime,
		"time from now to the signature's expiry; negative gives an expired one")
	key := fs.String("key", "", "sign with this `key` instead of the environment's "+
		"(it lands in the shell's history)")
	next := fs.Bool("next", false, "sign with the next signing key, as after a rotation")
	region := fs.String("region", "", "use this QStash `region`'s keys (with QSTASH_REGION)")
	curl := fs.Bool("curl", false, "print a curl command that sends the signed request")
	var headers headerList
	fs.Var(&headers, "header", "with --curl, add the header `'Name: value'` (repeatable)")
	if status, done := parseFlags(e, fs, signUsage, args); done {
		return status
	}

	if err := checkDestination(*dest); err != nil {
		return usageError(e, fs, "%v", err)
	}
	b, err := bodyFromFlags(fs, *body, *bodyFile)
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	if *ttl == 0 {
		return usageError(e, fs, "--ttl must not be zero")
	}
	if len(headers) > 0 && !*curl {
		return usageError(e, fs, "--header only applies with --curl")
	}
	keys, err := resolveKeys(e.getenv, flagValue(fs, "key", *key), *region)
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	signingKey := keys.current
	if *next {
		if keys.fromFlag {
			return usageError(e, fs, "use --key or --next, not both")
		}
		signingKey = keys.next
	}
	if signingKey == "" {
		which := core.EnvCurrentSigningKey
		if *next {
			which = core.EnvNextSigningKey
		}
		return usageError(e, fs, "no key to sign with: %s is not set", which)
	}
	if keys.fromFlag {
		fmt.Fprintln(e.stderr, "qstashguard sign: note: --key puts the signing key in the "+
			"shell's history; prefer "+core.EnvCurrentSigningKey)
	}

	sig, err := core.Sign(signingKey, core.Message{URL: *dest, Body: b, TTL: *ttl})
	if err != nil {
		fmt.Fprintf(e.stderr, "qstashguard sign: %v\n", err)
		return exitUsage
	}
	if !*curl {
		fmt.Fprintln(e.stdout, sig)
		return exitOK
	}
	fmt.Fprintln(e.stdout, curlCommand(*dest, sig, headers, b, bodyArg(fs, *bodyFile)))
	return exitOK
}

// flagValue returns a pointer to v when the flag name was given, else nil,
// so that an empty --key is an error rather than no key.
func flagValue(fs *flag.FlagSet, name, v string) *string {
	if !isSet(fs, name) {
		return nil
	}
	return &v
}

// checkDestination refuses a URL QStash could not call: QStash delivers to
// absolute http and https URLs only.
func checkDestination(s string) error {
	if s == "" {
		return fmt.Errorf("--url is required")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q is not an absolute http or https URL", s)
	}
	return nil
}

// bodyArg is the --data-binary argument for a body read from a file, or ""
// when the body was given inline.
func bodyArg(fs *flag.FlagSet, file string) string {
	if isSet(fs, "body-file") {
		return "@" + file
	}
	return ""
}

// curlCommand builds a POSIX shell command that sends the signed request.
// Either way curl sends the body's bytes unchanged, so the hash in the
// signature still matches: a file with --data-binary @file, a body given
// inline with --data-raw.
func curlCommand(dest, sig string, headers headerList, body []byte, fileArg string) string {
	hasType := false
	for _, h := range headers {
		name, _, _ := strings.Cut(h, ":")
		if http.CanonicalHeaderKey(name) == "Content-Type" {
			hasType = true
		}
	}
	if !hasType {
		// curl would otherwise send application/x-www-form-urlencoded.
		contentType := "text/plain"
		if json.Valid(body) {
			contentType = "application/json"
		}
		headers = append(headerList{"Content-Type: " + contentType}, headers...)
	}

	var b strings.Builder
	b.WriteString("curl -sS -i " + shellQuote(dest))
	b.WriteString(" \\\n  -H " + shellQuote(core.HeaderSignature+": "+sig))
	for _, h := range headers {
		b.WriteString(" \\\n  -H " + shellQuote(h))
	}
	if fileArg != "" {
		b.WriteString(" \\\n  --data-binary " + shellQuote(fileArg))
	} else {
		// --data-raw, unlike --data-binary, does not read a file when the
		// body starts with '@'.
		b.WriteString(" \\\n  --data-raw " + shellQuote(string(body)))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell: inside single quotes nothing is
// special but the single quote itself, which is closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
