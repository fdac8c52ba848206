package report

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// XLSXEncoder writes the export as an Excel workbook for auditors. Its
// sheets, in the workbook's order:
//
//	Summary      what was exported (tool, time, scope, tasks, time window,
//	             hosts, standards, result count), the summary figures per
//	             asset type (Meta.Summary), and the two integrity digests
//	Items        one row per item seen in the results, with its asset counts
//	             by outcome
//	Assets       one row per asset, with its item counts by outcome and its
//	             verdict (PASSED, FAILED, or SCAN_FAILED when a check could
//	             not be carried out)
//	Evidence     one row per (item, asset) result, in the export's order;
//	             past Excel's 1,048,576 rows a sheet, the rows go on in
//	             "Evidence 2", "Evidence 3", ...
//	Waivers      one row per whitelist entry
//
// Every sheet has its header row frozen and an autofilter on it (on the
// Summary sheet: the header of the per-type table); column widths fit the
// longest value of the column (within 10-80 characters; on evidence sheets,
// measured on the header and the sheet's first 1,000 rows, since a
// streamed sheet fixes its widths before its first row). Ids are text
// (they have up to 16 digits, past Excel's 15-digit precision); counts,
// pass rates and costs are numbers; times are text as the export has them.
// A text longer than Excel's 32,767 characters a cell is cut and ends in
// "… [truncated]"; characters XML cannot hold become U+FFFD.
//
// The evidence sheets are streamed: memory stays bounded whatever the
// number of rows (the Items and Assets sheets are aggregated in memory,
// one entry per item and per asset). excelize keeps a streamed sheet's XML
// in a temporary file (os.TempDir) once it passes 16 MB: about 1 KB a row,
// so 1.5 GB of disk for 1.5 million rows, removed when Encode returns. The zip is
// written to w at the end, as it is compressed: nothing is written to w
// before every row has been read, so a source that fails leaves w as it
// was.
//
// Integrity: a zip is binary, so the text-marker scheme of the other
// formats is applied to the cell values rather than to the bytes. The
// Summary sheet's last two rows hold, in column B,
// "baseline-results-sha256=HEX" (the results digest,
// Integrity.ResultsDigest) and "baseline-content-sha256=HEX" (the content
// digest over every sheet's values, see xlsxContentHash and VerifyXLSX).
// Integrity.Writer and Integrity.Finish are not used.
type XLSXEncoder struct{}

// Format implements Encoder.
func (XLSXEncoder) Format() string { return "xlsx" }

// Ext implements Encoder.
func (XLSXEncoder) Ext() string { return ".xlsx" }

// The workbook's sheets.
const (
	xlsxSummary  = "Summary"
	xlsxItems    = "Items"
	xlsxAssets   = "Assets"
	xlsxEvidence = "Evidence"
	xlsxWaivers  = "Waivers"
)

// maxSheetRows is how many rows a sheet holds, its header row included:
// Excel's limit. Tests lower it to check that evidence continues on the
// next sheet.
var maxSheetRows = excelize.TotalRows

const (
	// xlsxWidthSample is how many rows of a streamed sheet are held back to
	// measure its column widths.
	xlsxWidthSample = 1000
	xlsxMinWidth    = 10
	xlsxMaxWidth    = 80
	xlsxTruncated   = "… [truncated]"
)

// The sheets' header rows.
var (
	xlsxItemsHeader = []string{"Item id", "Standard", "No.", "Title", "Category", "Asset type", "Risk",
		"Passed assets", "Failed assets", "Ignored assets", "Manual assets", "N/A assets", "Check-failed assets", "Fix suggestion"}
	xlsxAssetsHeader = []string{"Asset id", "Type", "Name", "Node",
		"Passed items", "Failed items", "Ignored items", "Manual items", "N/A items", "Check-failed items", "Result"}
	xlsxEvidenceHeader = []string{"Task id", "Checked at", "Asset id", "Asset type", "Asset", "Node", "Item id", "Standard", "No.", "Title",
		"Risk", "Outcome", "Reason", "Evidence", "Fix suggestion"}
	xlsxWaiversHeader = []string{"Entry id", "Item id", "Item", "Standard", "Asset type", "Assets", "Asset ids",
		"Reason", "By", "Added", "Updated", "Expires", "Lapsed"}
	xlsxSummaryHeader = []string{"Asset type", "Assets", "Passed assets", "Failed assets", "Scan-failed assets", "Pass rate %",
		"Passed items", "Failed items", "Failed critical", "Failed high", "Failed medium", "Failed low", "Notice",
		"Open items", "Ignored items", "Total items", "Hosts", "Last check time", "Cost (s)"}
)

