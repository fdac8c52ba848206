package sqlstore

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// replacedRows finds the rows that the keys replace (same asset and item)
// whether keys and rows come sorted, the keys unsorted, or the rows
// unsorted: each way gives what a plain lookup of every pair gives.
func TestReplacedRowsWhateverTheOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var keys []ResultKey
		var rows []LatestRow
		for range rng.IntN(60) {
			keys = append(keys, ResultKey{Asset: uint64(rng.IntN(8)), Item: uint64(rng.IntN(8))})
		}
		for range rng.IntN(60) {
			rows = append(rows, LatestRow{Asset: uint64(rng.IntN(8)), Item: uint64(rng.IntN(8))})
		}
		keys = slices.CompactFunc(sortedKeys(keys), func(a, b ResultKey) bool { return a.Asset == b.Asset && a.Item == b.Item })
		rows = slices.CompactFunc(sortedRows(rows), func(a, b LatestRow) bool { return a.Asset == b.Asset && a.Item == b.Item })
		want := func(rows []LatestRow, i int) bool {
			return slices.ContainsFunc(keys, func(k ResultKey) bool { return k.Asset == rows[i].Asset && k.Item == rows[i].Item })
		}
		shuffledKeys := slices.Clone(keys)
		rng.Shuffle(len(shuffledKeys), func(i, j int) { shuffledKeys[i], shuffledKeys[j] = shuffledKeys[j], shuffledKeys[i] })
		shuffledRows := slices.Clone(rows)
		rng.Shuffle(len(shuffledRows), func(i, j int) { shuffledRows[i], shuffledRows[j] = shuffledRows[j], shuffledRows[i] })
		for _, c := range []struct {
			name string
			keys []ResultKey
			rows []LatestRow
		}{{"sorted", keys, rows}, {"keys unsorted", shuffledKeys, rows}, {"rows unsorted", keys, shuffledRows}} {
			got := replacedRows(c.keys, c.rows)
			for i := range c.rows {
				if got(i) != want(c.rows, i) {
					t.Fatalf("round %d, %s: row %+v replaced %v, want %v (keys %+v)", round, c.name, c.rows[i], got(i), want(c.rows, i), c.keys)
				}
			}
		}
	}
}

func sortedKeys(keys []ResultKey) []ResultKey {
	slices.SortFunc(keys, ResultKey.Compare)
	return keys
}

func sortedRows(rows []LatestRow) []LatestRow {
	slices.SortFunc(rows, func(a, b LatestRow) int { return ComparePairs(a.Asset, a.Item, b.Asset, b.Item) })
	return rows
}
