package core

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeFailurePayload feeds arbitrary bodies to the decoder.
// Properties: it never panics; every refusal wraps
// ErrMalformedFailurePayload and returns no payload; whatever it accepts is
// valid JSON to encoding/json too; and what it accepts survives a round
// trip: written back in the wire shape (headers as lists, or as single
// strings), it decodes to an equal payload.
func FuzzDecodeFailurePayload(f *testing.F) {
	for _, file := range []string{
		"workflow-list-headers.json", "qstash-single-headers.json", "workflow-minimal.json",
	} {
		f.Add(readFailureSample(f, file))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodeFailurePayload(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedFailurePayload) {
				t.Fatalf("refusal %v does not wrap ErrMalformedFailurePayload", err)
			}
			if p != nil {
				t.Fatalf("a payload returned beside the error %v", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatal("accepted a body encoding/json finds invalid")
		}
		for _, single := range []bool{false, true} {
			wire := encodeFailureWire(t, p, single)
			q, err := DecodeFailurePayload(wire)
			if err != nil {
				t.Fatalf("re-encoded payload %s refused: %v", wire, err)
			}
			if !reflect.DeepEqual(p, q) {
				t.Fatalf("round trip changed the payload:\n%+v\n%+v", p, q)
			}
		}
	})
}