func init() {
	xlsxVerifier = func(data []byte) (string, string, bool, error) {
		return VerifyXLSX(bytes.NewReader(data), int64(len(data)))
	}
}

// Encode implements Encoder.
func (XLSXEncoder) Encode(ctx context.Context, w io.Writer, src Source, in *Integrity) error {
	m := src.Meta()
	f := excelize.NewFile()
	// Close removes the temporary files; an export already written does
	// not fail for one left behind.
	defer func() { _ = f.Close() }()
	// Workbook order: Summary, Items, Assets, the evidence sheets (added
	// as the rows come), Waivers. Summary, Items and Assets are written
	// last, into the sheets made here.
	if err := f.SetSheetName("Sheet1", xlsxSummary); err != nil {
		return err
	}
	for _, name := range []string{xlsxItems, xlsxAssets} {
		if _, err := f.NewSheet(name); err != nil {
			return err
		}
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	ch := newXLSXContentHash()
	agg := newXLSXAggregate()
	ev := &xlsxEvidenceWriter{f: f, ch: ch, bold: bold}
	rows := 0
	err = src.Rows(ctx, func(r results.Row) error {
		in.AddRow(r)
		agg.add(r)
		rows++
		return ev.add(xlsxEvidenceRow(r))
	})
	if err != nil {
		return err
	}
	if err := ev.close(); err != nil {
		return err
	}
	if _, err := f.NewSheet(xlsxWaivers); err != nil {
		return err
	}
	// The content digest covers the sheets in xlsxHashOrder: the evidence
	// sheets (hashed above, as they were written), then Items, Assets,
	// Waivers, then Summary.
	tables := []struct {
		name   string
		header []string
		rows   [][]any
	}{
		{xlsxItems, xlsxItemsHeader, agg.itemRows()},
		{xlsxAssets, xlsxAssetsHeader, agg.assetRows()},
		{xlsxWaivers, xlsxWaiversHeader, xlsxWaiverRows(m.Waivers)},
	}
	for _, t := range tables {
		sw, err := newXLSXSheetWriter(f, t.name, t.header, len(t.rows)+1, ch, bold)
		if err != nil {
			return err
		}
		for _, r := range t.rows {
			if err := sw.add(r); err != nil {
				return err
			}
		}
		if err := sw.close(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeXLSXSummary(f, m, rows, in.ResultsDigest(), ch, bold); err != nil {
		return err
	}
	tool := strings.TrimSpace(m.Tool.Name + " " + m.Tool.Version)
	if err := f.SetDocProps(&excelize.DocProperties{Creator: tool, LastModifiedBy: tool, Title: "Compliance export",
		Created: FormatTime(m.GeneratedAt), Modified: FormatTime(m.GeneratedAt)}); err != nil {
		return err
	}
	// excelize builds the zip in a bytes.Buffer of its own; a zip writer
	// over w streams it out instead, so that nothing but the zip is
	// written (the buffer stays empty).
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	var stray xlsxCountingWriter
	if err := f.Write(&stray); err != nil {
		return err
	}
	if stray > 0 {
		return fmt.Errorf("xlsx: %d bytes written outside the zip writer", int64(stray))
	}
	return nil
}

type xlsxCountingWriter int64

func (c *xlsxCountingWriter) Write(p []byte) (int, error) {
	*c += xlsxCountingWriter(len(p))
	return len(p), nil
}

// xlsxEvidenceRow is a result's row on an evidence sheet.
func xlsxEvidenceRow(r results.Row) []any {
	return []any{r.TaskID, r.CheckedAt, Itoa(r.AssetID), r.AssetType.Short(), r.AssetName, r.NodeName, Itoa(r.ItemID),
		r.StandardID, r.Number, r.Title, r.Risk.Short(), r.Outcome(), r.Reason, evidenceText(r), r.Remediation}
}

// Outcome counts, in the Items and Assets sheets' column order.
const (
	xlsxPassed = iota
	xlsxFailed
	xlsxIgnored
	xlsxManual
	xlsxNotApplicable
	xlsxCheckFailed
	xlsxOutcomes
)

func xlsxOutcome(r results.Row) int {
	switch r.Outcome() {
	case "PASSED":
		return xlsxPassed
	case "FAILED":
		return xlsxFailed
	case "IGNORED":
		return xlsxIgnored
	case "MANUAL":
		return xlsxManual
	case "NOT_APPLICABLE":
		return xlsxNotApplicable
	case "CHECK_FAILED":
		return xlsxCheckFailed
	}
	return -1
}

type xlsxItem struct {
	row    results.Row // the first row seen: the item's fields
	counts [xlsxOutcomes]int
}

type xlsxAsset struct {
	row    results.Row
	counts [xlsxOutcomes]int
}

// xlsxAggregate tallies the rows per item and per asset, in the order they
// are first seen.
type xlsxAggregate struct {
	items     map[uint64]*xlsxItem
	itemOrder []uint64
	assets    map[uint64]*xlsxAsset
	order     []uint64
}

func newXLSXAggregate() *xlsxAggregate {
	return &xlsxAggregate{items: map[uint64]*xlsxItem{}, assets: map[uint64]*xlsxAsset{}}
}

func (a *xlsxAggregate) add(r results.Row) {
	o := xlsxOutcome(r)
	it := a.items[r.ItemID]
	if it == nil {
		it = &xlsxItem{row: results.Row{ItemID: r.ItemID, Number: r.Number, Title: r.Title, Category: r.Category, StandardID: r.StandardID,
			Risk: r.Risk, AssetType: r.AssetType, Remediation: r.Remediation}}
		a.items[r.ItemID] = it
		a.itemOrder = append(a.itemOrder, r.ItemID)
	}
	as := a.assets[r.AssetID]
	if as == nil {
		as = &xlsxAsset{row: results.Row{AssetID: r.AssetID, AssetType: r.AssetType, AssetName: r.AssetName, NodeName: r.NodeName}}
		a.assets[r.AssetID] = as
		a.order = append(a.order, r.AssetID)
	}
	if o >= 0 {
		it.counts[o]++
		as.counts[o]++
	}
}

func (a *xlsxAggregate) itemRows() [][]any {
	out := make([][]any, 0, len(a.itemOrder))
	for _, id := range a.itemOrder {
		it := a.items[id]
		r, c := it.row, it.counts
		out = append(out, []any{Itoa(r.ItemID), r.StandardID, r.Number, r.Title, r.Category, r.AssetType.Short(), r.Risk.Short(),
			c[xlsxPassed], c[xlsxFailed], c[xlsxIgnored], c[xlsxManual], c[xlsxNotApplicable], c[xlsxCheckFailed], r.Remediation})
	}
	return out
}

func (a *xlsxAggregate) assetRows() [][]any {
	out := make([][]any, 0, len(a.order))
	for _, id := range a.order {
		as := a.assets[id]
		r, c := as.row, as.counts
		// The store's rules: scan-failed when a check could not be carried
		// out, failed when a result that is not waived failed.
		result := "PASSED"
		switch {
		case c[xlsxCheckFailed] > 0:
			result = "SCAN_FAILED"
		case c[xlsxFailed] > 0:
			result = "FAILED"
		}
		out = append(out, []any{Itoa(r.AssetID), r.AssetType.Short(), r.AssetName, r.NodeName,
			c[xlsxPassed], c[xlsxFailed], c[xlsxIgnored], c[xlsxManual], c[xlsxNotApplicable], c[xlsxCheckFailed], result})
	}
	return out
}

func xlsxWaiverRows(ws []store.WhitelistEntry) [][]any {
	out := make([][]any, 0, len(ws))
	for _, w := range ws {
		var scope any = "all"
		if !w.AllAssets {
			n := w.AssetCount
			if n == 0 {
				n = len(w.AssetIDs)
			}
			scope = n
		}
		ids := make([]string, len(w.AssetIDs))
		for i, id := range w.AssetIDs {
			ids[i] = Itoa(id)
		}
		lapsed := "no"
		if w.Lapsed {
			lapsed = "yes"
		}
		out = append(out, []any{strconv.FormatInt(w.ID, 10), Itoa(w.ItemID), w.ItemName, w.StandardID, w.AssetType.Short(), scope,
			strings.Join(ids, ", "), w.Reason, w.CreatedBy, w.InsertTime, w.UpdateTime, w.ExpiresAt, lapsed})
	}
	return out
}

// writeXLSXSummary writes the Summary sheet, last: its content digest
// covers every sheet, itself included with the digest zeroed.
func writeXLSXSummary(f *excelize.File, m Meta, results int, resultsDigest string, ch *xlsxContentHash, bold int) error {
	scope := func(s string) string {
		if s == "" {
			return "all"
		}
		return s
	}
	ids := make([]string, len(m.IDs))
	for i, id := range m.IDs {
		ids[i] = Itoa(id)
	}
	tasks := make([]string, len(m.TaskIDs))
	for i, id := range m.TaskIDs {
		tasks[i] = strconv.FormatInt(id, 10)
	}
	stds := make([]string, len(m.Standards))
	for i, s := range m.Standards {
		stds[i] = s.ID + ": " + s.Name
		if s.Version != "" {
			stds[i] += ", version " + s.Version
		}
	}
	rows := [][]any{
		{"Tool", strings.TrimSpace(m.Tool.Name + " " + m.Tool.Version)},
		{"Schema version", m.SchemaVersion},
		{"Generated at", FormatTime(m.GeneratedAt)},
		{"Grouped by", string(m.By)},
		{"Asset type", scope(m.AssetType.Short())},
		{"Limited to ids", scope(strings.Join(ids, ", "))},
		{"Task ids", strings.Join(tasks, ", ")},
		{"Checked from", FormatTime(m.From)},
		{"Checked to", FormatTime(m.To)},
		{"Hosts", strings.Join(m.Hosts, ", ")},
		{"Standards", strings.Join(stds, "; ")},
		{"Results", results},
		{},
	}
	header := make([]any, len(xlsxSummaryHeader))
	for i, h := range xlsxSummaryHeader {
		header[i] = h
	}
	rows = append(rows, header)
	headerRow := len(rows)
	for _, s := range m.Summary {
		rows = append(rows, []any{s.AssetType.Short(), s.AssetCount, s.PassedAssetCount, s.FailedAssetCount, s.ScanFailedAssetCount,
			s.AssetPassedRate, s.PassedPolicyItemCount, s.FailedPolicyItemCount, s.FailedCriticalPolicyItemCount,
			s.FailedHighRiskPolicyItemCount, s.FailedMediumRiskPolicyItemCount, s.FailedLowRiskPolicyItemCount,
			s.NoticePolicyItemCount, s.OpenPolicyItemCount, s.IgnoredPolicyItemCount, s.TotalPolicyItemCount,
			s.DetectHostCount, s.LastCheckTime, s.CheckCostTime})
	}
	lastTableRow := len(rows)
	rows = append(rows, []any{},
		[]any{"Results digest", ResultsMarker + resultsDigest},
		[]any{"Content digest", ContentMarker + zeroDigest})
	digestRow := len(rows) - 1

	widths := make([]int, len(xlsxSummaryHeader))
	ch.startSheet(xlsxSummary)
	for _, r := range rows {
		xlsxNormalize(r)
		ch.row(r)
		xlsxMeasure(widths, r)
	}
	// The digest cell held zeros when it was hashed.
	rows[digestRow][1] = ContentMarker + ch.sum()

	used, err := excelize.CoordinatesToCellName(len(xlsxSummaryHeader), len(rows))
	if err != nil {
		return err
	}
	sw, err := xlsxStream(f, xlsxSummary, widths, headerRow, "A1:"+used)
	if err != nil {
		return err
	}
	for i, r := range rows {
		var opts []excelize.RowOpts
		if i+1 == headerRow {
			opts = append(opts, excelize.RowOpts{StyleID: bold})
		} else if len(r) > 1 {
			// The header block's and the digests' labels.
			if s, ok := r[0].(string); ok && (i+1 < headerRow || i > lastTableRow) {
				r[0] = excelize.Cell{StyleID: bold, Value: s}
			}
		}
		if err := sw.SetRow("A"+strconv.Itoa(i+1), r, opts...); err != nil {
			return err
		}
	}
	last, err := excelize.ColumnNumberToName(len(xlsxSummaryHeader))
	if err != nil {
		return err
	}
	if err := f.AutoFilter(xlsxSummary, fmt.Sprintf("A%d:%s%d", headerRow, last, lastTableRow), nil); err != nil {
		return err
	}
	return sw.Flush()
}

// xlsxEvidenceWriter writes the evidence rows, on as many sheets as they
// need.
type xlsxEvidenceWriter struct {
	f      *excelize.File
	ch     *xlsxContentHash
	bold   int
	cur    *xlsxSheetWriter
	sheets int
}

func (e *xlsxEvidenceWriter) add(r []any) error {
	if e.cur == nil || e.cur.rows >= maxSheetRows {
		if err := e.next(); err != nil {
			return err
		}
	}
	return e.cur.add(r)
}

func (e *xlsxEvidenceWriter) next() error {
	if e.cur != nil {
		if err := e.cur.close(); err != nil {
			return err
		}
	}
	e.sheets++
	name := xlsxEvidence
	if e.sheets > 1 {
		name = xlsxEvidence + " " + strconv.Itoa(e.sheets)
	}
	if _, err := e.f.NewSheet(name); err != nil {
		return err
	}
	var err error
	e.cur, err = newXLSXSheetWriter(e.f, name, xlsxEvidenceHeader, xlsxWidthSample, e.ch, e.bold)
	return err
}

// close ends the last evidence sheet; there is one even without rows.
func (e *xlsxEvidenceWriter) close() error {
	if e.cur == nil {
		if err := e.next(); err != nil {
			return err
		}
	}
	return e.cur.close()
}

// xlsxSheetWriter streams a table: a header row, then rows. It holds back
// the first rows (sample) to measure the column widths, which a stream
// writer must set before its first row; each row is hashed into the
// content digest as it is added.
type xlsxSheetWriter struct {
	f       *excelize.File
	name    string
	ch      *xlsxContentHash
	bold    int
	header  []any
	widths  []int
	sample  [][]any
	keep    int
	sw      *excelize.StreamWriter
	rows    int // rows added, the header included
	written int // rows written to the stream
}

func newXLSXSheetWriter(f *excelize.File, name string, header []string, sample int, ch *xlsxContentHash, bold int) (*xlsxSheetWriter, error) {
	s := &xlsxSheetWriter{f: f, name: name, ch: ch, bold: bold, keep: sample, widths: make([]int, len(header)), rows: 1}
	s.header = make([]any, len(header))
	for i, h := range header {
		s.header[i] = h
	}
	xlsxNormalize(s.header)
	xlsxMeasure(s.widths, s.header)
	ch.startSheet(name)
	ch.row(s.header)
	return s, nil
}

func (s *xlsxSheetWriter) add(r []any) error {
	xlsxNormalize(r)
	s.ch.row(r)
	s.rows++
	if s.sw != nil {
		return s.write(r)
	}
	xlsxMeasure(s.widths, r)
	s.sample = append(s.sample, r)
	if len(s.sample) < s.keep {
		return nil
	}
	return s.start(false)
}

// start opens the stream and writes the header and the rows held back;
// complete says they are all the sheet's rows.
func (s *xlsxSheetWriter) start(complete bool) error {
	used := ""
	if complete {
		last, err := excelize.CoordinatesToCellName(len(s.header), s.rows)
		if err != nil {
			return err
		}
		used = "A1:" + last
	}
	var err error
	if s.sw, err = xlsxStream(s.f, s.name, s.widths, 1, used); err != nil {
		return err
	}
	if err := s.sw.SetRow("A1", s.header, excelize.RowOpts{StyleID: s.bold}); err != nil {
		return err
	}
	s.written = 1
	for _, r := range s.sample {
		if err := s.write(r); err != nil {
			return err
		}
	}
	s.sample = nil
	return nil
}

func (s *xlsxSheetWriter) write(r []any) error {
	s.written++
	return s.sw.SetRow("A"+strconv.Itoa(s.written), r)
}

func (s *xlsxSheetWriter) close() error {
	if s.sw == nil {
		if err := s.start(true); err != nil {
			return err
		}
	}
	last, err := excelize.ColumnNumberToName(len(s.header))
	if err != nil {
		return err
	}
	if err := s.f.AutoFilter(s.name, fmt.Sprintf("A1:%s%d", last, s.written), nil); err != nil {
		return err
	}
	return s.sw.Flush()
}

// xlsxStream opens a sheet's stream writer with its column widths and the
// rows down to freeze frozen. The autofilter is set after (AutoFilter marks
// the sheet as filtered when its properties are still to be written).
//
// used is the sheet's range, "" when not known yet. A stream writer writes
// the sheet's dimension before its rows; left as excelize has it ("A1"),
// readers that trust it (openpyxl read-only, so pandas) see one row. An
// unknown range is left out: the element is optional.
func xlsxStream(f *excelize.File, name string, widths []int, freeze int, used string) (*excelize.StreamWriter, error) {
	if err := f.SetSheetDimension(name, used); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	for i, w := range widths {
		if err := sw.SetColWidth(i+1, i+1, float64(min(max(w+2, xlsxMinWidth), xlsxMaxWidth))); err != nil {
			return nil, err
		}
	}
	top := "A" + strconv.Itoa(freeze+1)
	err = sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: freeze, TopLeftCell: top, ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: top, ActiveCell: top, Pane: "bottomLeft"}}})
	return sw, err
}

