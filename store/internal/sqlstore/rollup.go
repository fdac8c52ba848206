package sqlstore

import (
	"github.com/baselinehq/baseline/results"
)

// Tally is one roll-up row being built: the counts of a group of latest
// results by outcome (as the roll-up tables' columns), their latest check
// time, and how many rows were counted (no row is kept for none).
type Tally struct {
	Passed, Failed, Ignored, Manual, NA, CheckFailed int64
	LastCheck                                        int64
	Rows                                             int64
}

// Add counts one latest row.
func (t *Tally) Add(status, result int, ignored bool, checkedAt int64) {
	t.Rows++
	if checkedAt > t.LastCheck || t.Rows == 1 {
		t.LastCheck = checkedAt
	}
	switch {
	case status == StFailed:
		t.CheckFailed++
	case status != StFinished:
	case result == ResPassed:
		t.Passed++
	case result == ResFailed && ignored:
		t.Ignored++
	case result == ResFailed:
		t.Failed++
	case result == ResManual:
		t.Manual++
	case result == ResNotApplicable:
		t.NA++
	}
}

// Merge adds another tally of disjoint rows.
func (t *Tally) Merge(o Tally) {
	if o.Rows == 0 {
		return
	}
	if t.Rows == 0 || o.LastCheck > t.LastCheck {
		t.LastCheck = o.LastCheck
	}
	t.Passed += o.Passed
	t.Failed += o.Failed
	t.Ignored += o.Ignored
	t.Manual += o.Manual
	t.NA += o.NA
	t.CheckFailed += o.CheckFailed
	t.Rows += o.Rows
}

// Ignored reports whether an active entry ignores the item on the asset.
func (ig IgnoreSet) Ignored(item, asset uint64) bool {
	return ig.All[item] || ig.OnAsset[item][asset]
}

// ReportTallies counts the report's results as the latest rows that its
// ingest makes of them, per asset and per item, so that the roll-ups of
// the assets and items it touches add to them only the latest rows it
// does not replace, instead of re-aggregating every row. Every asset the
// report lists is current once it is stored, so each of its results
// counts for its item. ok is false when some result names an asset or an
// item that the report does not list: its roll-ups are then recomputed
// from the tables.
func ReportTallies(rep *results.Report, ig IgnoreSet) (perAsset, perItem map[uint64]*Tally, ok bool) {
	perAsset = make(map[uint64]*Tally, len(rep.Assets))
	for _, a := range rep.Assets {
		perAsset[a.ID] = &Tally{}
	}
	perItem = make(map[uint64]*Tally, len(rep.Items))
	for _, it := range rep.Items {
		perItem[it.ID] = &Tally{}
	}
	for i := range rep.Results {
		r := &rep.Results[i]
		ta, ti := perAsset[r.AssetID], perItem[r.ItemID]
		if ta == nil || ti == nil {
			return nil, nil, false
		}
		st, res, ign, at := StatusCodes[r.Status], ResultCodes[r.Result], ig.Ignored(r.ItemID, r.AssetID), Unix(r.CheckedAt)
		ta.Add(st, res, ign, at)
		ti.Add(st, res, ign, at)
	}
	return perAsset, perItem, true
}
