package report_test

import (
	"maps"
	"testing"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/report"
	"github.com/baselinehq/baseline/results"
)

// Builders for hand-made reports.

func newStandard(id string) *checks.Standard {
	return &checks.Standard{ID: id, Name: id, Version: "1.0", Enabled: true}
}

// newItem makes an item of std and adds it to std's items.
func newItem(std *checks.Standard, id uint64, t assets.Type, risk checks.Risk) *checks.Item {
	it := &checks.Item{ID: id, Number: "n", Title: "item", AssetType: t, Risk: risk, Automated: true, Scored: true, Standard: std}
	std.Items = append(std.Items, it)
	return it
}

func newAsset(id uint64, t assets.Type, name string) assets.Asset {
	return assets.Asset{ID: id, Type: t, Name: name, Ref: name}
}

var clock = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func result(it *checks.Item, a assets.Asset, v checks.Verdict) results.Result {
	return results.Result{ItemID: it.ID, AssetID: a.ID, Verdict: v, CheckedAt: clock}
}

func passed() checks.Verdict {
	return checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultPassed}
}

func failed() checks.Verdict {
	return checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultFailed}
}

func manual() checks.Verdict {
	return checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultManual, Reason: "manual review required"}
}

func notApplicable() checks.Verdict {
	return checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultNotApplicable, Reason: "swarm mode is not active"}
}

func checkFailed(reason string) checks.Verdict { return checks.Failed(reason) }

func failure(a assets.Asset, reason string) results.AssetFailure {
	return results.AssetFailure{AssetID: a.ID, Reason: reason, Suggestion: "rescan it", CheckTime: clock}
}

// counts is report.Counts in the order passed, failed, manual, n/a, check failed.
func counts(p, f, m, na, cf int) report.Counts {
	return report.Counts{Passed: p, Failed: f, Manual: m, NotApplicable: na, CheckFailed: cf}
}

type assetWant struct {
	name       string
	counts     report.Counts
	result     checks.CheckResult
	scanFailed bool
}

type typeWant struct {
	typ                                assets.Type
	assets, passed, failed, scanFailed int
	passRate                           float64
	passedItems, failedItems           int
	byRisk                             map[checks.Risk]int
	results                            report.Counts
}

type summaryWant struct {
	assets []assetWant // in report order: type, then name
	items  map[uint64]report.Counts
	types  []typeWant // in assets.Types order
	total  report.Counts
}

type summaryCase struct {
	name string
	rep  *results.Report
	want summaryWant
}

