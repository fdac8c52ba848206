package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// card is one asset type's roll-up with its headline rate (the spec's
// formula: results.Rate) and its trend.
type card struct {
	Type          assets.Type
	Sum           store.AssetSummary
	Passed, Total int
	Rate          float64
	Trend         []trendWindow
	Period        *store.PeriodTask
}

// trendWindow is the pass rate over the tasks finished in the last Days.
type trendWindow struct {
	Days        int
	Tasks       int
	First, Last float64
	Mean        float64
	Points      string // SVG polyline points, 0-100 by 0-30
}

func newCard(s store.AssetSummary) card {
	passed, total := results.Rate(s.AssetType, results.Tally{PassedAssets: s.PassedAssetCount, Assets: s.AssetCount,
		PassedItems: s.PassedPolicyItemCount, FailedItems: s.FailedPolicyItemCount})
	return card{Type: s.AssetType, Sum: s, Passed: passed, Total: total, Rate: results.PercentOf(passed, total)}
}

type overviewData struct {
	Cards []card
	// TrendReady: the trend of every finished task is known (it is
	// computed in the background).
	TrendReady bool
	Failed     []store.ScanFailedAsset
	FailedIDs  []uint64
	FailedMore int
	Top        []store.ItemSummary
}

func (overviewData) title() string { return "Overview" }

func (c *Console) overview(w http.ResponseWriter, r *http.Request, o *session) {
	ctx := r.Context()
	sums, err := c.store.Summary(ctx, assets.Types)
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	var d overviewData
	c.trends.kick()
	for _, s := range sums {
		cd := newCard(s)
		cd.Trend, d.TrendReady = c.trends.windows(s.AssetType)
		d.Cards = append(d.Cards, cd)
	}
	failed, total, err := c.store.ScanFailed(ctx, store.Query{Limit: store.MaxLimit})
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d.Failed, d.FailedMore = failed, total-len(failed)
	for _, f := range failed {
		d.FailedIDs = append(d.FailedIDs, f.AssetID)
	}
	if d.Top, err = c.topFailing(ctx, 10); err != nil {
		c.readErr(w, r, o, err)
		return
	}
	c.render(w, r, o, http.StatusOK, "overview", d)
}

// topFailing lists the n items that fail on the most assets.
func (c *Console) topFailing(ctx context.Context, n int) ([]store.ItemSummary, error) {
	var all []store.ItemSummary
	q := store.Query{Limit: store.MaxLimit, Filters: []store.Filter{{Name: "CheckResult", Values: []string{string(checks.ResultFailed)}, ExactMatch: true}}}
	for {
		page, total, err := c.store.Items(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		q.Offset += len(page)
		if len(page) == 0 || q.Offset >= total {
			break
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].FailedAssetCount > all[j].FailedAssetCount })
	return all[:min(n, len(all))], nil
}

// typeParam is the page's asset type, from its path or its query.
func typeParam(v string) (assets.Type, error) {
	t, err := assets.ParseType(v)
	if err != nil {
		return "", fmt.Errorf("%w: type: %v", store.ErrInvalidParameter, err)
	}
	return t, nil
}

// itemColumns are the item table's optional columns, in order.
var itemColumns = []string{"id", "type", "standard", "risk", "result", "checked"}

// itemTable is the item table of a type page: its filters, its columns,
// its rows and its paging, every one of them in the URL.
type itemTable struct {
	Q, Risk, Category, Result string
	Cols                      map[string]bool
	ColList                   []string
	Categories                []string
	Risks                     []checks.Risk
	Rows                      []store.ItemSummary
	Pager                     pager
}

var benchNumber = regexp.MustCompile(`^[A-Za-z]?[0-9]+(\.[0-9]+)+$`)

