package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

const module = "github.com/qstashguard/qstashguard/"

// The targets, each a ratio or a difference within one run.
const (
	maxRatio1KiB     = 2.0  // verification over bare crypto, 1 KiB, current key
	maxRatio1KiBNext = 2.5  // the same, signed by the next key
	maxRatio64KiB    = 1.15 // verification over bare crypto, 64 KiB
	maxCoreAllocs    = 10
	maxAdapterNs     = 1000 // what an adapter adds to core, per request
	maxAdapterAllocs = 4    // exclusive: under 4
	minLoadShare     = 0.85 // protected over unprotected throughput, 1 KiB
	maxLoadP99Added  = 20.0 // microseconds, 1 KiB, one connection
	loadTargetBody   = "1KiB"
	loadLatencyConns = 1
	minBusy          = 0.9 // server's share of its core in a saturating run
)

// check is one figure set against its target.
type check struct {
	what, target, got string
	ok                bool
}

var coreSizes = []string{"0KiB", "1KiB", "16KiB", "64KiB", "256KiB", "1MiB"}

func writeCore(w io.Writer, r io.Reader) ([]check, error) {
	res, err := parseBench(r)
	if err != nil {
		return nil, err
	}
	pkg := module + "core"
	type row struct{ cur, next, bare figure }
	rows := map[string]row{}
	for _, size := range coreSizes {
		var x row
		var errs [3]error
		x.cur, errs[0] = res.get(pkg, "Verify/body="+size+"/key=current")
		x.next, errs[1] = res.get(pkg, "Verify/body="+size+"/key=next")
		x.bare, errs[2] = res.get(pkg, "BareCrypto/body="+size)
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		rows[size] = x
	}

	fmt.Fprintf(w, "### Core: VerifySignature against the bare cryptography\n\n")
	paragraph(w, fmt.Sprintf("Medians of %d samples each; each ratio is the median of "+
		"the ratios within a round, where the two figures were measured side by side.",
		rows["1KiB"].cur.n))
	fmt.Fprintln(w, "| body | verify, current key | verify, next key | bare crypto "+
		"| current / bare | next / bare | allocs |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	maxAllocs := 0.0
	for _, size := range coreSizes {
		x := rows[size]
		maxAllocs = max(maxAllocs, x.cur.allocs, x.next.allocs)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.2fx | %.2fx | %.0f |\n", size,
			duration(x.cur.ns), duration(x.next.ns), duration(x.bare.ns),
			res.pairedRatio(pkg, "Verify/body="+size+"/key=current", "BareCrypto/body="+size),
			res.pairedRatio(pkg, "Verify/body="+size+"/key=next", "BareCrypto/body="+size),
			x.cur.allocs)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "| VerifyRequest (body read and restored) | time | allocs |")
	fmt.Fprintln(w, "| --- | ---: | ---: |")
	var reqAllocs float64
	for _, size := range []string{"1KiB", "64KiB"} {
		f, err := res.get(pkg, "VerifyRequest/body="+size)
		if err != nil {
			return nil, err
		}
		reqAllocs = max(reqAllocs, f.allocs)
		fmt.Fprintf(w, "| %s | %s | %.0f |\n", size, duration(f.ns), f.allocs)
	}
	fmt.Fprintln(w)

	ratio := func(size, key string) float64 {
		return res.pairedRatio(pkg, "Verify/body="+size+"/key="+key, "BareCrypto/body="+size)
	}
	return []check{
		ratioCheck("core, 1 KiB, current key: verify / bare crypto", ratio("1KiB", "current"),
			maxRatio1KiB),
		ratioCheck("core, 1 KiB, next key: verify / bare crypto", ratio("1KiB", "next"),
			maxRatio1KiBNext),
		ratioCheck("core, 64 KiB, current key: verify / bare crypto", ratio("64KiB", "current"),
			maxRatio64KiB),
		ratioCheck("core, 64 KiB, next key: verify / bare crypto", ratio("64KiB", "next"),
			maxRatio64KiB),
		{
			what:   "core: allocations per VerifySignature (VerifyRequest)",
			target: fmt.Sprintf("at most %d", maxCoreAllocs),
			got:    fmt.Sprintf("%.0f (%.0f)", maxAllocs, reqAllocs),
			ok:     maxAllocs <= maxCoreAllocs && reqAllocs <= maxCoreAllocs,
		},
	}, nil
}

func ratioCheck(what string, got, limit float64) check {
	return check{what: what, target: fmt.Sprintf("at most %.2fx", limit),
		got: fmt.Sprintf("%.2fx", got), ok: got <= limit}
}

var routers = []string{"gin", "echo", "chi"}