// xlsxMeasure widens widths to fit r's values (the longest line of a
// text, in characters).
func xlsxMeasure(widths []int, r []any) {
	for i, v := range r {
		if i >= len(widths) {
			break
		}
		n := 0
		switch v := v.(type) {
		case string:
			for line := range strings.SplitSeq(v, "\n") {
				if n = max(n, utf8.RuneCountInString(line)); n >= xlsxMaxWidth {
					break
				}
			}
		case nil:
		default:
			n = len(xlsxCanon(v))
		}
		widths[i] = max(widths[i], n)
	}
}

// xlsxNormalize turns a row's values, in place, into what the cells store
// and excelize reads back: text valid in XML and within Excel's cell
// length (an empty text is no cell at all), floats with at most 15
// significant digits. The content digest is
// computed from the normalized values.
func xlsxNormalize(r []any) {
	for i, v := range r {
		switch v := v.(type) {
		case string:
			if v == "" {
				r[i] = nil // no cell: reads back as ""
			} else {
				r[i] = xlsxText(v)
			}
		case float64:
			r[i] = xlsxFloat(v)
		case int, int64, nil, excelize.Cell:
		default:
			r[i] = xlsxText(fmt.Sprint(v))
		}
	}
}

// xlsxText makes s a cell's text: every character XML cannot hold (and
// every byte that is not UTF-8) becomes U+FFFD, as encoding/xml writes
// them; past Excel's 32,767 UTF-16 units, the text is cut.
func xlsxText(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if b := s[i]; b >= utf8.RuneSelf || b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
			clean = false
			break
		}
	}
	if clean {
		if len(s) <= excelize.TotalCellChars {
			return s
		}
		return s[:excelize.TotalCellChars-utf16Len(xlsxTruncated)] + xlsxTruncated
	}
	limit := -1
	if utf16Len(s) > excelize.TotalCellChars {
		limit = excelize.TotalCellChars - utf16Len(xlsxTruncated)
	}
	var sb strings.Builder
	sb.Grow(len(s))
	units := 0
	for _, r := range s {
		if !xmlChar(r) {
			r = utf8.RuneError
		}
		if limit >= 0 {
			if units += utf16Units(r); units > limit {
				break
			}
		}
		sb.WriteRune(r)
	}
	if limit >= 0 {
		sb.WriteString(xlsxTruncated)
	}
	return sb.String()
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

