package cli

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"runtime"
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

// The program starts with heap sampling off (package main): --heap-profile
// turns it on for the command, so that its profile has the command's
// allocations; without the flag it stays off.
func TestHeapProfileTurnsSamplingOn(t *testing.T) {
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 0
	if code, _, stderr := run(t, "benchmarks", "list"); code != ExitOK {
		t.Fatalf("benchmarks list: exit %d: %s", code, stderr)
	}
	if runtime.MemProfileRate != 0 {
		t.Errorf("without --heap-profile, sampling was turned on (rate %d)", runtime.MemProfileRate)
	}
	heap := filepath.Join(t.TempDir(), "heap.pprof")
	if code, _, stderr := run(t, "--heap-profile", heap, "benchmarks", "list"); code != ExitOK {
		t.Fatalf("benchmarks list --heap-profile: exit %d: %s", code, stderr)
	}
	if runtime.MemProfileRate != heapSampleRate {
		t.Errorf("with --heap-profile, the sampling rate is %d, want %d", runtime.MemProfileRate, heapSampleRate)
	}
}
