package sqlite

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	. "github.com/baselinehq/baseline/store/storetest"
)

// A first ingest large enough to rebuild the per-item index of the latest
// results, then a second one over the same pairs with changed outcomes
// (which maintains it), leave the same index and the same answers as
// ingests that maintain it row by row throughout.
func TestBulkIngestKeepsTheLatestItemIndex(t *testing.T) {
	ctx := context.Background()
	type state struct {
		Index    string
		Summary  []store.AssetSummary
		Items    []store.ItemSummary
		Affected [][]results.Row
		Totals   []int
	}
	ingest := func(bulk int) state {
		defer func(old int) { bulkIndexRows = old }(bulkIndexRows)
		bulkIndexRows = bulk
		db, err := Open(ctx, filepath.Join(t.TempDir(), "data"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		c := NewClock()
		f := New(t, db, c)
		f.Standard(t)
		c.Step(1)
		f.Ingest(t, store.Scope{}, f.BuildReport(map[uint64][]string{
			HostID: {F, P},
			CtrA:   {P, F, F, M},
			CtrB:   {F, P, P, M},
			CtrC:   {P, P, F, NA},
			CtrD:   {CF, CF, CF, CF},
		}, CtrD))
		var st state
		if err := db.db.QueryRowContext(ctx, "SELECT sql FROM sqlite_master WHERE name = 'latest_item'").Scan(&st.Index); err != nil {
			t.Fatal(err)
		}
		if st.Summary, err = db.Summary(ctx, []assets.Type{assets.Host, assets.Container}); err != nil {
			t.Fatal(err)
		}
		if st.Items, _, err = db.Items(ctx, store.Query{Limit: store.MaxLimit}); err != nil {
			t.Fatal(err)
		}
		for _, it := range st.Items {
			for _, r := range []string{"RESULT_FAILED", "RESULT_PASSED"} {
				rows, total, err := db.ItemAssets(ctx, it.ID, store.Query{Limit: store.MaxLimit,
					Filters: []store.Filter{{Name: "CheckResult", Values: []string{r}, ExactMatch: true}}})
				if err != nil {
					t.Fatal(err)
				}
				st.Affected, st.Totals = append(st.Affected, rows), append(st.Totals, total)
			}
		}
		return st
	}
	bulk, rowByRow := ingest(1), ingest(1<<30)
	if bulk.Index != latestItemIndex {
		t.Errorf("after the bulk ingests, latest_item is %q, want %q", bulk.Index, latestItemIndex)
	}
	if !reflect.DeepEqual(bulk, rowByRow) {
		t.Errorf("bulk ingests:\n%+v\nrow by row:\n%+v", bulk, rowByRow)
	}
	if len(bulk.Items) == 0 || !slices.ContainsFunc(bulk.Totals, func(n int) bool { return n > 0 }) {
		t.Fatalf("nothing to compare: %d items, affected totals %v", len(bulk.Items), bulk.Totals)
	}
}
