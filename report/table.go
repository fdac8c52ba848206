package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// View says how a table report is grouped.
type View string

// Table views.
const (
	// BySummary lists the failed items, each with its assets, its finding in
	// words and its fix, then the checks that could not be carried out
	// grouped by reason, then the summary per asset type: a screenful.
	BySummary View = "summary"
	// ByAsset lists every asset with its counts and every finding with its
	// evidence.
	ByAsset View = "asset"
	// ByItem lists every item with its counts and every finding with its
	// evidence.
	ByItem View = "item"
)

// TableOptions say how a table report is written.
type TableOptions struct {
	View View
	// Color colours the summary view's risks and statuses with ANSI
	// escape sequences (for a terminal).
	Color bool
	// Width is the summary view's line width (0: 100 columns).
	Width int
}

// WriteTable writes the report as terminal tables in a view, without
// colour, at the default width; see WriteTableWith.
func WriteTable(w io.Writer, rep *results.Report, view View) error {
	return WriteTableWith(w, rep, TableOptions{View: view})
}

// WriteTableWith writes the report as terminal tables. The summary view
// is described at BySummary; the asset and item views list the assets or the
// items with their counts, the failed checks with their evidence, and the
// summary per asset type with the pass rate.
func WriteTableWith(w io.Writer, rep *results.Report, opts TableOptions) error {
	if opts.View == BySummary {
		writeSummaryView(w, rep, opts)
		return nil
	}
	sum := Summarize(rep)
	switch opts.View {
	case ByItem:
		itemTable(w, sum)
	default:
		assetTable(w, sum)
	}
	findingsTable(w, rep)
	failuresTable(w, rep)
	summaryTable(w, rep, sum)
	return nil
}

func newTable(w io.Writer, title string) table.Writer {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleLight)
	t.SetTitle(title)
	return t
}

func assetTable(w io.Writer, sum Summary) {
	t := newTable(w, "Assets")
	t.AppendHeader(table.Row{"Type", "Asset", "Id", "Passed", "Failed", "Manual", "N/A", "Check failed", "Result"})
	for _, a := range sum.Assets {
		res := strings.TrimPrefix(string(a.Result), "RESULT_")
		if a.ScanFailed {
			res = "SCAN FAILED"
		}
		t.AppendRow(table.Row{a.Asset.Type.Short(), truncate(a.Asset.Name, 40), a.Asset.ID, a.Passed, a.Failed, a.Manual, a.NotApplicable, a.CheckFailed, res})
	}
	t.AppendFooter(table.Row{"total", fmt.Sprintf("%d assets", len(sum.Assets)), "", sum.Total.Passed, sum.Total.Failed, sum.Total.Manual, sum.Total.NotApplicable, sum.Total.CheckFailed, ""})
	t.Render()
}

func itemTable(w io.Writer, sum Summary) {
	t := newTable(w, "Items")
	t.AppendHeader(table.Row{"Id", "Standard", "No.", "Title", "Asset type", "Risk", "Passed", "Failed", "Manual", "N/A", "Check failed"})
	for _, ir := range sum.Items {
		it := ir.Item
		t.AppendRow(table.Row{it.ID, it.Standard.ID, it.Number, truncate(it.Title, 60), it.AssetType.Short(), it.Risk.Short(), ir.Passed, ir.Failed, ir.Manual, ir.NotApplicable, ir.CheckFailed})
	}
	t.AppendFooter(table.Row{"total", "", "", fmt.Sprintf("%d items", len(sum.Items)), "", "", sum.Total.Passed, sum.Total.Failed, sum.Total.Manual, sum.Total.NotApplicable, sum.Total.CheckFailed})
	t.Render()
}

// findingsTable lists failed results and checks that could not be carried
// out, with the evidence that decided them.
func findingsTable(w io.Writer, rep *results.Report) {
	f := newFindings(rep.Items)
	names := map[uint64]assets.Asset{}
	for _, a := range rep.Assets {
		names[a.ID] = a
	}
	for i := range rep.Results {
		f.add(names[rep.Results[i].AssetID], &rep.Results[i])
	}
	_ = f.write(w)
}

// findingsChunk is how many rows of findings are laid out as one table: a
// scan with more findings lists them in tables of this many rows, each
// written out once full (go-pretty sizes a table's columns from all of
// its rows).
const findingsChunk = 500

// findings lays out the findings table as its results come: a chunk of
// rows at a time, the full chunks written to a spool (an unnamed temporary
// file) once one is needed.
type findings struct {
	items map[uint64]*checks.Item
	rows  []table.Row
	n     int
	dir   string // of the spool
	spool *os.File
	err   error
}

func newFindings(items []*checks.Item) *findings {
	f := &findings{items: make(map[uint64]*checks.Item, len(items))}
	for _, it := range items {
		f.items[it.ID] = it
	}
	return f
}

