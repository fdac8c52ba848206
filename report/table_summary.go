package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
)

// shownAssets is how many asset names a failed item lists before "+N more".
const shownAssets = 3

// defaultWidth is the line width of the summary view when the caller gives
// none (output that is not a terminal); minWidth the narrowest it is laid
// out at.
const (
	defaultWidth = 120
	minWidth     = 60
)

// failedItem is what the summary view keeps of one failed item: counters,
// the first few asset names and the first failure's evidence, never every
// result.
type failedItem struct {
	id     uint64
	item   *checks.Item // set when the view is written
	order  int          // the item's place in the report
	assets int
	names  []string
	first  checks.Verdict
}

// unchecked groups the checks that could not be carried out for one reason.
type unchecked struct {
	reason string
	items  map[uint64]bool
	assets map[uint64]bool
	// reached are the items of the group's checks whose reason is not
	// that the engine was unavailable.
	reached map[uint64]bool
	engine  bool // every item of the group reads the Docker engine (set when written)
}

// summaryView is the summary view's state, filled in one pass over the
// results as they come (add), and completed with the report's items when
// written.
type summaryView struct {
	opts     TableOptions
	failed   map[uint64]*failedItem
	reasons  []*unchecked
	byReason map[string]*unchecked
	manual   map[uint64]bool
	na       map[uint64]bool
	passed   map[uint64]bool
}

// writeSummaryView writes the failed items, grouped by item and worst risk
// first, the checks that could not be carried out, grouped by reason, a
// line counting the other items, and the summary per asset type.
func writeSummaryView(w io.Writer, rep *results.Report, opts TableOptions) {
	v := newSummaryView(opts)
	names := map[uint64]string{}
	for _, a := range rep.Assets {
		names[a.ID] = a.Name
	}
	for i := range rep.Results {
		v.add(names[rep.Results[i].AssetID], &rep.Results[i])
	}
	v.write(w, rep, Summarize(rep))
}

func newSummaryView(opts TableOptions) *summaryView {
	switch {
	case opts.Width <= 0:
		opts.Width = defaultWidth
	case opts.Width < minWidth:
		opts.Width = minWidth
	}
	return &summaryView{opts: opts, failed: map[uint64]*failedItem{}, byReason: map[string]*unchecked{},
		manual: map[uint64]bool{}, na: map[uint64]bool{}, passed: map[uint64]bool{}}
}

// add takes one result on the asset named assetName.
func (v *summaryView) add(assetName string, r *results.Result) {
	switch {
	case r.Status == checks.CheckFailed:
		v.addUnchecked(r)
	case r.Result == checks.ResultFailed:
		f := v.failed[r.ItemID]
		if f == nil {
			f = &failedItem{id: r.ItemID, first: r.Verdict}
			v.failed[r.ItemID] = f
		}
		f.assets++
		if len(f.names) < shownAssets {
			f.names = append(f.names, assetName)
		}
	case r.Result == checks.ResultManual:
		v.manual[r.ItemID] = true
	case r.Result == checks.ResultNotApplicable:
		v.na[r.ItemID] = true
	case r.Result == checks.ResultPassed:
		v.passed[r.ItemID] = true
	}
}

func (v *summaryView) addUnchecked(r *results.Result) {
	reason, engineDown := cause(r.Reason)
	u := v.byReason[reason]
	if u == nil {
		u = &unchecked{reason: reason, items: map[uint64]bool{}, assets: map[uint64]bool{}, reached: map[uint64]bool{}}
		v.byReason[reason] = u
		v.reasons = append(v.reasons, u)
	}
	u.items[r.ItemID] = true
	u.assets[r.AssetID] = true
	if !engineDown {
		u.reached[r.ItemID] = true
	}
}

