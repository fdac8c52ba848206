package report

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/baselinehq/baseline/assets"
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

var htmlTemplate = template.Must(template.New("export.html.tmpl").ParseFS(htmlTemplateFS, "templates/export.html.tmpl"))

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
	if err := htmlTemplate.ExecuteTemplate(out, "head", newHTMLView(m)); err != nil {
		return err
	}
	byItem := m.By == ByItemGroup
	var (
		open       bool
		key        uint64
		group, all htmlTally
		rows       int
	)
	endGroup := func() error {
		if !open {
			return nil
		}
		open = false
		return htmlTemplate.ExecuteTemplate(out, "groupEnd", group.String())
	}
	err := src.Rows(ctx, func(r results.Row) error {
		in.AddRow(r)
		rows++
		k := r.AssetID
		if byItem {
			k = r.ItemID
		}
		if !open || k != key {
			if err := endGroup(); err != nil {
				return err
			}
			open, key, group = true, k, htmlTally{}
			if err := htmlTemplate.ExecuteTemplate(out, "groupStart", htmlGroup{ByItem: byItem, Row: &r}); err != nil {
				return err
			}
		}
		o := r.Outcome()
		i := htmlOutcomeIndex(o)
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
	if err := htmlTemplate.ExecuteTemplate(out, "tail", tail); err != nil {
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

// htmlOutcomes lists Row.Outcome's words in the order a tally shows them.
var htmlOutcomes = []string{"PASSED", "FAILED", "IGNORED", "MANUAL", "NOT_APPLICABLE", "CHECK_FAILED"}

// htmlTally counts rows by outcome; the last slot counts anything else.
type htmlTally [7]int

// htmlOutcomeIndex is o's slot in an htmlTally.
func htmlOutcomeIndex(o string) int {
	for i, w := range htmlOutcomes {
		if w == o {
			return i
		}
	}
	return len(htmlOutcomes)
}

func (t htmlTally) String() string {
	var parts []string
	for i, n := range t {
		if n == 0 {
			continue
		}
		name := "other"
		if i < len(htmlOutcomes) {
			name = htmlOutcomes[i]
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, name))
	}
	if len(parts) == 0 {
		return "no results"
	}
	return strings.Join(parts, " · ")
}

// htmlGuard buffers the export's output and writes every "sha256=" in it
// as "sha256&#61;", which a browser shows the same. Text taken from assets,
// items or waivers then can never carry a digest marker: the only markers
// in the file are the trailer's, which Integrity.Finish writes past this
// writer, so `baseline report verify` cannot be pointed at a digest that an
// asset name planted.
type htmlGuard struct {
	w   io.Writer
	buf []byte
	err error
}

var (
	htmlGuardFrom = []byte("sha256=")
	htmlGuardTo   = []byte("sha256&#61;")
)

const htmlGuardChunk = 64 << 10

func newHTMLGuard(w io.Writer) *htmlGuard {
	return &htmlGuard{w: w, buf: make([]byte, 0, htmlGuardChunk+4096)}
}

func (g *htmlGuard) Write(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	g.buf = append(g.buf, p...)
	if len(g.buf) >= htmlGuardChunk {
		g.flush(false)
	}
	return len(p), g.err
}

// Flush writes everything buffered.
func (g *htmlGuard) Flush() error {
	if g.err == nil {
		g.flush(true)
	}
	return g.err
}

// flush writes the buffer out with the markers defused; unless all, it
// keeps the last bytes that could begin a match with the next write.
func (g *htmlGuard) flush(all bool) {
	end := len(g.buf)
	if !all {
		end -= len(htmlGuardFrom) - 1
	}
	pos := 0
	for g.err == nil {
		i := bytes.Index(g.buf[pos:], htmlGuardFrom)
		if i < 0 || pos+i >= end {
			break
		}
		g.write(g.buf[pos : pos+i])
		g.write(htmlGuardTo)
		pos += i + len(htmlGuardFrom)
	}
	stop := max(pos, end)
	g.write(g.buf[pos:stop])
	g.buf = g.buf[:copy(g.buf, g.buf[stop:])]
}

// row writes one result as a table row, one line of compact markup: at
// 1.5 million rows, html/template's reflection would cost tens of seconds,
// so the markup is written here and every text is escaped with
// html/template's HTMLEscapeString. The row's cells: the asset (item
// grouping: with its id and node) or the item (asset grouping: with its
// standard, risk and id), the check time and the task; the outcome; the reason; the evidence; and, grouped by asset,
// the remediation of a failed row (grouped by item, the group shows it).
// oi is the outcome's slot in htmlOutcomes: the class is one of a fixed list.
func (g *htmlGuard) row(r *results.Row, outcome string, oi int, byItem bool) {
	class := "OTHER"
	if oi < len(htmlOutcomes) {
		class = htmlOutcomes[oi]
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
	if len(r.Evidence) > 0 {
		g.str("<ul>")
		for _, e := range r.Evidence {
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
	if !byItem && r.Result == checks.ResultFailed && r.Status != checks.CheckFailed && r.Remediation != "" {
		g.str("<p class=fix><b>Remediation:</b> ")
		g.text(r.Remediation)
	}
	if len(g.buf) >= htmlGuardChunk {
		g.flush(false)
	}
}

func (g *htmlGuard) str(s string)  { g.buf = append(g.buf, s...) }
func (g *htmlGuard) text(s string) { g.buf = append(g.buf, template.HTMLEscapeString(s)...) }
func (g *htmlGuard) uint(n uint64) { g.buf = strconv.AppendUint(g.buf, n, 10) }

func (g *htmlGuard) write(p []byte) {
	if g.err == nil && len(p) > 0 {
		_, g.err = g.w.Write(p)
	}
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
		Tool: strings.TrimSpace(m.Tool.Name + " " + m.Tool.Version), Hosts: htmlOrNone(strings.Join(m.Hosts, ", ")),
		From: htmlOrDash(FormatTime(m.From)), To: htmlOrDash(FormatTime(m.To)), GeneratedAt: FormatTime(m.GeneratedAt),
		Schema: m.SchemaVersion, Standards: m.Standards, ResultCount: m.ResultCount}
	noun := "assets"
	if m.By == ByItemGroup {
		c.Grouping, noun = "by item", "items"
	}
	if m.AssetType != "" {
		c.AssetType = m.AssetType.Short()
	}
	if len(m.IDs) > 0 {
		ids := make([]string, len(m.IDs))
		for i, id := range m.IDs {
			ids[i] = Itoa(id)
		}
		c.IDs = noun + " " + strings.Join(ids, ", ")
	}
	tasks := make([]string, len(m.TaskIDs))
	for i, id := range m.TaskIDs {
		tasks[i] = strconv.FormatInt(id, 10)
	}
	c.Tasks = htmlOrNone(strings.Join(tasks, ", "))
	c.Scope = c.AssetType + ", " + c.IDs + ", " + c.Grouping
	return c
}

func htmlOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func htmlOrDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

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
	{"last-check", "Last check", func(s store.AssetSummary) string { return htmlOrDash(s.LastCheckTime) }},
	{"cost", "Check time", func(s store.AssetSummary) string { return strconv.FormatFloat(s.CheckCostTime, 'f', -1, 64) + " s" }},
}

// htmlPercent shows a rate as stored: 42.5 is "42.5%", 100 is "100%".
func htmlPercent(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "%" }

// Chart colours: light enough to print, distinct in grey too.
var (
	htmlTypeColors = map[assets.Type]string{assets.Host: "#2563eb", assets.Container: "#16a34a", assets.Image: "#9333ea", assets.K8s: "#d97706"}
	htmlRiskColors = map[checks.Risk]string{checks.RiskCritical: "#991b1b", checks.RiskHigh: "#dc2626", checks.RiskMedium: "#f59e0b",
		checks.RiskLow: "#3b82f6", checks.RiskNotice: "#9ca3af"}
)

func htmlTypeColor(t assets.Type) string {
	if c, ok := htmlTypeColors[t]; ok {
		return c
	}
	return "#6b7280"
}

// htmlBarChart is a horizontal bar chart's geometry, in SVG user units.
type htmlBarChart struct {
	W, H, X0, AxisY, TickY float64
	Bars                   []htmlBar
	Grid                   []htmlTick
}

type htmlBar struct {
	Label, Key, Text, Color              string
	Value                                float64
	X, Y, W, BarH, LabelX, ValueX, TextY float64
}

type htmlTick struct {
	X, Y, TextY float64
	Label       string
}

const (
	htmlBarW     = 560.0 // chart width
	htmlBarX0    = 92.0  // where bars start
	htmlBarMax   = 400.0 // the longest bar
	htmlBarH     = 22.0
	htmlBarPitch = 32.0
)

// htmlBars lays out bars whose values run from 0 to max.
func htmlBars(bars []htmlBar, maxValue float64, ticks []float64, tickText func(float64) string) htmlBarChart {
	c := htmlBarChart{W: htmlBarW, X0: htmlBarX0}
	for i := range bars {
		b := &bars[i]
		b.X, b.Y, b.BarH = htmlBarX0, 6+float64(i)*htmlBarPitch, htmlBarH
		if maxValue > 0 {
			b.W = htmlRound1(htmlBarMax * b.Value / maxValue)
		}
		b.LabelX, b.ValueX, b.TextY = htmlBarX0-8, htmlBarX0+b.W+6, b.Y+htmlBarH/2+4
	}
	c.AxisY = 6 + float64(len(bars))*htmlBarPitch
	c.TickY = c.AxisY + 14
	c.H = c.TickY + 6
	for _, t := range ticks {
		x := htmlBarX0
		if maxValue > 0 {
			x = htmlRound1(htmlBarX0 + htmlBarMax*t/maxValue)
		}
		c.Grid = append(c.Grid, htmlTick{X: x, Label: tickText(t)})
	}
	c.Bars = bars
	return c
}

func htmlPassRateChart(sum []store.AssetSummary) htmlBarChart {
	var bars []htmlBar
	for _, s := range sum {
		bars = append(bars, htmlBar{Label: s.AssetType.Short(), Key: s.AssetType.Short(), Value: s.AssetPassedRate,
			Text: htmlPercent(s.AssetPassedRate), Color: htmlTypeColor(s.AssetType)})
	}
	return htmlBars(bars, 100, []float64{0, 25, 50, 75, 100}, func(v float64) string { return htmlPercent(v) })
}

func htmlRiskChart(sum []store.AssetSummary) htmlBarChart {
	levels := []struct {
		risk  checks.Risk
		count func(store.AssetSummary) int
	}{
		{checks.RiskCritical, func(s store.AssetSummary) int { return s.FailedCriticalPolicyItemCount }},
		{checks.RiskHigh, func(s store.AssetSummary) int { return s.FailedHighRiskPolicyItemCount }},
		{checks.RiskMedium, func(s store.AssetSummary) int { return s.FailedMediumRiskPolicyItemCount }},
		{checks.RiskLow, func(s store.AssetSummary) int { return s.FailedLowRiskPolicyItemCount }},
		{checks.RiskNotice, func(s store.AssetSummary) int { return s.NoticePolicyItemCount }},
	}
	var bars []htmlBar
	top := 0
	for _, l := range levels {
		n := 0
		for _, s := range sum {
			n += l.count(s)
		}
		top = max(top, n)
		bars = append(bars, htmlBar{Label: l.risk.Short(), Key: l.risk.Short(), Value: float64(n), Text: strconv.Itoa(n), Color: htmlRiskColors[l.risk]})
	}
	// Ticks at round counts: the scale's top is the next multiple of a step.
	step := htmlNiceStep(float64(top) / 4)
	scale := step * math.Ceil(float64(top)/step)
	var ticks []float64
	for t := 0.0; t <= scale+step/2; t += step {
		ticks = append(ticks, t)
	}
	return htmlBars(bars, scale, ticks, func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) })
}

// htmlNiceStep rounds a tick step up to 1, 2 or 5 times a power of ten (at
// least 1: counts are whole).
func htmlNiceStep(raw float64) float64 {
	if raw <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= raw {
			return f * p
		}
	}
	return 10 * p
}

