package cli

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --cpu-profile and --heap-profile write pprof files (gzip-compressed
// protocol buffers) of the command; a file that cannot be created is an
// error naming the flag.
func TestProfileFlagsWriteProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, heap := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "heap.pprof")
	code, _, stderr := run(t, "--cpu-profile", cpu, "--heap-profile", heap, "benchmarks", "list")
	if code != ExitOK {
		t.Fatalf("benchmarks list with profiles: exit %d: %s", code, stderr)
	}
	for _, f := range []string{cpu, heap} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s is not a pprof file: %v", f, err)
		}
		body, err := io.ReadAll(zr)
		if err != nil || len(body) == 0 {
			t.Fatalf("%s: %d bytes of profile, %v", f, len(body), err)
		}
	}
	code, _, stderr = run(t, "--cpu-profile", filepath.Join(dir, "missing", "cpu.pprof"), "benchmarks", "list")
	if code != ExitError || !strings.Contains(stderr, "--cpu-profile") {
		t.Errorf("a CPU profile in a missing directory: exit %d: %s", code, stderr)
	}
}
