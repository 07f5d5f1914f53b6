package core

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

var benchSizes = []int{0, 1 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20}

func benchName(size int) string {
	if size >= 1<<20 {
		return fmt.Sprintf("body=%dMiB", size>>20)
	}
	return fmt.Sprintf("body=%dKiB", size>>10)
}

// BenchmarkVerify measures VerifySignature on a QStash-shaped token, per body
// size and per key that signed it.
func BenchmarkVerify(b *testing.B) {
	v := newTestVerifier(b)
	for _, size := range benchSizes {
		body := bytes.Repeat([]byte{'x'}, size)
		for _, key := range []struct{ name, secret string }{
			{"current", testCurrentKey}, {"next", testNextKey},
		} {
			sig := signTest(b, key.secret, string(body), testURL)
			b.Run(benchName(size)+"/key="+key.name, func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.VerifySignature(sig, body, testURL); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkBareCrypto is the floor BenchmarkVerify is measured against: one
// HMAC-SHA256 over the signing input, from an already keyed state, and one
// SHA-256 of the body.
func BenchmarkBareCrypto(b *testing.B) {
	for _, size := range benchSizes {
		body := bytes.Repeat([]byte{'x'}, size)
		sig := signTest(b, testCurrentKey, string(body), testURL)
		input := []byte(sig[:strings.LastIndexByte(sig, '.')])
		mac := hmac.New(sha256.New, []byte(testCurrentKey))
		var sum [sha256.Size]byte
		b.Run(benchName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				mac.Reset()
				mac.Write(input)
				mac.Sum(sum[:0])
				h := sha256.Sum256(body)
				sum[0] ^= h[0]
			}
		})
	}
}

// BenchmarkVerifyRequest measures the whole request path: header lookup, URL
// building, body read and restore.
func BenchmarkVerifyRequest(b *testing.B) {
	v := newTestVerifier(b)
	for _, size := range []int{1 << 10, 64 << 10} {
		body := bytes.Repeat([]byte{'x'}, size)
		sig := signTest(b, testCurrentKey, string(body), testURL)
		b.Run(benchName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			rd := bytes.NewReader(body)
			r := httptest.NewRequest(http.MethodPost, testURL, nil)
			r.RequestURI = r.URL.RequestURI()
			r.Header.Set(HeaderSignature, sig)
			for b.Loop() {
				rd.Reset(body)
				r.Body, r.ContentLength = readCloser{rd}, int64(size)
				if _, err := v.VerifyRequest(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
