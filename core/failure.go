package core

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Headers that mark a failure callback. The Workflow SDK asks QStash to add
// both to the failure callback when it publishes a step (through
// Upstash-Failure-Callback-Forward-...), so QStash delivers them only on that
// call. Like every header, neither is covered by the signature.
const (
	HeaderWorkflowIsFailure       = "Upstash-Workflow-Is-Failure"
	HeaderWorkflowFailureCallback = "Upstash-Workflow-Failure-Callback"
)

// FailurePayload is the JSON body QStash posts to a failure callback once a
// message, or a step of a workflow run, has failed for good. Every field may
// be missing; a missing field, or one sent as null, is left at its zero value.
//
// Headers are keyed by their canonical names (see http.CanonicalHeaderKey),
// so Header.Get and SourceHeader.Get find a header whatever case QStash
// wrote it in; a name that is not a valid header name is kept as sent.
// Bodies are the decoded bytes, not their base64 text.
type FailurePayload struct {
	// Status is the HTTP status of the last failed attempt.
	Status int
	// Header holds the response headers of the last failed attempt.
	Header http.Header
	// Body is the response body of the last failed attempt. Workflow
	// steps that throw answer with a JSON object holding error, message
	// and stack. QStash may truncate a body over the plan's message size.
	Body []byte
	// URL and Method are those of the request that failed.
	URL    string
	Method string
	// SourceHeader holds the headers of the request that failed, those
	// the publisher forwarded. In a workflow run they are the headers of
	// the call that started the run, its Authorization header included.
	SourceHeader http.Header
	// SourceBody is the body of the request that failed; in a workflow
	// run, the payload that started it.
	SourceBody []byte
	// WorkflowRunID and WorkflowCreatedAt identify the workflow run; both
	// are empty for a plain QStash failure callback. WorkflowCreatedAt is
	// in Unix milliseconds.
	WorkflowRunID     string
	WorkflowCreatedAt int64
	// SourceMessageID is the ID of the QStash message that failed.
	SourceMessageID string
	// Retried is how many times QStash retried the message; MaxRetries
	// is how many retries it was allowed.
	Retried    int
	MaxRetries int
	// DLQID is the message's ID in the dead letter queue, by which it can
	// be fetched, retried or deleted.
	DLQID string
	// NotBefore is when the message was, or was to be, delivered, and
	// CreatedAt when it was published, both in Unix milliseconds.
	NotBefore int64
	CreatedAt int64
	// ScheduleID is set when a schedule published the message.
	ScheduleID string
	// CallerIP is the address the message was published from.
	CallerIP string
	// TopicName and EndpointName are set when the message was published
	// to a URL group (formerly called a topic) and its endpoint has a name.
	TopicName    string
	EndpointName string
}

// failureFields lists the fields of a failure payload, by JSON name, with
// how each is read. The index of a field is its bit in the set of fields
// seen, to refuse one given twice; the constant below fails to compile if
// they outgrow that set.
var failureFields = [...]struct {
	name string
	read func(d *jsonReader, p *FailurePayload) error
}{
	{"status", func(d *jsonReader, p *FailurePayload) error { return d.payloadInt(&p.Status) }},
	{"header", func(d *jsonReader, p *FailurePayload) error { return d.payloadHeader(&p.Header) }},
	{"body", func(d *jsonReader, p *FailurePayload) error { return d.payloadBase64(&p.Body) }},
	{"url", func(d *jsonReader, p *FailurePayload) error { return d.payloadString(&p.URL) }},
	{"method", func(d *jsonReader, p *FailurePayload) error { return d.payloadString(&p.Method) }},
	{"sourceHeader", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadHeader(&p.SourceHeader)
	}},
	{"sourceBody", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadBase64(&p.SourceBody)
	}},
	{"workflowRunId", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadString(&p.WorkflowRunID)
	}},
	{"workflowCreatedAt", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadMillis(&p.WorkflowCreatedAt)
	}},
	{"sourceMessageId", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadString(&p.SourceMessageID)
	}},
	{"retried", func(d *jsonReader, p *FailurePayload) error { return d.payloadInt(&p.Retried) }},
	{"maxRetries", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadInt(&p.MaxRetries)
	}},
	{"dlqId", func(d *jsonReader, p *FailurePayload) error { return d.payloadString(&p.DLQID) }},
	{"notBefore", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadMillis(&p.NotBefore)
	}},
	{"createdAt", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadMillis(&p.CreatedAt)
	}},
	{"scheduleId", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadString(&p.ScheduleID)
	}},
	{"callerIP", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadString(&p.CallerIP)
	}},
	{"topicName", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadString(&p.TopicName)
	}},
	{"endpointName", func(d *jsonReader, p *FailurePayload) error {
		return d.payloadString(&p.EndpointName)
	}},
}

const _ = uint32(1) << (len(failureFields) - 1)

