package report

import (
	"bufio"
	"bytes"
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
	return newDocument(rep, Summarize(rep), version)
}

// newDocument builds the JSON report of a scan whose roll-ups are sum.
func newDocument(rep *results.Report, sum Summary, version string) Document {
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

// WriteJSON writes the JSON report, as json.Encoder with a two-space
// indent would, but element by element: the document is never held whole
// as text, however many results it has.
func WriteJSON(w io.Writer, rep *results.Report, version string) error {
	doc := NewDocument(rep, version)
	return writeDocument(w, &doc, func(j *jsonWriter) { writeResults(j, doc.Results) })
}

// writeDocument writes doc, its Results field by results.
func writeDocument(w io.Writer, doc *Document, results func(*jsonWriter)) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	jw := newJSONWriter(bw)
	jw.raw("{\n")
	jw.value("SchemaVersion", doc.SchemaVersion)
	jw.value("Tool", doc.Tool)
	jw.value("StartedAt", doc.StartedAt)
	jw.value("FinishedAt", doc.FinishedAt)
	jw.value("CostSeconds", doc.CostSeconds)
	writeList(jw, "Standards", doc.Standards)
	writeList(jw, "Summary", doc.Summary)
	writeList(jw, "Assets", doc.Assets)
	writeList(jw, "Items", doc.Items)
	results(jw)
	writeList(jw, "ScanFailedAssets", doc.ScanFailedAssets)
	jw.last = true
	jw.value("EngineApiCalls", doc.EngineCalls)
	jw.raw("}\n")
	if jw.err != nil {
		return jw.err
	}
	return bw.Flush()
}

func newJSONWriter(w *bufio.Writer) *jsonWriter {
	jw := &jsonWriter{w: w}
	jw.enc = json.NewEncoder(&jw.compact)
	return jw
}

// jsonWriter writes the fields of a top-level object, indented by two
// spaces; last marks the final field (no comma after it). Each value is
// encoded and indented in buffers reused from one value to the next.
type jsonWriter struct {
	w        *bufio.Writer
	err      error
	last     bool
	enc      *json.Encoder // writes to compact
	compact  bytes.Buffer
	indented []byte
}

func (j *jsonWriter) raw(s string) {
	if j.err == nil {
		_, j.err = j.w.WriteString(s)
	}
}

// indent writes v as json.MarshalIndent(v, prefix, "  ") would.
func (j *jsonWriter) indent(v any, prefix string) {
	if j.err != nil {
		return
	}
	j.compact.Reset()
	if j.err = j.enc.Encode(v); j.err != nil {
		return
	}
	j.indented = appendIndent(j.indented[:0], bytes.TrimSuffix(j.compact.Bytes(), []byte("\n")), prefix)
	_, j.err = j.w.Write(j.indented)
}

func (j *jsonWriter) key(name string) { j.raw("  \"" + name + "\": ") }

func (j *jsonWriter) end() {
	if j.last {
		j.raw("\n")
	} else {
		j.raw(",\n")
	}
}

func (j *jsonWriter) value(name string, v any) {
	j.key(name)
	j.indent(v, "  ")
	j.end()
}

// writeList writes a list field one element at a time.
func writeList[T any](j *jsonWriter, name string, list []T) {
	writeElements(j, name, list, func(e *T) { j.indent(e, "    ") })
}

// writeElements writes a list field, each element by write.
func writeElements[T any](j *jsonWriter, name string, list []T, write func(*T)) {
	j.key(name)
	if len(list) == 0 {
		j.raw("[]")
		j.end()
		return
	}
	j.raw("[\n")
	for i := range list {
		j.raw("    ")
		write(&list[i])
		if i < len(list)-1 {
			j.raw(",\n")
		} else {
			j.raw("\n")
		}
	}
	j.raw("  ]")
	j.end()
}
