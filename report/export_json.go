package report

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// JSONEncoder writes the export as one JSON document (ExportJSON), described
// by report/schema/export.schema.json and report/FORMATS.md:
//
//	{
//	  "SchemaVersion": "1",
//	  "Meta": {...},
//	  "Results": [
//	    {...one row per line...},
//	    ...
//	  ],
//	  "Integrity": "baseline-results-sha256=HEX baseline-content-sha256=HEX"
//	}
//
// The meta is indented; each row is written compactly on its own line as
// it streams, so that the file stays small and line tools (grep, diff) see
// one result per line. Integrity is the last field: its value is filled in
// when every row has been written.
type JSONEncoder struct{}

// jsonTrailer ends the document: the Integrity field, then the closing brace.
const jsonTrailer = "  \"Integrity\": \"{results} {content}\"\n}\n"

// Format implements Encoder.
func (JSONEncoder) Format() string { return "json" }

// Ext implements Encoder.
func (JSONEncoder) Ext() string { return ".json" }

// Encode implements Encoder: the meta, then the rows one at a time, then the
// integrity trailer. Memory does not grow with the number of rows.
func (JSONEncoder) Encode(ctx context.Context, w io.Writer, src Source, in *Integrity) error {
	// Buffer in front of the hashing writer: the hash and w see the same
	// bytes in the same order, and the buffer is flushed before Finish
	// writes the trailer straight to w.
	bw := bufio.NewWriterSize(in.Writer(), 64<<10)

	// Every piece is composed in one reused buffer by one encoder (without
	// HTML escaping, so that evidence such as "a && b" or "<none>" reads
	// as it was collected), then written with one checked write: a failing
	// disk stops the export at the next row.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)

	buf.WriteString("{\n  \"SchemaVersion\": ")
	if err := encodeLine(enc, &buf, ExportSchemaVersion); err != nil {
		return fmt.Errorf("json export: %w", err)
	}
	buf.WriteString(",\n  \"Meta\": ")
	enc.SetIndent("  ", "  ")
	if err := encodeLine(enc, &buf, exportMeta(src.Meta())); err != nil {
		return fmt.Errorf("json export: meta: %w", err)
	}
	enc.SetIndent("", "")
	buf.WriteString(",\n  \"Results\": [")
	if _, err := bw.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("json export: %w", err)
	}

	n := 0
	var row JSONRow // reused: encoding a pointer to it allocates no copy per row
	err := src.Rows(ctx, func(r results.Row) error {
		in.AddRow(r)
		row = NewJSONRow(r)
		buf.Reset()
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n    ")
		if err := encodeLine(enc, &buf, &row); err != nil {
			return fmt.Errorf("json export: row %d (item %d, asset %d): %w", n+1, r.ItemID, r.AssetID, err)
		}
		n++
		if _, err := bw.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("json export: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	buf.Reset()
	if n > 0 {
		buf.WriteString("\n  ")
	}
	buf.WriteString("],\n")
	if _, err := bw.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("json export: %w", err)
	}
	return finishText(w, in, bw, jsonTrailer, "json export")
}

// JSONRow is a result row as the JSON export writes it (report/schema/Row).
type JSONRow struct {
	ItemID      uint64             `json:"CustomerPolicyItemId"`
	Number      string             `json:"BenchmarkNumber"`
	Title       string             `json:"Name"`
	Category    string             `json:"Category"`
	StandardID  string             `json:"StandardId"`
	Risk        checks.Risk        `json:"RiskLevel"`
	AssetID     uint64             `json:"CustomerAssetId"`
	AssetName   string             `json:"AssetName"`
	AssetType   assets.Type        `json:"AssetType"`
	NodeName    string             `json:"NodeName"`
	Status      checks.CheckStatus `json:"CheckStatus"`
	Result      checks.CheckResult `json:"CheckResult"`
	Ignored     bool               `json:"Ignored"`
	Reason      string             `json:"Reason"`
	Evidence    []checks.Evidence  `json:"VerifyInfo"`
	CheckedAt   string             `json:"LastCheckTime"`
	TaskID      int64              `json:"TaskId"`
	Remediation string             `json:"FixSuggestion"`
}

// NewJSONRow converts r; its evidence is never null.
func NewJSONRow(r results.Row) JSONRow {
	j := JSONRow{ItemID: r.ItemID, Number: r.Number, Title: r.Title, Category: r.Category, StandardID: r.StandardID, Risk: r.Risk,
		AssetID: r.AssetID, AssetName: r.AssetName, AssetType: r.AssetType, NodeName: r.NodeName, Status: r.Status,
		Result: r.Result, Ignored: r.Ignored, Reason: r.Reason, Evidence: r.Evidence, CheckedAt: r.CheckedAt,
		TaskID: r.TaskID, Remediation: r.Remediation}
	if j.Evidence == nil {
		j.Evidence = []checks.Evidence{}
	}
	return j
}

// exportMeta returns the meta as exported: lists are never null, and the
// schema version is always set.
func exportMeta(m Meta) Meta {
	if m.SchemaVersion == "" {
		m.SchemaVersion = ExportSchemaVersion
	}
	m.TaskIDs, m.Standards, m.Hosts, m.Summary = nonNil(m.TaskIDs), nonNil(m.Standards), nonNil(m.Hosts), nonNil(m.Summary)
	m.Trend, m.Waivers = nonNil(m.Trend), nonNil(m.Waivers)
	return m
}

// encodeLine appends v's JSON to buf, without the newline the encoder adds.
func encodeLine(enc *json.Encoder, buf *bytes.Buffer, v any) error {
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1)
	return nil
}