func writeAdapters(w io.Writer, r io.Reader) ([]check, error) {
	res, err := parseBench(r)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "### Adapters: a 1 KiB request through the router\n\n")
	fmt.Fprintln(w, "| router | protected route | unprotected route | core alone "+
		"| adapter adds | allocs added |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: |")
	var checks []check
	var notes []string
	for _, router := range routers {
		pkg := module + router + "mw"
		var f [3]figure
		for i, name := range []string{"Route/protected", "Route/unprotected", "Core"} {
			if f[i], err = res.get(pkg, name); err != nil {
				return nil, err
			}
		}
		added := res.pairedAdded(pkg, "Route/protected", "Route/unprotected", "Core")
		allocs := f[0].allocs - f[1].allocs - f[2].allocs
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.0f |\n", router, duration(f[0].ns),
			duration(f[1].ns), duration(f[2].ns), duration(added), allocs)
		checks = append(checks, check{
			what:   router + "mw: time and allocations added to core per request",
			target: fmt.Sprintf("under %s and %d", duration(maxAdapterNs), maxAdapterAllocs),
			got:    fmt.Sprintf("%s, %.0f", duration(added), allocs),
			ok:     added < maxAdapterNs && allocs < maxAdapterAllocs,
		})
		if p, err := res.get(pkg, "Route/passthrough"); err == nil {
			notes = append(notes, fmt.Sprintf("%s: a route behind a middleware that only "+
				"calls the handler costs %s and %.0f allocs/op more than one without: "+
				"part of what the adapter adds there.", router,
				duration(p.ns-f[1].ns), p.allocs-f[1].allocs))
		}
	}
	fmt.Fprintln(w)
	for _, n := range notes {
		paragraph(w, n)
	}
	return checks, nil
}

func writeReplay(w io.Writer, r io.Reader) ([]check, error) {
	res, err := parseBench(r)
	if err != nil {
		return nil, err
	}
	pkg := module + "bench"
	none, err := res.get(pkg, "VerifyRequestReplay/store=none")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "### Replay protection: VerifyRequest of a 1 KiB request\n\n")
	fmt.Fprintln(w, "| replay store | per request | added by the store | allocs | allocs added |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: |")
	fmt.Fprintf(w, "| none | %s | | %.0f | |\n", duration(none.ns), none.allocs)
	for _, store := range []string{"memory", "redis"} {
		f, err := res.get(pkg, "VerifyRequestReplay/store="+store)
		if err != nil {
			fmt.Fprintf(w, "| %s | not measured: %v | | | |\n", store, err)
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %.0f |\n", store, duration(f.ns),
			duration(f.ns-none.ns), f.allocs, f.allocs-none.allocs)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "| the store alone: Reserve of a new id | serial | parallel | allocs |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: |")
	for _, s := range []struct{ label, pkg, name string }{
		{"MemoryReplayStore, about 300,000 ids held", module + "core", "MemoryReplayStore"},
		{"redisstore, one round trip over loopback", module + "replay/redisstore", "Reserve"},
	} {
		serial, err1 := res.get(s.pkg, s.name+"/serial")
		parallel, err2 := res.get(s.pkg, s.name+"/parallel")
		if err1 != nil || err2 != nil {
			fmt.Fprintf(w, "| %s | not measured | | |\n", s.label)
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.0f |\n", s.label, duration(serial.ns),
			duration(parallel.ns), serial.allocs)
	}
	fmt.Fprintln(w)
	return nil, nil
}

// loadKey names the runs whose median makes one figure.
type loadKey struct {
	router, body, route string
	conns               int
}

// loadPair is an unprotected run and the protected run made right after it.
type loadPair struct{ un, pr loadRun }

