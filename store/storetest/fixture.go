// Package storetest is the store's contract: its tests (in this
// package's test files) are written once and run against every backend,
// the SQLite file and a PostgreSQL database. What they share with a
// backend's own tests is exported here: a stepped clock, a small catalog,
// and a fixture that builds and ingests reports of known verdicts.
package storetest

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// Clock is a stepped clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock at 2026-03-01 10:00 UTC.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)} }

// Now reads the clock.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Step moves the clock on.
func (c *Clock) Step(d time.Duration) {
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

// Catalog is the test standard's items: host H1 (high), H2 (low);
// container C1 critical, C2 high, C3 medium, C4 manual (notice).
func Catalog(t testing.TB) *checks.Catalog {
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

// Fixture is a store holding the test catalog, on a stepped clock.
type Fixture struct {
	DB    store.Store
	Cat   *checks.Catalog
	Clock *Clock
}

// New records the test catalog in db, whose clock is c.
func New(t testing.TB, db store.Store, c *Clock) *Fixture {
	t.Helper()
	cat := Catalog(t)
	if err := db.SyncCatalog(context.Background(), cat); err != nil {
		t.Fatal(err)
	}
	return &Fixture{DB: db, Cat: cat, Clock: c}
}

// Asset ids of the fixture.
const (
	HostID uint64 = 1
	CtrA   uint64 = 101
	CtrB   uint64 = 102
	CtrC   uint64 = 103
	CtrD   uint64 = 104 // scan-failed
)

// Asset is an asset of the fixture's node.
func Asset(id uint64, t assets.Type, name string) assets.Asset {
	return assets.Asset{ID: id, Type: t, Name: name, Ref: name, NodeName: "node-1"}
}

// Verdict codes.
const (
	P  = "P"  // passed
	F  = "F"  // failed
	M  = "M"  // manual
	NA = "NA" // not applicable
	CF = "CF" // check failed
)

// Verdict is the verdict of a code.
func Verdict(code string) checks.Verdict {
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

// BuildReport makes a report from verdicts per asset (codes in item
// order) and the assets whose scan failed.
func (f *Fixture) BuildReport(verdicts map[uint64][]string, failures ...uint64) *results.Report {
	now := f.Clock.Now()
	rep := &results.Report{StartedAt: now, FinishedAt: now.Add(1500 * time.Millisecond), Standards: f.Cat.Standards, Items: f.Cat.Items()}
	names := map[uint64]assets.Asset{HostID: Asset(HostID, assets.Host, "node-1"), CtrA: Asset(CtrA, assets.Container, "a"),
		CtrB: Asset(CtrB, assets.Container, "b"), CtrC: Asset(CtrC, assets.Container, "c"), CtrD: Asset(CtrD, assets.Container, "d")}
	for _, id := range []uint64{HostID, CtrA, CtrB, CtrC, CtrD} {
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
			rep.Results = append(rep.Results, results.Result{ItemID: its[i].ID, AssetID: id, Verdict: Verdict(c), CheckedAt: now})
		}
	}
	for _, id := range failures {
		rep.Failures = append(rep.Failures, results.AssetFailure{AssetID: id, Reason: "inspect failed", Suggestion: "rescan", CheckTime: now})
	}
	return rep
}

// Ingest records a report as a manual task of the scope.
func (f *Fixture) Ingest(t testing.TB, scope store.Scope, rep *results.Report) store.Task {
	t.Helper()
	ctx := context.Background()
	task, err := f.DB.BeginTask(ctx, store.TriggerManual, scope)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.DB.CompleteTask(ctx, task.ID, rep); err != nil {
		t.Fatal(err)
	}
	return task
}

// Standard ingests the standard data set: host passes H1, fails H2;
// container a fails C1 and C2; b passes all; c fails C3 and has a check
// that could not run; d could not be inspected.
func (f *Fixture) Standard(t testing.TB) store.Task {
	return f.Ingest(t, store.Scope{}, f.BuildReport(map[uint64][]string{
		HostID: {P, F},
		CtrA:   {F, F, P, M},
		CtrB:   {P, P, P, M},
		CtrC:   {P, CF, F, NA},
		CtrD:   {CF, CF, CF, CF},
	}, CtrD))
}

// Summary is the summary of one asset type.
func Summary(t testing.TB, db store.ResultReader, at assets.Type) store.AssetSummary {
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