// write completes the view with the report's items (results of items the
// report does not list are left out) and writes it.
func (v *summaryView) write(w io.Writer, rep *results.Report, sum Summary) {
	items := map[uint64]*checks.Item{}
	order := map[uint64]int{}
	for i, it := range rep.Items {
		items[it.ID], order[it.ID] = it, i
	}
	for id, f := range v.failed {
		if f.item = items[id]; f.item == nil {
			delete(v.failed, id)
		}
		f.order = order[id]
	}
	for _, m := range []map[uint64]bool{v.manual, v.na, v.passed} {
		for id := range m {
			if items[id] == nil {
				delete(m, id)
			}
		}
	}
	for _, u := range v.reasons {
		u.engine = true
		for id := range u.reached {
			u.engine = u.engine && items[id] != nil && readsEngine(items[id])
		}
	}
	v.writeFailed(w)
	v.writeUnchecked(w, rep)
	v.writeOthers(w)
	summaryTable(w, rep, sum)
}

// engineDown is how a scan says that a check needed the Docker engine and
// had none; engineErr prefixes the engine client's own error.
const (
	engineDown = "docker engine unavailable: "
	engineErr  = "docker engine: "
)

// cause is the reason a check could not be carried out, on one line, less
// what names the check's own source when the cause is that the Docker
// engine is unavailable: every engine item then gives the same cause.
func cause(reason string) (string, bool) {
	reason = strings.Join(strings.Fields(reason), " ")
	i := strings.LastIndex(reason, engineDown)
	if i < 0 {
		return reason, false
	}
	return strings.TrimPrefix(reason[i+len(engineDown):], engineErr), true
}

// readsEngine reports whether the item's facts come from the Docker engine.
func readsEngine(it *checks.Item) bool {
	if it.Source == nil {
		return false
	}
	switch it.Source.Kind {
	case checks.SourceDaemonInfo, checks.SourceDaemonConfig, checks.SourceContainer, checks.SourceContainers,
		checks.SourceImages, checks.SourceNetworks, checks.SourceImage, checks.SourceImageHistory, checks.SourceImageFiles,
		checks.SourceImageUpdates, checks.SourceImageSecrets, checks.SourceContainerProcesses:
		return true
	}
	return false
}

// writeFailed writes three lines per failed item: its risk, number and
// assets; its finding in words; the first sentence of its remediation.
func (v *summaryView) writeFailed(w io.Writer) {
	list := make([]*failedItem, 0, len(v.failed))
	for _, f := range v.failed {
		list = append(list, f)
	}
	sort.Slice(list, func(i, j int) bool {
		ri, rj := riskRank(list[i].item.Risk), riskRank(list[j].item.Risk)
		if ri != rj {
			return ri < rj
		}
		return list[i].order < list[j].order
	})
	if len(list) == 0 {
		fmt.Fprintln(w, "No item failed.")
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "%s (%s)\n\n", plural(len(list), "item", "items")+" failed", riskCounts(list))
	numWidth := 0
	for _, f := range list {
		numWidth = max(numWidth, len([]rune(f.item.Number)))
	}
	indent := "    "
	for _, f := range list {
		it := f.item
		head := fmt.Sprintf("%-*s  on %s: %s", numWidth, it.Number, assetCount(f.assets, it.AssetType.Short()), assetNames(f))
		fmt.Fprintf(w, "%s %s %s\n", v.paint("FAILED", text.FgRed),
			v.paint(fmt.Sprintf("%-8s", it.Risk.Short()), riskColor(it.Risk)), truncate(head, v.opts.Width-16))
		fmt.Fprintf(w, "%s%s\n", indent, truncate(findingWords(it, f.first), v.opts.Width-len(indent)))
		if fix := firstSentence(it.Remediation); fix != "" {
			fmt.Fprintf(w, "%s%s\n", indent, truncate("fix: "+fix, v.opts.Width-len(indent)))
		}
	}
	fmt.Fprintln(w)
}

