package testhost

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Artifacts is the directory where tests and benchmarks leave files for
// people to look at (screenshots, profiles): BASELINE_ARTIFACTS, created
// if missing, or else the test's temporary directory.
func Artifacts(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("BASELINE_ARTIFACTS")
	if dir == "" {
		return tb.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// LogProfile prints the first lines of `go tool pprof -top` of a profile
// (pprof's own options in opts, e.g. -sample_index=alloc_space), so that
// a benchmark's output says where its time or memory went. It prints to
// standard output: the testing package keeps only the first 10 lines of a
// benchmark's log. A profile that cannot be read is reported as an error
// of the benchmark.
func LogProfile(tb testing.TB, title, file string, lines int, opts ...string) {
	tb.Helper()
	args := append(append([]string{"tool", "pprof", "-top"}, opts...), file)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		tb.Errorf("go tool pprof %s: %v\n%s", file, err, out)
		return
	}
	all := strings.Split(string(out), "\n")
	// Skip pprof's header (file, type, time, totals) up to the column line.
	for i, l := range all {
		if strings.Contains(l, "flat%") {
			all = all[max(0, i-1):]
			break
		}
	}
	fmt.Printf("%s: %s (%s):\n%s\n", tb.Name(), title, file, strings.Join(all[:min(len(all), lines+2)], "\n"))
}