// itemFilters reads the item table's filters from the URL.
func itemFilters(t assets.Type, q url.Values, tab *itemTable) ([]store.Filter, error) {
	f := []store.Filter{{Name: "AssetType", Values: []string{string(t)}, ExactMatch: true}}
	tab.Q, tab.Risk, tab.Category, tab.Result = strings.TrimSpace(q.Get("q")), q.Get("risk"), q.Get("category"), q.Get("result")
	switch {
	case tab.Q == "":
	case strings.Trim(tab.Q, "0123456789") == "":
		f = append(f, store.Filter{Name: "CustomerPolicyItemId", Values: []string{tab.Q}, ExactMatch: true})
	case benchNumber.MatchString(tab.Q):
		f = append(f, store.Filter{Name: "BasePolicyItemId", Values: []string{tab.Q}, ExactMatch: true})
	default:
		f = append(f, store.Filter{Name: "Name", Values: []string{tab.Q}})
	}
	if tab.Risk != "" {
		if !slices.Contains(checks.Risks, checks.Risk(tab.Risk)) {
			return nil, fmt.Errorf("%w: risk: %q is not a risk level", store.ErrInvalidParameter, tab.Risk)
		}
		f = append(f, store.Filter{Name: "RiskLevel", Values: []string{tab.Risk}, ExactMatch: true})
	}
	if tab.Category != "" {
		f = append(f, store.Filter{Name: "ItemType", Values: []string{tab.Category}, ExactMatch: true})
	}
	switch tab.Result {
	case "":
	case string(checks.ResultFailed), string(checks.ResultPassed):
		f = append(f, store.Filter{Name: "CheckResult", Values: []string{tab.Result}, ExactMatch: true})
	default:
		return nil, fmt.Errorf("%w: result: %q is not RESULT_FAILED or RESULT_PASSED", store.ErrInvalidParameter, tab.Result)
	}
	tab.Cols = map[string]bool{}
	for _, col := range q["col"] {
		if slices.Contains(itemColumns, col) {
			tab.Cols[col] = true
		}
	}
	if len(tab.Cols) == 0 { // none chosen: every column
		for _, col := range itemColumns {
			tab.Cols[col] = true
		}
	}
	return f, nil
}

type typeData struct {
	Card  card
	Table itemTable
	Back  string
}

func (d typeData) title() string { return typeLabels[d.Card.Type] }

func (c *Console) typePage(w http.ResponseWriter, r *http.Request, o *session) {
	ctx := r.Context()
	t, err := typeParam(r.PathValue("type"))
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d := typeData{Card: card{Type: t}, Back: r.URL.RequestURI()}
	sums, err := c.store.Summary(ctx, []assets.Type{t})
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	if len(sums) > 0 {
		d.Card = newCard(sums[0])
	}
	periods, err := c.store.PeriodTasks(ctx)
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	for i := range periods {
		if periods[i].AssetType == t {
			d.Card.Period = &periods[i]
		}
	}
	tab := &d.Table
	tab.ColList, tab.Risks = itemColumns, checks.Risks
	tab.Categories = c.categories(t)
	filters, err := itemFilters(t, r.URL.Query(), tab)
	if err == nil {
		tab.Pager, err = newPager(r.URL.Query(), 50)
	}
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	rows, total, err := c.store.Items(ctx, store.Query{Offset: tab.Pager.offset(), Limit: tab.Pager.Per, Filters: filters})
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	tab.Rows = rows
	tab.Pager.done(r.URL, total, len(rows))
	c.render(w, r, o, http.StatusOK, "type", d)
}

// categories lists the item types (categories) of an asset type's items.
func (c *Console) categories(t assets.Type) []string {
	seen := map[string]bool{}
	var out []string
	for _, it := range c.cat.Items() {
		if it.AssetType == t && it.Category != "" && !seen[it.Category] {
			seen[it.Category] = true
			out = append(out, it.Category)
		}
	}
	sort.Strings(out)
	return out
}

type assetListData struct {
	Type   assets.Type
	Q      string
	Result string
	Rows   []store.AssetInfo
	Pager  pager
}

func (d assetListData) title() string { return typeLabels[d.Type] + ": assets" }

func (c *Console) assetList(w http.ResponseWriter, r *http.Request, o *session) {
	q := r.URL.Query()
	t, err := typeParam(q.Get("type"))
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d := assetListData{Type: t, Q: strings.TrimSpace(q.Get("q")), Result: q.Get("result")}
	filters := []store.Filter{{Name: "AssetType", Values: []string{string(t)}, ExactMatch: true}}
	if d.Q != "" {
		filters = append(filters, store.Filter{Name: "AssetName", Values: []string{d.Q}})
	}
	switch d.Result {
	case "":
	case string(checks.ResultFailed), string(checks.ResultPassed):
		filters = append(filters, store.Filter{Name: "CheckResult", Values: []string{d.Result}, ExactMatch: true})
	default:
		c.readErr(w, r, o, fmt.Errorf("%w: result: %q is not RESULT_FAILED or RESULT_PASSED", store.ErrInvalidParameter, d.Result))
		return
	}
	if d.Pager, err = newPager(q, 50); err != nil {
		c.readErr(w, r, o, err)
		return
	}
	rows, total, err := c.store.Assets(r.Context(), store.Query{Offset: d.Pager.offset(), Limit: d.Pager.Per, Filters: filters})
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d.Rows = rows
	d.Pager.done(r.URL, total, len(rows))
	c.render(w, r, o, http.StatusOK, "assets", d)
}

