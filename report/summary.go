// Package report encodes scan results for people and programs: tables for
// the terminal and a versioned JSON document.
package report

import (
	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// Counts tallies results by outcome.
type Counts struct {
	Passed        int `json:"PassedCount"`
	Failed        int `json:"FailedCount"`
	Manual        int `json:"ManualCount"`
	NotApplicable int `json:"NotApplicableCount"`
	CheckFailed   int `json:"CheckFailedCount"`
}

func (c *Counts) add(v checks.Verdict) {
	switch {
	case v.Status == checks.CheckFailed:
		c.CheckFailed++
	case v.Result == checks.ResultPassed:
		c.Passed++
	case v.Result == checks.ResultFailed:
		c.Failed++
	case v.Result == checks.ResultManual:
		c.Manual++
	case v.Result == checks.ResultNotApplicable:
		c.NotApplicable++
	}
}

// AssetRollup is the per-asset roll-up.
type AssetRollup struct {
	Asset assets.Asset `json:"Asset"`
	Counts
	// Result is RESULT_FAILED if any item failed, RESULT_PASSED when none
	// did; empty when the asset's scan failed.
	Result     checks.CheckResult `json:"CheckResult,omitempty"`
	ScanFailed bool               `json:"ScanFailed"`
}

// ItemRollup is the per-item roll-up.
type ItemRollup struct {
	Item *checks.Item `json:"-"`
	Counts
}

// TypeSummary is the per-asset-type roll-up.
type TypeSummary struct {
	AssetType        assets.Type         `json:"AssetType"`
	AssetCount       int                 `json:"AssetCount"`
	PassedAssetCount int                 `json:"PassedAssetCount"`
	FailedAssetCount int                 `json:"FailedAssetCount"`
	ScanFailedAssets int                 `json:"ScanFailedAssetCount"`
	PassedItemCount  int                 `json:"PassedPolicyItemCount"`
	FailedItemCount  int                 `json:"FailedPolicyItemCount"`
	FailedByRisk     map[checks.Risk]int `json:"FailedByRisk"`
	AssetPassRate    float64             `json:"AssetPassRate"`
	Results          Counts              `json:"Results"`
	itemFailed       map[uint64]bool
	itemPassed       map[uint64]bool
}

// Summary holds every roll-up of one report.
type Summary struct {
	Assets []AssetRollup
	Items  []ItemRollup
	Types  []TypeSummary
	Total  Counts
}

// Summarize computes the roll-ups. An asset whose scan failed counts in the
// pass rate's denominator: pass rate = compliant assets / all assets.
func Summarize(rep *results.Report) Summary {
	t := NewRollups()
	assetType := map[uint64]assets.Type{}
	for _, a := range rep.Assets {
		assetType[a.ID] = a.Type
	}
	for i := range rep.Results {
		t.add(assetType[rep.Results[i].AssetID], &rep.Results[i])
	}
	return t.Summary(rep)
}

// Rollups rolls results up as they come, so that a scan whose results are
// written out as it goes (scan.Options.Streamed) holds only the counts:
// per asset, per item, per asset type (with the items that passed and
// failed on it) and in all.
type Rollups struct {
	total  Counts
	assets map[uint64]*Counts
	items  map[uint64]*Counts
	types  map[assets.Type]*typeRollup
}

type typeRollup struct {
	results                Counts
	itemFailed, itemPassed map[uint64]bool
}

// NewRollups returns empty roll-ups.
func NewRollups() *Rollups {
	return &Rollups{assets: map[uint64]*Counts{}, items: map[uint64]*Counts{}, types: map[assets.Type]*typeRollup{}}
}

// Add counts one asset's results.
func (t *Rollups) Add(a assets.Asset, rs []results.Result) {
	for i := range rs {
		t.add(a.Type, &rs[i])
	}
}

func (t *Rollups) add(typ assets.Type, r *results.Result) {
	t.total.add(r.Verdict)
	counts(t.assets, r.AssetID).add(r.Verdict)
	counts(t.items, r.ItemID).add(r.Verdict)
	tt := t.types[typ]
	if tt == nil {
		tt = &typeRollup{itemFailed: map[uint64]bool{}, itemPassed: map[uint64]bool{}}
		t.types[typ] = tt
	}
	tt.results.add(r.Verdict)
	switch r.Result {
	case checks.ResultFailed:
		tt.itemFailed[r.ItemID] = true
	case checks.ResultPassed:
		tt.itemPassed[r.ItemID] = true
	}
}

func counts(m map[uint64]*Counts, id uint64) *Counts {
	c := m[id]
	if c == nil {
		c = &Counts{}
		m[id] = c
	}
	return c
}

// Summary is the roll-ups of the report's assets (in rep.Sorted's order)
// and items, from the results added.
func (t *Rollups) Summary(rep *results.Report) Summary {
	s := Summary{Total: t.total}
	for _, a := range rep.Sorted() {
		ar := AssetRollup{Asset: a}
		if c := t.assets[a.ID]; c != nil {
			ar.Counts = *c
		}
		s.Assets = append(s.Assets, ar)
	}
	items := map[uint64]*checks.Item{}
	for _, it := range rep.Items {
		items[it.ID] = it
		ir := ItemRollup{Item: it}
		if c := t.items[it.ID]; c != nil {
			ir.Counts = *c
		}
		s.Items = append(s.Items, ir)
	}
	types := s.assetVerdicts(rep.Failures)
	for _, at := range assets.Types {
		ts := types[at]
		if ts == nil {
			continue
		}
		if tt := t.types[at]; tt != nil {
			ts.Results, ts.itemFailed, ts.itemPassed = tt.results, tt.itemFailed, tt.itemPassed
		}
		ts.finish(items)
		s.Types = append(s.Types, *ts)
	}
	return s
}

// assetVerdicts sets each asset's result and scan failure (failures are
// the assets whose scan failed), and counts the assets per type.
func (s *Summary) assetVerdicts(failures []results.AssetFailure) map[assets.Type]*TypeSummary {
	failedAsset := map[uint64]bool{}
	for _, f := range failures {
		failedAsset[f.AssetID] = true
	}
	types := map[assets.Type]*TypeSummary{}
	for i := range s.Assets {
		ar := &s.Assets[i]
		// An asset whose scan failed, or on which some check could not be
		// carried out, is neither passed nor failed: it is scan-failed, and
		// counts against the pass rate.
		ar.ScanFailed = failedAsset[ar.Asset.ID] || ar.CheckFailed > 0
		switch {
		case ar.ScanFailed:
		case ar.Failed > 0:
			ar.Result = checks.ResultFailed
		default:
			ar.Result = checks.ResultPassed
		}
		ts := types[ar.Asset.Type]
		if ts == nil {
			ts = newTypeSummary(ar.Asset.Type)
			types[ar.Asset.Type] = ts
		}
		ts.AssetCount++
		switch {
		case ar.ScanFailed:
			ts.ScanFailedAssets++
		case ar.Result == checks.ResultFailed:
			ts.FailedAssetCount++
		default:
			ts.PassedAssetCount++
		}
	}
	return types
}

func newTypeSummary(t assets.Type) *TypeSummary {
	ts := &TypeSummary{AssetType: t, FailedByRisk: map[checks.Risk]int{}, itemFailed: map[uint64]bool{}, itemPassed: map[uint64]bool{}}
	for _, r := range checks.Risks {
		ts.FailedByRisk[r] = 0
	}
	return ts
}

// finish counts the type's passed and failed items (failed by risk, from
// items) and its pass rate.
func (ts *TypeSummary) finish(items map[uint64]*checks.Item) {
	// An item failed for the type when it failed on any asset; it passed
	// when it passed somewhere and failed nowhere.
	for id := range ts.itemFailed {
		ts.FailedItemCount++
		if it := items[id]; it != nil {
			ts.FailedByRisk[it.Risk]++
		}
	}
	for id := range ts.itemPassed {
		if !ts.itemFailed[id] {
			ts.PassedItemCount++
		}
	}
	ts.AssetPassRate = results.Fraction(ts.AssetType, results.Tally{PassedAssets: ts.PassedAssetCount, Assets: ts.AssetCount,
		PassedItems: ts.PassedItemCount, FailedItems: ts.FailedItemCount})
}
