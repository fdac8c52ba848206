package sqlite

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	. "github.com/baselinehq/baseline/store/storetest"
)

// A page of latest results gives each row its own result's reason and
// evidence, whether its latest row keeps the row id of that result, keeps
// none (written before migration 15) or keeps one that no longer names it
// (VACUUM renumbers the results once older tasks are pruned).
func TestPagesReadResultsWhateverTheirRowIDs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.Standard(t)
	f.Clock.Step(time.Hour)
	f.Ingest(t, store.Scope{}, f.BuildReport(map[uint64][]string{CtrA: {F, P, NA, M}, CtrB: {F, P, P, M}}))
	want := resultPages(t, f)
	if s := strings.Join(want, "\n"); !strings.Contains(s, "could not read") || !strings.Contains(s, "does not apply") ||
		!strings.Contains(s, "not set") {
		t.Fatalf("the pages show no reason or evidence:\n%s", s)
	}
	if n := f.count(t, "SELECT COUNT(*) FROM latest l WHERE result_row IS NULL OR NOT EXISTS (SELECT 1 FROM results r WHERE r.rowid = l.result_row AND r.task_id = l.task_id AND r.asset_id = l.asset_id AND r.item_id = l.item_id)"); n != 0 {
		t.Errorf("%d latest rows do not keep their result's row id", n)
	}

	f.exec(t, "UPDATE latest SET result_row = NULL")
	if got := resultPages(t, f); !reflect.DeepEqual(got, want) {
		t.Errorf("latest rows without their results' row ids:\n got %v\nwant %v", got, want)
	}

	f.Clock.Step(time.Hour)
	f.Ingest(t, store.Scope{}, f.BuildReport(map[uint64][]string{CtrA: {F, P, NA, M}, CtrC: {P, CF, F, NA}}))
	if n := f.count(t, "SELECT COUNT(*) FROM latest WHERE result_row IS NULL AND asset_id IN (?, ?)", CtrA, CtrC); n != 0 {
		t.Errorf("%d latest rows of the last task without their results' row ids", n)
	}
	want = resultPages(t, f)
	if _, err := f.db.Prune(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.exec(t, "VACUUM")
	if n := f.count(t, "SELECT COUNT(*) FROM latest l WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.rowid = l.result_row AND r.task_id = l.task_id AND r.asset_id = l.asset_id AND r.item_id = l.item_id)"); n == 0 {
		t.Fatal("VACUUM left every result's row id as it was: nothing tested")
	}
	if got := resultPages(t, f); !reflect.DeepEqual(got, want) {
		t.Errorf("after VACUUM renumbered the results:\n got %v\nwant %v", got, want)
	}
}

// resultPages prints every page of latest results that reads their
// reasons and evidence: each item's affected assets (all, of one outcome,
// filtered by an asset's column) and each asset's items.
func resultPages(t *testing.T, f *fixture) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	add := func(what string, rows []results.Row, total int, err error) {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		out = append(out, fmt.Sprintf("%s: %d", what, total))
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%+v", r))
		}
	}
	for _, it := range f.Cat.Items() {
		for _, filters := range [][]store.Filter{nil,
			{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}},
			{{Name: "NodeName", Values: []string{"node-1"}, ExactMatch: true}}} {
			rows, total, err := f.db.ItemAssets(ctx, it.ID, store.Query{Limit: 100, Filters: filters})
			add(fmt.Sprintf("item %d %v", it.ID, filters), rows, total, err)
		}
	}
	for _, id := range []uint64{HostID, CtrA, CtrB, CtrC, CtrD} {
		rows, total, err := f.db.AssetItems(ctx, id, store.Query{Limit: 100})
		add(fmt.Sprintf("asset %d", id), rows, total, err)
	}
	return out
}

// exec runs a statement on the store's database.
func (f *fixture) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := f.db.db.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// count runs a query of one number.
func (f *fixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