// resultFilter reads the result a list of results shows: failed (the
// default), all, or one CheckResult.
func resultFilter(v string) (string, []store.Filter, error) {
	switch v {
	case "", "failed":
		return "failed", []store.Filter{{Name: "CheckResult", Values: []string{string(checks.ResultFailed)}, ExactMatch: true}}, nil
	case "all":
		return v, nil, nil
	}
	if strings.HasPrefix(v, "RESULT_") {
		return v, []store.Filter{{Name: "CheckResult", Values: []string{v}, ExactMatch: true}}, nil
	}
	return "", nil, fmt.Errorf("%w: result: %q is not failed, all or a RESULT_*", store.ErrInvalidParameter, v)
}

func idParam(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err == nil {
		err = store.CheckIDs("id", id)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: id %q is not an id", store.ErrInvalidParameter, r.PathValue("id"))
	}
	return id, nil
}

type assetData struct {
	Asset  store.AssetInfo
	Show   string
	Q      string
	Rows   []results.Row
	Pager  pager
	Failed *store.ScanFailedAsset
	Back   string
}

func (d assetData) title() string { return d.Asset.Name }

func (c *Console) assetPage(w http.ResponseWriter, r *http.Request, o *session) {
	ctx := r.Context()
	id, err := idParam(r)
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d := assetData{Back: r.URL.RequestURI(), Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	var filters []store.Filter
	if d.Show, filters, err = resultFilter(r.URL.Query().Get("result")); err == nil {
		d.Pager, err = newPager(r.URL.Query(), 50)
	}
	switch {
	case d.Q == "":
	case strings.Trim(d.Q, "0123456789") == "":
		filters = append(filters, store.Filter{Name: "CustomerPolicyItemId", Values: []string{d.Q}, ExactMatch: true})
	default:
		filters = append(filters, store.Filter{Name: "Name", Values: []string{d.Q}})
	}
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	if d.Asset, err = c.store.Asset(ctx, id); err != nil {
		c.readErr(w, r, o, err)
		return
	}
	rows, total, err := c.store.AssetItems(ctx, id, store.Query{Offset: d.Pager.offset(), Limit: d.Pager.Per, Filters: filters})
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d.Rows = rows
	d.Pager.done(r.URL, total, len(rows))
	if d.Asset.ScanFailed {
		if failures, err := c.store.TaskFailures(ctx, 0); err == nil {
			for i := range failures {
				if failures[i].AssetID == id {
					d.Failed = &failures[i]
				}
			}
		}
	}
	c.render(w, r, o, http.StatusOK, "asset", d)
}

type itemData struct {
	Item  store.ItemSummary
	Show  string
	Node  string
	Rows  []results.Row
	Pager pager
	Back  string
}

func (d itemData) title() string { return d.Item.Number + " " + d.Item.Name }

func (c *Console) itemPage(w http.ResponseWriter, r *http.Request, o *session) {
	ctx := r.Context()
	id, err := idParam(r)
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d := itemData{Back: r.URL.RequestURI(), Node: strings.TrimSpace(r.URL.Query().Get("node"))}
	var filters []store.Filter
	if d.Show, filters, err = resultFilter(r.URL.Query().Get("result")); err == nil {
		d.Pager, err = newPager(r.URL.Query(), 50)
	}
	if d.Node != "" {
		filters = append(filters, store.Filter{Name: "NodeName", Values: []string{d.Node}})
	}
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	if d.Item, err = c.store.Item(ctx, id); err != nil {
		c.readErr(w, r, o, err)
		return
	}
	rows, total, err := c.store.ItemAssets(ctx, id, store.Query{Offset: d.Pager.offset(), Limit: d.Pager.Per, Filters: filters})
	if err != nil {
		c.readErr(w, r, o, err)
		return
	}
	d.Rows = rows
	d.Pager.done(r.URL, total, len(rows))
	c.render(w, r, o, http.StatusOK, "item", d)
}
