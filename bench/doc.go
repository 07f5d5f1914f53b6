// Package bench holds what reproduces the figures of BENCHMARKS.md: the
// script bench/run, the server and the report it runs, and the benchmarks
// that need more than package core has, such as a Redis server.
//
// Nothing here is part of the library's API; bench/run is the way in.
package bench
