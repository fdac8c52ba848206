package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/store"
)

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
	ax := c.axis(htmlTrendTasks(points))
	types := htmlTrendTypes(points)
	every := (len(ax.tasks) + 11) / 12 // at most 12 labels
	for i, t := range ax.tasks {
		if i%every == 0 || i == len(ax.tasks)-1 {
			c.Ticks = append(c.Ticks, htmlTaskTick{X: ax.xs[i], Task: t.id, Date: htmlShortDate(t.done)})
		}
	}
	for _, v := range []float64{0, 25, 50, 75, 100} {
		y := c.yOf(v)
		c.Grid = append(c.Grid, htmlTick{Y: y, TextY: y + 4, Label: htmlPercent(v)})
	}
	cells := make([][]string, len(ax.tasks))
	for i := range cells {
		cells[i] = make([]string, len(types))
		for j := range cells[i] {
			cells[i][j] = "—"
		}
	}
	for j, t := range types {
		c.addType(t, points, ax, cells, j)
	}
	for i, t := range ax.tasks {
		c.Rows = append(c.Rows, htmlTrendRow{Task: t.id, Finished: t.done, Cells: cells[i]})
	}
	return c
}

// htmlTrendTask is a task on the trend chart's x axis.
type htmlTrendTask struct {
	id   int64
	done string
	at   int64
}

// htmlTrendTasks lists the points' tasks in the order they finished.
func htmlTrendTasks(points []TrendPoint) []htmlTrendTask {
	seen := map[int64]bool{}
	var tasks []htmlTrendTask
	for _, p := range points {
		if !seen[p.TaskID] {
			seen[p.TaskID] = true
			tasks = append(tasks, htmlTrendTask{id: p.TaskID, done: FormatTime(p.FinishedAt), at: p.FinishedAt.UnixNano()})
		}
	}
	sort.Slice(tasks, func(i, j int) bool {
		if tasks[i].at != tasks[j].at {
			return tasks[i].at < tasks[j].at
		}
		return tasks[i].id < tasks[j].id
	})
	return tasks
}

// htmlTrendTypes lists the points' asset types in report order (assets.Types),
// then any other by name.
func htmlTrendTypes(points []TrendPoint) []assets.Type {
	typesSeen := map[assets.Type]bool{}
	for _, p := range points {
		typesSeen[p.AssetType] = true
	}
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
	return append(types, extra...)
}

// htmlTrendAxis is the trend chart's x axis: the tasks, where each is
// drawn, and each task id's position in tasks.
type htmlTrendAxis struct {
	tasks []htmlTrendTask
	xs    []float64
	index map[int64]int
}

func (c htmlTrend) axis(tasks []htmlTrendTask) htmlTrendAxis {
	ax := htmlTrendAxis{tasks: tasks, xs: make([]float64, len(tasks)), index: map[int64]int{}}
	for i, t := range tasks {
		ax.index[t.id] = i
		ax.xs[i] = (c.X0 + c.X1) / 2
		if len(tasks) > 1 {
			ax.xs[i] = htmlRound1(c.X0 + 16 + (c.X1-c.X0-32)*float64(i)/float64(len(tasks)-1))
		}
	}
	return ax
}

// addType draws asset type t's line and points, and fills in its column j
// of the table's cells (one row per task).
func (c *htmlTrend) addType(t assets.Type, points []TrendPoint, ax htmlTrendAxis, cells [][]string, j int) {
	byTask := map[int]TrendPoint{}
	for _, p := range points {
		if p.AssetType == t {
			byTask[ax.index[p.TaskID]] = p
		}
	}
	var pts []string
	for i := range ax.tasks {
		p, ok := byTask[i]
		if !ok {
			continue
		}
		x, y := ax.xs[i], c.yOf(p.PassRate)
		pts = append(pts, strconv.FormatFloat(x, 'f', -1, 64)+","+strconv.FormatFloat(y, 'f', -1, 64))
		text := htmlPercent(p.PassRate)
		c.Points = append(c.Points, htmlPoint{X: x, Y: y, Value: p.PassRate, Task: p.TaskID, Key: t.Short(), Label: t.Short(),
			Color: htmlTypeColor(t), Date: ax.tasks[i].done, Text: text})
		cells[i][j] = fmt.Sprintf("%s (%d / %d)", text, p.Passed, p.Failed)
	}
	line := htmlLine{Label: t.Short(), Color: htmlTypeColor(t)}
	if len(pts) > 1 {
		line.Polyline = strings.Join(pts, " ")
	}
	c.Lines = append(c.Lines, line)
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