// writeUnchecked writes one line per reason a check could not be carried
// out, and one per reason an asset could not be scanned.
func (v *summaryView) writeUnchecked(w io.Writer, rep *results.Report) {
	for _, u := range v.reasons {
		noun := "item"
		if u.engine {
			noun = "engine item"
		}
		line := fmt.Sprintf("%s could not be checked on %s: %s", plural(len(u.items), noun, noun+"s"),
			plural(len(u.assets), "asset", "assets"), u.reason)
		fmt.Fprintln(w, v.paint("CHECK FAILED", text.FgYellow)+" "+truncate(line, v.opts.Width-13))
	}
	var order []string
	byReason := map[string]int{}
	suggestion := map[string]string{}
	for _, f := range rep.Failures {
		reason := strings.Join(strings.Fields(f.Reason), " ")
		if _, ok := byReason[reason]; !ok {
			order = append(order, reason)
			suggestion[reason] = f.Suggestion
		}
		byReason[reason]++
	}
	for _, reason := range order {
		line := fmt.Sprintf("%s could not be scanned: %s", plural(byReason[reason], "asset", "assets"), reason)
		if s := suggestion[reason]; s != "" {
			line += " (" + s + ")"
		}
		fmt.Fprintln(w, v.paint("SCAN FAILED", text.FgYellow)+" "+truncate(line, v.opts.Width-12))
	}
	if len(v.reasons)+len(order) > 0 {
		fmt.Fprintln(w)
	}
}

// writeOthers counts the items that passed, need a review or do not apply,
// and says how to list them.
func (v *summaryView) writeOthers(w io.Writer) {
	passed := 0
	for id := range v.passed {
		if v.failed[id] == nil {
			passed++
		}
	}
	var parts []string
	if passed > 0 {
		parts = append(parts, plural(passed, "item", "items")+" passed")
	}
	if len(v.manual) > 0 {
		parts = append(parts, plural(len(v.manual), "item", "items")+" to review by hand (manual)")
	}
	if len(v.na) > 0 {
		parts = append(parts, plural(len(v.na), "item", "items")+" not applicable")
	}
	if len(parts) == 0 {
		return
	}
	fmt.Fprintf(w, "Also %s: list every item with --by item, every finding with its evidence with --details.\n\n", strings.Join(parts, ", "))
}

// findingWords says the failure in words: the item's finding and the
// first failing evidence's text, or else the item's title and the
// evidence's technical form (benchmarks without wording).
func findingWords(it *checks.Item, v checks.Verdict) string {
	finding := it.Finding
	if finding == "" {
		finding = it.Title
	}
	evidence := failingEvidence(v)
	for _, e := range v.Evidence {
		if !e.Passed {
			if e.Text != "" {
				evidence = e.Text
			}
			break
		}
	}
	if evidence == "" {
		return finding
	}
	return finding + ": " + evidence
}

// firstSentence is the first sentence of s, on one line.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '.' || s[i+1] != ' ' {
			continue
		}
		if w := s[:i]; strings.HasSuffix(w, "e.g") || strings.HasSuffix(w, "i.e") {
			continue
		}
		return s[:i+1]
	}
	return s
}

func assetNames(f *failedItem) string {
	s := strings.Join(f.names, ", ")
	if more := f.assets - len(f.names); more > 0 {
		s += fmt.Sprintf(" +%d more", more)
	}
	return s
}

func assetCount(n int, kind string) string {
	if kind == "" {
		kind = "asset"
	}
	return plural(n, kind, kind+"s")
}

func riskCounts(list []*failedItem) string {
	n := map[checks.Risk]int{}
	for _, f := range list {
		n[f.item.Risk]++
	}
	var parts []string
	for _, r := range checks.Risks {
		if n[r] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[r], r.Short()))
		}
	}
	return strings.Join(parts, ", ")
}

func riskRank(r checks.Risk) int {
	for i, x := range checks.Risks {
		if x == r {
			return i
		}
	}
	return len(checks.Risks)
}

func riskColor(r checks.Risk) text.Color {
	switch r {
	case checks.RiskCritical, checks.RiskHigh:
		return text.FgRed
	case checks.RiskMedium:
		return text.FgYellow
	case checks.RiskLow:
		return text.FgCyan
	}
	return text.Reset
}

// paint colours s when the view is in colour; it writes the escape
// sequences itself, whatever go-pretty guessed from the environment.
func (v *summaryView) paint(s string, c text.Color) string {
	if !v.opts.Color || c == text.Reset {
		return s
	}
	return text.Colors{c}.EscapeSeq() + s + text.EscapeReset
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