// DecodeFailurePayload decodes the body of a failure callback. It refuses,
// with an error wrapping ErrMalformedFailurePayload, a body that is not one
// JSON object, a field of the wrong type, a number that is not a whole
// number in range, and base64 that does not decode. The error names the
// field and the reason, and never quotes the body. Fields it does not know
// are skipped, so new ones QStash may add do not break it.
//
// What QStash and the Workflow SDK send, and so what this accepts:
//
//   - status, retried and maxRetries are JSON integers. Fractions and
//     exponents are refused: no encoder on either side writes them.
//   - header is the response's header map, each name to a list of values.
//     sourceHeader is documented as each name to one string, while the
//     Workflow SDK reads it as lists; both forms are accepted in both
//     fields. Names
//     that differ only in case, or repeat, have their values joined in
//     order, as repeated header lines would be. A name whose value is null
//     or an empty list is dropped.
//   - body and sourceBody are standard base64 with '=' padding, which is
//     what QStash writes and what the SDK's atob reads. Unpadded and
//     URL-safe base64 are refused, since neither side produces them.
//   - notBefore and createdAt are Unix milliseconds. QStash's own examples
//     write them as strings of digits, others as numbers; both are
//     accepted, and so for workflowCreatedAt. An empty string counts as
//     missing.
//   - workflowRunId and workflowCreatedAt come only with Workflow; dlqId
//     only with a failure (not a success) callback; topicName, endpointName
//     and scheduleId only when they apply.
//
// A field given twice is refused, and so is invalid UTF-8 in a string. An
// empty or missing body or header map is nil.
//
// The work is linear in the size of the body, which the caller bounds
// (WithMaxBodyBytes, 1 MiB by default). The payload keeps a few times that
// size at most, a body of nothing but empty header values being the worst
// case, and allocates some twenty times it in all.
func DecodeFailurePayload(body []byte) (*FailurePayload, error) {
	d := jsonReader{s: string(body)}
	if c := d.next(); c != '{' {
		return nil, fmt.Errorf("%w: %w", ErrMalformedFailurePayload, d.notObject())
	}

	p := &FailurePayload{}
	var seen uint32
	err := d.object(func(key string) error {
		for i, f := range failureFields {
			if f.name != key {
				continue
			}
			if seen&(1<<i) != 0 {
				return fmt.Errorf("field %q: %w", f.name, errJSONDuplicate)
			}
			seen |= 1 << i
			if d.consumeNull() {
				return nil
			}
			if err := f.read(&d, p); err != nil {
				return fmt.Errorf("field %q: %w", f.name, err)
			}
			return nil
		}
		// The key came from the body: leave it out of the error.
		if err := d.skip(0); err != nil {
			return fmt.Errorf("unknown field: %w", err)
		}
		return nil
	})
	// object stops at a NUL byte as if at the end, since next reports both
	// as 0: whatever is left after the object must be nothing.
	if err == nil && d.i != len(d.s) {
		err = errJSONSyntax
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w (near byte %d)", ErrMalformedFailurePayload, err, d.i)
	}
	return p, nil
}