// add takes one result on asset a: a row when it failed or could not be
// carried out.
func (f *findings) add(a assets.Asset, r *results.Result) {
	if r.Status != checks.CheckFailed && r.Result != checks.ResultFailed {
		return
	}
	it := f.items[r.ItemID]
	if it == nil {
		return
	}
	status, evidence := "FAILED", failingEvidence(r.Verdict)
	if r.Status == checks.CheckFailed {
		status, evidence = "CHECK FAILED", r.Reason
	}
	f.rows = append(f.rows, table.Row{truncate(a.Type.Short()+" "+a.Name, 30), it.Number, it.Risk.Short(), truncate(it.Title, 50), status, truncate(evidence, 160)})
	f.n++
	if len(f.rows) == findingsChunk {
		f.flush()
	}
}

// flush writes the full chunk to the spool.
func (f *findings) flush() {
	if f.err != nil {
		f.rows = f.rows[:0]
		return
	}
	if f.spool == nil {
		if f.spool, f.err = os.CreateTemp(f.dir, "baseline-findings-*"); f.err != nil {
			return
		}
		if f.err = os.Remove(f.spool.Name()); f.err != nil {
			return
		}
	}
	bw := bufio.NewWriter(f.spool)
	f.render(bw, true)
	f.err = bw.Flush()
}

// render lays out the rows held as a table, and drops them; one of several
// (chunked) is titled with the range of findings it lists.
func (f *findings) render(w io.Writer, chunked bool) {
	title := "Findings"
	if chunked {
		title = fmt.Sprintf("Findings %d to %d of the scan", f.n-len(f.rows)+1, f.n)
	}
	t := newTable(w, title)
	t.AppendHeader(table.Row{"Asset", "Item", "Risk", "Title", "Status", "Evidence"})
	t.SetColumnConfigs([]table.ColumnConfig{{Number: 6, WidthMax: 60, WidthMaxEnforcer: text.WrapSoft}})
	t.AppendRows(f.rows)
	t.Render()
	clear(f.rows)
	f.rows = f.rows[:0]
}

// write writes the findings: the spooled tables, then the rows held.
func (f *findings) write(w io.Writer) error {
	if f.spool != nil {
		defer f.spool.Close()
	}
	if f.err != nil {
		return fmt.Errorf("findings spool: %w", f.err)
	}
	if f.n == 0 {
		fmt.Fprintln(w, "No findings.")
		return nil
	}
	if f.spool != nil {
		if _, err := f.spool.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("findings spool: %w", err)
		}
		if _, err := io.Copy(w, f.spool); err != nil {
			return fmt.Errorf("findings spool: %w", err)
		}
	}
	if len(f.rows) > 0 {
		f.render(w, f.spool != nil)
	}
	return nil
}

func failingEvidence(v checks.Verdict) string {
	for _, e := range v.Evidence {
		if !e.Passed {
			return fmt.Sprintf("%s: %s (expected %s)", e.Subject, e.Actual, e.Expected)
		}
	}
	if len(v.Evidence) > 0 {
		e := v.Evidence[0]
		return fmt.Sprintf("%s: %s", e.Subject, e.Actual)
	}
	return v.Reason
}

// failuresTable lists the assets whose scan failed, with the reason and
// what to do about it.
func failuresTable(w io.Writer, rep *results.Report) {
	if len(rep.Failures) == 0 {
		return
	}
	names := map[uint64]string{}
	for _, a := range rep.Assets {
		names[a.ID] = a.Type.Short() + " " + a.Name
	}
	t := newTable(w, "Scan-failed assets")
	t.AppendHeader(table.Row{"Asset", "Reason", "Suggestion"})
	t.SetColumnConfigs([]table.ColumnConfig{{Number: 2, WidthMax: 70, WidthMaxEnforcer: text.WrapSoft}, {Number: 3, WidthMax: 50, WidthMaxEnforcer: text.WrapSoft}})
	for _, f := range rep.Failures {
		t.AppendRow(table.Row{truncate(names[f.AssetID], 30), f.Reason, f.Suggestion})
	}
	t.Render()
}

func summaryTable(w io.Writer, rep *results.Report, sum Summary) {
	title := fmt.Sprintf("Summary: %s, %.2fs", standardsLine(rep), rep.FinishedAt.Sub(rep.StartedAt).Seconds())
	t := newTable(w, title)
	t.AppendHeader(table.Row{"Asset type", "Assets", "Passed", "Failed", "Scan failed", "Pass rate", "Passed items", "Failed items", "Critical", "High", "Medium", "Low", "Notice"})
	t.SetColumnConfigs([]table.ColumnConfig{{Number: 6, Align: text.AlignRight}})
	for _, ts := range sum.Types {
		t.AppendRow(table.Row{ts.AssetType.Short(), ts.AssetCount, ts.PassedAssetCount, ts.FailedAssetCount, ts.ScanFailedAssets,
			fmt.Sprintf("%.1f%%", 100*ts.AssetPassRate), ts.PassedItemCount, ts.FailedItemCount,
			ts.FailedByRisk[checks.RiskCritical], ts.FailedByRisk[checks.RiskHigh], ts.FailedByRisk[checks.RiskMedium],
			ts.FailedByRisk[checks.RiskLow], ts.FailedByRisk[checks.RiskNotice]})
	}
	t.Render()
}

func standardsLine(rep *results.Report) string {
	var s []string
	for _, st := range rep.Standards {
		s = append(s, st.ID)
	}
	if len(s) == 0 {
		return "no standard"
	}
	return strings.Join(s, ", ")
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