func utf16Units(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16Units(r)
	}
	return n
}

// xlsxFloat keeps 15 significant digits (excelize cuts the rest) and
// writes what is not a finite number as text.
func xlsxFloat(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	if v == 0 {
		return 0.0 // not -0
	}
	v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 15, 64), 64)
	return v
}

// xlsxCanon is a normalized value as excelize reads its cell back raw.
func xlsxCanon(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case excelize.Cell:
		return xlsxCanon(v.Value)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// xlsxContentHash computes the content digest of a workbook: a SHA-256
// over every sheet in xlsxHashOrder, each rendered as
//
//	"\f" sheet-name "\n"
//	then per row, from the first to the last that holds a value:
//	the row's cell values (raw, as excelize reads them; empty cells in
//	between as ""; none after the last value) joined by "\t", then "\n"
//
// where in names and values "\" "\t" "\n" "\r" "\f" are written as
// "\\" "\t" "\n" "\r" "\f" (backslash escapes), and the content digest
// cell counts as "baseline-content-sha256=" and 64 zeros. That cell is the
// Summary sheet's last cell in column B that holds
// "baseline-content-sha256=" and 64 hex digits (the last, so that a
// digest-like value elsewhere, a host name say, cannot stand in for it).
type xlsxContentHash struct {
	h     hash.Hash
	buf   []byte
	empty int // empty rows not yet hashed: dropped if no row follows
}

func newXLSXContentHash() *xlsxContentHash { return &xlsxContentHash{h: sha256.New()} }

func (c *xlsxContentHash) startSheet(name string) {
	c.empty = 0
	c.buf = append(c.buf[:0], '\f')
	c.buf = xlsxEscape(c.buf, name)
	c.h.Write(append(c.buf, '\n'))
}

// row hashes a row of normalized values.
func (c *xlsxContentHash) row(r []any) {
	n := len(r)
	for n > 0 && xlsxCanon(r[n-1]) == "" {
		n--
	}
	c.line(n, func(i int) string { return xlsxCanon(r[i]) })
}

// strings hashes a row read back.
func (c *xlsxContentHash) strings(r []string) {
	n := len(r)
	for n > 0 && r[n-1] == "" {
		n--
	}
	c.line(n, func(i int) string { return r[i] })
}

func (c *xlsxContentHash) line(n int, value func(int) string) {
	if n == 0 {
		c.empty++
		return
	}
	c.buf = c.buf[:0]
	for ; c.empty > 0; c.empty-- {
		c.buf = append(c.buf, '\n')
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			c.buf = append(c.buf, '\t')
		}
		c.buf = xlsxEscape(c.buf, value(i))
	}
	c.h.Write(append(c.buf, '\n'))
}

