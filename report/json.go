package report

import (
	"encoding/json"
	"io"
	"math"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// SchemaVersion is the version of the JSON document; it changes when a
// field changes meaning or goes away.
const SchemaVersion = "1"

// Document is the JSON report.
type Document struct {
	SchemaVersion    string                 `json:"SchemaVersion"`
	Tool             Tool                   `json:"Tool"`
	StartedAt        time.Time              `json:"StartedAt"`
	FinishedAt       time.Time              `json:"FinishedAt"`
	CostSeconds      float64                `json:"CostSeconds"`
	Standards        []StandardInfo         `json:"Standards"`
	Summary          []TypeSummary          `json:"Summary"`
	Assets           []AssetRollup          `json:"Assets"`
	Items            []ItemInfo             `json:"Items"`
	Results          []results.Result       `json:"Results"`
	ScanFailedAssets []results.AssetFailure `json:"ScanFailedAssets"`
	EngineCalls      int64                  `json:"EngineApiCalls"`
}

// Tool names the program that wrote the report.
type Tool struct {
	Name    string `json:"Name"`
	Version string `json:"Version"`
}

// StandardInfo is a BenchmarkStandard.
type StandardInfo struct {
	ID          string `json:"StandardId"`
	Name        string `json:"StandardName"`
	Version     string `json:"Version"`
	Description string `json:"Description"`
	ItemCount   int    `json:"PolicyItemCount"`
}

// ItemInfo is a check item with its per-item roll-up.
type ItemInfo struct {
	ID           uint64      `json:"CustomerPolicyItemId"`
	Number       string      `json:"BasePolicyItemId"`
	Name         string      `json:"Name"`
	Finding      string      `json:"Finding,omitempty"`
	Category     string      `json:"ItemType"`
	StandardID   string      `json:"StandardId"`
	StandardName string      `json:"StandardName"`
	AssetType    assets.Type `json:"AssetType"`
	Risk         checks.Risk `json:"RiskLevel"`
	Automated    bool        `json:"Automated"`
	Scored       bool        `json:"Scored"`
	Level        int         `json:"Level,omitempty"`
	Description  string      `json:"Description"`
	Procedure    string      `json:"AuditProcedure"`
	Remediation  string      `json:"FixSuggestion"`
	References   []string    `json:"References,omitempty"`
	Counts
}

// NewDocument builds the JSON report of a scan.
func NewDocument(rep *results.Report, version string) Document {
	sum := Summarize(rep)
	doc := Document{
		SchemaVersion: SchemaVersion, Tool: Tool{Name: "baseline", Version: version},
		StartedAt: rep.StartedAt, FinishedAt: rep.FinishedAt,
		CostSeconds: math.Round(rep.FinishedAt.Sub(rep.StartedAt).Seconds()*1000) / 1000,
		Summary:     sum.Types, Assets: sum.Assets, Results: rep.Results,
		ScanFailedAssets: rep.Failures, EngineCalls: rep.EngineCalls,
	}
	for _, s := range rep.Standards {
		doc.Standards = append(doc.Standards, StandardInfo{s.ID, s.Name, s.Version, s.Description, len(s.Items)})
	}
	for _, ir := range sum.Items {
		it := ir.Item
		doc.Items = append(doc.Items, ItemInfo{
			ID: it.ID, Number: it.Number, Name: it.Title, Finding: it.Finding, Category: it.Category, StandardID: it.Standard.ID,
			StandardName: it.Standard.Name, AssetType: it.AssetType, Risk: it.Risk, Automated: it.Automated,
			Scored: it.Scored, Level: it.Level, Description: it.Description, Procedure: it.Procedure,
			Remediation: it.Remediation, References: it.References, Counts: ir.Counts,
		})
	}
	doc.Standards, doc.Summary, doc.Assets, doc.Items = nonNil(doc.Standards), nonNil(doc.Summary), nonNil(doc.Assets), nonNil(doc.Items)
	doc.Results, doc.ScanFailedAssets = nonNil(doc.Results), nonNil(doc.ScanFailedAssets)
	return doc
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// WriteJSON writes the JSON report.
func WriteJSON(w io.Writer, rep *results.Report, version string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewDocument(rep, version))
}
