package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseBenchLine(t *testing.T) {
	tests := []struct {
		name, line, want string
		s                sample
		ok               bool
	}{
		{
			name: "a line with throughput and memory gives all three figures",
			line: "BenchmarkVerify/body=1KiB/key=current-2   \t  718668\t  1716 ns/op\t" +
				" 596.78 MB/s\t  448 B/op\t  3 allocs/op",
			want: "Verify/body=1KiB/key=current", s: sample{1716, 448, 3}, ok: true,
		},
		{
			name: "a name without a GOMAXPROCS suffix keeps its last dash",
			line: "BenchmarkRoute/un-protected  100  50.5 ns/op",
			want: "Route/un-protected", s: sample{ns: 50.5}, ok: true,
		},
		{
			name: "a log line of a benchmark is no result",
			line: "BenchmarkVerify/body=0KiB: helpers_test.go:12: something",
		},
		{
			name: "a result without ns/op is no result",
			line: "BenchmarkX-2  100  12 B/op",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, s, ok := parseBenchLine(tt.line)
			if ok != tt.ok || name != tt.want || s != tt.s {
				t.Fatalf("parseBenchLine = %q %+v %t, want %q %+v %t",
					name, s, ok, tt.want, tt.s, tt.ok)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		ns   []float64
		want float64
	}{
		{"an odd count gives the middle value", []float64{5, 1, 3}, 3},
		{"an even count gives the mean of the middle two", []float64{4, 1, 3, 10}, 3.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := make([]sample, len(tt.ns))
			for i, v := range tt.ns {
				ss[i].ns = v
			}
			if got := median(ss, nsOf); got != tt.want {
				t.Fatalf("median = %v, want %v", got, tt.want)
			}
		})
	}
}

// coreOutput is go test -bench output of core with every ratio given.
func coreOutput(ratio1KiB float64) string {
	var b strings.Builder
	b.WriteString("pkg: github.com/qstashguard/qstashguard/core\n")
	for _, size := range coreSizes {
		bare := 1000.0
		verify := 1100.0
		if size == "1KiB" {
			verify = bare * ratio1KiB
		}
		for range 3 {
			b.WriteString("BenchmarkVerify/body=" + size + "/key=current-2 10 " +
				ftoa(verify) + " ns/op 400 B/op 2 allocs/op\n")
			b.WriteString("BenchmarkVerify/body=" + size + "/key=next-2 10 " +
				ftoa(verify) + " ns/op 400 B/op 2 allocs/op\n")
			b.WriteString("BenchmarkBareCrypto/body=" + size + "-2 10 " + ftoa(bare) +
				" ns/op 0 B/op 0 allocs/op\n")
		}
	}
	b.WriteString("BenchmarkVerifyRequest/body=1KiB-2 10 2000 ns/op 1600 B/op 5 allocs/op\n")
	b.WriteString("BenchmarkVerifyRequest/body=64KiB-2 10 50000 ns/op 74000 B/op 5 allocs/op\n")
	return b.String()
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func TestRunChecksTargets(t *testing.T) {
	tests := []struct {
		name      string
		ratio     float64
		wantMet   string
		wantTable string
	}{
		{"a core ratio under its target is met", 1.5, "5 of 5 targets met", "| 1KiB |"},
		{"a core ratio over its target is missed", 2.5, "4 of 5 targets met", "2.50x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "core.txt")
			if err := os.WriteFile(path, []byte(coreOutput(tt.ratio)), 0o644); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			if err := run(&out, inputs{core: path}); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{tt.wantMet, tt.wantTable} {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestWriteLoad(t *testing.T) {
	const fast = "LOAD router=chi body=1KiB conns=16 route=unprotected requests=1000 " +
		"seconds=1 rps=1000 p50_us=100 p90_us=150 p99_us=200 errors=0\n" +
		"LOAD router=chi body=1KiB conns=1 route=unprotected requests=1000 " +
		"seconds=1 rps=1000 p50_us=50 p90_us=60 p99_us=80 errors=0\n" +
		"LOAD router=chi body=1KiB conns=1 route=protected requests=1000 " +
		"seconds=1 rps=900 p50_us=55 p90_us=70 p99_us=90 errors=0\n"
	tests := []struct {
		name, protected, want string
		wantErr               bool
	}{
		{
			name: "a protected route at 90% of the unprotected one meets the target",
			protected: "LOAD router=chi body=1KiB conns=16 route=protected requests=900 " +
				"seconds=1 rps=900 p50_us=110 p90_us=160 p99_us=230 errors=0\n",
			want: "| chi over loopback, 1KiB, 16 connections: protected throughput / " +
				"unprotected | at least 85% | 90.0% | meets |",
		},
		{
			name: "a protected route at 80% of the unprotected one misses it",
			protected: "LOAD router=chi body=1KiB conns=16 route=protected requests=800 " +
				"seconds=1 rps=800 p50_us=110 p90_us=160 p99_us=230 errors=0\n",
			want: "| 80.0% | MISSES |",
		},
		{
			name: "a run with errors is refused, its figures meaningless",
			protected: "LOAD router=chi body=1KiB conns=16 route=protected requests=800 " +
				"seconds=1 rps=800 p50_us=110 p90_us=160 p99_us=230 errors=3\n",
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "load.txt")
			if err := os.WriteFile(path, []byte(fast+tt.protected), 0o644); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			err := run(&out, inputs{load: path})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error; output:\n%s", out.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Fatalf("output lacks %q:\n%s", tt.want, out.String())
			}
			const latency = "| chi over loopback, 1KiB, 1 connection: p99 added | under 20 µs " +
				"| +10 µs | meets |"
			if !strings.Contains(out.String(), latency) {
				t.Fatalf("output lacks %q:\n%s", latency, out.String())
			}
		})
	}
}