func TestSummarize(t *testing.T) {
	var cases []summaryCase

	// An empty report has no roll-ups at all.
	cases = append(cases, summaryCase{name: "empty report", rep: &results.Report{}})

	// Items without assets: per-item counts are zero, no type summary.
	{
		std := newStandard("s")
		i1 := newItem(std, 1, assets.Host, checks.RiskHigh)
		i2 := newItem(std, 2, assets.Container, checks.RiskLow)
		cases = append(cases, summaryCase{
			name: "items but no assets",
			rep:  &results.Report{Standards: []*checks.Standard{std}, Items: []*checks.Item{i1, i2}},
			want: summaryWant{items: map[uint64]report.Counts{1: {}, 2: {}}},
		})
	}

	// One host with every finished outcome: one failure makes it FAILED;
	// manual and n/a count neither as passed nor failed items.
	{
		std := newStandard("s")
		i1 := newItem(std, 1, assets.Host, checks.RiskMedium)
		i2 := newItem(std, 2, assets.Host, checks.RiskHigh)
		i3 := newItem(std, 3, assets.Host, checks.RiskLow)
		i4 := newItem(std, 4, assets.Host, checks.RiskCritical)
		i5 := newItem(std, 5, assets.Host, checks.RiskMedium)
		h := newAsset(10, assets.Host, "node-1")
		cases = append(cases, summaryCase{
			name: "one host, passed failed manual n/a",
			rep: &results.Report{
				Standards: []*checks.Standard{std}, Items: []*checks.Item{i1, i2, i3, i4, i5}, Assets: []assets.Asset{h},
				Results: []results.Result{
					result(i1, h, passed()), result(i2, h, failed()), result(i3, h, manual()),
					result(i4, h, notApplicable()), result(i5, h, passed()),
				},
			},
			want: summaryWant{
				assets: []assetWant{{"node-1", counts(2, 1, 1, 1, 0), checks.ResultFailed, false}},
				items: map[uint64]report.Counts{
					1: counts(1, 0, 0, 0, 0), 2: counts(0, 1, 0, 0, 0), 3: counts(0, 0, 1, 0, 0),
					4: counts(0, 0, 0, 1, 0), 5: counts(1, 0, 0, 0, 0),
				},
				types: []typeWant{{
					typ: assets.Host, assets: 1, failed: 1, passRate: 0,
					passedItems: 2, failedItems: 1, byRisk: map[checks.Risk]int{checks.RiskHigh: 1},
					results: counts(2, 1, 1, 1, 0),
				}},
				total: counts(2, 1, 1, 1, 0),
			},
		})
	}

	// Only manual and n/a results: the asset did not fail, so it is PASSED,
	// but no item is counted as passed (or failed).
	{
		std := newStandard("s")
		i1 := newItem(std, 1, assets.Host, checks.RiskLow)
		i2 := newItem(std, 2, assets.Host, checks.RiskCritical)
		h := newAsset(10, assets.Host, "node-1")
		cases = append(cases, summaryCase{
			name: "manual and n/a only",
			rep: &results.Report{
				Standards: []*checks.Standard{std}, Items: []*checks.Item{i1, i2}, Assets: []assets.Asset{h},
				Results: []results.Result{result(i1, h, manual()), result(i2, h, notApplicable())},
			},
			want: summaryWant{
				assets: []assetWant{{"node-1", counts(0, 0, 1, 1, 0), checks.ResultPassed, false}},
				items:  map[uint64]report.Counts{1: counts(0, 0, 1, 0, 0), 2: counts(0, 0, 0, 1, 0)},
				types: []typeWant{{
					typ: assets.Host, assets: 1, passed: 1, passRate: 1,
					results: counts(0, 0, 1, 1, 0),
				}},
				total: counts(0, 0, 1, 1, 0),
			},
		})
	}

	// 2 passed, 1 failed, 1 scan-failed (recorded asset failure, its checks
	// CHECK_FAILED): pass rate 2/4. An item that passed on some assets and
	// could not be checked on another still passed; an item that passed,
	// was manual and failed elsewhere failed.
	{
		std := newStandard("s")
		a := newItem(std, 1, assets.Container, checks.RiskMedium)
		b := newItem(std, 2, assets.Container, checks.RiskHigh)
		c1 := newAsset(11, assets.Container, "c1")
		c2 := newAsset(12, assets.Container, "c2")
		c3 := newAsset(13, assets.Container, "c3")
		c4 := newAsset(14, assets.Container, "c4")
		gone := "No such container: c4"
		cases = append(cases, summaryCase{
			name: "pass rate counts scan-failed assets",
			rep: &results.Report{
				Standards: []*checks.Standard{std}, Items: []*checks.Item{a, b}, Assets: []assets.Asset{c1, c2, c3, c4},
				Results: []results.Result{
					result(a, c1, passed()), result(b, c1, passed()),
					result(a, c2, passed()), result(b, c2, manual()),
					result(a, c3, passed()), result(b, c3, failed()),
					result(a, c4, checkFailed(gone)), result(b, c4, checkFailed(gone)),
				},
				Failures: []results.AssetFailure{failure(c4, gone)},
			},
			want: summaryWant{
				assets: []assetWant{
					{"c1", counts(2, 0, 0, 0, 0), checks.ResultPassed, false},
					{"c2", counts(1, 0, 1, 0, 0), checks.ResultPassed, false},
					{"c3", counts(1, 1, 0, 0, 0), checks.ResultFailed, false},
					{"c4", counts(0, 0, 0, 0, 2), "", true},
				},
				items: map[uint64]report.Counts{1: counts(3, 0, 0, 0, 1), 2: counts(1, 1, 1, 0, 1)},
				types: []typeWant{{
					typ: assets.Container, assets: 4, passed: 2, failed: 1, scanFailed: 1, passRate: 0.5,
					passedItems: 1, failedItems: 1, byRisk: map[checks.Risk]int{checks.RiskHigh: 1},
					results: counts(4, 1, 1, 0, 2),
				}},
				total: counts(4, 1, 1, 0, 2),
			},
		})
	}

	// A CHECK_FAILED result without a recorded asset failure also makes the
	// asset scan-failed, even when another item failed on it: no Result, not
	// counted as a failed asset. The item that failed there still failed.
	{
		std := newStandard("s")
		a := newItem(std, 1, assets.Container, checks.RiskCritical)
		b := newItem(std, 2, assets.Container, checks.RiskLow)
		c := newItem(std, 3, assets.Container, checks.RiskMedium)
		c1 := newAsset(11, assets.Container, "c1")
		c2 := newAsset(12, assets.Container, "c2")
		cases = append(cases, summaryCase{
			name: "check failed makes the asset scan-failed",
			rep: &results.Report{
				Standards: []*checks.Standard{std}, Items: []*checks.Item{a, b, c}, Assets: []assets.Asset{c1, c2},
				Results: []results.Result{
					result(a, c1, failed()), result(b, c1, passed()), result(c, c1, checkFailed("path {.State.Pid}: not a number")),
					result(a, c2, notApplicable()), result(b, c2, passed()), result(c, c2, passed()),
				},
			},
			want: summaryWant{
				assets: []assetWant{
					{"c1", counts(1, 1, 0, 0, 1), "", true},
					{"c2", counts(2, 0, 0, 1, 0), checks.ResultPassed, false},
				},
				items: map[uint64]report.Counts{1: counts(0, 1, 0, 1, 0), 2: counts(2, 0, 0, 0, 0), 3: counts(1, 0, 0, 0, 1)},
				types: []typeWant{{
					typ: assets.Container, assets: 2, passed: 1, scanFailed: 1, passRate: 0.5,
					passedItems: 2, failedItems: 1, byRisk: map[checks.Risk]int{checks.RiskCritical: 1},
					results: counts(3, 1, 0, 1, 1),
				}},
				total: counts(3, 1, 0, 1, 1),
			},
		})
	}

	// A recorded asset failure makes the asset scan-failed even when all its
	// results passed, and an asset failure with no results at all too.
	{
		std := newStandard("s")
		a := newItem(std, 1, assets.Image, checks.RiskHigh)
		im1 := newAsset(21, assets.Image, "alpine:3")
		im2 := newAsset(22, assets.Image, "busybox:1")
		im3 := newAsset(23, assets.Image, "nginx:1")
		cases = append(cases, summaryCase{
			name: "asset failure with passing or no results",
			rep: &results.Report{
				Standards: []*checks.Standard{std}, Items: []*checks.Item{a}, Assets: []assets.Asset{im3, im2, im1},
				Results:  []results.Result{result(a, im1, passed()), result(a, im2, passed())},
				Failures: []results.AssetFailure{failure(im2, "history unreadable"), failure(im3, "No such image")},
			},
			want: summaryWant{
				assets: []assetWant{
					{"alpine:3", counts(1, 0, 0, 0, 0), checks.ResultPassed, false},
					{"busybox:1", counts(1, 0, 0, 0, 0), "", true},
					{"nginx:1", counts(0, 0, 0, 0, 0), "", true},
				},
				items: map[uint64]report.Counts{1: counts(2, 0, 0, 0, 0)},
				types: []typeWant{{
					typ: assets.Image, assets: 3, passed: 1, scanFailed: 2, passRate: 1.0 / 3,
					passedItems: 1, results: counts(2, 0, 0, 0, 0),
				}},
				total: counts(2, 0, 0, 0, 0),
			},
		})
	}

	// Item roll-ups per type: an item failing on two assets counts once (and
	// once in its risk); passing somewhere does not make a failed item
	// passed; every risk level, notice included, is counted.
	{
		std := newStandard("s")
		x := newItem(std, 1, assets.Container, checks.RiskCritical) // fails on c1 and c2
		y := newItem(std, 2, assets.Container, checks.RiskMedium)   // passes on c1, fails on c3
		z := newItem(std, 3, assets.Container, checks.RiskLow)      // passes everywhere
		w := newItem(std, 4, assets.Container, checks.RiskMedium)   // fails on c2, n/a elsewhere
		n := newItem(std, 5, assets.Container, checks.RiskNotice)   // fails on c3, manual elsewhere
		m := newItem(std, 6, assets.Container, checks.RiskHigh)     // manual everywhere
		c1 := newAsset(11, assets.Container, "c1")
		c2 := newAsset(12, assets.Container, "c2")
		c3 := newAsset(13, assets.Container, "c3")
		c4 := newAsset(14, assets.Container, "c4")
		cases = append(cases, summaryCase{
			name: "item roll-ups per type",
			rep: &results.Report{
				Standards: []*checks.Standard{std}, Items: []*checks.Item{x, y, z, w, n, m}, Assets: []assets.Asset{c1, c2, c3, c4},
				Results: []results.Result{
					result(x, c1, failed()), result(y, c1, passed()), result(z, c1, passed()), result(w, c1, notApplicable()), result(n, c1, manual()), result(m, c1, manual()),
					result(x, c2, failed()), result(y, c2, passed()), result(z, c2, passed()), result(w, c2, failed()), result(n, c2, manual()), result(m, c2, manual()),
					result(x, c3, passed()), result(y, c3, failed()), result(z, c3, passed()), result(w, c3, notApplicable()), result(n, c3, failed()), result(m, c3, manual()),
					result(x, c4, passed()), result(y, c4, passed()), result(z, c4, passed()), result(w, c4, notApplicable()), result(n, c4, manual()), result(m, c4, manual()),
				},
			},
			want: summaryWant{
				assets: []assetWant{
					{"c1", counts(2, 1, 2, 1, 0), checks.ResultFailed, false},
					{"c2", counts(2, 2, 2, 0, 0), checks.ResultFailed, false},
					{"c3", counts(2, 2, 1, 1, 0), checks.ResultFailed, false},
					{"c4", counts(3, 0, 2, 1, 0), checks.ResultPassed, false},
				},
				items: map[uint64]report.Counts{
					1: counts(2, 2, 0, 0, 0), 2: counts(3, 1, 0, 0, 0), 3: counts(4, 0, 0, 0, 0),
					4: counts(0, 1, 0, 3, 0), 5: counts(0, 1, 3, 0, 0), 6: counts(0, 0, 4, 0, 0),
				},
				types: []typeWant{{
					typ: assets.Container, assets: 4, passed: 1, failed: 3, passRate: 0.25,
					passedItems: 1, failedItems: 4,
					byRisk:  map[checks.Risk]int{checks.RiskCritical: 1, checks.RiskMedium: 2, checks.RiskNotice: 1},
					results: counts(9, 5, 7, 3, 0),
				}},
				total: counts(9, 5, 7, 3, 0),
			},
		})
	}

	// Several asset types, assets given out of order: roll-ups are per
	// type, in host, container, image order, assets sorted by name within
	// their type, and one type's results never leak into another's.
	{
		cis := newStandard("cis")
		own := newStandard("own")
		h1 := newItem(cis, 101, assets.Host, checks.RiskMedium)
		h2 := newItem(cis, 102, assets.Host, checks.RiskLow)
		c1 := newItem(cis, 201, assets.Container, checks.RiskCritical)
		c2 := newItem(own, 202, assets.Container, checks.RiskHigh)
		i1 := newItem(cis, 301, assets.Image, checks.RiskHigh)
		i2 := newItem(own, 302, assets.Image, checks.RiskMedium)
		host := newAsset(1, assets.Host, "node-1")
		web := newAsset(2, assets.Container, "web")
		db := newAsset(3, assets.Container, "db")
		nginx := newAsset(4, assets.Image, "nginx:1.25")
		redis := newAsset(5, assets.Image, "redis:7")
		cases = append(cases, summaryCase{
			name: "several asset types",
			rep: &results.Report{
				Standards: []*checks.Standard{cis, own},
				Items:     []*checks.Item{h1, h2, c1, c2, i1, i2},
				Assets:    []assets.Asset{redis, web, host, nginx, db},
				Results: []results.Result{
					result(h1, host, failed()), result(h2, host, passed()),
					result(c1, web, failed()), result(c2, web, passed()),
					result(c1, db, passed()), result(c2, db, manual()),
					result(i1, nginx, passed()), result(i2, nginx, passed()),
					result(i1, redis, checkFailed("image export: EOF")), result(i2, redis, passed()),
				},
				Failures: []results.AssetFailure{failure(redis, "image export: EOF")},
			},
			want: summaryWant{
				assets: []assetWant{
					{"node-1", counts(1, 1, 0, 0, 0), checks.ResultFailed, false},
					{"db", counts(1, 0, 1, 0, 0), checks.ResultPassed, false},
					{"web", counts(1, 1, 0, 0, 0), checks.ResultFailed, false},
					{"nginx:1.25", counts(2, 0, 0, 0, 0), checks.ResultPassed, false},
					{"redis:7", counts(1, 0, 0, 0, 1), "", true},
				},
				items: map[uint64]report.Counts{
					101: counts(0, 1, 0, 0, 0), 102: counts(1, 0, 0, 0, 0),
					201: counts(1, 1, 0, 0, 0), 202: counts(1, 0, 1, 0, 0),
					301: counts(1, 0, 0, 0, 1), 302: counts(2, 0, 0, 0, 0),
				},
				types: []typeWant{
					{
						typ: assets.Host, assets: 1, failed: 1, passRate: 0,
						passedItems: 1, failedItems: 1, byRisk: map[checks.Risk]int{checks.RiskMedium: 1},
						results: counts(1, 1, 0, 0, 0),
					},
					{
						typ: assets.Container, assets: 2, passed: 1, failed: 1, passRate: 0.5,
						passedItems: 1, failedItems: 1, byRisk: map[checks.Risk]int{checks.RiskCritical: 1},
						results: counts(2, 1, 1, 0, 0),
					},
					{
						typ: assets.Image, assets: 2, passed: 1, scanFailed: 1, passRate: 0.5,
						passedItems: 2, results: counts(3, 0, 0, 0, 1),
					},
				},
				total: counts(6, 2, 1, 0, 1),
			},
		})
	}

	// Kubernetes: the pass rate is passed items over judged items (3 of
	// 4), not compliant assets (0 of 2: each asset fails one item).
	{
		std := newStandard("k")
		k := []*checks.Item{newItem(std, 501, assets.K8s, checks.RiskHigh), newItem(std, 502, assets.K8s, checks.RiskLow),
			newItem(std, 503, assets.K8s, checks.RiskLow), newItem(std, 504, assets.K8s, checks.RiskLow), newItem(std, 505, assets.K8s, checks.RiskLow)}
		cluster := newAsset(6, assets.K8s, "prod")
		node := newAsset(7, assets.K8s, "prod/node-1")
		cases = append(cases, summaryCase{
			name: "kubernetes pass rate",
			rep: &results.Report{
				Standards: []*checks.Standard{std}, Items: k, Assets: []assets.Asset{cluster, node},
				Results: []results.Result{
					result(k[0], cluster, failed()), result(k[1], cluster, passed()), result(k[4], cluster, manual()),
					result(k[2], node, passed()), result(k[3], node, passed()), result(k[0], node, passed()),
				},
			},
			want: summaryWant{
				assets: []assetWant{
					{"prod", counts(1, 1, 1, 0, 0), checks.ResultFailed, false},
					{"prod/node-1", counts(3, 0, 0, 0, 0), checks.ResultPassed, false},
				},
				items: map[uint64]report.Counts{
					501: counts(1, 1, 0, 0, 0), 502: counts(1, 0, 0, 0, 0), 503: counts(1, 0, 0, 0, 0),
					504: counts(1, 0, 0, 0, 0), 505: counts(0, 0, 1, 0, 0),
				},
				types: []typeWant{{
					typ: assets.K8s, assets: 2, passed: 1, failed: 1, passRate: 0.75,
					passedItems: 3, failedItems: 1, byRisk: map[checks.Risk]int{checks.RiskHigh: 1},
					results: counts(4, 1, 1, 0, 0),
				}},
				total: counts(4, 1, 1, 0, 0),
			},
		})
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkSummary(t, report.Summarize(tc.rep), tc.want)
		})
	}
}