func (c *xlsxContentHash) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

func xlsxEscape(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch b := s[i]; b {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\f':
			buf = append(buf, '\\', 'f')
		default:
			buf = append(buf, b)
		}
	}
	return buf
}

// xlsxContentDigest reports whether a cell holds a content digest, and
// which.
func xlsxContentDigest(v string) (string, bool) {
	d, ok := strings.CutPrefix(v, ContentMarker)
	if !ok || len(d) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(d); err != nil {
		return "", false
	}
	return d, true
}

// xlsxHashOrder is the order in which the content digest covers a
// workbook's sheets: the evidence sheets ("Evidence", "Evidence 2", ...),
// then every other sheet but Summary, each group in the workbook's order,
// then Summary, which holds the digest. (Evidence comes first because it
// is streamed before the Items and Assets sheets can be known.)
func xlsxHashOrder(sheets []string) ([]string, error) {
	var evidence, rest []string
	summary := false
	for _, s := range sheets {
		switch {
		case s == xlsxSummary:
			summary = true
		case xlsxIsEvidence(s):
			evidence = append(evidence, s)
		default:
			rest = append(rest, s)
		}
	}
	if !summary {
		return nil, fmt.Errorf("no %s sheet: not a baseline XLSX export", xlsxSummary)
	}
	return append(append(evidence, rest...), xlsxSummary), nil
}