// IsFailureCallback reports whether h marks a failure callback:
// Upstash-Workflow-Is-Failure set to "true" (in any case), or a non-blank
// Upstash-Workflow-Failure-Callback. Every value of either header counts.
//
// Only the Workflow SDK makes QStash send these headers; QStash adds no
// header of its own that tells a failure callback from any other delivery.
// A plain QStash failure callback (published with Upstash-Failure-Callback)
// is therefore recognised only if its publisher asked for one of them, with
// Upstash-Failure-Callback-Forward-Upstash-Workflow-Is-Failure: true. Without
// that, the failure guard refuses them as ErrNotFailureCallback, and a route
// guarded by Verify alone, with DecodeFailurePayload in the handler, serves
// them.
//
// The headers are not covered by the signature, which signs the URL and the
// body only: they route a request, they do not authenticate it.
func IsFailureCallback(h http.Header) bool {
	for _, v := range h.Values(HeaderWorkflowIsFailure) {
		if strings.EqualFold(strings.TrimSpace(v), "true") {
			return true
		}
	}
	for _, v := range h.Values(HeaderWorkflowFailureCallback) {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

var (
	errNotInteger   = errors.New("not a whole number")
	errIntRange     = errors.New("number out of range")
	errEmptyPayload = errors.New("empty body")
)

// notObject explains why a body that does not start with '{' is refused:
// another kind of JSON value, or no JSON at all.
func (d *jsonReader) notObject() error {
	start := d.i
	if d.space(); d.i == len(d.s) {
		return errEmptyPayload
	}
	kind := jsonKind(d.next())
	if kind == "" || d.skip(0) != nil {
		d.i = start
		return fmt.Errorf("%w at byte %d", errJSONSyntax, start)
	}
	return fmt.Errorf("want a JSON object, got %s", kind)
}

// jsonKind names the kind of JSON value that starts with c, or returns ""
// if no value starts with c.
func jsonKind(c byte) string {
	switch {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || ('0' <= c && c <= '9'):
		return "a number"
	}
	return ""
}

// wrongType reads past a value that is not of the kind wanted and says so.
// Reading past it first tells a value of another type from broken JSON.
func (d *jsonReader) wrongType(want string) error {
	kind := jsonKind(d.next())
	if kind == "" {
		return errJSONSyntax
	}
	if err := d.skip(0); err != nil {
		return err
	}
	return fmt.Errorf("want %s, got %s", want, kind)
}

// consumeNull reads a null if one is next.
func (d *jsonReader) consumeNull() bool {
	if d.next() == 'n' && strings.HasPrefix(d.s[d.i:], "null") {
		d.i += len("null")
		return true
	}
	return false
}

func (d *jsonReader) payloadString(dst *string) error {
	if d.next() != '"' {
		return d.wrongType("a string")
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	*dst = s
	return nil
}

// integer reads a JSON number that must be written as a whole number,
// without fraction or exponent, and fit in bitSize bits.
func (d *jsonReader) integer(bitSize int) (int64, error) {
	lit, err := d.number()
	if err != nil {
		return 0, err
	}
	return parseInteger(lit, bitSize)
}

// parseInteger parses lit, already known to be a JSON number or digits.
func parseInteger(lit string, bitSize int) (int64, error) {
	if strings.ContainsAny(lit, ".eE") {
		return 0, errNotInteger
	}
	n, err := strconv.ParseInt(lit, 10, bitSize)
	if err != nil {
		return 0, errIntRange
	}
	return n, nil
}

func (d *jsonReader) payloadInt(dst *int) error {
	if c := d.next(); c != '-' && (c < '0' || c > '9') {
		return d.wrongType("an integer")
	}
	n, err := d.integer(strconv.IntSize)
	if err != nil {
		return err
	}
	*dst = int(n)
	return nil
}

// payloadMillis reads a timestamp in Unix milliseconds, written as a JSON
// integer or as a string of one.
func (d *jsonReader) payloadMillis(dst *int64) error {
	switch c := d.next(); {
	case c == '-' || ('0' <= c && c <= '9'):
		n, err := d.integer(64)
		if err != nil {
			return err
		}
		*dst = n
		return nil
	case c == '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		if s == "" {
			return nil
		}
		// Hold the string to the grammar of a JSON integer, so that "+1",
		// " 1" or "01" are refused as they would be unquoted.
		r := jsonReader{s: s}
		lit, err := r.number()
		if err != nil || r.i != len(s) {
			return errors.New("want digits in the string")
		}
		n, err := parseInteger(lit, 64)
		if err != nil {
			return err
		}
		*dst = n
		return nil
	}
	return d.wrongType("an integer or a string of digits")
}

func (d *jsonReader) payloadBase64(dst *[]byte) error {
	if d.next() != '"' {
		return d.wrongType("a base64 string")
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		// The error gives an offset, never the data.
		return fmt.Errorf("not standard padded base64: %w", err)
	}
	*dst = b
	return nil
}

// payloadHeader reads a header map: an object of names to a string or to a
// list of strings.
func (d *jsonReader) payloadHeader(dst *http.Header) error {
	if d.next() != '{' {
		return d.wrongType("an object of header names to values")
	}
	d.i++
	var h http.Header
	if d.consume('}') {
		return nil
	}
	for {
		if d.next() != '"' {
			return errJSONSyntax
		}
		name, err := d.str()
		if err != nil {
			return err
		}
		if !d.consume(':') {
			return errJSONSyntax
		}
		// Header names come from the body: left out of the error.
		if err := d.headerValues(&h, http.CanonicalHeaderKey(name)); err != nil {
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
	*dst = h
	return nil
}

// headerValues reads the values of one header, one string, a list of
// strings, or null for none, and adds them to (*h)[key]. Appending in place
// rather than through a list of its own keeps a long list to one copy.
func (d *jsonReader) headerValues(h *http.Header, key string) error {
	var values []string
	if *h != nil {
		values = (*h)[key]
	}
	switch d.next() {
	case '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		values = append(values, s)
	case 'n':
		if !d.consumeNull() {
			return errJSONSyntax
		}
	case '[':
		d.i++
		if d.consume(']') {
			break
		}
		values = slices.Grow(values, countStrings(*d))
		for {
			if d.next() != '"' {
				return fmt.Errorf("a header value: %w", d.wrongType("a string"))
			}
			s, err := d.str()
			if err != nil {
				return err
			}
			values = append(values, s)
			if d.consume(',') {
				continue
			}
			if d.consume(']') {
				break
			}
			return errJSONSyntax
		}
	default:
		return fmt.Errorf("a header value: %w", d.wrongType("a string or a list of strings"))
	}
	if len(values) > 0 {
		if *h == nil {
			*h = make(http.Header)
		}
		(*h)[key] = values
	}
	return nil
}

// countStrings counts the strings that open the list d is in, without
// decoding them, so that a long list is allocated once rather than grown
// by copies. The count is only a size hint: the list is read for real after.
func countStrings(d jsonReader) int {
	n := 0
	for d.next() == '"' {
		for d.i++; d.i < len(d.s) && d.s[d.i] != '"'; d.i++ {
			if d.s[d.i] == '\\' {
				d.i++
			}
		}
		d.i++
		n++
		if !d.consume(',') {
			break
		}
	}
	return n
}
