// Package loadtest holds a load and leak test of the Gin example app: it
// serves the app on a loopback port, drives it with valid, forged, misrouted
// and over-limit requests, and checks every answer, the memory the process
// uses and the goroutines left behind. It has no code of its own outside its
// test; run it with
//
//	go test -race ./loadtest                       # 20,000 requests
//	go test -race -short ./loadtest                # 2,000 requests
//	LOADTEST_REQUESTS=100000 go test ./loadtest    # any other number
package loadtest
