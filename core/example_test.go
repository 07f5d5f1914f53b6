package core_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/qstashguard/qstashguard/core"
)

// The keys of a real QStash account come from the environment; this example
// passes them in code so that it runs anywhere.
func ExampleVerifier_VerifyRequest() {
	const current, next = "sig_exampleCurrentKey", "sig_exampleNextKey"
	v, err := core.NewVerifier(core.WithSigningKeys(current, next))
	if err != nil {
		panic(err)
	}

	// A request as QStash would send it, signed with the next key.
	body := `{"hello":"world"}`
	sig, _ := core.Sign(next, core.Message{URL: "http://example.com/api/workflow",
		Body: []byte(body)})
	r := httptest.NewRequest(http.MethodPost, "/api/workflow", strings.NewReader(body))
	r.Host = "example.com"
	r.Header.Set(core.HeaderSignature, sig)

	claims, err := v.VerifyRequest(r)
	if err != nil {
		fmt.Println(core.StatusCode(err), core.Reason(err))
		return
	}
	fmt.Println("verified with the", claims.Key, "key for", claims.Subject)
	// Output: verified with the next key for http://example.com/api/workflow
}

func ExampleVerifier_VerifySignature() {
	// A token issued by QStash itself, checked at a time it was valid.
	v, err := core.NewVerifier(
		core.WithSigningKeys("sig_7dskHhQGd7zBn4pUmfcuuhoVv8dV", "sig_7JUWKbCTjbxGvaBg5M788TTRBLtj"),
		core.WithClock(func() time.Time { return time.Unix(1665614798, 0) }),
	)
	if err != nil {
		panic(err)
	}
	sig := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiIiLCJib2R5IjoicFpHbTFBdjBJRUJLQVJjeno3ZXhrTllzWmI4THphTXJWN0ozMmEyZkZHND0iLCJleHAiOjE2NjU2MTUwMzgsImlhdCI6MTY2NTYxNDczOCwiaXNzIjoiVXBzdGFzaCIsImp0aSI6Imp3dF82ZDRCUXd6RzRDb0hadGU4VkNoSk54SnVuMTVDIiwibmJmIjoxNjY1NjE0NzM4LCJzdWIiOiJodHRwczovL3JlYmF6LXFzdGFzaC5yZXF1ZXN0Y2F0Y2hlci5jb20vdGVzdCJ9.y0_9NlMBUmO9dlPxG0PlnyekjfO88oIKfgmJfcoYo8k"
	url := "https://rebaz-qstash.requestcatcher.com/test"

	_, err = v.VerifySignature(sig, []byte("Hello World"), url)
	fmt.Println("original body:", err)
	_, err = v.VerifySignature(sig, []byte("Hello World!"), url)
	fmt.Println("changed body:", core.Reason(err), core.StatusCode(err))
	// Output:
	// original body: <nil>
	// changed body: body mismatch 401
}
