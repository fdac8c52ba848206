package scan

import (
	"reflect"
	"testing"
	"time"

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

// While the target whose turn it is is still being judged, the targets
// behind it are judged and parked only up to parkedResults: the next
// target is not started (its worker waits) until the slow one is judged,
// and then every target is handed over in order. The slow target itself
// never waits, however many results are parked.
func TestHandoverBoundsTheParkedResults(t *testing.T) {
	std := &checks.Standard{ID: "std"}
	it := &checks.Item{ID: 1, Standard: std}
	const targets, perTarget = 40, parkedResults / 4
	judgedTarget := func(i int) (assets.Asset, []results.Result) {
		rs := make([]results.Result, perTarget)
		for k := range rs {
			rs[k] = results.Result{ItemID: it.ID, AssetID: uint64(100 + i),
				Verdict: checks.Verdict{Status: checks.CheckFinished, Result: checks.ResultPassed}}
		}
		return assets.Asset{ID: uint64(100 + i)}, rs
	}
	var handed []uint64
	h := newHandover(targets, []*checks.Item{it}, Options{Streamed: true, Ordered: func(a assets.Asset, _ []results.Result) {
		handed = append(handed, a.ID)
	}})
	state := func() (parked, held, next int) {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.parked, h.held, h.next
	}
	// One worker judges targets 1 to 39 in order while target 0 is slow.
	started := make(chan int, targets)
	maxParked := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i < targets; i++ {
			h.turn(i)
			started <- i
			a, rs := judgedTarget(i)
			h.judged(i, a, rs, targets*perTarget)
			p, _, _ := state()
			maxParked = max(maxParked, p)
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, held, _ := state(); held == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no worker waits for the slow target: %d targets started", len(started))
		}
	}
	if parked, _, next := state(); len(started) != 4 || parked != parkedResults || next != 0 {
		t.Fatalf("while target 0 is judged: %d targets started, %d results parked, next %d; want 4, %d, 0",
			len(started), parked, next, parkedResults)
	}
	h.turn(0) // the slow target's turn: it does not wait
	a, rs := judgedTarget(0)
	h.judged(0, a, rs, targets*perTarget)
	<-done
	want := make([]uint64, targets)
	for i := range want {
		want[i] = uint64(100 + i)
	}
	if !reflect.DeepEqual(handed, want) {
		t.Errorf("handed over %v, want every target in order", handed)
	}
	if maxParked > parkedResults {
		t.Errorf("%d results parked at most, want at most %d", maxParked, parkedResults)
	}
	if parked, held, next := state(); parked != 0 || held != 0 || next != targets {
		t.Errorf("at the end: %d parked, %d held, next %d", parked, held, next)
	}
}
