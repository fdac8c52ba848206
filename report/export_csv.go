package report

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/baselinehq/baseline/results"
)

// CSVEncoder writes the export as CSV (ExportCSV): RFC 4180 quoting, UTF-8,
// LF line ends, a header row, then one record per (item, asset) result in
// the export's order, and last a line starting with "#" that holds the
// integrity digests:
//
//	# baseline-results-sha256=HEX baseline-content-sha256=HEX
//
// Consumers skip records whose first field starts with "#" (encoding/csv:
// Reader.Comment = '#'); no result record can start with "#", since the
// first column is a number. Fields may hold newlines (evidence, reasons),
// quoted as RFC 4180 says.
//
// The columns, in this order (CSVColumns; documented in report/FORMATS.md):
//
//	TaskId               the task the result comes from
//	CheckedAt            when it was checked: "YYYY-MM-DD HH:MM:SS", UTC
//	AssetType            ASSET_HOST, ASSET_CONTAINER, ASSET_IMAGE, ASSET_K8S
//	CustomerAssetId      the asset's id
//	AssetName            the asset's name
//	NodeName             the host the asset is on
//	StandardId           the standard of the item, e.g. cis-docker-1.6.0
//	CustomerPolicyItemId the item's id
//	BenchmarkNumber      the item's number in its standard, e.g. 5.5
//	Name                 the item's title
//	Category             the item's section
//	RiskLevel            RISK_CRITICAL ... RISK_NOTICE
//	CheckStatus          CHECK_FINISHED, or CHECK_FAILED if it could not be checked
//	CheckResult          RESULT_PASSED, RESULT_FAILED, RESULT_MANUAL, RESULT_NOT_APPLICABLE; empty when CHECK_FAILED
//	Outcome              one word: PASSED, FAILED, IGNORED, MANUAL, NOT_APPLICABLE, CHECK_FAILED (Row.Outcome)
//	Ignored              true when a waiver covers the result, else false
//	Reason               why (manual, not applicable, check failed), or empty
//	Evidence             the observations that failed, or all of them if none failed, each as
//	                     "subject: actual (expected ...)", separated by " | "
//	FixSuggestion        the item's remediation
type CSVEncoder struct{}

// CSVColumns are the CSV export's columns, in order.
var CSVColumns = []string{
	"TaskId", "CheckedAt", "AssetType", "CustomerAssetId", "AssetName", "NodeName",
	"StandardId", "CustomerPolicyItemId", "BenchmarkNumber", "Name", "Category", "RiskLevel",
	"CheckStatus", "CheckResult", "Outcome", "Ignored", "Reason", "Evidence", "FixSuggestion",
}

// csvTrailer is the CSV export's last line.
const csvTrailer = "# {results} {content}\n"

// Format implements Encoder.
func (CSVEncoder) Format() string { return "csv" }

// Ext implements Encoder.
func (CSVEncoder) Ext() string { return ".csv" }

// Encode implements Encoder: the header, the rows one at a time, then the
// integrity line. Memory does not grow with the number of rows.
func (CSVEncoder) Encode(ctx context.Context, w io.Writer, src Source, in *Integrity) error {
	// Buffer in front of the hashing writer; csv.Writer uses this buffer
	// as its own (bufio.NewWriter returns a large enough *bufio.Writer
	// unchanged), and Flush empties it before Finish writes to w.
	cw := csv.NewWriter(bufio.NewWriterSize(in.Writer(), 64<<10))
	if err := cw.Write(CSVColumns); err != nil {
		return fmt.Errorf("csv export: %w", err)
	}
	record := make([]string, len(CSVColumns))
	err := src.Rows(ctx, func(r results.Row) error {
		in.AddRow(r)
		csvRecord(record, r)
		if err := cw.Write(record); err != nil {
			return fmt.Errorf("csv export: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("csv export: %w", err)
	}
	if _, err := in.Finish(w, csvTrailer); err != nil {
		return fmt.Errorf("csv export: %w", err)
	}
	return nil
}

// csvRecord fills record (len(CSVColumns)) with r's cells.
func csvRecord(record []string, r results.Row) {
	copy(record, []string{
		strconv.FormatInt(r.TaskID, 10), r.CheckedAt, string(r.AssetType), Itoa(r.AssetID), inert(r.AssetName), inert(r.NodeName),
		inert(r.StandardID), Itoa(r.ItemID), inert(r.Number), inert(r.Title), inert(r.Category), string(r.Risk),
		string(r.Status), string(r.Result), r.Outcome(), strconv.FormatBool(r.Ignored), inert(r.Reason), inert(evidenceText(r)), inert(r.Remediation),
	})
}

// formulaStarts are the first characters that make a spreadsheet read a
// field as a formula.
const formulaStarts = "=+-@\t\r"

// inert keeps a text field from being read as a formula by a spreadsheet
// that opens the CSV: a field starting with "=", "+", "-", "@", a tab or a
// carriage return (an asset's name, a container's label in the evidence:
// anyone's text) gets a leading apostrophe, which spreadsheets show as
// text and do not evaluate.
func inert(s string) string {
	if s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0 {
		return "'" + s
	}
	return s
}
