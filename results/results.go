// Package results owns what a scan yields and how it rolls up: the scan
// report, the result of one item on one asset, the assets that could not be
// scanned, the result row that every view shows (table, store, exports, the
// API), and the pass-rate rule. It sits below the store, the reports and the
// server, and imports only the asset and check models.
package results

import (
	"sort"
	"strings"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
)

// Result is the outcome of one item on one asset.
type Result struct {
	ItemID  uint64 `json:"CustomerPolicyItemId"`
	AssetID uint64 `json:"CustomerAssetId"`
	checks.Verdict
	CheckedAt time.Time `json:"LastCheckTime"`
}

// AssetFailure records an asset that could not be scanned.
type AssetFailure struct {
	AssetID    uint64    `json:"CustomerAssetId"`
	Reason     string    `json:"Reason"`
	Suggestion string    `json:"Suggestion"`
	CheckTime  time.Time `json:"CheckTime"`
}

// Report is everything one scan produced.
type Report struct {
	StartedAt  time.Time
	FinishedAt time.Time
	// Host is the scanned host, listed in Assets only when host items ran.
	Host      assets.Asset
	Standards []*checks.Standard
	Items     []*checks.Item
	Assets    []assets.Asset
	// Results are in asset then item order; empty when the scan handed
	// them over as they came (scan.Options.Streamed).
	Results []Result
	// ResultCount is how many results the scan judged, kept in Results or
	// handed over.
	ResultCount int
	Failures    []AssetFailure
	// EngineCalls counts Engine API requests, in total and by operation.
	EngineCalls     int64
	EngineCallsByOp map[string]int
	// RuntimeCalls counts CRI calls to the node's container runtime, in
	// total and by method.
	RuntimeCalls     int64
	RuntimeCallsByOp map[string]int
	// KubeCalls counts Kubernetes API requests, in total and by operation.
	KubeCalls     int64
	KubeCallsByOp map[string]int
}

// Sorted returns the report's assets in type, then name order.
func (r *Report) Sorted() []assets.Asset {
	out := append([]assets.Asset(nil), r.Assets...)
	order := map[assets.Type]int{}
	for i, t := range assets.Types {
		order[t] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return order[out[i].Type] < order[out[j].Type]
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Row is one result shown with its item and its asset: a stored result
// (the latest per pair, or one task's), a line of an export, an entry of
// an asset's item list (ComplianceAssetPolicyItem) or of an item's affected
// assets (ComplianceAffectedAsset). Wire formats convert from it.
type Row struct {
	ItemID      uint64             `json:"CustomerPolicyItemId"`
	Number      string             `json:"BasePolicyItemId"`
	Title       string             `json:"Name"`
	Category    string             `json:"Category"`
	StandardID  string             `json:"BenchmarkStandardId"`
	Risk        checks.Risk        `json:"RiskLevel"`
	AssetID     uint64             `json:"CustomerAssetId"`
	AssetName   string             `json:"AssetName"`
	AssetType   assets.Type        `json:"AssetType"`
	NodeName    string             `json:"NodeName"`
	Status      checks.CheckStatus `json:"CheckStatus"`
	Result      checks.CheckResult `json:"CheckResult"`
	Ignored     bool               `json:"Ignored"`
	Reason      string             `json:"Reason,omitempty"`
	Evidence    []checks.Evidence  `json:"VerifyInfo,omitempty"`
	CheckedAt   string             `json:"LastCheckTime"`
	TaskID      int64              `json:"TaskId"`
	Remediation string             `json:"FixSuggestion,omitempty"`
}

// Outcome is the row's verdict in one word for people: PASSED, FAILED,
// IGNORED (failed but ignored), MANUAL, NOT_APPLICABLE, CHECK_FAILED.
func (r Row) Outcome() string {
	switch {
	case r.Status == checks.CheckFailed:
		return "CHECK_FAILED"
	case r.Result == checks.ResultFailed && r.Ignored:
		return "IGNORED"
	}
	return strings.TrimPrefix(string(r.Result), "RESULT_")
}
