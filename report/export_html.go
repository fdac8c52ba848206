package report

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// HTMLEncoder writes the export as one self-contained HTML file for
// auditors: a cover, the summary figures with charts drawn as inline SVG,
// every finding grouped by item or by asset, the waivers, and the
// integrity digests in the footer. It loads nothing (no script, stylesheet,
// font or image from anywhere) and prints to PDF (A4, a page break before
// each major section). Rows are streamed: a group starts when the grouping
// key changes, and no more than one row is held at a time.
type HTMLEncoder struct{}

// Format implements Encoder.
func (HTMLEncoder) Format() string { return "html" }

// Ext implements Encoder.
func (HTMLEncoder) Ext() string { return ".html" }

//go:embed templates/export.html.tmpl
var htmlTemplateFS embed.FS

// htmlTemplate is parsed on first use, not at start-up: a daemon or a
// scan that writes no HTML does not hold it.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("export.html.tmpl").ParseFS(htmlTemplateFS, "templates/export.html.tmpl"))
})

// htmlTrailer closes the footer opened by the "tail" template: the two
// digests, visible, then the end of the document. It is the only place
// where the markers appear (see htmlGuard).
const htmlTrailer = `<p>Results digest:<code data-digest="results">{results}</code>Content digest:<code data-digest="content">{content}</code></p>
</footer>
</body>
</html>
`

// Encode implements Encoder.
func (HTMLEncoder) Encode(ctx context.Context, w io.Writer, src Source, in *Integrity) error {
	m := src.Meta()
	out := newHTMLGuard(in.Writer())
	if err := htmlTemplate().ExecuteTemplate(out, "head", newHTMLView(m)); err != nil {
		return err
	}
	byItem := m.By == ByItemGroup
	var (
		open       bool
		key        uint64
		group, all outcomeTally
		rows       int
	)
	endGroup := func() error {
		if !open {
			return nil
		}
		open = false
		return htmlTemplate().ExecuteTemplate(out, "groupEnd", group.String())
	}
	err := src.Rows(ctx, func(r results.Row) error {
		in.AddRow(r)
		rows++
		if k := groupKey(r, byItem); !open || k != key {
			if err := endGroup(); err != nil {
				return err
			}
			open, key, group = true, k, outcomeTally{}
			if err := htmlTemplate().ExecuteTemplate(out, "groupStart", htmlGroup{ByItem: byItem, Row: &r}); err != nil {
				return err
			}
		}
		o := r.Outcome()
		i := outcomeSlot(o)
		group[i]++
		all[i]++
		out.row(&r, o, i, byItem)
		return out.err
	})
	if err != nil {
		return err
	}
	if err := endGroup(); err != nil {
		return err
	}
	tail := struct {
		Rows    int
		Tally   string
		Waivers []htmlWaiver
	}{rows, all.String(), htmlWaivers(m.Waivers)}
	if err := htmlTemplate().ExecuteTemplate(out, "tail", tail); err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return err
	}
	_, err = in.Finish(w, htmlTrailer)
	return err
}

// htmlGroup starts a group with its first row.
type htmlGroup struct {
	ByItem bool
	*results.Row
}

// row writes one result as a table row, one line of compact markup: at
// 1.5 million rows, html/template's reflection would cost tens of seconds,
// so the markup is written here and every text is escaped with
// html/template's HTMLEscapeString. The row's cells: the asset (item
// grouping: with its id and node) or the item (asset grouping: with its
// standard, risk and id), the check time and the task; the outcome; the reason; the evidence; and, grouped by asset,
// the remediation of a failed row (grouped by item, the group shows it).
// oi is the outcome's slot in outcomeWords: the class is one of a fixed list.
func (g *htmlGuard) row(r *results.Row, outcome string, oi int, byItem bool) {
	class := "OTHER"
	if oi < len(outcomeWords) {
		class = outcomeWords[oi]
	}
	g.str("\n<tr class=")
	g.str(class)
	g.str("><td>")
	if byItem {
		g.text(r.AssetName)
		g.str("<small>#")
		g.uint(r.AssetID)
		g.str(" · ")
		g.text(r.NodeName)
	} else {
		g.text(r.Number)
		g.str(" ")
		g.text(r.Title)
		g.str("<small>")
		g.text(r.StandardID)
		g.str(" · risk ")
		g.text(r.Risk.Short())
		g.str(" · item ")
		g.uint(r.ItemID)
	}
	g.str(" · ")
	g.text(r.CheckedAt)
	g.str(" · task ")
	g.buf = strconv.AppendInt(g.buf, r.TaskID, 10)
	g.str("</small><td>")
	g.text(outcome)
	g.str("<td>")
	g.text(r.Reason)
	g.str("<td>")
	g.evidence(r.Evidence)
	if !byItem && r.Result == checks.ResultFailed && r.Status != checks.CheckFailed && r.Remediation != "" {
		g.str("<p class=fix><b>Remediation:</b> ")
		g.text(r.Remediation)
	}
	if len(g.buf) >= htmlGuardChunk {
		g.flush(false)
	}
}

