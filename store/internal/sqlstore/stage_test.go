package sqlstore

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/baselinehq/baseline/results"
)

// SortResults orders the results by asset then item whether they come
// sorted, grouped by asset in any order (items in any order within), or
// with an asset's results in several places.
func TestSortResultsWhateverTheOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 300 {
		var rs []results.Result
		assets := rng.Perm(1 + rng.IntN(20))
		for _, a := range assets {
			for _, it := range rng.Perm(1 + rng.IntN(12)) {
				rs = append(rs, results.Result{AssetID: uint64(a) * 7, ItemID: uint64(it) * 3})
			}
		}
		switch round % 3 {
		case 0:
			slices.SortFunc(rs, func(a, b results.Result) int { return ComparePairs(a.AssetID, a.ItemID, b.AssetID, b.ItemID) })
		case 1: // grouped by asset, as generated
		case 2:
			rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
		}
		order := SortResults(rs)
		if len(order) != len(rs) {
			t.Fatalf("round %d: %d indexes for %d results", round, len(order), len(rs))
		}
		seen := make([]bool, len(rs))
		for k, i := range order {
			if seen[i] {
				t.Fatalf("round %d: index %d given twice", round, i)
			}
			seen[i] = true
			if k > 0 {
				p := rs[order[k-1]]
				if ComparePairs(p.AssetID, p.ItemID, rs[i].AssetID, rs[i].ItemID) >= 0 {
					t.Fatalf("round %d (case %d): (%d, %d) before (%d, %d)", round, round%3, p.AssetID, p.ItemID, rs[i].AssetID, rs[i].ItemID)
				}
			}
		}
	}
}
