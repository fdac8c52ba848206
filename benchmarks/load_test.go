package benchmarks_test

import (
	"testing"

	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
)

// BenchmarkLoad loads every shipped standard, as each scan does first.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := checks.Load(checks.Tree{FS: benchmarks.FS(), Origin: benchmarks.Origin}); err != nil {
			b.Fatal(err)
		}
	}
}