func writeLoad(w io.Writer, r io.Reader) ([]check, error) {
	runs, err := parseLoad(r)
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("no LOAD lines")
	}
	groups := map[loadKey][]loadRun{}
	var bodies []string
	var conns []int
	for _, run := range runs {
		if run.errors > 0 {
			return nil, fmt.Errorf("%s %s %s with %d connections: %d errors in %d requests",
				run.router, run.body, run.route, run.conns, run.errors, run.requests)
		}
		k := loadKey{run.router, run.body, run.route, run.conns}
		groups[k] = append(groups[k], run)
		if !slices.Contains(bodies, run.body) {
			bodies = append(bodies, run.body)
		}
		if !slices.Contains(conns, run.conns) {
			conns = append(conns, run.conns)
		}
	}
	slices.Sort(conns)
	slices.Reverse(conns) // the saturating runs first, then the latency runs
	saturating := conns[0]

	fmt.Fprintf(w, "### HTTP over loopback: protected route against the same route "+
		"unprotected\n\n")
	fmt.Fprintln(w, "| router | body | conns | req/s unprotected | req/s protected | share "+
		"| p50 unprot. | p50 prot. | p99 unprot. | p99 prot. | p99 added | pairs |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "+
		"| ---: | ---: |")
	var checks []check
	dropped, total := 0, 0
	for _, c := range conns {
		for _, router := range routers {
			for _, body := range bodies {
				un := groups[loadKey{router, body, "unprotected", c}]
				pr := groups[loadKey{router, body, "protected", c}]
				if len(un) == 0 || len(un) != len(pr) {
					continue
				}
				pairs := make([]loadPair, len(un))
				for i := range un {
					pairs[i] = loadPair{un[i], pr[i]}
				}
				// With many connections the server must be the
				// bottleneck for the rates to compare it: a pair in which
				// it idled was held back by something else on the
				// machine, and is left out while any other pair is left.
				used := pairs
				if c == saturating {
					used = slices.DeleteFunc(slices.Clone(pairs), func(p loadPair) bool {
						return idled(p.un) || idled(p.pr)
					})
					total += len(pairs)
					dropped += len(pairs) - len(used)
				}
				usedLabel := fmt.Sprintf("%d of %d", len(used), len(pairs))
				if len(used) == 0 {
					used, usedLabel = pairs, fmt.Sprintf("0 of %d: all shown", len(pairs))
				}
				pick := func(f func(loadPair) float64) float64 { return medianOf(used, f) }
				share := pick(func(p loadPair) float64 { return p.pr.rps / p.un.rps })
				p99Added := pick(func(p loadPair) float64 { return p.pr.p99 - p.un.p99 })
				fmt.Fprintf(w, "| %s | %s | %d | %.0f | %.0f | %.1f%% | %.0f µs | %.0f µs "+
					"| %.0f µs | %.0f µs | %+.0f µs | %s |\n", router, body, c,
					pick(func(p loadPair) float64 { return p.un.rps }),
					pick(func(p loadPair) float64 { return p.pr.rps }), 100*share,
					pick(func(p loadPair) float64 { return p.un.p50 }),
					pick(func(p loadPair) float64 { return p.pr.p50 }),
					pick(func(p loadPair) float64 { return p.un.p99 }),
					pick(func(p loadPair) float64 { return p.pr.p99 }),
					p99Added, usedLabel)
				if body != loadTargetBody {
					continue
				}
				if c == loadLatencyConns {
					checks = append(checks, check{
						what: fmt.Sprintf("%s over loopback, %s, %d connection: p99 added",
							router, body, c),
						target: fmt.Sprintf("under %.0f µs", maxLoadP99Added),
						got:    fmt.Sprintf("%+.0f µs", p99Added),
						ok:     p99Added < maxLoadP99Added,
					})
				} else {
					checks = append(checks, check{
						what: fmt.Sprintf("%s over loopback, %s, %d connections: "+
							"protected throughput / unprotected", router, body, c),
						target: fmt.Sprintf("at least %.0f%%", 100*minLoadShare),
						got:    fmt.Sprintf("%.1f%%", 100*share),
						ok:     share >= minLoadShare,
					})
				}
			}
		}
	}
	note := "Each run of the unprotected route is paired with the run of the protected " +
		"route right after it; each figure is the median over the pairs, the share and " +
		"the p99 added taken within each pair."
	if total > 0 {
		note += fmt.Sprintf(" With %d connections only pairs in which the server kept its "+
			"core at least %.0f%% busy count (the pairs column); %d of %d were left out, "+
			"held back by something other than the server.", saturating, 100*minBusy,
			dropped, total)
	}
	fmt.Fprintln(w)
	paragraph(w, note)
	return checks, nil
}

// idled reports a run in which the server, by its own record, left its core
// idle for a share of the time; a run without the record counts as busy.
func idled(r loadRun) bool { return r.busy > 0 && r.busy < minBusy }

// medianOf is the median of f over xs.
func medianOf[T any](xs []T, f func(T) float64) float64 {
	vs := make([]float64, len(xs))
	for i, x := range xs {
		vs[i] = f(x)
	}
	slices.Sort(vs)
	n := len(vs)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

func writeChecks(w io.Writer, checks []check) {
	if len(checks) == 0 {
		return
	}
	fmt.Fprintf(w, "### Targets\n\n")
	fmt.Fprintln(w, "| figure | target | measured | |")
	fmt.Fprintln(w, "| --- | --- | ---: | --- |")
	missed := 0
	for _, c := range checks {
		verdict := "meets"
		if !c.ok {
			verdict = "MISSES"
			missed++
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", c.what, c.target, c.got, verdict)
	}
	fmt.Fprintf(w, "\n%d of %d targets met.\n", len(checks)-missed, len(checks))
}

// paragraph writes text wrapped at 80 columns, and a blank line after it.
func paragraph(w io.Writer, text string) {
	line := 0
	for i, word := range strings.Fields(text) {
		if i > 0 && line+1+len([]rune(word)) > 80 {
			fmt.Fprintln(w)
			line = 0
		} else if i > 0 {
			fmt.Fprint(w, " ")
			line++
		}
		fmt.Fprint(w, word)
		line += len([]rune(word))
	}
	fmt.Fprint(w, "\n\n")
}

// duration formats nanoseconds as benchstat does, to three figures.
func duration(ns float64) string {
	abs := ns
	if abs < 0 {
		abs = -abs
	}
	switch {
	case abs >= 1e6:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	case abs >= 1e3:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	}
	return fmt.Sprintf("%.3g ns", ns)
}
