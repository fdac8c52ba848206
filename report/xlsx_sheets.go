package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

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
