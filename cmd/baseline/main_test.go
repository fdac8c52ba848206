package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The program starts with heap profile sampling off, unless GODEBUG sets
// a rate (memprofilerate=N), which it keeps.
func TestHeapSamplingStartsOff(t *testing.T) {
	want := 0
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if v, ok := strings.CutPrefix(kv, "memprofilerate="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("GODEBUG memprofilerate=%q: %v", v, err)
			}
			want = n
		}
	}
	if runtime.MemProfileRate != want {
		t.Errorf("heap profile sampling rate %d at start, want %d", runtime.MemProfileRate, want)
	}
}
