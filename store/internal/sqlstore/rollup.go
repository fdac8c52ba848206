package sqlstore

import (
	"slices"

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
func ReportTallies(rep *results.Report, keys []ResultKey, ig IgnoreSet) (perAsset, perItem map[uint64]*Tally, ok bool) {
	perAsset = make(map[uint64]*Tally, len(rep.Assets))
	for _, a := range rep.Assets {
		perAsset[a.ID] = &Tally{}
	}
	perItem = make(map[uint64]*Tally, len(rep.Items))
	for _, it := range rep.Items {
		perItem[it.ID] = &Tally{}
	}
	for i := range keys {
		k := &keys[i]
		ta, ti := perAsset[k.Asset], perItem[k.Item]
		if ta == nil || ti == nil {
			return nil, nil, false
		}
		st, res, ign := int(k.Status), int(k.Result), ig.Ignored(k.Item, k.Asset)
		ta.Add(st, res, ign, k.CheckedAt)
		ti.Add(st, res, ign, k.CheckedAt)
	}
	return perAsset, perItem, true
}

// LatestRow is one latest result as stored, before an ingest replaces it.
type LatestRow struct {
	Asset, Item    uint64
	Status, Result int
	Ignored        bool
	CheckedAt      int64
}

// Prior is what an ingest needs to know of the state it changes to keep
// the items' roll-ups: the latest rows, before its own, of the report's
// assets and of those it removes; Refound, the report's assets that were
// removed until now (their rows were not counted); Removed, the assets the
// report removes (theirs were).
type Prior struct {
	Rows             []LatestRow
	Refound, Removed map[uint64]bool
}

// NewPrior keeps the ids of the assets found again and of those removed.
func NewPrior(refound, removed []uint64) Prior {
	p := Prior{Refound: make(map[uint64]bool, len(refound)), Removed: make(map[uint64]bool, len(removed))}
	for _, id := range refound {
		p.Refound[id] = true
	}
	for _, id := range removed {
		p.Removed[id] = true
	}
	return p
}

// Assets lists the assets whose latest rows the ingest must read first:
// the report's and those it removes.
func (p Prior) Assets(rep *results.Report) []uint64 {
	out := TouchedAssets(rep)
	for id := range p.Removed {
		out = append(out, id)
	}
	return out
}

// ItemChange is how an ingest changes an item's roll-up: the latest rows
// it stops counting (replaced, or of assets it removes) and those it
// starts counting (its own results, and the rows it does not replace of
// assets found again).
type ItemChange struct {
	Sub, Add Tally
}

// counted is how many rows the roll-up columns count.
func (t *Tally) counted() int64 {
	return t.Passed + t.Failed + t.Ignored + t.Manual + t.NA + t.CheckFailed
}

// ItemChanges gives per item how the report's ingest changes its roll-up,
// from the report's tallies per item (ReportTallies) and what was stored
// before it. Only the report's own results and the rows of those assets are read, so
// an ingest costs as much as its own results, however many other assets
// have results of the same items.
func ItemChanges(keys []ResultKey, perItem map[uint64]*Tally, prior Prior) map[uint64]*ItemChange {
	replaced := replacedRows(keys, prior.Rows)
	out := make(map[uint64]*ItemChange, len(perItem))
	change := func(item uint64) *ItemChange {
		c := out[item]
		if c == nil {
			c = &ItemChange{}
			out[item] = c
		}
		return c
	}
	for it, t := range perItem {
		if t.Rows > 0 {
			change(it).Add.Merge(*t)
		}
	}
	for i, r := range prior.Rows {
		gone := replaced(i)
		switch {
		case prior.Removed[r.Asset]:
			change(r.Item).Sub.Add(r.Status, r.Result, r.Ignored, r.CheckedAt)
		case prior.Refound[r.Asset] && !gone:
			change(r.Item).Add.Add(r.Status, r.Result, r.Ignored, r.CheckedAt)
		case !prior.Refound[r.Asset] && gone:
			change(r.Item).Sub.Add(r.Status, r.Result, r.Ignored, r.CheckedAt)
		}
	}
	return out
}

// replacedRows says, for each prior row by index, whether a key replaces
// it (the same asset and item). Rows sorted by asset then item, as the
// SQLite store reads them, are walked beside the keys in that order
// (sorted first unless they are, as a task written at once has them);
// otherwise the keys' pairs are looked up in a set (for a fleet's task,
// building that set of 1.5 million pairs took 0.75 s).
func replacedRows(keys []ResultKey, rows []LatestRow) func(i int) bool {
	if len(rows) == 0 { // a first ingest of its assets replaces none
		return func(int) bool { return false }
	}
	rowOrder := func(a, b LatestRow) int { return ComparePairs(a.Asset, a.Item, b.Asset, b.Item) }
	if slices.IsSortedFunc(rows, rowOrder) {
		if !slices.IsSortedFunc(keys, ResultKey.Compare) {
			keys = slices.Clone(keys)
			slices.SortFunc(keys, ResultKey.Compare)
		}
		gone := make([]bool, len(rows))
		k := 0
		for i, r := range rows {
			for k < len(keys) && ComparePairs(keys[k].Asset, keys[k].Item, r.Asset, r.Item) < 0 {
				k++
			}
			gone[i] = k < len(keys) && keys[k].Asset == r.Asset && keys[k].Item == r.Item
		}
		return func(i int) bool { return gone[i] }
	}
	type pair struct{ asset, item uint64 }
	set := make(map[pair]bool, len(keys))
	for i := range keys {
		set[pair{keys[i].Asset, keys[i].Item}] = true
	}
	return func(i int) bool { return set[pair{rows[i].Asset, rows[i].Item}] }
}

// Apply gives the item's roll-up after the change from the stored one
// (nil for none; its Rows is what its columns count). ok is false when the
// stored roll-up does not tell the new one: a row counted in no column
// changes, the rows that had the latest check time go with none as late
// coming, or no counted row is left of a kept roll-up row. The item's
// roll-up must then be recomputed from its latest results.
func (c *ItemChange) Apply(old *Tally) (t Tally, ok bool) {
	if c.Sub.Rows != c.Sub.counted() || c.Add.Rows != c.Add.counted() || (old == nil && c.Sub.Rows > 0) {
		return Tally{}, false
	}
	if old != nil {
		t = *old
	}
	t.Passed += c.Add.Passed - c.Sub.Passed
	t.Failed += c.Add.Failed - c.Sub.Failed
	t.Ignored += c.Add.Ignored - c.Sub.Ignored
	t.Manual += c.Add.Manual - c.Sub.Manual
	t.NA += c.Add.NA - c.Sub.NA
	t.CheckFailed += c.Add.CheckFailed - c.Sub.CheckFailed
	if t.Passed < 0 || t.Failed < 0 || t.Ignored < 0 || t.Manual < 0 || t.NA < 0 || t.CheckFailed < 0 {
		return Tally{}, false
	}
	t.Rows = t.counted()
	if t.Rows == 0 {
		// No row counted is left; a kept row may count uncounted ones.
		return Tally{}, old == nil
	}
	switch {
	case old != nil && (c.Sub.Rows == 0 || c.Sub.LastCheck < old.LastCheck):
		// The latest check stays counted.
		if c.Add.Rows > 0 && c.Add.LastCheck > t.LastCheck {
			t.LastCheck = c.Add.LastCheck
		}
	case c.Add.Rows > 0 && (old == nil || c.Add.LastCheck >= old.LastCheck):
		t.LastCheck = c.Add.LastCheck
	default:
		return Tally{}, false
	}
	return t, true
}