// evidence writes a row's observations as a list, each marked passed (✓)
// or failed (✗); nothing when there are none.
func (g *htmlGuard) evidence(ev []checks.Evidence) {
	if len(ev) == 0 {
		return
	}
	g.str("<ul>")
	for _, e := range ev {
		if e.Passed {
			g.str("<li class=y>✓ ")
		} else {
			g.str("<li class=n>✗ ")
		}
		g.text(e.Source)
		if e.Subject != "" {
			g.str(" <code>")
			g.text(e.Subject)
			g.str("</code>")
		}
		g.str(": <code>")
		g.text(e.Actual)
		g.str("</code>; expected ")
		g.text(e.Expected)
	}
	g.str("</ul>")
}

// htmlView is what the "head" template shows: the cover, the summary
// table and the charts.
type htmlView struct {
	Cover     htmlCover
	GroupNoun string
	Types     []string
	Figures   []htmlFigureRow
	PassRate  htmlBarChart
	Risk      htmlBarChart
	Trend     htmlTrend
}

type htmlCover struct {
	Scope, Grouping, AssetType, IDs, Tool, Hosts, From, To, Tasks, GeneratedAt, Schema string
	Standards                                                                          []StandardInfo
	ResultCount                                                                        int
}

type htmlFigureRow struct {
	Label string
	Cells []htmlFigure
}

// htmlFigure is one summary figure; Key ("container-pass-rate") is its
// data-figure attribute.
type htmlFigure struct {
	Key, Value string
}

func newHTMLView(m Meta) htmlView {
	v := htmlView{Cover: newHTMLCover(m), GroupNoun: "asset"}
	if m.By == ByItemGroup {
		v.GroupNoun = "item"
	}
	for _, s := range m.Summary {
		v.Types = append(v.Types, s.AssetType.Short())
	}
	for _, f := range htmlSummaryFigures {
		row := htmlFigureRow{Label: f.label}
		for _, s := range m.Summary {
			row.Cells = append(row.Cells, htmlFigure{Key: s.AssetType.Short() + "-" + f.key, Value: f.value(s)})
		}
		v.Figures = append(v.Figures, row)
	}
	v.PassRate = htmlPassRateChart(m.Summary)
	v.Risk = htmlRiskChart(m.Summary)
	v.Trend = htmlTrendChart(m.Trend)
	return v
}

func newHTMLCover(m Meta) htmlCover {
	c := htmlCover{Grouping: "by asset", AssetType: "all asset types", IDs: "everything in scope",
		Tool: toolName(m.Tool), Hosts: orDefault(strings.Join(m.Hosts, ", "), "none"),
		From: orDefault(FormatTime(m.From), htmlDash), To: orDefault(FormatTime(m.To), htmlDash), GeneratedAt: FormatTime(m.GeneratedAt),
		Schema: m.SchemaVersion, Standards: m.Standards, ResultCount: m.ResultCount}
	noun := "assets"
	if m.By == ByItemGroup {
		c.Grouping, noun = "by item", "items"
	}
	if m.AssetType != "" {
		c.AssetType = m.AssetType.Short()
	}
	if len(m.IDs) > 0 {
		c.IDs = noun + " " + joinIDs(m.IDs)
	}
	c.Tasks = orDefault(joinTaskIDs(m.TaskIDs), "none")
	c.Scope = c.AssetType + ", " + c.IDs + ", " + c.Grouping
	return c
}

// htmlDash stands for a value that is missing.
const htmlDash = "—"

