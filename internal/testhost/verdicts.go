package testhost

import (
	"strings"
	"testing"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// Builtin loads the built-in benchmarks, failing the test if they do not
// load.
func Builtin(t testing.TB) *checks.Catalog {
	t.Helper()
	cat, err := checks.Load(benchmarks.Tree())
	if err != nil {
		t.Fatalf("built-in benchmarks: %v", err)
	}
	return cat
}

// OnlyAsset returns the report's asset, failing the test unless the report
// has exactly one, of type typ.
func OnlyAsset(t testing.TB, rep *results.Report, typ assets.Type) assets.Asset {
	t.Helper()
	if len(rep.Assets) != 1 || rep.Assets[0].Type != typ {
		t.Fatalf("assets = %+v, want one %s", rep.Assets, typ)
	}
	return rep.Assets[0]
}

// Verdicts returns the verdict of each item on the asset, by item number
// (the numbers of rep.Items). It fails the test when a result names an
// item the report does not list, or when an item has two results on the
// asset.
func Verdicts(t testing.TB, rep *results.Report, asset uint64) map[string]checks.Verdict {
	t.Helper()
	number := map[uint64]string{}
	for _, it := range rep.Items {
		number[it.ID] = it.Number
	}
	out := map[string]checks.Verdict{}
	for _, r := range rep.Results {
		if r.AssetID != asset {
			continue
		}
		n, ok := number[r.ItemID]
		if !ok {
			t.Fatalf("a result of item %d, which the report does not list", r.ItemID)
		}
		if _, dup := out[n]; dup {
			t.Fatalf("item %s has two results on asset %d", n, asset)
		}
		out[n] = r.Verdict
	}
	return out
}

// Result returns the verdict of an item on an asset, failing the test when
// there is none.
func Result(t testing.TB, rep *results.Report, item, asset uint64) checks.Verdict {
	t.Helper()
	for _, r := range rep.Results {
		if r.ItemID == item && r.AssetID == asset {
			return r.Verdict
		}
	}
	t.Fatalf("no result for item %d on asset %d", item, asset)
	return checks.Verdict{}
}

// Want is the verdict a case expects for the item numbered Number.
type Want struct {
	Number string
	Status checks.CheckStatus
	Result checks.CheckResult
	// Reason is a part of the reason, when it matters.
	Reason string
}

// Pass wants item n finished and passed.
func Pass(n string) Want { return Want{n, checks.CheckFinished, checks.ResultPassed, ""} }

// Fail wants item n finished and failed.
func Fail(n string) Want { return Want{n, checks.CheckFinished, checks.ResultFailed, ""} }

// NA wants item n not applicable, the reason containing why.
func NA(n, why string) Want { return Want{n, checks.CheckFinished, checks.ResultNotApplicable, why} }

// Manual wants item n reported for a manual review.
func Manual(n string) Want { return Want{n, checks.CheckFinished, checks.ResultManual, ""} }

// CheckFailed wants item n's check not carried out, the reason containing
// why.
func CheckFailed(n, why string) Want { return Want{n, checks.CheckFailed, "", why} }

// AssertVerdicts reports (without stopping the test) each wanted item that
// has no verdict in got, or another one.
func AssertVerdicts(t testing.TB, got map[string]checks.Verdict, wants []Want) {
	t.Helper()
	for _, w := range wants {
		v, ok := got[w.Number]
		if !ok {
			t.Errorf("%s: no result", w.Number)
			continue
		}
		if v.Status != w.Status || v.Result != w.Result || !strings.Contains(v.Reason, w.Reason) {
			t.Errorf("%s: got %s/%s %q, want %s/%s %q; evidence %+v", w.Number, v.Status, v.Result, v.Reason, w.Status, w.Result, w.Reason, v.Evidence)
		}
	}
}
