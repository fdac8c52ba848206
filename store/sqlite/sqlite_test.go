package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// clock is a stepped clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) step(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testStandard = `standard:
  id: t-1
  name: Test standard
  version: "1"
  asset_types: [host, container]
`

func testItem(id, number, assetType, risk, assessment string) string {
	src := "container"
	if assetType == "host" {
		src = "daemon_info"
	}
	return `  - id: ` + id + `
    number: "` + number + `"
    title: Item ` + number + `
    category: Cat ` + assetType + `
    asset_type: ` + assetType + `
    risk: ` + risk + `
    assessment: ` + assessment + `
    source: {kind: ` + src + `}
    tests: {test_items: [{path: "{.x}", set: true}]}
`
}

// Items: host h1 (high), h2 (low); container c1 critical, c2 high, c3
// medium, c4 manual (notice).
func testCatalog(t testing.TB) *checks.Catalog {
	t.Helper()
	items := "items:\n" + testItem("11", "H1", "host", "high", "automated") + testItem("12", "H2", "host", "low", "automated") +
		testItem("21", "C1", "container", "critical", "automated") + testItem("22", "C2", "container", "high", "automated") +
		testItem("23", "C3", "container", "medium", "automated") + testItem("24", "C4", "container", "notice", "manual")
	cat, err := checks.Load(checks.Tree{FS: fstest.MapFS{
		"t/standard.yaml": {Data: []byte(testStandard)},
		"t/items.yaml":    {Data: []byte(items)},
	}, Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

type fixture struct {
	db    *DB
	cat   *checks.Catalog
	clock *clock
	dir   string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	db, err := Open(context.Background(), dir, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat := testCatalog(t)
	if err := db.SyncCatalog(context.Background(), cat); err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, cat: cat, clock: c, dir: dir}
}

// Asset ids of the fixture.
const (
	hostID uint64 = 1
	ctrA   uint64 = 101
	ctrB   uint64 = 102
	ctrC   uint64 = 103
	ctrD   uint64 = 104 // scan-failed
)

func asset(id uint64, t assets.Type, name string) assets.Asset {
	return assets.Asset{ID: id, Type: t, Name: name, Ref: name, NodeName: "node-1"}
}

const (
	P  = "P"  // passed
	F  = "F"  // failed
	M  = "M"  // manual
	NA = "NA" // not applicable
	CF = "CF" // check failed
)

func verdict(code string) checks.Verdict {
	switch code {
	case P:
		return checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultPassed}
	case F:
		return checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultFailed,
			Evidence: []checks.Evidence{{Source: "container inspect", Subject: "{.x}", Actual: "not set", Expected: "'{.x}' is set"}}}
	case M:
		return checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultManual}
	case NA:
		return checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultNotApplicable, Reason: "does not apply"}
	}
	return checks.Failed("could not read")
}

// buildReport makes a report from verdicts per asset: codes in item order.
func (f *fixture) buildReport(verdicts map[uint64][]string, failures ...uint64) *results.Report {
	now := f.clock.now()
	rep := &results.Report{StartedAt: now, FinishedAt: now.Add(1500 * time.Millisecond), Standards: f.cat.Standards, Items: f.cat.Items()}
	names := map[uint64]assets.Asset{hostID: asset(hostID, assets.Host, "node-1"), ctrA: asset(ctrA, assets.Container, "a"),
		ctrB: asset(ctrB, assets.Container, "b"), ctrC: asset(ctrC, assets.Container, "c"), ctrD: asset(ctrD, assets.Container, "d")}
	for _, id := range []uint64{hostID, ctrA, ctrB, ctrC, ctrD} {
		codes, ok := verdicts[id]
		if !ok {
			continue
		}
		a := names[id]
		rep.Assets = append(rep.Assets, a)
		var its []*checks.Item
		for _, it := range rep.Items {
			if it.AssetType == a.Type {
				its = append(its, it)
			}
		}
		for i, c := range codes {
			rep.Results = append(rep.Results, results.Result{ItemID: its[i].ID, AssetID: id, Verdict: verdict(c), CheckedAt: now})
		}
	}
	for _, id := range failures {
		rep.Failures = append(rep.Failures, results.AssetFailure{AssetID: id, Reason: "inspect failed", Suggestion: "rescan", CheckTime: now})
	}
	return rep
}

func (f *fixture) ingest(t testing.TB, scope store.Scope, rep *results.Report) store.Task {
	t.Helper()
	ctx := context.Background()
	task, err := f.db.BeginTask(ctx, store.TriggerManual, scope)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.CompleteTask(ctx, task.ID, rep); err != nil {
		t.Fatal(err)
	}
	return task
}

// The standard data set: host passes H1, fails H2; container a fails C1
// and C2; b passes all; c fails C3 and has a check that could not run; d
// could not be inspected.
func (f *fixture) standard(t testing.TB) store.Task {
	return f.ingest(t, store.Scope{}, f.buildReport(map[uint64][]string{
		hostID: {P, F},
		ctrA:   {F, F, P, M},
		ctrB:   {P, P, P, M},
		ctrC:   {P, CF, F, NA},
		ctrD:   {CF, CF, CF, CF},
	}, ctrD))
}

func summary(t testing.TB, db *DB, at assets.Type) store.AssetSummary {
	t.Helper()
	sums, err := db.Summary(context.Background(), []assets.Type{at})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 {
		t.Fatalf("summary for %s: %d rows", at, len(sums))
	}
	return sums[0]
}

func TestRollupsByHandCount(t *testing.T) {
	f := newFixture(t)
	f.standard(t)
	s := summary(t, f.db, assets.Container)
	// Assets: a failed, b passed, c scan-failed (a check could not run),
	// d scan-failed (not inspected): pass rate 1/4, scan-failed counted.
	want := store.AssetSummary{
		AssetType: assets.Container, CheckStatus: checks.CheckFinished, AssetCount: 4,
		PassedAssetCount: 1, FailedAssetCount: 1, ScanFailedAssetCount: 2, AssetPassedRate: 25,
		// Items: C1 failed (a), C2 failed (a), C3 failed (c); C4 manual only.
		PassedPolicyItemCount: 0, FailedPolicyItemCount: 3,
		FailedCriticalPolicyItemCount: 1, FailedHighRiskPolicyItemCount: 1, FailedMediumRiskPolicyItemCount: 1,
		TotalPolicyItemCount: 4, OpenPolicyItemCount: 4, DetectHostCount: 1, CheckCostTime: 1.5,
		LastCheckTime: "2026-03-01 10:00:01",
	}
	if s != want {
		t.Errorf("container summary\n got %+v\nwant %+v", s, want)
	}
	h := summary(t, f.db, assets.Host)
	if h.AssetCount != 1 || h.FailedAssetCount != 1 || h.PassedPolicyItemCount != 1 || h.FailedPolicyItemCount != 1 || h.FailedLowRiskPolicyItemCount != 1 || h.AssetPassedRate != 0 {
		t.Errorf("host summary = %+v", h)
	}

	// Per asset.
	a, err := f.db.Asset(context.Background(), ctrA)
	if err != nil {
		t.Fatal(err)
	}
	if a.PassedPolicyItemCount != 1 || a.FailedPolicyItemCount != 2 || a.ManualCount != 1 || a.CheckResult != checks.ResultFailed {
		t.Errorf("asset a = %+v", a)
	}
	c, _ := f.db.Asset(context.Background(), ctrC)
	if !c.ScanFailed || c.CheckResult != "" || c.CheckFailedCount != 1 || c.NotApplicableCount != 1 {
		t.Errorf("asset c = %+v", c)
	}
	// Per item: C1 passed on b and c, failed on a, could not run on d.
	it, err := f.db.Item(context.Background(), 21)
	if err != nil {
		t.Fatal(err)
	}
	if it.PassedAssetCount != 2 || it.FailedAssetCount != 1 || it.CheckFailedCount != 1 || it.CheckResult != checks.ResultFailed {
		t.Errorf("item C1 = %+v", it)
	}
	failed, total, err := f.db.ScanFailed(context.Background(), store.Query{})
	if err != nil || total != 1 || failed[0].AssetID != ctrD || failed[0].Reason != "inspect failed" {
		t.Errorf("scan-failed = %+v (%d), %v", failed, total, err)
	}
}

// The store's figures equal the in-memory roll-ups of the same report.
func TestStoreAgreesWithReportSummary(t *testing.T) {
	f := newFixture(t)
	rep := f.buildReport(map[uint64][]string{hostID: {P, F}, ctrA: {F, F, P, M}, ctrB: {P, P, P, M}, ctrC: {P, CF, F, NA}, ctrD: {CF, CF, CF, CF}}, ctrD)
	f.ingest(t, store.Scope{}, rep)
	for _, ts := range report.Summarize(rep).Types {
		s := summary(t, f.db, ts.AssetType)
		if s.AssetCount != ts.AssetCount || s.PassedAssetCount != ts.PassedAssetCount || s.FailedAssetCount != ts.FailedAssetCount ||
			s.ScanFailedAssetCount != ts.ScanFailedAssets || s.FailedPolicyItemCount != ts.FailedItemCount || s.PassedPolicyItemCount != ts.PassedItemCount ||
			s.AssetPassedRate != results.PercentOf(ts.PassedAssetCount, ts.AssetCount) {
			t.Errorf("%s: store %+v, report %+v", ts.AssetType, s, ts)
		}
	}
}

func TestWhitelistKindsAndRemoval(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.standard(t)

	// Kind 1: C1 ignored everywhere. a still fails C2.
	e1, err := f.db.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{21}, All: true, Reason: "accepted risk", CreatedBy: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(e1) != 1 || !e1[0].AllAssets || e1[0].AssetCount != 4 || e1[0].Reason != "accepted risk" || e1[0].CreatedBy != "alice" {
		t.Fatalf("entry = %+v", e1)
	}
	s := summary(t, f.db, assets.Container)
	if s.FailedPolicyItemCount != 2 || s.FailedCriticalPolicyItemCount != 0 || s.IgnoredPolicyItemCount != 1 || s.OpenPolicyItemCount != 3 {
		t.Errorf("after kind 1: %+v", s)
	}
	a, _ := f.db.Asset(ctx, ctrA)
	if a.FailedPolicyItemCount != 1 || a.IgnoredCount != 1 {
		t.Errorf("asset a after kind 1: %+v", a)
	}
	// The ignored result stays recorded and visible as ignored.
	res, _, _ := f.db.AssetItems(ctx, ctrA, store.Query{Filters: []store.Filter{{Name: "CustomerPolicyItemId", Values: []string{"21"}, ExactMatch: true}}})
	if len(res) != 1 || res[0].Result != checks.ResultFailed || !res[0].Ignored || len(res[0].Evidence) != 1 {
		t.Errorf("ignored result = %+v", res)
	}

	// Kind 2: items C2 on asset a: a now passes.
	e2, err := f.db.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{22}, Assets: []uint64{ctrA}, Reason: "legacy app"})
	if err != nil {
		t.Fatal(err)
	}
	a, _ = f.db.Asset(ctx, ctrA)
	if a.CheckResult != checks.ResultPassed || a.FailedPolicyItemCount != 0 || a.IgnoredCount != 2 {
		t.Errorf("asset a after kind 2: %+v", a)
	}
	if s := summary(t, f.db, assets.Container); s.PassedAssetCount != 2 || s.FailedAssetCount != 0 || s.AssetPassedRate != 50 {
		t.Errorf("after kind 2: %+v", s)
	}

	// Kind 3: item C3 on assets b and c (c fails it, b passes it).
	e3, err := f.db.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{23}, Assets: []uint64{ctrB, ctrC}, Reason: "batch jobs"})
	if err != nil {
		t.Fatal(err)
	}
	if e3[0].AssetCount != 2 {
		t.Errorf("kind 3 entry = %+v", e3[0])
	}
	c, _ := f.db.Asset(ctx, ctrC)
	if c.FailedPolicyItemCount != 0 || c.IgnoredCount != 1 {
		t.Errorf("asset c after kind 3: %+v", c)
	}
	list, total, err := f.db.Whitelist(ctx, store.Query{Filters: []store.Filter{{Name: "AssetName", Values: []string{"c"}, ExactMatch: false}}})
	if err != nil || total != 1 || list[0].ID != e3[0].ID {
		t.Errorf("search by asset name: %+v (%d) %v", list, total, err)
	}

	// Removals restore normal checking at once.
	if err := f.db.RemoveWhitelistAssets(ctx, []uint64{23}, []uint64{ctrC}); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.db.Asset(ctx, ctrC); c.FailedPolicyItemCount != 1 {
		t.Errorf("asset c after removing it from kind 3: %+v", c)
	}
	if err := f.db.RemoveWhitelistAssets(ctx, []uint64{22}, []uint64{ctrA}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.RemoveWhitelist(ctx, []int64{e1[0].ID}); err != nil {
		t.Fatal(err)
	}
	a, _ = f.db.Asset(ctx, ctrA)
	if a.FailedPolicyItemCount != 2 || a.IgnoredCount != 0 || a.CheckResult != checks.ResultFailed {
		t.Errorf("asset a after removals: %+v", a)
	}
	if _, total, _ := f.db.Whitelist(ctx, store.Query{}); total != 1 { // the kind 3 entry, now on b only
		t.Errorf("entries left = %d, want 1", total)
	}
	_ = e2
	if err := f.db.RemoveWhitelist(ctx, []int64{99999}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing an unknown entry: %v", err)
	}
}

// A new task's results are ignored per the whitelist as they land.
func TestWhitelistAppliesToNewResults(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.standard(t)
	if _, err := f.db.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{22}, Assets: []uint64{ctrA}}); err != nil {
		t.Fatal(err)
	}
	f.clock.step(time.Hour)
	f.ingest(t, store.Scope{Assets: []uint64{ctrA}}, f.buildReport(map[uint64][]string{ctrA: {P, F, P, M}}))
	a, _ := f.db.Asset(ctx, ctrA)
	if a.CheckResult != checks.ResultPassed || a.IgnoredCount != 1 {
		t.Errorf("asset a = %+v", a)
	}
}

func TestWhitelistExpiryWithSteppedClock(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.standard(t)
	_, err := f.db.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{21, 22}, Assets: []uint64{ctrA}, ExpiresAt: f.clock.now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := f.db.Asset(ctx, ctrA); a.CheckResult != checks.ResultPassed {
		t.Fatalf("before expiry: %+v", a)
	}
	f.clock.step(23 * time.Hour)
	if a, _ := f.db.Asset(ctx, ctrA); a.CheckResult != checks.ResultPassed {
		t.Fatalf("an hour before expiry: %+v", a)
	}
	f.clock.step(time.Hour)
	a, _ := f.db.Asset(ctx, ctrA)
	if a.CheckResult != checks.ResultFailed || a.FailedPolicyItemCount != 2 || a.IgnoredCount != 0 {
		t.Errorf("after expiry: %+v", a)
	}
	list, _, _ := f.db.Whitelist(ctx, store.Query{})
	if len(list) != 2 || !list[0].Lapsed || list[0].ExpiresAt != "2026-03-02 10:00:00" {
		t.Errorf("lapsed entries stay listed: %+v", list)
	}
	if _, err := f.db.AddWhitelist(ctx, store.WhitelistRequest{Items: []uint64{21}, All: true, ExpiresAt: f.clock.now().Add(-time.Minute)}); !errors.Is(err, store.ErrInvalidParameter) {
		t.Errorf("an expiry in the past: %v", err)
	}
}

// Two processes on one store: a second task on an overlapping scope is
// refused, one on a disjoint scope runs.
func TestOverlappingTasksRefusedAcrossConnections(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	other, err := Open(ctx, f.dir, Options{Now: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	first, err := f.db.BeginTask(ctx, store.TriggerRecheck, store.Scope{Assets: []uint64{ctrA}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.BeginTask(ctx, store.TriggerRecheck, store.Scope{Assets: []uint64{ctrA, ctrB}}); !errors.Is(err, store.ErrAlreadyScanning) {
		t.Errorf("overlapping task: %v, want ErrAlreadyScanning", err)
	}
	if _, err := other.BeginTask(ctx, store.TriggerManual, store.Scope{}); !errors.Is(err, store.ErrAlreadyScanning) {
		t.Errorf("full scan during a recheck: %v, want ErrAlreadyScanning", err)
	}
	if _, err := other.BeginTask(ctx, store.TriggerRecheck, store.Scope{Assets: []uint64{ctrB}}); err != nil {
		t.Errorf("disjoint task refused: %v", err)
	}
	// Racing starts of one scope: exactly one wins.
	if err := f.db.FailTask(ctx, first.ID, "test"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, db := range []*DB{f.db, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.BeginTask(ctx, store.TriggerRecheck, store.Scope{Assets: []uint64{ctrC}})
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Errorf("racing starts: %v / %v, want exactly one refused", errs[0], errs[1])
	}
}

// A task whose process died is marked failed at the next start, and the
// results before it stand.
func TestInterruptedTaskMarkedFailed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.standard(t)
	task, err := f.db.BeginTask(ctx, store.TriggerManual, store.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	f.db.alive = func(string, int) bool { return false } // its process is gone
	n, err := f.db.RecoverInterrupted(ctx)
	if err != nil || n != 1 {
		t.Fatalf("recovered %d, %v", n, err)
	}
	got, _ := f.db.Task(ctx, task.ID)
	if got.Status != checks.CheckFailed || !strings.Contains(got.Error, "interrupted") {
		t.Errorf("task = %+v", got)
	}
	if s := summary(t, f.db, assets.Container); s.FailedAssetCount != 1 || s.PassedAssetCount != 1 {
		t.Errorf("previous results lost: %+v", s)
	}
	if err := f.db.CompleteTask(ctx, task.ID, f.buildReport(map[uint64][]string{ctrA: {P, P, P, M}})); err == nil {
		t.Error("results of an interrupted task were accepted")
	}
}

func TestQueriesFilterAndPage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.standard(t)
	if _, _, err := f.db.Items(ctx, store.Query{Limit: 101}); !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), "Limit") {
		t.Errorf("limit 101: %v", err)
	}
	if _, _, err := f.db.Items(ctx, store.Query{Filters: []store.Filter{{Name: "Colour", Values: []string{"x"}}}}); err == nil || !strings.Contains(err.Error(), `"Colour"`) {
		t.Errorf("unknown filter: %v", err)
	}
	// OR across values, AND across filters.
	items, total, err := f.db.Items(ctx, store.Query{Filters: []store.Filter{
		{Name: "RiskLevel", Values: []string{"RISK_CRITICAL", "RISK_HIGH"}, ExactMatch: true},
		{Name: "AssetType", Values: []string{"ASSET_CONTAINER"}, ExactMatch: true},
	}})
	if err != nil || total != 2 || items[0].ID != 21 || items[1].ID != 22 {
		t.Errorf("items = %+v (%d), %v", items, total, err)
	}
	// Fuzzy unless exact.
	if _, total, _ := f.db.Items(ctx, store.Query{Filters: []store.Filter{{Name: "Name", Values: []string{"Item C"}}}}); total != 4 {
		t.Errorf("fuzzy name: %d, want 4", total)
	}
	if _, total, _ := f.db.Items(ctx, store.Query{Filters: []store.Filter{{Name: "Name", Values: []string{"Item C"}, ExactMatch: true}}}); total != 0 {
		t.Errorf("exact name: %d, want 0", total)
	}
	// Paging keeps the total.
	page, total, err := f.db.Assets(ctx, store.Query{Offset: 1, Limit: 2})
	if err != nil || total != 5 || len(page) != 2 {
		t.Errorf("assets page = %d of %d, %v", len(page), total, err)
	}
	// An item's affected assets, filtered by result.
	aff, total, err := f.db.ItemAssets(ctx, 21, store.Query{Filters: []store.Filter{{Name: "CheckResult", Values: []string{"RESULT_FAILED"}}}})
	if err != nil || total != 1 || aff[0].AssetID != ctrA || aff[0].NodeName != "node-1" {
		t.Errorf("affected = %+v (%d), %v", aff, total, err)
	}
}

func TestFullScanMarksVanishedAssetsRemoved(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.standard(t)
	f.clock.step(time.Hour)
	// Container d is gone; a recheck of one asset removes nothing, a full scan does.
	f.ingest(t, store.Scope{Assets: []uint64{ctrA}}, f.buildReport(map[uint64][]string{ctrA: {F, F, P, M}}))
	if s := summary(t, f.db, assets.Container); s.AssetCount != 4 {
		t.Fatalf("after recheck: %d assets", s.AssetCount)
	}
	f.ingest(t, store.Scope{}, f.buildReport(map[uint64][]string{hostID: {P, F}, ctrA: {F, F, P, M}, ctrB: {P, P, P, M}, ctrC: {P, P, P, NA}}))
	s := summary(t, f.db, assets.Container)
	if s.AssetCount != 3 || s.ScanFailedAssetCount != 0 || s.PassedAssetCount != 2 {
		t.Errorf("after full scan: %+v", s)
	}
	if a, err := f.db.Asset(ctx, ctrD); err != nil || a.Name != "d" {
		t.Errorf("a removed asset keeps its history: %+v, %v", a, err)
	}
}

func TestDiffAndPrune(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	first := f.standard(t)
	f.clock.step(time.Hour)
	// a fixes C1, b newly fails C3.
	second := f.ingest(t, store.Scope{}, f.buildReport(map[uint64][]string{hostID: {P, F}, ctrA: {P, F, P, M}, ctrB: {P, P, F, M}, ctrC: {P, CF, F, NA}, ctrD: {CF, CF, CF, CF}}, ctrD))
	d, err := f.db.Diff(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.From != first.ID || d.To != second.ID || len(d.Fixed) != 1 || d.Fixed[0].AssetID != ctrA || d.Fixed[0].ItemID != 21 ||
		len(d.NewlyFailed) != 1 || d.NewlyFailed[0].AssetID != ctrB || d.NewlyFailed[0].ItemID != 23 {
		t.Errorf("diff = %+v", d)
	}
	f.clock.step(time.Hour)
	f.ingest(t, store.Scope{Assets: []uint64{ctrA}}, f.buildReport(map[uint64][]string{ctrA: {P, P, P, M}}))
	// Keep one task: the first task's results are no pair's latest and go;
	// the second still holds the latest of every other asset and stays.
	n, err := f.db.Prune(ctx, 1)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if _, err := f.db.Task(ctx, first.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("first task still there: %v", err)
	}
	res, _, _ := f.db.AssetItems(ctx, ctrB, store.Query{})
	for _, r := range res {
		if r.TaskID != second.ID || (r.Result == checks.ResultFailed && len(r.Evidence) == 0) {
			t.Errorf("latest result lost its evidence after pruning: %+v", r)
		}
	}
}

func TestMigrationsFromEmptyAndFromPreviousSchema(t *testing.T) {
	ctx := context.Background()
	// From empty: a new file reaches the current version.
	f := newFixture(t)
	var v int
	if err := f.db.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != store.SchemaVersion {
		t.Fatalf("version %d, want %d (%v)", v, store.SchemaVersion, err)
	}
	// From version 1 with data: the roll-up tables are built from it.
	v1 := t.TempDir() + "/v1.db"
	db, err := sql.Open("sqlite", "file:"+v1)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(ctx, db, 1); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO assets VALUES (101, 'ASSET_CONTAINER', 'a', 'a', 'n', '', '{"CustomerAssetId":101,"AssetType":"ASSET_CONTAINER","AssetName":"a"}', 1, 1, 0)`,
		`INSERT INTO latest VALUES (101, 21, 1, 2, 2, 0, 1000), (101, 22, 1, 2, 1, 0, 1000), (101, 23, 1, 3, 0, 0, 1000)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	up, err := OpenFile(ctx, v1, Options{})
	if err != nil {
		t.Fatalf("migrating from version 1: %v", err)
	}
	defer up.Close()
	a, err := up.Asset(ctx, 101)
	if err != nil || a.PassedPolicyItemCount != 1 || a.FailedPolicyItemCount != 1 || a.CheckFailedCount != 1 {
		t.Errorf("migrated asset = %+v, %v", a, err)
	}
	// A newer schema than this program knows is refused.
	if _, err := up.db.ExecContext(ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	up.Close()
	if _, err := OpenFile(ctx, v1, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("opening a newer schema: %v", err)
	}
}

func TestPeriodTasks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for i := 0; i < 2; i++ { // idempotent
		if err := f.db.EnsurePeriodTasks(ctx); err != nil {
			t.Fatal(err)
		}
	}
	list, err := f.db.PeriodTasks(ctx)
	if err != nil || len(list) != len(assets.Types) {
		t.Fatalf("period tasks = %+v, %v", list, err)
	}
	var ctr store.PeriodTask
	for _, p := range list {
		if p.Rule != store.DefaultPeriodRule {
			t.Errorf("%s: rule %+v, want the default", p.AssetType, p.Rule)
		}
		if p.AssetType == assets.Container {
			ctr = p
		}
	}
	if len(ctr.Standards) != 1 || !ctr.Standards[0].Enabled || ctr.TotalPolicyItemCount != 4 {
		t.Fatalf("container period task = %+v", ctr)
	}
	rule := store.PeriodRule{Frequency: 3, ExecutionTime: "21:30:00", Enable: true}
	got, err := f.db.SetPeriodTask(ctx, ctr.ID, &rule, map[string]bool{"t-1": false})
	if err != nil {
		t.Fatal(err)
	}
	if got.Rule != rule || got.Standards[0].Enabled || got.TotalPolicyItemCount != 0 || len(got.EnabledStandards()) != 0 {
		t.Errorf("after set: %+v", got)
	}
	for _, bad := range []store.PeriodRule{{Frequency: 2, ExecutionTime: "01:00:00"}, {Frequency: 1, ExecutionTime: "25:00"}} {
		if _, err := f.db.SetPeriodTask(ctx, ctr.ID, &bad, nil); !errors.Is(err, store.ErrInvalidParameter) {
			t.Errorf("rule %+v: %v", bad, err)
		}
	}
	if _, err := f.db.SetPeriodTask(ctx, 999, nil, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown period task: %v", err)
	}
	at := f.clock.now()
	if err := f.db.MarkPeriodTriggered(ctx, ctr.ID, at); err != nil {
		t.Fatal(err)
	}
	list, _ = f.db.PeriodTasks(ctx)
	for _, p := range list {
		if p.ID == ctr.ID && !p.LastTriggerTime.Equal(at) {
			t.Errorf("last trigger = %v, want %v", p.LastTriggerTime, at)
		}
	}
}

// A recheck of one item does not clear the scan failure of another item
// that still could not be carried out: the list and the counts agree.
func TestPartialRecheckKeepsScanFailure(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.ingest(t, store.Scope{}, f.buildReport(map[uint64][]string{ctrA: {P, CF, P, M}}, ctrA))
	f.clock.step(time.Hour)
	rep := f.buildReport(map[uint64][]string{ctrA: {P}})
	f.ingest(t, store.Scope{Items: []uint64{21}, Assets: []uint64{ctrA}}, rep)
	s := summary(t, f.db, assets.Container)
	_, total, err := f.db.ScanFailed(ctx, store.Query{})
	if err != nil || s.ScanFailedAssetCount != 1 || total != 1 {
		t.Errorf("summary says %d scan-failed, the list %d (%v)", s.ScanFailedAssetCount, total, err)
	}
}

// Reads are not held up by a write in progress (a fleet-size ingest takes
// seconds): the write-ahead log serves readers the last committed state.
func TestReadsDuringAWrite(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.standard(t)
	readDone := make(chan error, 1)
	err := f.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE assets SET name = 'renamed' WHERE id = ?", ctrA); err != nil {
			return err
		}
		go func() {
			a, err := f.db.Asset(ctx, ctrA)
			if err == nil && a.Name != "a" {
				err = fmt.Errorf("read saw the uncommitted name %q", a.Name)
			}
			readDone <- err
		}()
		select {
		case err := <-readDone:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("a read waited for the write to finish")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every trigger, the upload's included, is recorded and listed by the
// Trigger filter; an unknown trigger is refused when a task begins and
// when tasks are filtered, naming the value.
func TestTriggersRecordedAndFiltered(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ids := map[store.Trigger]int64{}
	for i, tr := range store.Triggers {
		task, err := f.db.BeginTask(ctx, tr, store.Scope{Node: fmt.Sprintf("node-%d", i)})
		if err != nil {
			t.Fatalf("BeginTask(%s): %v", tr, err)
		}
		ids[tr] = task.ID
	}
	for _, tr := range store.Triggers {
		list, total, err := f.db.Tasks(ctx, store.Query{Filters: []store.Filter{{Name: "Trigger", Values: []string{string(tr)}}}})
		if err != nil {
			t.Fatal(err)
		}
		if total != 1 || len(list) != 1 || list[0].ID != ids[tr] || list[0].Trigger != tr {
			t.Errorf("Trigger=%s lists %+v (total %d), want task %d", tr, list, total, ids[tr])
		}
	}
	if _, err := f.db.BeginTask(ctx, "uploaded", store.Scope{Node: "elsewhere"}); !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), `"uploaded"`) {
		t.Errorf("unknown trigger: %v, want ErrInvalidParameter naming it", err)
	}
	if _, _, err := f.db.Tasks(ctx, store.Query{Filters: []store.Filter{{Name: "Trigger", Values: []string{"uplod"}}}}); !errors.Is(err, store.ErrInvalidParameter) || !strings.Contains(err.Error(), `"uplod"`) {
		t.Errorf("unknown trigger filter: %v, want ErrInvalidParameter naming it", err)
	}
}
