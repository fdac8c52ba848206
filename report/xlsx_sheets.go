package report

import (
	"strconv"
	"strings"

	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
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

// xlsxEvidenceRow is a result's row on an evidence sheet.
func xlsxEvidenceRow(r results.Row) []any {
	return []any{r.TaskID, r.CheckedAt, Itoa(r.AssetID), r.AssetType.Short(), r.AssetName, r.NodeName, Itoa(r.ItemID),
		r.StandardID, r.Number, r.Title, r.Risk.Short(), r.Outcome(), r.Reason, evidenceText(r), r.Remediation}
}

// xlsxAggregate tallies the rows by outcome per item and per asset, in
// the order they are first seen.
type xlsxAggregate struct {
	items, assets xlsxTallies
}

func newXLSXAggregate() *xlsxAggregate {
	return &xlsxAggregate{items: newXLSXTallies(), assets: newXLSXTallies()}
}

func (a *xlsxAggregate) add(r results.Row) {
	o := outcomeSlot(r.Outcome())
	a.items.add(r.ItemID, r, o, xlsxItemFields)
	a.assets.add(r.AssetID, r, o, xlsxAssetFields)
}

// xlsxItemFields keeps the fields of a row that the Items sheet shows.
func xlsxItemFields(r results.Row) results.Row {
	return results.Row{ItemID: r.ItemID, Number: r.Number, Title: r.Title, Category: r.Category, StandardID: r.StandardID,
		Risk: r.Risk, AssetType: r.AssetType, Remediation: r.Remediation}
}

// xlsxAssetFields keeps the fields of a row that the Assets sheet shows.
func xlsxAssetFields(r results.Row) results.Row {
	return results.Row{AssetID: r.AssetID, AssetType: r.AssetType, AssetName: r.AssetName, NodeName: r.NodeName}
}

func (a *xlsxAggregate) itemRows() [][]any {
	out := make([][]any, 0, len(a.items.order))
	for _, id := range a.items.order {
		t := a.items.byKey[id]
		r := t.row
		row := []any{Itoa(r.ItemID), r.StandardID, r.Number, r.Title, r.Category, r.AssetType.Short(), r.Risk.Short()}
		out = append(out, append(append(row, t.counts.xlsxCells()...), r.Remediation))
	}
	return out
}

func (a *xlsxAggregate) assetRows() [][]any {
	out := make([][]any, 0, len(a.assets.order))
	for _, id := range a.assets.order {
		t := a.assets.byKey[id]
		r, c := t.row, t.counts
		// The store's rules: scan-failed when a check could not be carried
		// out, failed when a result that is not waived failed.
		result := "PASSED"
		switch {
		case c[outcomeCheckFailed] > 0:
			result = "SCAN_FAILED"
		case c[outcomeFailed] > 0:
			result = "FAILED"
		}
		row := []any{Itoa(r.AssetID), r.AssetType.Short(), r.AssetName, r.NodeName}
		out = append(out, append(append(row, c.xlsxCells()...), result))
	}
	return out
}

// xlsxTallies counts rows by outcome per key (an item's id, an asset's),
// keeping the keys in the order they are first seen.
type xlsxTallies struct {
	byKey map[uint64]*xlsxTally
	order []uint64
}

// xlsxTally is one key's counts, with the fields of its first row that its
// sheet shows.
type xlsxTally struct {
	row    results.Row
	counts outcomeTally
}

func newXLSXTallies() xlsxTallies { return xlsxTallies{byKey: map[uint64]*xlsxTally{}} }

// add counts r, whose outcome slot is o, under key; fields picks what to
// keep of the key's first row.
func (t *xlsxTallies) add(key uint64, r results.Row, o int, fields func(results.Row) results.Row) {
	e := t.byKey[key]
	if e == nil {
		e = &xlsxTally{row: fields(r)}
		t.byKey[key] = e
		t.order = append(t.order, key)
	}
	e.counts[o]++
}

// xlsxCells are the tally's count columns on the Items and Assets sheets:
// one per outcome word, in outcomeWords' order.
func (t outcomeTally) xlsxCells() []any {
	cells := make([]any, len(outcomeWords))
	for i := range outcomeWords {
		cells[i] = t[i]
	}
	return cells
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
		lapsed := "no"
		if w.Lapsed {
			lapsed = "yes"
		}
		out = append(out, []any{strconv.FormatInt(w.ID, 10), Itoa(w.ItemID), w.ItemName, w.StandardID, w.AssetType.Short(), scope,
			joinIDs(w.AssetIDs), w.Reason, w.CreatedBy, w.InsertTime, w.UpdateTime, w.ExpiresAt, lapsed})
	}
	return out
}