func htmlRound1(v float64) float64 { return math.Round(v*10) / 10 }

// htmlTrend is the trend chart: a line per asset type over the tasks, and
// the same figures as a table.
type htmlTrend struct {
	W, H, X0, X1, Y1, LabelX, TaskY, DateY float64
	Grid                                   []htmlTick
	Ticks                                  []htmlTaskTick
	Lines                                  []htmlLine
	Points                                 []htmlPoint
	Rows                                   []htmlTrendRow
}

type htmlTaskTick struct {
	X    float64
	Task int64
	Date string
}

type htmlLine struct {
	Label, Color, Polyline string
}

type htmlPoint struct {
	X, Y, Value                   float64
	Task                          int64
	Key, Label, Color, Date, Text string
}

type htmlTrendRow struct {
	Task     int64
	Finished string
	Cells    []string
}

func htmlTrendChart(points []TrendPoint) htmlTrend {
	c := htmlTrend{W: 900, H: 250, X0: 48, X1: 880, Y1: 200, LabelX: 42}
	c.TaskY, c.DateY = c.Y1+16, c.Y1+30
	if len(points) == 0 {
		return c
	}
	// The tasks in the order they finished; each asset type in report order.
	type task struct {
		id   int64
		done string
		at   int64
	}
	seen := map[int64]bool{}
	var tasks []task
	typesSeen := map[assets.Type]bool{}
	for _, p := range points {
		typesSeen[p.AssetType] = true
		if !seen[p.TaskID] {
			seen[p.TaskID] = true
			tasks = append(tasks, task{id: p.TaskID, done: FormatTime(p.FinishedAt), at: p.FinishedAt.UnixNano()})
		}
	}
	sort.Slice(tasks, func(i, j int) bool {
		if tasks[i].at != tasks[j].at {
			return tasks[i].at < tasks[j].at
		}
		return tasks[i].id < tasks[j].id
	})
	var types []assets.Type
	for _, t := range assets.Types {
		if typesSeen[t] {
			types = append(types, t)
			delete(typesSeen, t)
		}
	}
	var extra []assets.Type
	for t := range typesSeen {
		extra = append(extra, t)
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
	types = append(types, extra...)

	index := map[int64]int{}
	xs := make([]float64, len(tasks))
	for i, t := range tasks {
		index[t.id] = i
		xs[i] = (c.X0 + c.X1) / 2
		if len(tasks) > 1 {
			xs[i] = htmlRound1(c.X0 + 16 + (c.X1-c.X0-32)*float64(i)/float64(len(tasks)-1))
		}
	}
	every := (len(tasks) + 11) / 12 // at most 12 labels
	for i, t := range tasks {
		if i%every == 0 || i == len(tasks)-1 {
			c.Ticks = append(c.Ticks, htmlTaskTick{X: xs[i], Task: t.id, Date: htmlShortDate(t.done)})
		}
	}
	for _, v := range []float64{0, 25, 50, 75, 100} {
		y := c.yOf(v)
		c.Grid = append(c.Grid, htmlTick{Y: y, TextY: y + 4, Label: htmlPercent(v)})
	}
	cells := make([][]string, len(tasks))
	for i := range cells {
		cells[i] = make([]string, len(types))
		for j := range cells[i] {
			cells[i][j] = "—"
		}
	}
	for j, t := range types {
		byTask := map[int]TrendPoint{}
		for _, p := range points {
			if p.AssetType == t {
				byTask[index[p.TaskID]] = p
			}
		}
		var pts []string
		for i := range tasks {
			p, ok := byTask[i]
			if !ok {
				continue
			}
			y := c.yOf(p.PassRate)
			pts = append(pts, strconv.FormatFloat(xs[i], 'f', -1, 64)+","+strconv.FormatFloat(y, 'f', -1, 64))
			text := htmlPercent(p.PassRate)
			c.Points = append(c.Points, htmlPoint{X: xs[i], Y: y, Value: p.PassRate, Task: p.TaskID, Key: t.Short(), Label: t.Short(),
				Color: htmlTypeColor(t), Date: tasks[i].done, Text: text})
			cells[i][j] = fmt.Sprintf("%s (%d / %d)", text, p.Passed, p.Failed)
		}
		line := htmlLine{Label: t.Short(), Color: htmlTypeColor(t)}
		if len(pts) > 1 {
			line.Polyline = strings.Join(pts, " ")
		}
		c.Lines = append(c.Lines, line)
	}
	for i, t := range tasks {
		c.Rows = append(c.Rows, htmlTrendRow{Task: t.id, Finished: t.done, Cells: cells[i]})
	}
	return c
}

func (c htmlTrend) yOf(rate float64) float64 {
	return htmlRound1(c.Y1 - (c.Y1-10)*math.Max(0, math.Min(100, rate))/100)
}

// htmlShortDate is the month and day of an RFC 3339 time ("03-14").
func htmlShortDate(t string) string {
	if len(t) >= 10 {
		return t[5:10]
	}
	return t
}

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
			Reason: w.Reason, By: w.CreatedBy, Added: htmlOrDash(w.InsertTime), Updated: htmlOrDash(w.UpdateTime), Expires: w.ExpiresAt,
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
			ids := make([]string, len(w.AssetIDs))
			for i, id := range w.AssetIDs {
				ids[i] = Itoa(id)
			}
			v.Assets = strings.Join(ids, ", ")
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