func xlsxIsEvidence(name string) bool {
	if name == xlsxEvidence {
		return true
	}
	n, ok := strings.CutPrefix(name, xlsxEvidence+" ")
	if !ok || n == "" {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// VerifyXLSX checks an XLSX export of size bytes read from r: it reopens
// the workbook, recomputes the content digest from the cell values (see
// xlsxContentHash: the sheets in a fixed order, the content digest cell
// zeroed) and compares it with the one the Summary sheet holds. It returns
// the results and content digests written in the workbook; ok is false
// when the content digest does not match (a value was changed, added or
// removed, a sheet renamed, added or removed). The check is on values,
// not bytes: a workbook saved again with its values unchanged still
// verifies. err is set when r is not a workbook or has no content digest.
// The workbook is read into memory (sheets past 16 MB go to temporary
// files).
func VerifyXLSX(r io.ReaderAt, size int64) (results, content string, ok bool, err error) {
	f, err := excelize.OpenReader(io.NewSectionReader(r, 0, size))
	if err != nil {
		return "", "", false, fmt.Errorf("not an XLSX workbook: %w", err)
	}
	defer func() { _ = f.Close() }() // temporary files only

	order, err := xlsxHashOrder(f.GetSheetList())
	if err != nil {
		return "", "", false, err
	}
	ch := newXLSXContentHash()
	raw := excelize.Options{RawCellValue: true}
	var summary [][]string // hashed last, once the digest cell is known
	for _, name := range order {
		rows, err := f.Rows(name)
		if err != nil {
			return "", "", false, err
		}
		ch.startSheet(name)
		for rows.Next() {
			cells, err := rows.Columns(raw)
			if err != nil {
				_ = rows.Close()
				return "", "", false, fmt.Errorf("sheet %s: %w", name, err)
			}
			if name == xlsxSummary {
				summary = append(summary, cells)
				continue
			}
			ch.strings(cells)
		}
		if err := rows.Close(); err != nil {
			return "", "", false, fmt.Errorf("sheet %s: %w", name, err)
		}
	}
	digestRow := -1
	for i := len(summary) - 1; i >= 0 && (digestRow < 0 || results == ""); i-- {
		if len(summary[i]) < 2 {
			continue
		}
		if d, ok := xlsxContentDigest(summary[i][1]); ok && digestRow < 0 {
			digestRow, content = i, d
		} else if d, ok := strings.CutPrefix(summary[i][1], ResultsMarker); ok && results == "" {
			results = d
		}
	}
	if digestRow < 0 {
		return results, "", false, fmt.Errorf("no %s cell on the %s sheet: not a baseline export, or the digest was removed",
			strings.TrimSuffix(ContentMarker, "="), xlsxSummary)
	}
	for i, cells := range summary {
		if i == digestRow {
			cells = slices.Clone(cells)
			cells[1] = ContentMarker + zeroDigest
		}
		ch.strings(cells)
	}
	return results, content, ch.sum() == content, nil
}
