package runner_test

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/dockertest"
	"github.com/baselinehq/baseline/internal/testhost"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/runner"
	"github.com/baselinehq/baseline/scan"
	"github.com/baselinehq/baseline/store"
	"github.com/baselinehq/baseline/store/sqlite"
)

// exportOp is the engine call that exports an image (docker save).
const exportOp = "GET /images/get"

// Two scans of an image through the runner with a real store: the first
// exports the image once and caches its files by the image's id; the
// second exports nothing and judges the same from the cache, with evidence
// naming the id the lists were cached from.
func TestImageFilesCachedAcrossScans(t *testing.T) {
	dockertest.Engine(t)
	ctx := context.Background()
	cat := testhost.Builtin(t)
	var item *checks.Item
	for _, it := range cat.Items() {
		if it.Standard.ID == "cis-docker-1.6.0" && it.Number == "4.8" {
			item = it
		}
	}
	if item == nil || item.Source == nil || item.Source.Kind != checks.SourceImageFiles {
		t.Fatalf("CIS Docker 4.8 = %+v, want an item reading the image's files", item)
	}
	db, r := newRunner(t, cat)
	run := func() (results.Result, string, map[string]int) {
		t.Helper()
		_, rep, err := r.Run(ctx, runner.Request{Trigger: store.TriggerManual,
			Select: scan.Options{Types: []assets.Type{assets.Image}, Standards: []string{"cis-docker-1.6.0"},
				Items: []uint64{item.ID}, Assets: []string{"baseline-test/setuid:1"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Assets) != 1 || len(rep.Results) != 1 {
			t.Fatalf("assets %+v, results %+v; want the image judged on 4.8", rep.Assets, rep.Results)
		}
		return rep.Results[0], rep.Assets[0].Ref, rep.EngineCallsByOp
	}

	first, ref, calls := run()
	if calls[exportOp] != 1 {
		t.Errorf("first scan: %d exports (%v), want 1", calls[exportOp], calls)
	}
	if !strings.HasPrefix(ref, "sha256:") {
		t.Fatalf("image ref %q is not its id", ref)
	}
	cached, ok, err := db.ImageFiles(ctx, ref)
	if err != nil || !ok || len(cached.Setuid) == 0 {
		t.Fatalf("cache after the first scan: %+v, %v, %v; want the image's setuid files under its id", cached, ok, err)
	}

	second, _, calls := run()
	if calls[exportOp] != 0 {
		t.Errorf("second scan: %d exports (%v), want none", calls[exportOp], calls)
	}
	if first.Status != checks.CheckFinished || first.Result != checks.ResultFailed || second.Status != first.Status || second.Result != first.Result {
		t.Errorf("verdicts: first %v/%v, second %v/%v; want failed both times", first.Status, first.Result, second.Status, second.Result)
	}
	actual := func(r results.Result) []string {
		var out []string
		for _, e := range r.Evidence {
			out = append(out, e.Actual)
		}
		return out
	}
	if !reflect.DeepEqual(actual(first), actual(second)) || len(actual(first)) == 0 {
		t.Errorf("evidence: first %v, second %v; want the same setuid list", actual(first), actual(second))
	}
	for _, e := range second.Evidence {
		if !strings.Contains(e.Source, "cached from "+ref+" at ") {
			t.Errorf("second scan's evidence source %q does not name the id it was cached from", e.Source)
		}
	}
	again, _, _ := db.ImageFiles(ctx, ref)
	if !reflect.DeepEqual(again.Setuid, cached.Setuid) || !again.ReadAt.Equal(cached.ReadAt) {
		t.Errorf("cache after the second scan: %+v, want %+v unchanged", again, cached)
	}
}

// Two scans of an image on 4.8 (its files) and 4.9 (its history): the
// first asks the engine for the history once and keeps it in the image's
// cache entry beside its files; the second asks nothing, judges the same,
// and its evidence names the id the history was cached from.
func TestImageHistoryCachedAcrossScans(t *testing.T) {
	dockertest.Engine(t)
	ctx := context.Background()
	cat := testhost.Builtin(t)
	var ids []uint64
	var historyItem uint64
	for _, it := range cat.Items() {
		if it.Standard.ID == "cis-docker-1.6.0" && (it.Number == "4.8" || it.Number == "4.9") {
			ids = append(ids, it.ID)
			if it.Number == "4.9" {
				historyItem = it.ID
			}
		}
	}
	if len(ids) != 2 {
		t.Fatalf("CIS Docker 4.8 and 4.9: found %d items", len(ids))
	}
	db, r := newRunner(t, cat)
	const historyOp = "GET /images/{id}/history"
	run := func() ([]results.Result, string, map[string]int) {
		t.Helper()
		_, rep, err := r.Run(ctx, runner.Request{Trigger: store.TriggerManual,
			Select: scan.Options{Types: []assets.Type{assets.Image}, Standards: []string{"cis-docker-1.6.0"},
				Items: ids, Assets: []string{"baseline-test/setuid:1"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Assets) != 1 || len(rep.Results) != 2 {
			t.Fatalf("assets %+v, results %+v; want the image judged on 4.8 and 4.9", rep.Assets, rep.Results)
		}
		return rep.Results, rep.Assets[0].Ref, rep.EngineCallsByOp
	}
	history := func(rs []results.Result) results.Result {
		for _, r := range rs {
			if r.ItemID == historyItem {
				return r
			}
		}
		t.Fatalf("no 4.9 result in %+v", rs)
		return results.Result{}
	}

	first, ref, calls := run()
	if calls[historyOp] != 1 {
		t.Errorf("first scan: %d history calls (%v), want 1", calls[historyOp], calls)
	}
	cached, ok, err := db.ImageFiles(ctx, ref)
	if err != nil || !ok || len(cached.History) == 0 || cached.HistoryAt.IsZero() {
		t.Fatalf("cache after the first scan: %+v, %v, %v; want the image's history under its id", cached, ok, err)
	}

	second, _, calls := run()
	if calls[historyOp] != 0 {
		t.Errorf("second scan: %d history calls (%v), want none", calls[historyOp], calls)
	}
	a, b := history(first), history(second)
	if a.Status != b.Status || a.Result != b.Result || len(a.Evidence) != len(b.Evidence) {
		t.Errorf("4.9: first %v/%v %+v, second %v/%v %+v; want the same", a.Status, a.Result, a.Evidence, b.Status, b.Result, b.Evidence)
	}
	for i, e := range b.Evidence {
		if e.Actual != a.Evidence[i].Actual {
			t.Errorf("evidence %d: first %q, second %q", i, a.Evidence[i].Actual, e.Actual)
		}
		if !strings.Contains(e.Source, "cached from "+ref+" at ") {
			t.Errorf("second scan's evidence source %q does not name the id the history was cached from", e.Source)
		}
	}
}

// newRunner is a runner of the catalog on a fresh SQLite store, closed
// when the test ends.
func newRunner(t *testing.T, cat *checks.Catalog) (*sqlite.DB, *runner.Runner) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, err := runner.New(ctx, cat, db, runner.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return db, r
}