func checkSummary(t *testing.T, got report.Summary, want summaryWant) {
	t.Helper()

	if len(got.Assets) != len(want.assets) {
		t.Errorf("%d asset roll-ups, want %d", len(got.Assets), len(want.assets))
	}
	for i := 0; i < len(got.Assets) && i < len(want.assets); i++ {
		g, w := got.Assets[i], want.assets[i]
		if g.Asset.Name != w.name {
			t.Errorf("asset #%d is %q, want %q", i, g.Asset.Name, w.name)
			continue
		}
		if g.Counts != w.counts {
			t.Errorf("asset %s: counts %+v, want %+v", w.name, g.Counts, w.counts)
		}
		if g.Result != w.result {
			t.Errorf("asset %s: result %q, want %q", w.name, g.Result, w.result)
		}
		if g.ScanFailed != w.scanFailed {
			t.Errorf("asset %s: ScanFailed %v, want %v", w.name, g.ScanFailed, w.scanFailed)
		}
	}

	if len(got.Items) != len(want.items) {
		t.Errorf("%d item roll-ups, want %d", len(got.Items), len(want.items))
	}
	for _, ir := range got.Items {
		w, ok := want.items[ir.Item.ID]
		if !ok {
			t.Errorf("unexpected item roll-up %d", ir.Item.ID)
			continue
		}
		if ir.Counts != w {
			t.Errorf("item %d: counts %+v, want %+v", ir.Item.ID, ir.Counts, w)
		}
	}

	if len(got.Types) != len(want.types) {
		t.Errorf("%d type summaries, want %d", len(got.Types), len(want.types))
	}
	for i := 0; i < len(got.Types) && i < len(want.types); i++ {
		g, w := got.Types[i], want.types[i]
		if g.AssetType != w.typ {
			t.Errorf("type summary #%d is %s, want %s", i, g.AssetType, w.typ)
			continue
		}
		check := func(what string, got, want int) {
			t.Helper()
			if got != want {
				t.Errorf("%s: %s = %d, want %d", w.typ, what, got, want)
			}
		}
		check("AssetCount", g.AssetCount, w.assets)
		check("PassedAssetCount", g.PassedAssetCount, w.passed)
		check("FailedAssetCount", g.FailedAssetCount, w.failed)
		check("ScanFailedAssets", g.ScanFailedAssets, w.scanFailed)
		check("PassedItemCount", g.PassedItemCount, w.passedItems)
		check("FailedItemCount", g.FailedItemCount, w.failedItems)
		if g.AssetPassRate != w.passRate {
			t.Errorf("%s: AssetPassRate = %v, want %v", w.typ, g.AssetPassRate, w.passRate)
		}
		// Every risk level is present, zero when nothing of it failed.
		wantRisk := map[checks.Risk]int{}
		for _, r := range checks.Risks {
			wantRisk[r] = w.byRisk[r]
		}
		if !maps.Equal(g.FailedByRisk, wantRisk) {
			t.Errorf("%s: FailedByRisk = %v, want %v", w.typ, g.FailedByRisk, wantRisk)
		}
		if g.Results != w.results {
			t.Errorf("%s: Results = %+v, want %+v", w.typ, g.Results, w.results)
		}

		// Invariants: every asset is passed, failed or scan-failed; every
		// failed item has exactly one risk.
		if g.PassedAssetCount+g.FailedAssetCount+g.ScanFailedAssets != g.AssetCount {
			t.Errorf("%s: passed %d + failed %d + scan failed %d != %d assets", w.typ, g.PassedAssetCount, g.FailedAssetCount, g.ScanFailedAssets, g.AssetCount)
		}
		sum := 0
		for _, n := range g.FailedByRisk {
			sum += n
		}
		if sum != g.FailedItemCount {
			t.Errorf("%s: FailedByRisk adds up to %d, FailedItemCount is %d", w.typ, sum, g.FailedItemCount)
		}
	}

	if got.Total != want.total {
		t.Errorf("Total = %+v, want %+v", got.Total, want.total)
	}
}
