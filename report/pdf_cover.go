package report

import (
	"strconv"
	"strings"

	"github.com/baselinehq/baseline/store"
)

// This file lays out the PDF export's cover: what was exported, the
// standards, the summary figures per asset type and the waivers.

// cover writes the cover page(s), then starts the results on a new page.
func (d *pdfDoc) cover(m Meta) {
	f := d.f
	f.SetFont("Helvetica", "B", 18)
	f.CellFormat(0, 10, "Compliance export", "", 1, "L", false, 0, "")
	d.small("The results of the checks below, as recorded by " + toolName(m.Tool) + ".")
	d.heading("Scope", 12)
	types := m.AssetType.Short()
	if types == "" {
		var ts []string
		for _, s := range m.Summary {
			ts = append(ts, s.AssetType.Short())
		}
		types = "all (" + orDefault(strings.Join(ts, ", "), "none") + ")"
	}
	window := "-"
	if !m.From.IsZero() || !m.To.IsZero() {
		window = FormatTime(m.From) + " to " + FormatTime(m.To)
	}
	d.fields([][2]string{
		{"Tool", toolName(m.Tool)},
		{"Generated at", FormatTime(m.GeneratedAt)},
		{"Grouped by", string(m.By)},
		{"Asset types", types},
		{"Limited to ids", orDefault(joinIDs(m.IDs), "all")},
		{"Task ids", orDefault(joinTaskIDs(m.TaskIDs), "-")},
		{"Checked from-to", window},
		{"Hosts", orDefault(strings.Join(m.Hosts, ", "), "-")},
		{"Results", strconv.Itoa(m.ResultCount)},
	})
	d.heading("Standards", 12)
	if len(m.Standards) == 0 {
		d.para("None.")
	}
	for _, s := range m.Standards {
		d.para(s.ID + ": " + s.Name + ", version " + orDefault(s.Version, "-") + " (" + strconv.Itoa(s.ItemCount) + " items)")
	}
	d.heading("Summary", 12)
	d.summary(m.Summary)
	d.heading("Waivers (ignore list)", 12)
	d.waivers(m.Waivers)
	f.AddPage()
	title := "Results by asset"
	if m.By == ByItemGroup {
		title = "Results by item"
	}
	d.heading(title, 14)
}

// fields writes labelled values, one a line.
func (d *pdfDoc) fields(kv [][2]string) {
	f := d.f
	for _, p := range kv {
		f.SetFont("Helvetica", "B", pdfBody)
		f.CellFormat(35, pdfLine+0.4, d.text(p[0]), "", 0, "L", false, 0, "")
		f.SetFont("Helvetica", "", pdfBody)
		f.MultiCell(0, pdfLine+0.4, d.text(p[1]), "", "L", false)
	}
}

// summary writes the summary figures as a table with one column per asset
// type and one line per figure (the XLSX Summary sheet's, transposed).
func (d *pdfDoc) summary(sum []store.AssetSummary) {
	if len(sum) == 0 {
		d.para("No results.")
		return
	}
	f := d.f
	const labelW = 45.0
	colW := min(30, (d.width-labelW)/float64(len(sum)))
	cols := make([][]string, len(sum))
	for i, s := range sum {
		cols[i] = pdfSummaryColumn(s)
	}
	for line, label := range xlsxSummaryHeader {
		bold, fill := "", line%2 == 0
		if line == 0 {
			bold = "B"
		}
		f.SetFillColor(242, 242, 242)
		f.SetFont("Helvetica", "B", pdfSmall+0.5)
		f.CellFormat(labelW, pdfLine, label, "", 0, "L", fill, 0, "")
		f.SetFont("Helvetica", bold, pdfSmall+0.5)
		for i := range cols {
			ln := 0
			if i == len(cols)-1 {
				ln = 1
			}
			f.CellFormat(colW, pdfLine, d.text(cols[i][line]), "", ln, "R", fill, 0, "")
		}
	}
}

// pdfSummaryColumn is an asset type's figures, in xlsxSummaryHeader's order.
func pdfSummaryColumn(s store.AssetSummary) []string {
	n := strconv.Itoa
	return []string{s.AssetType.Short(), n(s.AssetCount), n(s.PassedAssetCount), n(s.FailedAssetCount), n(s.ScanFailedAssetCount),
		strconv.FormatFloat(s.AssetPassedRate, 'f', -1, 64), n(s.PassedPolicyItemCount), n(s.FailedPolicyItemCount),
		n(s.FailedCriticalPolicyItemCount), n(s.FailedHighRiskPolicyItemCount), n(s.FailedMediumRiskPolicyItemCount),
		n(s.FailedLowRiskPolicyItemCount), n(s.NoticePolicyItemCount), n(s.OpenPolicyItemCount), n(s.IgnoredPolicyItemCount),
		n(s.TotalPolicyItemCount), n(s.DetectHostCount), s.LastCheckTime, strconv.FormatFloat(s.CheckCostTime, 'f', -1, 64)}
}

// waivers writes every waiver: the item, its standard, the assets, the
// reason, who made it and when it expires.
func (d *pdfDoc) waivers(ws []store.WhitelistEntry) {
	if len(ws) == 0 {
		d.para("None.")
		return
	}
	for _, w := range ws {
		d.f.SetFont("Helvetica", "B", pdfBody)
		d.f.MultiCell(0, pdfLine, d.text("Item "+Itoa(w.ItemID)+" "+w.ItemName), "", "L", false)
		assets := "all " + w.AssetType.Short() + " assets"
		if !w.AllAssets {
			assets = w.AssetType.Short() + " " + orDefault(joinIDs(w.AssetIDs), strconv.Itoa(w.AssetCount)+" assets")
		}
		expiry := orDefault(w.ExpiresAt, "never")
		if w.Lapsed {
			expiry += " (lapsed)"
		}
		d.fields([][2]string{
			{"Standard", w.StandardID + " " + w.StandardName},
			{"Assets", assets},
			{"Reason", orDefault(w.Reason, "no reason given")},
			{"Author", orDefault(w.CreatedBy, "-") + ", " + w.InsertTime},
			{"Expires", expiry},
		})
		d.f.Ln(1.5)
	}
}
