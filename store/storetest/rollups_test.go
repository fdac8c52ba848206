package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
	. "github.com/baselinehq/baseline/store/storetest"
)

// The roll-ups' oracle: what the store kept per asset, per item and per
// asset type, recomputed from the latest results, the ignore list (an
// entry ignores until it expires, on the test's clock) and the scan
// failures. The per-type statement is the one the summary ran on every
// call before the roll-up per type was kept.

// oracleLatest is each latest result with whether an active entry of the
// ignore list ignores it at now (unix ms, one %d).
const oracleLatest = `SELECT l.asset_id, l.item_id, l.status, l.result, l.checked_at,
	CASE WHEN EXISTS (SELECT 1 FROM whitelist w WHERE w.item_id = l.item_id AND w.lapsed = 0 AND (w.expires_at = 0 OR w.expires_at > %[1]d)
		AND (w.all_assets = 1 OR EXISTS (SELECT 1 FROM whitelist_assets wa WHERE wa.whitelist_id = w.id AND wa.asset_id = l.asset_id)))
	THEN 1 ELSE 0 END AS ign FROM latest l`

// oracleCounts are the counts of a group of latest results: passed,
// failed, ignored, manual, not applicable, check failed, last check.
const oracleCounts = `SUM(CASE WHEN status = 2 AND result = 1 THEN 1 ELSE 0 END),
	SUM(CASE WHEN status = 2 AND result = 2 AND ign = 0 THEN 1 ELSE 0 END),
	SUM(CASE WHEN status = 2 AND result = 2 AND ign = 1 THEN 1 ELSE 0 END),
	SUM(CASE WHEN status = 2 AND result = 3 THEN 1 ELSE 0 END),
	SUM(CASE WHEN status = 2 AND result = 4 THEN 1 ELSE 0 END),
	SUM(CASE WHEN status = 3 THEN 1 ELSE 0 END),
	MAX(checked_at)`

// rollupChecks pairs each kept roll-up with its recomputation.
var rollupChecks = []struct{ name, kept, oracle string }{
	{"ignored flags",
		"SELECT asset_id, item_id, ignored FROM latest ORDER BY asset_id, item_id",
		"SELECT asset_id, item_id, ign FROM (" + oracleLatest + ") x ORDER BY asset_id, item_id"},
	{"asset roll-ups",
		"SELECT asset_id, passed, failed, ignored, manual, na, check_failed, last_check FROM asset_rollup ORDER BY asset_id",
		"SELECT asset_id, " + oracleCounts + " FROM (" + oracleLatest + ") x GROUP BY asset_id ORDER BY asset_id"},
	{"item roll-ups",
		"SELECT item_id, passed, failed, ignored, manual, na, check_failed, last_check FROM item_rollup ORDER BY item_id",
		"SELECT item_id, " + oracleCounts + " FROM (" + oracleLatest + ") x WHERE asset_id IN (SELECT id FROM assets WHERE removed_at = 0)" +
			" GROUP BY item_id ORDER BY item_id"},
	{"asset type roll-ups",
		"SELECT asset_type, assets, passed, failed, scan_failed, nodes FROM type_rollup ORDER BY asset_type",
		`SELECT a.type, COUNT(*),
			SUM(CASE WHEN af.asset_id IS NULL AND COALESCE(r.check_failed, 0) = 0 AND COALESCE(r.failed, 0) = 0 THEN 1 ELSE 0 END),
			SUM(CASE WHEN af.asset_id IS NULL AND COALESCE(r.check_failed, 0) = 0 AND COALESCE(r.failed, 0) > 0 THEN 1 ELSE 0 END),
			SUM(CASE WHEN af.asset_id IS NOT NULL OR COALESCE(r.check_failed, 0) > 0 THEN 1 ELSE 0 END),
			COUNT(DISTINCT a.node_name)
			FROM assets a LEFT JOIN (SELECT asset_id, SUM(CASE WHEN status = 2 AND result = 2 AND ign = 0 THEN 1 ELSE 0 END) AS failed,
				SUM(CASE WHEN status = 3 THEN 1 ELSE 0 END) AS check_failed FROM (` + oracleLatest + `) x GROUP BY asset_id) r ON r.asset_id = a.id
			LEFT JOIN asset_failures af ON af.asset_id = a.id
			WHERE a.removed_at = 0 GROUP BY a.type ORDER BY a.type`},
}

// checkRollups fails the test where a kept roll-up differs from its
// recomputation.
func checkRollups(t *testing.T, f *fixture, step string) {
	t.Helper()
	now := f.Clock.Now().UnixMilli()
	for _, c := range rollupChecks {
		kept := f.place.query(t, c.kept)
		want := f.place.query(t, fmt.Sprintf(c.oracle, now))
		if !slices.Equal(kept, want) {
			t.Fatalf("after %s: %s drifted\nkept:       %s\nrecomputed: %s", step, c.name, strings.Join(kept, " | "), strings.Join(want, " | "))
		}
	}
}

