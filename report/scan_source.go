package report

import (
	"math"
	"sort"
	"time"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// NewScanSource makes an export of one scan that was not stored (scan
// --format sarif and the like): no task ids and no waivers; its summary
// figures are the scan's roll-ups.
func NewScanSource(rep *results.Report, version string) Source {
	sum := Summarize(rep)
	m := Meta{SchemaVersion: ExportSchemaVersion, Tool: Tool{Name: "baseline", Version: version}, GeneratedAt: rep.FinishedAt.UTC(),
		By: ByAssetGroup, TaskIDs: []int64{}, From: rep.StartedAt.UTC(), To: rep.FinishedAt.UTC(), Trend: []TrendPoint{}, Waivers: []store.WhitelistEntry{}}
	for _, s := range rep.Standards {
		m.Standards = append(m.Standards, StandardInfo{ID: s.ID, Name: s.Name, Version: s.Version, Description: s.Description, ItemCount: len(s.Items)})
	}
	hosts := map[string]bool{}
	for _, a := range rep.Assets {
		hosts[a.NodeName] = true
	}
	for h := range hosts {
		m.Hosts = append(m.Hosts, h)
	}
	sort.Strings(m.Hosts)
	cost := math.Round(rep.FinishedAt.Sub(rep.StartedAt).Seconds()*1000) / 1000
	for _, ts := range sum.Types {
		m.Summary = append(m.Summary, store.AssetSummary{
			AssetType: ts.AssetType, CheckStatus: checks.CheckFinished, AssetCount: ts.AssetCount,
			PassedAssetCount: ts.PassedAssetCount, FailedAssetCount: ts.FailedAssetCount, ScanFailedAssetCount: ts.ScanFailedAssets,
			AssetPassedRate: math.Round(10000*ts.AssetPassRate) / 100, PassedPolicyItemCount: ts.PassedItemCount, FailedPolicyItemCount: ts.FailedItemCount,
			FailedCriticalPolicyItemCount: ts.FailedByRisk[checks.RiskCritical], FailedHighRiskPolicyItemCount: ts.FailedByRisk[checks.RiskHigh],
			FailedMediumRiskPolicyItemCount: ts.FailedByRisk[checks.RiskMedium], FailedLowRiskPolicyItemCount: ts.FailedByRisk[checks.RiskLow],
			NoticePolicyItemCount: ts.FailedByRisk[checks.RiskNotice], CheckCostTime: cost, LastCheckTime: rep.FinishedAt.UTC().Format(time.DateTime),
		})
	}
	items := map[uint64]*checks.Item{}
	for _, it := range rep.Items {
		items[it.ID] = it
	}
	order := map[uint64]int{}
	for i, a := range rep.Sorted() {
		order[a.ID] = i
	}
	byID := map[uint64]int{}
	for i, a := range rep.Assets {
		byID[a.ID] = i
	}
	rows := make([]results.Row, 0, len(rep.Results))
	for _, r := range rep.Results {
		it, a := items[r.ItemID], rep.Assets[byID[r.AssetID]]
		rows = append(rows, results.Row{ItemID: it.ID, Number: it.Number, Title: it.Title, Category: it.Category, StandardID: it.Standard.ID,
			Risk: it.Risk, AssetID: a.ID, AssetName: a.Name, AssetType: a.Type, NodeName: a.NodeName, Status: r.Status, Result: r.Result,
			Reason: r.Reason, Evidence: r.Evidence, CheckedAt: r.CheckedAt.UTC().Format(time.DateTime), Remediation: it.Remediation})
	}
	sort.SliceStable(rows, func(i, j int) bool { return order[rows[i].AssetID] < order[rows[j].AssetID] })
	m.ResultCount = len(rows)
	m.Standards, m.Hosts, m.Summary = nonNil(m.Standards), nonNil(m.Hosts), nonNil(m.Summary)
	return &SliceSource{M: m, R: rows}
}
