package scan

import (
	"reflect"
	"testing"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// Targets judged out of order are handed over at once to Judged (what
// writes a store), and in target order to Ordered (what writes an
// output), each as soon as every target ahead of it is judged; the
// tallies follow that order (the first reason a check could not be carried out is the first
// in the report), and a streamed scan keeps none of the results.
func TestHandoverKeepsTheReportOrder(t *testing.T) {
	std := &checks.Standard{ID: "std"}
	it := &checks.Item{ID: 1, Standard: std}
	target := func(id uint64, reasons ...string) (assets.Asset, []results.Result) {
		var rs []results.Result
		for _, r := range reasons {
			v := checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultPassed}
			if r != "" {
				v = checks.Failed(r)
			}
			rs = append(rs, results.Result{ItemID: it.ID, AssetID: id, Verdict: v})
		}
		return assets.Asset{ID: id}, rs
	}
	for _, streamed := range []bool{false, true} {
		var handed, judged []uint64
		var after [][]uint64 // what was handed over in order after each call
		opts := Options{Streamed: streamed, Ordered: func(a assets.Asset, rs []results.Result) {
			handed = append(handed, a.ID)
		}, Judged: func(a assets.Asset, rs []results.Result) {
			judged = append(judged, a.ID)
		}}
		h := newHandover(4, []*checks.Item{it}, opts)
		for _, i := range []int{2, 0, 3, 1} {
			a, rs := target(uint64(10+i), "", "reason of "+string(rune('a'+i)))
			h.judged(i, a, rs, 8)
			after = append(after, append([]uint64(nil), handed...))
		}
		want := [][]uint64{nil, {10}, {10}, {10, 11, 12, 13}}
		if !reflect.DeepEqual(after, want) {
			t.Errorf("streamed %v: handed over %v after each target, want %v", streamed, after, want)
		}
		if !reflect.DeepEqual(judged, []uint64{12, 10, 13, 11}) {
			t.Errorf("streamed %v: judged handed over %v, want each target at once (12, 10, 13, 11)", streamed, judged)
		}
		ev := h.ev
		if ev.count != 8 || !ev.standards["std"] {
			t.Errorf("streamed %v: count %d, standards %v", streamed, ev.count, ev.standards)
		}
		if u := ev.unchecked[12]; u == nil || u.n != 1 || u.first != "reason of c" {
			t.Errorf("streamed %v: unchecked checks of asset 12: %+v", streamed, u)
		}
		var order []uint64
		for _, r := range ev.results {
			order = append(order, r.AssetID)
		}
		switch {
		case streamed && ev.results != nil:
			t.Errorf("a streamed scan kept %d results", len(ev.results))
		case !streamed && !reflect.DeepEqual(order, []uint64{10, 10, 11, 11, 12, 12, 13, 13}):
			t.Errorf("results kept in the order of assets %v", order)
		}
	}
}
