package report

import (
	"context"
	"sort"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// SliceSource is a Source over rows held in memory (a test fixture, or a
// small export).
type SliceSource struct {
	M Meta
	R []results.Row
}

// Meta implements Source.
func (s *SliceSource) Meta() Meta { return s.M }

// Rows implements Source.
func (s *SliceSource) Rows(ctx context.Context, fn func(results.Row) error) error {
	for _, r := range s.R {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// storeSource exports from a store: a first pass over the rows gathers the
// meta (tasks, time window, hosts, standards; for a past task, its summary
// figures), a second pass streams them to the encoder.
type storeSource struct {
	st   StoreReader
	q    store.ResultQuery
	meta Meta
}

// StoreReader is what an export reads from the store: the rows, the trend
// and the failures, the summary and the ignore list.
type StoreReader interface {
	store.ExportReader
	store.ResultReader
	store.WhitelistStore
}

// NewStoreSource prepares an export of the store's results.
func NewStoreSource(ctx context.Context, st StoreReader, cat *checks.Catalog, q ExportQuery, version string, now time.Time) (Source, error) {
	rq := store.ResultQuery{TaskID: q.TaskID, AssetType: q.AssetType, ByItem: q.By == ByItemGroup}
	if q.By == ByItemGroup {
		rq.ItemIDs = q.IDs
	} else {
		rq.AssetIDs = q.IDs
	}
	m := Meta{SchemaVersion: ExportSchemaVersion, Tool: Tool{Name: "baseline", Version: version}, GeneratedAt: now.UTC(),
		By: q.By, AssetType: q.AssetType, IDs: q.IDs}
	acc, err := scanStoreRows(ctx, st, rq, cat, &m)
	if err != nil {
		return nil, err
	}
	if m.Summary, err = storeSummary(ctx, st, q, acc); err != nil {
		return nil, err
	}
	if m.Trend, err = storeTrend(ctx, st, m.Summary); err != nil {
		return nil, err
	}
	if m.Waivers, err = storeWhitelist(ctx, st, q.AssetType); err != nil {
		return nil, err
	}
	m.TaskIDs, m.Hosts, m.Standards, m.Summary = nonNil(m.TaskIDs), nonNil(m.Hosts), nonNil(m.Standards), nonNil(m.Summary)
	m.Trend, m.Waivers = nonNil(m.Trend), nonNil(m.Waivers)
	return &storeSource{st: st, q: rq, meta: m}, nil
}

// scanStoreRows is the first pass: it counts the rows and fills in m's
// tasks, time window, hosts and standards, and returns the rows'
// accumulated figures.
func scanStoreRows(ctx context.Context, st store.ExportReader, rq store.ResultQuery, cat *checks.Catalog, m *Meta) (*accumulator, error) {
	acc := newAccumulator()
	tasks, hosts, stds := map[int64]bool{}, map[string]bool{}, map[string]bool{}
	first := rq
	first.NoEvidence = true // the first pass only counts
	err := st.ResultRows(ctx, first, func(r results.Row) error {
		m.ResultCount++
		tasks[r.TaskID], hosts[r.NodeName], stds[r.StandardID] = true, true, true
		if t, err := time.Parse(time.DateTime, r.CheckedAt); err == nil {
			if m.From.IsZero() || t.Before(m.From) {
				m.From = t
			}
			if t.After(m.To) {
				m.To = t
			}
		}
		acc.add(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id := range tasks {
		m.TaskIDs = append(m.TaskIDs, id)
	}
	sort.Slice(m.TaskIDs, func(i, j int) bool { return m.TaskIDs[i] < m.TaskIDs[j] })
	for h := range hosts {
		m.Hosts = append(m.Hosts, h)
	}
	sort.Strings(m.Hosts)
	for _, s := range cat.Standards {
		if stds[s.ID] {
			m.Standards = append(m.Standards, StandardInfo{ID: s.ID, Name: s.Name, Version: s.Version, Description: s.Description, ItemCount: len(s.Items)})
		}
	}
	return acc, nil
}

// storeSummary is the export's summary figures per asset type.
func storeSummary(ctx context.Context, st StoreReader, q ExportQuery, acc *accumulator) ([]store.AssetSummary, error) {
	types := assets.Types
	if q.AssetType != "" {
		types = []assets.Type{q.AssetType}
	}
	if q.TaskID == 0 && len(q.IDs) == 0 {
		// The latest results of everything: exactly what `baseline summary` shows.
		return st.Summary(ctx, types)
	}
	failures, err := st.TaskFailures(ctx, q.TaskID)
	if err != nil {
		return nil, err
	}
	return acc.summary(types, failures), nil
}

// storeTrend is the pass-rate trend of each asset type in the summary.
func storeTrend(ctx context.Context, st store.ExportReader, summary []store.AssetSummary) ([]TrendPoint, error) {
	var out []TrendPoint
	for _, s := range summary {
		trend, err := st.Trend(ctx, s.AssetType, 10)
		if err != nil {
			return nil, err
		}
		for _, p := range trend {
			out = append(out, TrendPoint{TaskID: p.TaskID, FinishedAt: p.FinishedAt, AssetType: p.AssetType, PassRate: p.PassRate,
				Failed: p.FailedAssets, Passed: p.AssetCount - p.FailedAssets})
		}
	}
	return out, nil
}

// storeWaivers is the whitelist, every page of it, limited to an asset
// type unless assetType is empty.
func storeWhitelist(ctx context.Context, st store.WhitelistStore, assetType assets.Type) ([]store.WhitelistEntry, error) {
	var out []store.WhitelistEntry
	for off := 0; ; off += store.MaxLimit {
		page, total, err := st.Whitelist(ctx, store.Query{Offset: off, Limit: store.MaxLimit})
		if err != nil {
			return nil, err
		}
		for _, w := range page {
			if assetType == "" || w.AssetType == assetType {
				out = append(out, w)
			}
		}
		if off+store.MaxLimit >= total {
			return out, nil
		}
	}
}

// Meta implements Source.
func (s *storeSource) Meta() Meta { return s.meta }

// Rows implements Source: the second pass.
func (s *storeSource) Rows(ctx context.Context, fn func(results.Row) error) error {
	return s.st.ResultRows(ctx, s.q, func(r results.Row) error { return fn(r) })
}

// accumulator computes summary figures from rows, with the store's rules:
// an asset fails when a result that is not ignored failed, and is
// scan-failed when a check could not be carried out or its scan failed.
type accumulator struct {
	assetType   map[uint64]assets.Type
	failed      map[uint64]bool
	checkFailed map[uint64]bool
	itemType    map[uint64]assets.Type
	itemRisk    map[uint64]checks.Risk
	itemPassed  map[uint64]bool
	itemFailed  map[uint64]bool
	nodes       map[assets.Type]map[string]bool
}

func newAccumulator() *accumulator {
	return &accumulator{assetType: map[uint64]assets.Type{}, failed: map[uint64]bool{}, checkFailed: map[uint64]bool{},
		itemType: map[uint64]assets.Type{}, itemRisk: map[uint64]checks.Risk{}, itemPassed: map[uint64]bool{}, itemFailed: map[uint64]bool{},
		nodes: map[assets.Type]map[string]bool{}}
}

func (a *accumulator) add(r results.Row) {
	a.assetType[r.AssetID] = r.AssetType
	a.itemType[r.ItemID], a.itemRisk[r.ItemID] = r.AssetType, r.Risk
	if a.nodes[r.AssetType] == nil {
		a.nodes[r.AssetType] = map[string]bool{}
	}
	a.nodes[r.AssetType][r.NodeName] = true
	switch {
	case r.Status == checks.CheckFailed:
		a.checkFailed[r.AssetID] = true
	case r.Result == checks.ResultFailed && !r.Ignored:
		a.failed[r.AssetID] = true
		a.itemFailed[r.ItemID] = true
	case r.Result == checks.ResultPassed:
		a.itemPassed[r.ItemID] = true
	}
}

func (a *accumulator) summary(types []assets.Type, failures []store.ScanFailedAsset) []store.AssetSummary {
	scanFailed := map[uint64]bool{}
	for id := range a.checkFailed {
		scanFailed[id] = true
	}
	for _, f := range failures {
		if _, seen := a.assetType[f.AssetID]; seen {
			scanFailed[f.AssetID] = true
		}
	}
	var out []store.AssetSummary
	for _, t := range types {
		s := store.AssetSummary{AssetType: t, CheckStatus: checks.CheckFinished, DetectHostCount: len(a.nodes[t])}
		for id, at := range a.assetType {
			if at != t {
				continue
			}
			s.AssetCount++
			switch {
			case scanFailed[id]:
				s.ScanFailedAssetCount++
			case a.failed[id]:
				s.FailedAssetCount++
			default:
				s.PassedAssetCount++
			}
		}
		for id, it := range a.itemType {
			if it != t {
				continue
			}
			s.TotalPolicyItemCount++
			switch {
			case a.itemFailed[id]:
				s.FailedPolicyItemCount++
				switch a.itemRisk[id] {
				case checks.RiskCritical:
					s.FailedCriticalPolicyItemCount++
				case checks.RiskHigh:
					s.FailedHighRiskPolicyItemCount++
				case checks.RiskMedium:
					s.FailedMediumRiskPolicyItemCount++
				case checks.RiskLow:
					s.FailedLowRiskPolicyItemCount++
				case checks.RiskNotice:
					s.NoticePolicyItemCount++
				}
			case a.itemPassed[id]:
				s.PassedPolicyItemCount++
			}
		}
		if s.AssetCount == 0 && s.TotalPolicyItemCount == 0 {
			continue
		}
		s.OpenPolicyItemCount = s.TotalPolicyItemCount
		s.AssetPassedRate = results.Percent(t, results.Tally{PassedAssets: s.PassedAssetCount, Assets: s.AssetCount,
			PassedItems: s.PassedPolicyItemCount, FailedItems: s.FailedPolicyItemCount})
		out = append(out, s)
	}
	return out
}