// writeXLSXSummary writes the Summary sheet, last: its content digest
// covers every sheet, itself included with the digest zeroed.
// When signed, the signature cell held zeros too.
func writeXLSXSummary(m Meta, results int, resultsDigest string, signer *Signer, ch *xlsxContentHash) *xlsxSheet {
	sum := newXLSXSummarySheet(m, results, resultsDigest, signer)
	widths := make([]int, len(xlsxSummaryHeader))
	ch.startSheet(xlsxSummary)
	for _, r := range sum.rows {
		xlsxNormalize(r)
		ch.row(r)
		xlsxMeasure(widths, r)
	}
	// The digest cell held zeros when it was hashed.
	content := ch.sum()
	sum.rows[sum.digestRow][1] = ContentMarker + content
	if signer != nil {
		sum.rows[sum.digestRow+1][1] = SignatureMarker + signer.sign(resultsDigest, content)
	}
	return sum.write(widths)
}

// xlsxSummarySheet is the Summary sheet's rows: a block of labelled values
// (what was exported), the table of figures per asset type, and the two
// digests. headerRow and lastTableRow are the table's first and last row
// numbers (from 1), digestRow the content digest's index in rows.
type xlsxSummarySheet struct {
	rows                               [][]any
	headerRow, lastTableRow, digestRow int
}

// newXLSXSummarySheet lays out the Summary sheet, its content digest
// zeroed; when signed, the signature (zeroed) and the signer's fingerprint
// follow the content digest.
func newXLSXSummarySheet(m Meta, results int, resultsDigest string, signer *Signer) xlsxSummarySheet {
	stds := make([]string, len(m.Standards))
	for i, s := range m.Standards {
		stds[i] = s.ID + ": " + s.Name
		if s.Version != "" {
			stds[i] += ", version " + s.Version
		}
	}
	rows := [][]any{
		{"Tool", toolName(m.Tool)},
		{"Schema version", m.SchemaVersion},
		{"Generated at", FormatTime(m.GeneratedAt)},
		{"Grouped by", string(m.By)},
		{"Asset type", orDefault(m.AssetType.Short(), "all")},
		{"Limited to ids", orDefault(joinIDs(m.IDs), "all")},
		{"Task ids", joinTaskIDs(m.TaskIDs)},
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
	if signer != nil {
		rows = append(rows, []any{"Signature", SignatureMarker + zeroSignature}, []any{"Signer", SignerMarker + signer.Fingerprint()})
	}
	return xlsxSummarySheet{rows: rows, headerRow: headerRow, lastTableRow: lastTableRow, digestRow: digestRow}
}

// write writes the sheet's rows, the table's header and the labels in
// bold, with an autofilter on the table.
func (s xlsxSummarySheet) write(widths []int) *xlsxSheet {
	sh := &xlsxSheet{name: xlsxSummary, cols: len(xlsxSummaryHeader), widths: widths, freeze: s.headerRow,
		filter: [2]int{s.headerRow, s.lastTableRow}}
	for i, r := range s.rows {
		style := xlsxPlain
		switch {
		case i+1 == s.headerRow:
			style = xlsxBoldRow
		case len(r) > 1 && (i+1 < s.headerRow || i > s.lastTableRow):
			// The header block's and the digests' labels.
			if _, ok := r[0].(string); ok {
				style = xlsxBoldLabel
			}
		}
		sh.writeRow(r, style)
	}
	return sh
}
