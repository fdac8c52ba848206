package report

import (
	"archive/zip"
	"context"
	"io"

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
// measured on the header and the sheet's first 1,000 rows, so that a long
// export costs no more than one text scan per row). Ids are text
// (they have up to 16 digits, past Excel's 15-digit precision); counts,
// pass rates and costs are numbers; times are text as the export has them.
// A text longer than Excel's 32,767 characters a cell is cut and ends in
// "… [truncated]"; characters XML cannot hold become U+FFFD; a text
// that reads as an _xHHHH_ escape keeps it literally (its underscore is
// written _x005F_, as Excel does).
//
// The evidence sheets are streamed: memory stays bounded whatever the
// number of rows (the Items and Assets sheets are aggregated in memory,
// one entry per item and per asset). A sheet's XML is kept in a temporary
// file (os.TempDir, unlinked as soon as it is created, so that nothing is
// left if the process is killed) once it passes 4 MB: about 1 KB a row,
// so 1.5 GB of disk for 1.5 million rows, freed when Encode returns. The zip is
// written to w at the end, as it is compressed: nothing is written to w
// before every row has been read, so a source that fails leaves w as it
// was. The workbook is SpreadsheetML written by this package (no
// spreadsheet library): inline strings, numbers, one bold cell format.
//
// Integrity: a zip is binary, so the text-marker scheme of the other
// formats is applied to the cell values rather than to the bytes. The
// Summary sheet's last rows hold, in column B,
// "baseline-results-sha256=HEX" (the results digest,
// Integrity.ResultsDigest) and "baseline-content-sha256=HEX" (the content
// digest over every sheet's values, see xlsxContentHash and VerifyXLSX);
// a signed workbook adds two rows after them, "baseline-signature-ed25519=
// BASE64" (counted as 88 zeros by the content digest) and
// "baseline-signer-sha256=HEX". Integrity.Writer and Integrity.Finish are not used.
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
var maxSheetRows = 1 << 20

// Encode implements Encoder.
func (XLSXEncoder) Encode(ctx context.Context, w io.Writer, src Source, in *Integrity) error {
	m := src.Meta()
	ch := newXLSXContentHash()
	var sheets []*xlsxSheet
	// The spools' temporary files go when Encode returns.
	defer func() {
		for _, s := range sheets {
			s.body.close()
		}
	}()
	agg, rows, evidence, err := xlsxWriteEvidence(ctx, src, in, ch)
	sheets = evidence
	if err != nil {
		return err
	}
	tables, err := xlsxWriteTables(agg, m.Waivers, ch)
	sheets = append(sheets, tables...)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	summary := writeXLSXSummary(m, rows, in.ResultsDigest(), in.signer, ch)
	// Workbook order: Summary, Items, Assets, the evidence sheets, Waivers.
	book := append([]*xlsxSheet{summary, tables[0], tables[1]}, evidence...)
	book = append(book, tables[2])
	zw := zip.NewWriter(w)
	if err := xlsxWriteParts(zw, book, m); err != nil {
		return err
	}
	return zw.Close()
}

// xlsxWriteEvidence reads the rows: it writes the evidence sheets and
// returns the rows' tallies for the Items and Assets sheets, and their
// number.
func xlsxWriteEvidence(ctx context.Context, src Source, in *Integrity, ch *xlsxContentHash) (*xlsxAggregate, int, []*xlsxSheet, error) {
	agg := newXLSXAggregate()
	ev := &xlsxEvidenceWriter{ch: ch}
	rows := 0
	err := src.Rows(ctx, func(r results.Row) error {
		in.AddRow(r)
		agg.add(r)
		rows++
		return ev.add(xlsxEvidenceRow(r))
	})
	if err != nil {
		return nil, 0, ev.sheets, err
	}
	return agg, rows, ev.sheets, ev.close()
}

// xlsxWriteTables writes the Items, Assets and Waivers sheets. The
// content digest covers the sheets in xlsxHashOrder: the evidence sheets
// (hashed as they were written), then Items, Assets, Waivers, then
// Summary.
func xlsxWriteTables(agg *xlsxAggregate, waivers []store.WhitelistEntry, ch *xlsxContentHash) ([]*xlsxSheet, error) {
	tables := []struct {
		name   string
		header []string
		rows   [][]any
	}{
		{xlsxItems, xlsxItemsHeader, agg.itemRows()},
		{xlsxAssets, xlsxAssetsHeader, agg.assetRows()},
		{xlsxWaivers, xlsxWaiversHeader, xlsxWaiverRows(waivers)},
	}
	var sheets []*xlsxSheet
	for _, t := range tables {
		sw := newXLSXSheetWriter(t.name, t.header, len(t.rows), ch)
		sheets = append(sheets, sw.xlsxSheet)
		for _, r := range t.rows {
			if err := sw.add(r); err != nil {
				return sheets, err
			}
		}
		sw.close()
	}
	return sheets, nil
}
