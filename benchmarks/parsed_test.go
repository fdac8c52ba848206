package benchmarks_test

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
)

var updateParsed = flag.Bool("update-parsed", false, "rewrite parsed.bin from the standards' YAML")

// TestParsedDefinitions keeps the built-in standards' parsed form in step
// with their YAML: a scan takes a file from it only while the file is
// unchanged, and parses an edited file again (slower, never wrong).
func TestParsedDefinitions(t *testing.T) {
	want, err := checks.Precompile(benchmarks.FS())
	if err != nil {
		t.Fatal(err)
	}
	if *updateParsed {
		if err := os.WriteFile("parsed.bin", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal([]byte(benchmarks.Tree().Parsed), want) {
		t.Fatal("parsed.bin is not the parsed form of the standards' YAML: run go test ./benchmarks -run TestParsedDefinitions -update-parsed")
	}
}

// BenchmarkLoadParsed loads every shipped standard from their parsed form,
// as each scan does first.
func BenchmarkLoadParsed(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := checks.Load(benchmarks.Tree()); err != nil {
			b.Fatal(err)
		}
	}
}
