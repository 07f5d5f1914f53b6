package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// sample is one result line of `go test -bench`.
type sample struct {
	ns, bytes, allocs float64
}

// results holds every sample of a file by package and benchmark name, the
// name without its "Benchmark" prefix and GOMAXPROCS suffix.
type results map[string]map[string][]sample

// parseBench reads `go test -bench` output, several runs concatenated. The
// package of each line is the one named by the "pkg:" line before it.
func parseBench(r io.Reader) (results, error) {
	res := results{}
	pkg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		name, s, ok := parseBenchLine(line)
		if !ok {
			continue // a benchmark's own log line, not a result
		}
		if res[pkg] == nil {
			res[pkg] = map[string][]sample{}
		}
		res[pkg][name] = append(res[pkg][name], s)
	}
	return res, sc.Err()
}

// parseBenchLine reads "BenchmarkName-2  1000  1234 ns/op  ...  56 B/op
// 3 allocs/op", and reports false for any other line.
func parseBenchLine(line string) (string, sample, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return "", sample{}, false
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return "", sample{}, false
	}
	name := strings.TrimPrefix(f[0], "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	var s sample
	seen := false
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", sample{}, false
		}
		switch f[i+1] {
		case "ns/op":
			s.ns, seen = v, true
		case "B/op":
			s.bytes = v
		case "allocs/op":
			s.allocs = v
		}
	}
	if !seen {
		return "", sample{}, false
	}
	return name, s, true
}

// median is the median of the samples of one benchmark by field.
func median(ss []sample, field func(sample) float64) float64 {
	vs := make([]float64, len(ss))
	for i, s := range ss {
		vs[i] = field(s)
	}
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

func nsOf(s sample) float64     { return s.ns }
func allocsOf(s sample) float64 { return s.allocs }

// figure is the median time and allocations of one benchmark.
type figure struct {
	ns, allocs float64
	n          int // samples
}

// get returns the figure of benchmark name in pkg, or an error naming what
// is missing.
func (r results) get(pkg, name string) (figure, error) {
	ss := r[pkg][name]
	if len(ss) == 0 {
		return figure{}, fmt.Errorf("no samples of %s in %s", name, pkg)
	}
	return figure{ns: median(ss, nsOf), allocs: median(ss, allocsOf), n: len(ss)}, nil
}

// loadRun is one wrk run: a LOAD line of bench/run.
type loadRun struct {
	router, body, route string
	conns               int
	rps                 float64
	p50, p99            float64 // microseconds
	requests, errors    int
	busy                float64 // share of its core the server used; 0 when not given
}

// parseLoad reads the LOAD lines, "LOAD key=value ...", ignoring others.
func parseLoad(r io.Reader) ([]loadRun, error) {
	var runs []loadRun
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "LOAD ")
		if !ok {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(rest) {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		var run loadRun
		var errs []error
		num := func(k string) float64 {
			v, err := strconv.ParseFloat(kv[k], 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q", k, kv[k]))
			}
			return v
		}
		run.router, run.body, run.route = kv["router"], kv["body"], kv["route"]
		run.conns = int(num("conns"))
		run.rps = num("rps")
		run.p50, run.p99 = num("p50_us"), num("p99_us")
		run.requests, run.errors = int(num("requests")), int(num("errors"))
		if kv["server_busy"] != "" {
			run.busy = num("server_busy")
		}
		if len(errs) > 0 || run.router == "" || run.body == "" || run.route == "" {
			return nil, fmt.Errorf("malformed LOAD line %q", sc.Text())
		}
		runs = append(runs, run)
	}
	return runs, sc.Err()
}

// pairedRatio is the median over rounds of a's time over b's. bench/run
// measures every benchmark once a round, so the i-th samples of a and b were
// taken side by side, and a drift of the machine between rounds cancels
// out. With unequal counts it falls back to the ratio of the medians.
func (r results) pairedRatio(pkg, a, b string) float64 {
	as, bs := r[pkg][a], r[pkg][b]
	if len(as) == 0 || len(bs) == 0 {
		return 0
	}
	if len(as) != len(bs) {
		return median(as, nsOf) / median(bs, nsOf)
	}
	ratios := make([]sample, len(as))
	for i := range as {
		ratios[i].ns = as[i].ns / bs[i].ns
	}
	return median(ratios, nsOf)
}

// pairedAdded is the median over rounds of what a takes beyond b and c
// together, paired by round as pairedRatio is.
func (r results) pairedAdded(pkg, a, b, c string) float64 {
	as, bs, cs := r[pkg][a], r[pkg][b], r[pkg][c]
	if len(as) == 0 || len(as) != len(bs) || len(as) != len(cs) {
		return median(as, nsOf) - median(bs, nsOf) - median(cs, nsOf)
	}
	diffs := make([]sample, len(as))
	for i := range as {
		diffs[i].ns = as[i].ns - bs[i].ns - cs[i].ns
	}
	return median(diffs, nsOf)
}
