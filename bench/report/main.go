// Command report reads the raw results bench/run collects and prints the
// headline tables of BENCHMARKS.md: verification cost as a multiple of the
// bare cryptography, what each adapter adds, what replay protection adds,
// and protected throughput and latency over loopback as a share of the
// unprotected route's. Each figure is the median of its samples, as
// benchstat reports it, and each ratio is taken between figures of the same
// run. It checks every figure against its target and says which it misses.
//
// Usage:
//
//	report -core FILE -adapters FILE -replay FILE -load FILE
//
// The first three are `go test -bench` output, concatenated; the last holds
// the LOAD lines bench/run writes, one per wrk run. It exits 1 if a file
// cannot be read or lacks a figure, or if a load run saw errors, since then
// the figures would not mean what they say; a missed target is reported,
// not an error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	var files inputs
	flag.StringVar(&files.core, "core", "", "`file` of core's benchmarks")
	flag.StringVar(&files.adapters, "adapters", "", "`file` of the adapters' benchmarks")
	flag.StringVar(&files.replay, "replay", "", "`file` of the replay benchmarks")
	flag.StringVar(&files.load, "load", "", "`file` of LOAD lines from the wrk runs")
	flag.Parse()

	if err := run(os.Stdout, files); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// inputs names the result files; an empty name leaves its section out.
type inputs struct {
	core, adapters, replay, load string
}

func run(w io.Writer, files inputs) error {
	var checks []check
	sections := []struct {
		file  string
		write func(io.Writer, io.Reader) ([]check, error)
	}{
		{files.core, writeCore},
		{files.adapters, writeAdapters},
		{files.replay, writeReplay},
		{files.load, writeLoad},
	}
	for _, s := range sections {
		if s.file == "" {
			continue
		}
		f, err := os.Open(s.file)
		if err != nil {
			return err
		}
		got, err := s.write(w, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		checks = append(checks, got...)
	}
	writeChecks(w, checks)
	return nil
}