// The roll-ups kept per asset, per item and per asset type equal their
// recomputation from the latest results after every step of random
// sequences of ingests (full and partial scopes, some items only, assets
// gone, scan failures), ignore-list changes of every kind, expiries on a
// stepped clock and prunes. Expiry takes effect on the next read, which
// lapses expired entries in a transaction before answering: each step
// ends with a read.
func TestRollupsAgreeWithRecomputation(t *testing.T) { each(t, tRollupsAgreeWithRecomputation) }

func tRollupsAgreeWithRecomputation(t *testing.T, f *fixture) {
	for seed := range uint64(3) {
		r := &rollupRun{f: f, rnd: rand.New(rand.NewPCG(seed, 14))}
		for i := range 40 {
			step := r.step(t)
			if _, err := f.DB.Summary(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			checkRollups(t, f, fmt.Sprintf("seed %d, step %d (%s)", seed, i, step))
			checkAssetCounts(t, f, fmt.Sprintf("seed %d, step %d (%s)", seed, i, step))
		}
	}
}

// rollupRun makes random changes to a fixture's store.
type rollupRun struct {
	f   *fixture
	rnd *rand.Rand
	// seen are the assets ingested so far.
	seen []uint64
}

// rollupNodes are the nodes of the run's containers: container 101+i is
// on rollupNodes[i%2]; the host (HostID) is node-1.
var rollupNodes = []string{"node-1", "node-2"}

const rollupContainers = 8

func (r *rollupRun) step(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	db := r.f.DB
	switch k := r.rnd.IntN(10); {
	case k < 4:
		return r.ingest(t)
	case k == 4, k == 5:
		if len(r.seen) == 0 {
			return r.ingest(t)
		}
		req := store.WhitelistRequest{Items: r.items(), Reason: "property"}
		if r.rnd.IntN(2) == 0 {
			req.All = true
		} else {
			req.Assets = r.some(r.seen)
		}
		if r.rnd.IntN(2) == 0 {
			req.ExpiresAt = r.f.Clock.Now().Add(time.Duration(1+r.rnd.IntN(48)) * time.Hour)
		}
		if _, err := db.AddWhitelist(ctx, req); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("ignore %v on all %v or %v until %v", req.Items, req.All, req.Assets, req.ExpiresAt)
	case k == 6:
		list, _, err := db.Whitelist(ctx, store.Query{Limit: store.MaxLimit})
		if err != nil || len(list) == 0 {
			return "no entry to remove"
		}
		id := list[r.rnd.IntN(len(list))].ID
		if err := db.RemoveWhitelist(ctx, []int64{id}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("remove entry %d", id)
	case k == 7:
		if len(r.seen) == 0 {
			return "no asset"
		}
		items, as := r.items(), r.some(r.seen)
		if err := db.RemoveWhitelistAssets(ctx, items, as); err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return fmt.Sprintf("take %v off entries of %v", as, items)
	case k == 8:
		d := time.Duration(1+r.rnd.IntN(36)) * time.Hour
		r.f.Clock.Step(d)
		return fmt.Sprintf("clock +%s", d)
	default:
		keep := 1 + r.rnd.IntN(3)
		if _, err := db.Prune(ctx, keep); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("prune to %d", keep)
	}
}

// items picks one or two of the catalog's items.
func (r *rollupRun) items() []uint64 {
	all := r.f.Cat.Items()
	out := []uint64{all[r.rnd.IntN(len(all))].ID}
	if r.rnd.IntN(2) == 0 {
		if id := all[r.rnd.IntN(len(all))].ID; id != out[0] {
			out = append(out, id)
		}
	}
	return out
}

// some picks a non-empty subset of ids.
func (r *rollupRun) some(ids []uint64) []uint64 {
	var out []uint64
	for _, id := range ids {
		if r.rnd.IntN(2) == 0 {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		out = append(out, ids[r.rnd.IntN(len(ids))])
	}
	return out
}

var rollupVerdicts = []string{P, P, F, F, M, NA, CF}

// ingest records a scan of one node, run here or uploaded by the node:
// its full scope (assets it does not list are gone) or some of its
// assets, all items or some of them, with random verdicts and scan
// failures; or a scan that failed.
func (r *rollupRun) ingest(t *testing.T) string {
	t.Helper()
	node := rollupNodes[r.rnd.IntN(len(rollupNodes))]
	now := r.f.Clock.Now()
	r.f.Clock.Step(time.Minute)
	rep := &results.Report{StartedAt: now, FinishedAt: now.Add(time.Second), Standards: r.f.Cat.Standards}
	for _, it := range r.f.Cat.Items() {
		if r.rnd.IntN(4) > 0 {
			rep.Items = append(rep.Items, it)
		}
	}
	var listed []assets.Asset
	if node == "node-1" && r.rnd.IntN(2) == 0 {
		listed = append(listed, assets.Asset{ID: HostID, Type: assets.Host, Name: node, Ref: node, NodeName: node})
	}
	for i := range rollupContainers {
		if rollupNodes[i%2] == node && r.rnd.IntN(3) > 0 {
			id := uint64(101 + i)
			listed = append(listed, assets.Asset{ID: id, Type: assets.Container, Name: fmt.Sprint("c", id), Ref: fmt.Sprint(id), NodeName: node})
		}
	}
	for _, a := range listed {
		rep.Assets = append(rep.Assets, a)
		if r.rnd.IntN(6) == 0 {
			rep.Failures = append(rep.Failures, results.AssetFailure{AssetID: a.ID, Reason: "inspect failed", CheckTime: now})
			continue
		}
		for _, it := range rep.Items {
			if it.AssetType == a.Type {
				v := rollupVerdicts[r.rnd.IntN(len(rollupVerdicts))]
				rep.Results = append(rep.Results, results.Result{ItemID: it.ID, AssetID: a.ID, Verdict: Verdict(v), CheckedAt: now})
			}
		}
	}
	scope, trigger := store.Scope{}, store.TriggerManual
	switch r.rnd.IntN(3) {
	case 0:
		for _, a := range listed {
			scope.Assets = append(scope.Assets, a.ID)
		}
	case 1: // uploaded by the node
		scope.Node, trigger = node, store.TriggerUpload
	}
	ctx := context.Background()
	task, err := r.f.DB.BeginTask(ctx, trigger, scope)
	if err != nil {
		t.Fatal(err)
	}
	// Some results are written as the scan goes (AddResults), in batches;
	// the rest come with the report.
	streamed := r.rnd.IntN(len(rep.Results) + 1)
	for done := 0; done < streamed; {
		n := 1 + r.rnd.IntN(streamed-done)
		if err := r.f.DB.AddResults(ctx, task.ID, rep.Results[done:done+n]); err != nil {
			t.Fatal(err)
		}
		done += n
	}
	if r.rnd.IntN(8) == 0 { // a scan that failed: its results are not stored
		if err := r.f.DB.FailTask(ctx, task.ID, "interrupted"); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("failed task of %s (%d results written)", node, streamed)
	}
	rest := *rep
	rest.Results = rep.Results[streamed:]
	if err := r.f.DB.CompleteTask(ctx, task.ID, &rest); err != nil {
		t.Fatal(err)
	}
	for _, a := range listed {
		if !slices.Contains(r.seen, a.ID) {
			r.seen = append(r.seen, a.ID)
		}
	}
	return fmt.Sprintf("%s of %d assets of %s (%d items, %d failures, scope %+v, %d of %d results written first)",
		trigger, len(listed), node, len(rep.Items), len(rep.Failures), scope, streamed, len(rep.Results))
}

// assetCountFilters are lists of current assets that the store counts
// from the roll-ups per type.
var assetCountFilters = [][]store.Filter{
	nil,
	{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}, ExactMatch: true}},
	{{Name: "CheckResult", Values: []string{"pass"}}},
	{{Name: "CheckResult", Values: []string{""}, ExactMatch: true}},
	{{Name: "AssetType", Values: []string{"ASSET_CONTAINER"}, ExactMatch: true}, {Name: "CheckResult", Values: []string{"result_", "x"}}},
	{{Name: "AssetType", Values: []string{"host", "nothing"}}, {Name: "CheckResult", Values: []string{"RESULT_PASSED", "RESULT_FAILED"}, ExactMatch: true}},
}

// checkAssetCounts fails the test where a count of current assets from
// the roll-ups differs from the count of the list's rows (the same
// filters and an AssetName filter that every name matches), or where the
// total of a page of an item's assets differs from the total past the
// last page.
func checkAssetCounts(t *testing.T, f *fixture, step string) {
	t.Helper()
	for _, filters := range assetCountFilters {
		_, total, err := f.DB.Assets(context.Background(), store.Query{Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		all := append(slices.Clone(filters), store.Filter{Name: "AssetName", Values: []string{""}})
		_, want, err := f.DB.Assets(context.Background(), store.Query{Filters: all})
		if err != nil {
			t.Fatal(err)
		}
		if total != want {
			t.Fatalf("after %s: %d assets counted from the roll-ups for %+v, %d listed", step, total, filters, want)
		}
	}
	// A page's total is counted with its rows; past the end, on its own.
	for _, item := range []uint64{11, 21} {
		_, total, err := f.DB.ItemAssets(context.Background(), item, store.Query{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, want, err := f.DB.ItemAssets(context.Background(), item, store.Query{Offset: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if total != want {
			t.Fatalf("after %s: item %d: %d assets counted with a page, %d past the end", step, item, total, want)
		}
	}
}
