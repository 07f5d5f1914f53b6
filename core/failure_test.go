package core

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const failureSamples = "../testdata/failure"

// readFailureSample returns a payload sample from testdata/failure.
func readFailureSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(failureSamples, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodeFailureWire writes p back in the shape QStash sends: bodies in
// base64, zero fields left out. With singleValues, a header with one value
// is written as a string rather than a list of one, as sourceHeader is
// documented.
func encodeFailureWire(t testing.TB, p *FailurePayload, singleValues bool) []byte {
	t.Helper()
	wire := map[string]any{}
	set := func(name string, v any, zero bool) {
		if !zero {
			wire[name] = v
		}
	}
	header := func(h http.Header) map[string]any {
		m := make(map[string]any, len(h))
		for name, values := range h {
			if singleValues && len(values) == 1 {
				m[name] = values[0]
			} else {
				m[name] = values
			}
		}
		return m
	}
	set("status", p.Status, p.Status == 0)
	set("header", header(p.Header), p.Header == nil)
	set("body", base64.StdEncoding.EncodeToString(p.Body), p.Body == nil)
	set("url", p.URL, p.URL == "")
	set("method", p.Method, p.Method == "")
	set("sourceHeader", header(p.SourceHeader), p.SourceHeader == nil)
	set("sourceBody", base64.StdEncoding.EncodeToString(p.SourceBody), p.SourceBody == nil)
	set("workflowRunId", p.WorkflowRunID, p.WorkflowRunID == "")
	set("workflowCreatedAt", p.WorkflowCreatedAt, p.WorkflowCreatedAt == 0)
	set("sourceMessageId", p.SourceMessageID, p.SourceMessageID == "")
	set("retried", p.Retried, p.Retried == 0)
	set("maxRetries", p.MaxRetries, p.MaxRetries == 0)
	set("dlqId", p.DLQID, p.DLQID == "")
	set("notBefore", p.NotBefore, p.NotBefore == 0)
	set("createdAt", p.CreatedAt, p.CreatedAt == 0)
	set("scheduleId", p.ScheduleID, p.ScheduleID == "")
	set("callerIP", p.CallerIP, p.CallerIP == "")
	set("topicName", p.TopicName, p.TopicName == "")
	set("endpointName", p.EndpointName, p.EndpointName == "")
	b, err := json.Marshal(wire)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeFailurePayloadSamples(t *testing.T) {
	tests := []struct {
		name, file string
		want       *FailurePayload
	}{
		{
			name: "a workflow failure with headers as lists decodes every field",
			file: "workflow-list-headers.json",
			want: &FailurePayload{
				Status: 500,
				Header: http.Header{
					"Content-Type": {"application/json"},
					"Vary":         {"Origin", "Accept-Encoding"},
					"X-Request-Id": {"req_7f3a"},
				},
				Body: []byte(`{"error":"Error","message":"step failed: database unreachable",` +
					`"stack":"Error: step failed"}`),
				URL:    "https://app.example.com/api/workflow",
				Method: "POST",
				SourceHeader: http.Header{
					"Authorization":          {"Bearer trigger-token-1"},
					"Content-Type":           {"application/json"},
					"Upstash-Workflow-Runid": {"wfr_Ab3dEfGh1jKlMnOp"},
				},
				SourceBody:        []byte(`{"orderId":"ord_1042","amount":1999}`),
				WorkflowRunID:     "wfr_Ab3dEfGh1jKlMnOp",
				WorkflowCreatedAt: 1733241600123,
				SourceMessageID:   "msg_26hZCxZCuWyyTWPmSVBrNC1RADwpgWxPcak2rQD51EMjFMuzcW7qYXpPiDyw9g",
				Retried:           3,
				MaxRetries:        3,
				DLQID:             "1725323658779-0",
				NotBefore:         1733241661000,
				CreatedAt:         1733241600456,
				CallerIP:          "203.0.113.7",
			},
		},
		{
			name: "a plain QStash failure with single-string source headers decodes every field",
			file: "qstash-single-headers.json",
			want: &FailurePayload{
				Status: 503,
				Header: http.Header{
					"Content-Type": {"text/plain; charset=utf-8"},
					"Retry-After":  {"120"},
				},
				Body:   []byte("service unavailable\n"),
				URL:    "https://billing.example.com/hooks/order",
				Method: "PUT",
				SourceHeader: http.Header{
					"Content-Type":  {"application/json"},
					"X-Tenant":      {"acme"},
					"Authorization": {"Bearer publisher-token-2"},
				},
				SourceBody:      []byte(`{"hello":"world"}`),
				SourceMessageID: "msg_7YoJxFpwkEy5zBp378JgvD6YBDPBEqkBPje2JGTCEUiASMJQ1FwY9",
				Retried:         5,
				MaxRetries:      5,
				DLQID:           "1701198458025-3",
				NotBefore:       1701198458025,
				CreatedAt:       1701198447054,
				ScheduleID:      "scd_5rJvbvUmLbFMPXqrTLkFBi9E8e3f",
				CallerIP:        "198.51.100.24",
				TopicName:       "orders",
				EndpointName:    "billing",
			},
		},
		{
			name: "the minimal payload the Workflow SDK tests with decodes, the rest left zero",
			file: "workflow-minimal.json",
			want: &FailurePayload{
				Status:          500,
				Body:            []byte(`{"message":"workflow failed","stack":"stack-trace"}`),
				URL:             "https://app.example.com/api/workflow",
				SourceBody:      []byte("initial-payload"),
				WorkflowRunID:   "wfr-failure-callback",
				SourceMessageID: "msg-id",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeFailurePayload(readFailureSample(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestDecodeFailurePayloadHeaderLookup(t *testing.T) {
	p, err := DecodeFailurePayload(readFailureSample(t, "workflow-list-headers.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The sample writes these names in lower case.
	if got := p.SourceHeader.Get("Content-Type"); got != "application/json" {
		t.Errorf("SourceHeader.Get(Content-Type) = %q", got)
	}
	want := []string{"Origin", "Accept-Encoding"}
	if got := p.Header.Values("vary"); !reflect.DeepEqual(got, want) {
		t.Errorf("Header.Values(vary) = %q", got)
	}
	token, err := BearerToken(p.SourceHeader)
	if err != nil || token != "trigger-token-1" {
		t.Errorf("BearerToken(SourceHeader) = %q, %v", token, err)
	}
}

func TestDecodeFailurePayloadAccepts(t *testing.T) {
	tests := []struct {
		name, body string
		want       FailurePayload
	}{
		{"an empty object decodes to a zero payload", `{}`, FailurePayload{}},
		{
			"null fields count as missing",
			`{"status":null,"header":null,"body":null,"url":null,"sourceHeader":null,` +
				`"sourceBody":null,"notBefore":null,"retried":null,"dlqId":null}`,
			FailurePayload{},
		},
		{
			"white space around and inside the object is allowed",
			" \n\t{ \"status\" : 404 ,\r\n \"url\" : \"https://a.example/x\" } \n",
			FailurePayload{Status: 404, URL: "https://a.example/x"},
		},
		{
			"unknown fields are skipped, nested ones too",
			`{"label":"nightly","flowControl":{"key":"k","rates":[1,2.5,{"x":[null,true]}]},` +
				`"status":418,"queueName":null}`,
			FailurePayload{Status: 418},
		},
		{
			"a header given as one string holds one value",
			`{"header":{"retry-after":"30"}}`,
			FailurePayload{Header: http.Header{"Retry-After": {"30"}}},
		},
		{
			"header names that differ in case or repeat have their values joined in order",
			`{"sourceHeader":{"x-a":["1"],"X-A":"2","x-a":["3","4"]}}`,
			FailurePayload{SourceHeader: http.Header{"X-A": {"1", "2", "3", "4"}}},
		},
		{
			"a header with null or no values is dropped",
			`{"header":{"X-Empty":[],"X-Null":null,"X-Kept":[""]}}`,
			FailurePayload{Header: http.Header{"X-Kept": {""}}},
		},
		{
			"a header map with nothing in it is nil",
			`{"header":{},"sourceHeader":{"X-None":[]}}`,
			FailurePayload{},
		},
		{
			"an empty base64 string is a nil body",
			`{"body":"","sourceBody":""}`,
			FailurePayload{},
		},
		{
			"binary bodies are decoded byte for byte",
			`{"body":"AP8Q","sourceBody":"/+8="}`,
			FailurePayload{Body: []byte{0x00, 0xff, 0x10}, SourceBody: []byte{0xff, 0xef}},
		},
		{
			"timestamps written as strings of digits are read as numbers",
			`{"notBefore":"1701198458025","createdAt":"0","workflowCreatedAt":"-1"}`,
			FailurePayload{NotBefore: 1701198458025, WorkflowCreatedAt: -1},
		},
		{
			"an empty timestamp string counts as missing",
			`{"notBefore":"","createdAt":""}`,
			FailurePayload{},
		},
		{
			"timestamps use the whole int64 range",
			`{"notBefore":9223372036854775807,"createdAt":"-9223372036854775808"}`,
			FailurePayload{NotBefore: 1<<63 - 1, CreatedAt: -1 << 63},
		},
		{
			"escapes in strings are decoded",
			`{"url":"https://a.example/?q=1\u0026r=\"2\"","method":"P\u004fST",` +
				`"header":{"x-\u0061":"caf\u00e9 \ud83d\ude00"}}`,
			FailurePayload{
				URL:    `https://a.example/?q=1&r="2"`,
				Method: "POST",
				Header: http.Header{"X-A": {"caf\u00e9 \U0001F600"}},
			},
		},
		{
			"every string field is read",
			`{"url":"u","method":"m","workflowRunId":"w","sourceMessageId":"s","dlqId":"d",` +
				`"scheduleId":"sc","callerIP":"c","topicName":"t","endpointName":"e"}`,
			FailurePayload{URL: "u", Method: "m", WorkflowRunID: "w", SourceMessageID: "s",
				DLQID: "d", ScheduleID: "sc", CallerIP: "c", TopicName: "t", EndpointName: "e"},
		},
		{
			"negative and zero integers are read as written",
			`{"status":-0,"retried":0,"maxRetries":-3}`,
			FailurePayload{MaxRetries: -3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeFailurePayload([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", *got, tt.want)
			}
		})
	}
}

func TestDecodeFailurePayloadRefuses(t *testing.T) {
	tests := []struct {
		name, body string
		detail     string // a part of the error's detail
	}{
		{"an empty body is refused", ``, "empty body"},
		{"a body of white space is refused", " \n ", "empty body"},
		{"a body that is not JSON is refused", `status=500`, "invalid JSON at byte 0"},
		{"a JSON array is refused", `[{"status":500}]`, "want a JSON object, got an array"},
		{"a JSON string is refused", `"{}"`, "want a JSON object, got a string"},
		{"a JSON null is refused", `null`, "want a JSON object, got null"},
		{"a number is refused", `500`, "want a JSON object, got a number"},
		{"garbage after the object is refused", `{"status":500}x`, "invalid JSON"},
		{"a second object is refused", `{"status":500}{}`, "invalid JSON"},
		{"a NUL byte after the object is refused", "{\"status\":500}\x00", "invalid JSON"},
		{"a NUL byte after white space is refused", "{} \x00", "invalid JSON"},
		{"a lone NUL byte is refused as bad JSON", "\x00", "invalid JSON at byte 0"},
		{"a truncated object is refused", `{"status":500,"url":"https://a`, "invalid JSON"},
		{"a missing colon is refused", `{"status" 500}`, "invalid JSON"},
		{"a trailing comma is refused", `{"status":500,}`, "invalid JSON"},
		{"a field given twice is refused", `{"status":500,"status":500}`,
			`field "status": duplicate key`},
		{"a null then a value for the same field is refused", `{"dlqId":null,"dlqId":"d"}`,
			`field "dlqId": duplicate key`},
		{"status as a string is refused", `{"status":"500"}`,
			`field "status": want an integer, got a string`},
		{"status with a fraction is refused", `{"status":500.5}`,
			`field "status": not a whole number`},
		{"status with a zero fraction is refused", `{"status":500.0}`,
			`field "status": not a whole number`},
		{"status with an exponent is refused", `{"status":5e2}`,
			`field "status": not a whole number`},
		{"status beyond the int range is refused", `{"status":99999999999999999999}`,
			`field "status": number out of range`},
		{"a number with a leading zero is refused", `{"status":0500}`, "invalid JSON"},
		{"retried as a boolean is refused", `{"retried":true}`,
			`field "retried": want an integer, got a boolean`},
		{"maxRetries as an object is refused", `{"maxRetries":{"n":3}}`,
			`field "maxRetries": want an integer, got an object`},
		{"url as a number is refused", `{"url":42}`, `field "url": want a string, got a number`},
		{"method as a list is refused", `{"method":["POST"]}`,
			`field "method": want a string, got an array`},
		{"header as a list is refused", `{"header":[["Content-Type","text/plain"]]}`,
			`field "header": want an object of header names to values, got an array`},
		{"header as a string is refused", `{"header":"Content-Type: text/plain"}`,
			`field "header": want an object of header names to values, got a string`},
		{"a header value as a number is refused", `{"header":{"Retry-After":120}}`,
			`field "header": a header value: want a string or a list of strings, got a number`},
		{"a header value as an object is refused", `{"header":{"X-A":{"v":"1"}}}`,
			`field "header": a header value: want a string or a list of strings, got an object`},
		{"a header value as a boolean is refused", `{"sourceHeader":{"X-A":false}}`,
			`field "sourceHeader": a header value: want a string or a list of strings`},
		{"a number in a list of header values is refused", `{"header":{"X-A":["1",2]}}`,
			`field "header": a header value: want a string, got a number`},
		{"a null in a list of header values is refused", `{"sourceHeader":{"X-A":[null]}}`,
			`field "sourceHeader": a header value: want a string, got null`},
		{"a nested list of header values is refused", `{"header":{"X-A":[["1"]]}}`,
			`field "header": a header value: want a string, got an array`},
		{"a header map cut short is refused", `{"header":{"X-A":"1",}}`, "invalid JSON"},
		{"body that is not base64 is refused", `{"body":"not base64!"}`,
			`field "body": not standard padded base64`},
		{"body in unpadded base64 is refused", `{"body":"aGk"}`,
			`field "body": not standard padded base64`},
		{"body in URL-safe base64 is refused", `{"body":"_-8="}`,
			`field "body": not standard padded base64`},
		{"body with stray padding bits is refused", `{"body":"aGl="}`,
			`field "body": not standard padded base64`},
		{"sourceBody as a number is refused", `{"sourceBody":12}`,
			`field "sourceBody": want a base64 string, got a number`},
		{"sourceBody as a list of bytes is refused", `{"sourceBody":[104,105]}`,
			`field "sourceBody": want a base64 string, got an array`},
		{"a timestamp string of words is refused", `{"notBefore":"soon"}`,
			`field "notBefore": want digits in the string`},
		{"a timestamp string with a plus sign is refused", `{"notBefore":"+1"}`,
			`field "notBefore": want digits in the string`},
		{"a timestamp string with a space is refused", `{"createdAt":" 1"}`,
			`field "createdAt": want digits in the string`},
		{"a timestamp string with a leading zero is refused", `{"createdAt":"01"}`,
			`field "createdAt": want digits in the string`},
		{"a timestamp string with a fraction is refused", `{"createdAt":"1.5"}`,
			`field "createdAt": not a whole number`},
		{"a timestamp beyond int64 is refused", `{"createdAt":9223372036854775808}`,
			`field "createdAt": number out of range`},
		{"a timestamp string beyond int64 is refused", `{"notBefore":"99999999999999999999"}`,
			`field "notBefore": number out of range`},
		{"workflowCreatedAt as a boolean is refused", `{"workflowCreatedAt":false}`,
			`field "workflowCreatedAt": want an integer or a string of digits, got a boolean`},
		{"a misspelt null is refused", `{"status":nul}`, "invalid JSON"},
		{"a misspelt true in a wrong type is refused as bad JSON", `{"status":tru}`,
			"invalid JSON"},
		{"invalid UTF-8 in a string is refused", "{\"url\":\"https://a.example/\xff\"}",
			`field "url": invalid UTF-8`},
		{"a lone surrogate escape is refused", `{"method":"\ud800"}`, `field "method"`},
		{"a control character in a string is refused", "{\"url\":\"a\nb\"}", `field "url"`},
		{"an unknown field nested too deeply is refused",
			`{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
			"unknown field: JSON nested too deeply"},
		{"an unknown field holding broken JSON is refused", `{"x":[1,}`,
			"unknown field: invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := DecodeFailurePayload([]byte(tt.body))
			if err == nil {
				t.Fatalf("accepted: %+v", *p)
			}
			if p != nil {
				t.Errorf("returned a payload beside the error %v", err)
			}
			if !errors.Is(err, ErrMalformedFailurePayload) {
				t.Errorf("error %v does not wrap ErrMalformedFailurePayload", err)
			}
			if StatusCode(err) != http.StatusBadRequest {
				t.Errorf("StatusCode = %d, want 400", StatusCode(err))
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("error %q does not say %q", err, tt.detail)
			}
		})
	}
}

func TestDecodeFailurePayloadErrorsDoNotQuoteTheBody(t *testing.T) {
	const secret = "s3cr3t-marker"
	bodies := []struct{ name, body string }{
		{"an unknown field name is left out", `{"` + secret + `":[1,}`},
		{"a header name is left out", `{"header":{"` + secret + `":7}}`},
		{"a header value is left out", `{"header":{"X-A":"` + secret + `"`},
		{"a string value is left out", `{"url":"` + secret + `","status":"x"}`},
		{"a base64 value is left out", `{"body":"` + secret + `"}`},
		{"a timestamp string is left out", `{"notBefore":"` + secret + `"}`},
		{"text that is not JSON is left out", secret},
		{"a top-level string is left out", `"` + secret + `"`},
	}
	for _, tt := range bodies {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFailurePayload([]byte(tt.body))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error quotes the body: %v", err)
			}
		})
	}
}

func TestDecodeFailurePayloadSizesListsOnce(t *testing.T) {
	// A list grown value by value would be copied a dozen times on its way
	// to 5000 values; sized once, decoding takes a handful of allocations
	// whatever the length.
	body := []byte(`{"header":{"a":[` + strings.Repeat(`"v",`, 4999) + `"v"]}}`)
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := DecodeFailurePayload(body); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 10 {
		t.Fatalf("decoding a list of 5000 header values took %v allocations", allocs)
	}
}

func TestDecodeFailurePayloadRoundTrip(t *testing.T) {
	for _, file := range []string{
		"workflow-list-headers.json", "qstash-single-headers.json", "workflow-minimal.json",
	} {
		p, err := DecodeFailurePayload(readFailureSample(t, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, single := range []bool{false, true} {
			q, err := DecodeFailurePayload(encodeFailureWire(t, p, single))
			if err != nil {
				t.Fatalf("%s re-encoded (single values %v): %v", file, single, err)
			}
			if !reflect.DeepEqual(p, q) {
				t.Fatalf("%s changed in a round trip:\n%+v\n%+v", file, p, q)
			}
		}
	}
}

func TestIsFailureCallback(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   bool
	}{
		{"a request without either header is no failure callback", http.Header{
			"Upstash-Workflow-Runid": {"wfr_1"}, "Upstash-Message-Id": {"msg_1"},
		}, false},
		{"a nil header is no failure callback", nil, false},
		{"Is-Failure true marks a failure callback", http.Header{
			"Upstash-Workflow-Is-Failure": {"true"},
		}, true},
		{"Is-Failure compares its value without regard to case", http.Header{
			"Upstash-Workflow-Is-Failure": {"TRUE"},
		}, true},
		{"Is-Failure with space around true marks a failure callback", http.Header{
			"Upstash-Workflow-Is-Failure": {" True "},
		}, true},
		{"Is-Failure false is no failure callback", http.Header{
			"Upstash-Workflow-Is-Failure": {"false"},
		}, false},
		{"Is-Failure empty is no failure callback", http.Header{
			"Upstash-Workflow-Is-Failure": {""},
		}, false},
		{"Is-Failure 1 is no failure callback", http.Header{
			"Upstash-Workflow-Is-Failure": {"1"},
		}, false},
		{"Is-Failure true in a later value marks a failure callback", http.Header{
			"Upstash-Workflow-Is-Failure": {"false", "true"},
		}, true},
		{"a non-empty Failure-Callback marks a failure callback", http.Header{
			"Upstash-Workflow-Failure-Callback": {"true"},
		}, true},
		{"any non-empty Failure-Callback value marks a failure callback", http.Header{
			"Upstash-Workflow-Failure-Callback": {"https://app.example.com/api/failure"},
		}, true},
		{"an empty Failure-Callback is no failure callback", http.Header{
			"Upstash-Workflow-Failure-Callback": {""},
		}, false},
		{"a blank Failure-Callback is no failure callback", http.Header{
			"Upstash-Workflow-Failure-Callback": {" \t"},
		}, false},
		{"Failure-Callback counts even beside Is-Failure false", http.Header{
			"Upstash-Workflow-Is-Failure":       {"false"},
			"Upstash-Workflow-Failure-Callback": {"true"},
		}, true},
		{"the publish-time failure callback header is no failure callback", http.Header{
			"Upstash-Failure-Callback": {"https://app.example.com/api/failure"},
		}, false},
		{"a forwarding instruction is no failure callback", http.Header{
			"Upstash-Failure-Callback-Forward-Upstash-Workflow-Is-Failure": {"true"},
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsFailureCallback(tt.header); got != tt.want {
				t.Fatalf("IsFailureCallback = %v, want %v", got, tt.want)
			}
		})
	}

	// Names are matched as net/http matches them: a header added under a
	// lower-case name by Header.Set is found.
	h := http.Header{}
	h.Set("upstash-workflow-is-failure", "true")
	if !IsFailureCallback(h) {
		t.Error("a header set in lower case is not found")
	}
}