// htmlSummaryFigures are the summary table's rows, each a figure of
// store.AssetSummary shown exactly as it is.
var htmlSummaryFigures = []struct {
	key, label string
	value      func(store.AssetSummary) string
}{
	{"assets", "Assets", func(s store.AssetSummary) string { return strconv.Itoa(s.AssetCount) }},
	{"passed-assets", "Passed assets", func(s store.AssetSummary) string { return strconv.Itoa(s.PassedAssetCount) }},
	{"failed-assets", "Failed assets", func(s store.AssetSummary) string { return strconv.Itoa(s.FailedAssetCount) }},
	{"scan-failed-assets", "Scan-failed assets", func(s store.AssetSummary) string { return strconv.Itoa(s.ScanFailedAssetCount) }},
	{"pass-rate", "Pass rate", func(s store.AssetSummary) string { return htmlPercent(s.AssetPassedRate) }},
	{"passed-items", "Passed items", func(s store.AssetSummary) string { return strconv.Itoa(s.PassedPolicyItemCount) }},
	{"failed-items", "Failed items", func(s store.AssetSummary) string { return strconv.Itoa(s.FailedPolicyItemCount) }},
	{"failed-critical", "Failed: critical", func(s store.AssetSummary) string { return strconv.Itoa(s.FailedCriticalPolicyItemCount) }},
	{"failed-high", "Failed: high", func(s store.AssetSummary) string { return strconv.Itoa(s.FailedHighRiskPolicyItemCount) }},
	{"failed-medium", "Failed: medium", func(s store.AssetSummary) string { return strconv.Itoa(s.FailedMediumRiskPolicyItemCount) }},
	{"failed-low", "Failed: low", func(s store.AssetSummary) string { return strconv.Itoa(s.FailedLowRiskPolicyItemCount) }},
	{"notice-items", "Notice items", func(s store.AssetSummary) string { return strconv.Itoa(s.NoticePolicyItemCount) }},
	{"ignored-items", "Ignored items", func(s store.AssetSummary) string { return strconv.Itoa(s.IgnoredPolicyItemCount) }},
	{"total-items", "Items in all", func(s store.AssetSummary) string { return strconv.Itoa(s.TotalPolicyItemCount) }},
	{"hosts", "Hosts", func(s store.AssetSummary) string { return strconv.Itoa(s.DetectHostCount) }},
	{"last-check", "Last check", func(s store.AssetSummary) string { return orDefault(s.LastCheckTime, htmlDash) }},
	{"cost", "Check time", func(s store.AssetSummary) string { return strconv.FormatFloat(s.CheckCostTime, 'f', -1, 64) + " s" }},
}

// htmlPercent shows a rate as stored: 42.5 is "42.5%", 100 is "100%".
func htmlPercent(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "%" }

// htmlWaiver is a waiver as the waivers table shows it.
type htmlWaiver struct {
	ID                                                                             int64
	ItemID                                                                         uint64
	Item, Standard, AssetType, Assets, Reason, By, Added, Updated, Expires, Status string
	Lapsed                                                                         bool
}

func htmlWaivers(ws []store.WhitelistEntry) []htmlWaiver {
	out := make([]htmlWaiver, 0, len(ws))
	for _, w := range ws {
		v := htmlWaiver{ID: w.ID, ItemID: w.ItemID, Item: w.ItemName, Standard: w.StandardName, AssetType: w.AssetType.Short(),
			Reason: w.Reason, By: w.CreatedBy, Added: orDefault(w.InsertTime, htmlDash), Updated: orDefault(w.UpdateTime, htmlDash), Expires: w.ExpiresAt,
			Lapsed: w.Lapsed, Status: "in force"}
		if v.Standard == "" {
			v.Standard = w.StandardID
		} else if w.StandardID != "" {
			v.Standard += " (" + w.StandardID + ")"
		}
		switch {
		case w.AllAssets:
			v.Assets = "all assets"
		case len(w.AssetIDs) > 0:
			v.Assets = joinIDs(w.AssetIDs)
		default:
			v.Assets = fmt.Sprintf("%d assets", w.AssetCount)
		}
		if v.Expires == "" {
			v.Expires = "never"
		}
		if w.Lapsed {
			v.Status = "lapsed"
		}
		out = append(out, v)
	}
	return out
}
