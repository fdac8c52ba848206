// Package sqlstore holds what the SQL backends of the store share beside
// their dialects and drivers: the stored codes of statuses and results,
// times as stored, the filter builder, the decoding of stored rows into
// the store's types, and the rules that turn tasks into a summary's check
// information.
package sqlstore

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/results"
	"github.com/baselinehq/baseline/store"
)

// Result and status codes as stored (small integers keep 1.5 million rows
// small and fast).
const (
	StInit     = 0
	StRunning  = 1
	StFinished = 2
	StFailed   = 3

	ResNone          = 0
	ResPassed        = 1
	ResFailed        = 2
	ResManual        = 3
	ResNotApplicable = 4
)

// StatusCodes maps a check status to its stored code.
var StatusCodes = map[checks.CheckStatus]int{checks.CheckInit: StInit, checks.CheckRunning: StRunning, checks.CheckFinished: StFinished, checks.CheckFailed: StFailed}

// ResultCodes maps a check result to its stored code.
var ResultCodes = map[checks.CheckResult]int{"": ResNone, checks.ResultPassed: ResPassed, checks.ResultFailed: ResFailed, checks.ResultManual: ResManual, checks.ResultNotApplicable: ResNotApplicable}

// statusOf and resultOf are StatusCodes and ResultCodes the other way:
// a stored code's status or result at its index (read once per row of a
// page, where ranging over the map cost more than the rest of the row's
// decoding).
var (
	statusOf = invert(StatusCodes)
	resultOf = invert(ResultCodes)
)

// invert lists the keys of codes (from 0) by their codes.
func invert[K comparable](codes map[K]int) []K {
	var out []K
	for k, v := range codes {
		if v >= len(out) {
			out = append(out, make([]K, v+1-len(out))...)
		}
		out[v] = k
	}
	return out
}

// StatusOf is the check status of a stored code.
func StatusOf(code int) checks.CheckStatus {
	if code < 0 || code >= len(statusOf) {
		return checks.CheckInit
	}
	return statusOf[code]
}

// ResultOf is the check result of a stored code.
func ResultOf(code int) checks.CheckResult {
	if code < 0 || code >= len(resultOf) {
		return ""
	}
	return resultOf[code]
}

// Unix is a time as stored: unix milliseconds, 0 for the zero time.
func Unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromUnix reads a stored time.
func FromUnix(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// APITime formats a stored time as the API does ("2006-01-02 15:04:05",
// UTC; empty for none).
func APITime(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.DateTime)
}

// ConvStatus turns a CheckStatus filter value into its stored code.
func ConvStatus(v string) (any, error) {
	c, ok := StatusCodes[checks.CheckStatus(v)]
	if !ok {
		return nil, fmt.Errorf("unknown CheckStatus %q", v)
	}
	return c, nil
}

// ConvTrigger checks a Trigger filter value.
func ConvTrigger(v string) (any, error) {
	if !store.Trigger(v).Valid() {
		return nil, fmt.Errorf("unknown Trigger %q (want one of %v)", v, store.Triggers)
	}
	return v, nil
}

// ConvResult turns a CheckResult filter value into its stored code.
func ConvResult(v string) (any, error) {
	c, ok := ResultCodes[checks.CheckResult(v)]
	if !ok || v == "" {
		return nil, fmt.Errorf("unknown CheckResult %q", v)
	}
	return c, nil
}

// Scanner reads one row's columns (a row of database/sql or of pgx).
type Scanner interface {
	Scan(dest ...any) error
}

// TaskColumns are the columns ScanTask reads, from the tasks table.
const TaskColumns = "id, trigger, scope, status, progress, started_at, finished_at, error, result_count"

// ScanTask reads a task (TaskColumns).
func ScanTask(sc Scanner) (store.Task, error) {
	var t store.Task
	var scope, trigger string
	var status int
	var started, finished int64
	if err := sc.Scan(&t.ID, &trigger, &scope, &status, &t.Progress, &started, &finished, &t.Error, &t.ResultCount); err != nil {
		return t, err
	}
	t.Trigger, t.Status = store.Trigger(trigger), StatusOf(status)
	_ = json.Unmarshal([]byte(scope), &t.Scope)
	t.StartedAt, t.FinishedAt = FromUnix(started), FromUnix(finished)
	if finished > 0 {
		t.CostSeconds = float64(finished-started) / 1000
	}
	return t, nil
}

// ScanAsset reads an asset with its roll-up: details (JSON), host IP,
// passed, failed, ignored, manual, not applicable and check-failed
// counts, last check, scan failed (boolean), result.
func ScanAsset(sc Scanner) (store.AssetInfo, error) {
	var a store.AssetInfo
	var details, result string
	var last int64
	if err := sc.Scan(&details, &a.HostIP, &a.PassedPolicyItemCount, &a.FailedPolicyItemCount, &a.IgnoredCount, &a.ManualCount,
		&a.NotApplicableCount, &a.CheckFailedCount, &last, &a.ScanFailed, &result); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(details), &a.Asset); err != nil {
		return a, err
	}
	finishAsset(&a, result, last)
	return a, nil
}

// finishAsset sets an asset's outcome from its stored result and last
// check time.
func finishAsset(a *store.AssetInfo, result string, last int64) {
	a.CheckResult = checks.CheckResult(result)
	a.LastCheckTime = APITime(last)
	a.CheckStatus = checks.CheckFinished
	if a.ScanFailed {
		a.CheckStatus = checks.CheckFailed
	}
}

// ScanListedAsset reads what listedAssetSelect selects. An asset's check
// result and whether its scan failed are those that ScanFailedExpr and
// AssetResultExpr give; an image's or a host's details are left empty,
// for listedDetails to fill.
func ScanListedAsset(sc Scanner) (store.AssetInfo, error) {
	var a store.AssetInfo
	var typ string
	var last int64
	var failure bool
	if err := sc.Scan(&a.ID, &typ, &a.Name, &a.Ref, &a.NodeName, &a.HostIP, &a.PassedPolicyItemCount, &a.FailedPolicyItemCount,
		&a.IgnoredCount, &a.ManualCount, &a.NotApplicableCount, &a.CheckFailedCount, &last, &failure); err != nil {
		return a, err
	}
	a.Type = assets.Type(typ)
	switch a.Type {
	case assets.Image:
		a.Image = &assets.ImageDetails{}
	case assets.Host:
		a.Host = &assets.HostDetails{}
	}
	a.ScanFailed = failure || a.CheckFailedCount > 0
	result := checks.ResultPassed
	switch {
	case a.ScanFailed:
		result = ""
	case a.FailedPolicyItemCount > 0:
		result = checks.ResultFailed
	}
	finishAsset(&a, string(result), last)
	return a, nil
}

// ScanRow reads a result row: item id, number, title, category, standard,
// risk; asset id, name, type, node; status, result, ignored (boolean),
// reason, evidence (JSON, empty for none), check time, task, remediation.
func ScanRow(sc Scanner) (results.Row, error) {
	var r results.Row
	var risk string
	var c rowColumns
	if err := sc.Scan(&r.ItemID, &r.Number, &r.Title, &r.Category, &r.StandardID, &risk, &r.AssetID, &r.AssetName, &c.assetType, &r.NodeName,
		&c.status, &c.result, &r.Ignored, &r.Reason, &c.evidence, &c.checked, &r.TaskID, &r.Remediation); err != nil {
		return r, err
	}
	r.Risk = checks.Risk(risk)
	c.fill(&r)
	return r, nil
}

// ScanItemRow reads a result row of the item that item carries (its id,
// number, title, category, standard, risk and remediation, read once for
// a page of its results): ScanRow's columns without the item's.
func ScanItemRow(sc Scanner, item results.Row) (results.Row, error) {
	r := item
	var c rowColumns
	if err := sc.Scan(&r.AssetID, &r.AssetName, &c.assetType, &r.NodeName,
		&c.status, &c.result, &r.Ignored, &r.Reason, &c.evidence, &c.checked, &r.TaskID); err != nil {
		return r, err
	}
	c.fill(&r)
	return r, nil
}

// rowColumns are the columns of a result row stored in another form than
// results.Row's.
type rowColumns struct {
	assetType, evidence string
	status, result      int
	checked             int64
}

// fill sets the row's fields that the columns give.
func (c *rowColumns) fill(r *results.Row) {
	r.AssetType = assets.Type(c.assetType)
	r.Status, r.Result = StatusOf(c.status), ResultOf(c.result)
	r.CheckedAt = APITime(c.checked)
	r.Evidence = ParseEvidence(c.evidence)
}

// ScanRowTotal reads a result row (ScanRow) followed by a count, into
// total.
func ScanRowTotal(sc Scanner, total *int) (results.Row, error) {
	return ScanRow(withTotal{sc, total})
}

// withTotal scans a row's columns and, last, a total.
type withTotal struct {
	sc    Scanner
	total *int
}

func (w withTotal) Scan(dest ...any) error { return w.sc.Scan(append(dest, w.total)...) }

// ScanItem reads an item with its roll-up: id, number, name, category,
// standard id and name, risk, asset type, automated and scored (boolean),
// passed, failed, ignored, manual, not applicable and check-failed
// counts, last check, whitelisted (boolean), description, procedure,
// remediation.
func ScanItem(sc Scanner) (store.ItemSummary, error) {
	var it store.ItemSummary
	var risk, at string
	var last int64
	if err := sc.Scan(&it.ID, &it.Number, &it.Name, &it.Category, &it.StandardID, &it.StandardName, &risk, &at, &it.Automated, &it.Scored,
		&it.PassedAssetCount, &it.FailedAssetCount, &it.IgnoredAssetCount, &it.ManualAssetCount, &it.NotApplicableCount, &it.CheckFailedCount,
		&last, &it.Whitelisted, &it.Description, &it.Procedure, &it.Remediation); err != nil {
		return it, err
	}
	it.Risk, it.AssetType = checks.Risk(risk), assets.Type(at)
	it.LastCheckTime = APITime(last)
	switch {
	case it.FailedAssetCount > 0:
		it.CheckResult = checks.ResultFailed
	case it.PassedAssetCount > 0:
		it.CheckResult = checks.ResultPassed
	}
	return it, nil
}

// ScanWhitelist reads an ignore-list entry without its assets: id, item
// id, item name, standard id and name, asset type, all assets (boolean),
// reason, author, created, updated, expiry, lapsed (boolean), asset count.
func ScanWhitelist(sc Scanner) (store.WhitelistEntry, error) {
	var e store.WhitelistEntry
	var at string
	var created, updated, expires int64
	if err := sc.Scan(&e.ID, &e.ItemID, &e.ItemName, &e.StandardID, &e.StandardName, &at, &e.AllAssets, &e.Reason, &e.CreatedBy,
		&created, &updated, &expires, &e.Lapsed, &e.AssetCount); err != nil {
		return e, err
	}
	e.AssetType = assets.Type(at)
	e.InsertTime, e.UpdateTime, e.ExpiresAt = APITime(created), APITime(updated), APITime(expires)
	return e, nil
}

// ScanFailedAsset reads a scan-failed asset: id, type, name, node,
// reason, suggestion, check time, task.
func ScanFailedAsset(sc Scanner) (store.ScanFailedAsset, error) {
	var f store.ScanFailedAsset
	var at string
	var ct int64
	if err := sc.Scan(&f.AssetID, &at, &f.AssetName, &f.NodeName, &f.Reason, &f.Suggestion, &ct, &f.TaskID); err != nil {
		return f, err
	}
	f.AssetType, f.CheckTime = assets.Type(at), APITime(ct)
	return f, nil
}

// ApplyTasks fills a summary's check status, progress, cost and last
// check time from the newest tasks (newest first) that cover its type.
func ApplyTasks(sum *store.AssetSummary, tasks []store.Task) {
	for _, t := range tasks {
		if !CoversType(t.Scope, sum.AssetType) {
			continue
		}
		if t.Status == checks.CheckRunning {
			if sum.CheckStatus == checks.CheckInit {
				sum.CheckStatus, sum.CheckProgress = checks.CheckRunning, float64(t.Progress)
			}
			continue
		}
		if sum.CheckStatus == checks.CheckInit {
			sum.CheckStatus = t.Status
		}
		if t.Status == checks.CheckFinished {
			sum.IsCustomerFirstCheck = false
			sum.CheckCostTime = math.Round(t.CostSeconds*1000) / 1000
			sum.LastCheckTime = t.FinishedAt.Format("2006-01-02 15:04:05")
			return
		}
	}
}

// CoversType reports whether a task's scope covers an asset type.
func CoversType(sc store.Scope, t assets.Type) bool {
	if len(sc.Types) == 0 {
		return true
	}
	for _, x := range sc.Types {
		if x == t {
			return true
		}
	}
	return false
}

// Trend turns the newest finished tasks (newest first) into at most n
// trend points for an asset type, oldest first; tally counts one task's
// assets of the type.
func Trend(tasks []store.Task, t assets.Type, n int, tally func(taskID int64) (results.Tally, error)) ([]store.TrendPoint, error) {
	var out []store.TrendPoint
	for _, task := range tasks {
		if len(out) == n {
			break
		}
		if !CoversType(task.Scope, t) {
			continue
		}
		p := store.TrendPoint{TaskID: task.ID, FinishedAt: task.FinishedAt, AssetType: t}
		c, err := tally(task.ID)
		if err != nil {
			return nil, err
		}
		p.AssetCount, p.FailedAssets = c.Assets, c.Assets-c.PassedAssets
		if p.AssetCount == 0 {
			continue
		}
		p.PassRate = results.Percent(t, c)
		out = append(out, p)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Column maps a filter name to an SQL expression. Conv turns a value into
// its stored form (and makes the match exact).
type Column struct {
	Expr string
	Conv func(string) (any, error)
	// Within, when set, is a condition with one %s that each value's
	// comparison is placed in (an EXISTS over related rows).
	Within string
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Where builds " WHERE ..." from fixed conditions and the query's filters,
// with ? placeholders: filters are ANDed, the values of one filter ORed,
// fuzzy (SQLite's LIKE, which ignores ASCII case) unless exact.
func Where(base []string, args []any, filters []store.Filter, cols map[string]Column) (string, []any, error) {
	return Dialect{}.Where(base, args, filters, cols)
}

// Where builds " WHERE ..." as the package's Where does, matching fuzzy
// filters with the dialect's Like.
func (d Dialect) Where(base []string, args []any, filters []store.Filter, cols map[string]Column) (string, []any, error) {
	like := d.Like
	if like == "" {
		like = "LIKE"
	}
	conds := append([]string(nil), base...)
	for _, f := range filters {
		col, ok := cols[f.Name]
		if !ok {
			names := make([]string, 0, len(cols))
			for n := range cols {
				names = append(names, n)
			}
			sort.Strings(names)
			return "", nil, fmt.Errorf("%w: Filters.Name %q is not one of %s", store.ErrInvalidParameter, f.Name, strings.Join(names, ", "))
		}
		if len(f.Values) == 0 {
			return "", nil, fmt.Errorf("%w: Filters %q has no Values", store.ErrInvalidParameter, f.Name)
		}
		var ors []string
		for _, v := range f.Values {
			switch {
			case col.Conv != nil:
				cv, err := col.Conv(v)
				if err != nil {
					return "", nil, fmt.Errorf("%w: Filters %q: %v", store.ErrInvalidParameter, f.Name, err)
				}
				ors = append(ors, col.Expr+" = ?")
				args = append(args, cv)
			case f.ExactMatch:
				ors = append(ors, col.Expr+" = ?")
				args = append(args, v)
			default:
				ors = append(ors, col.Expr+" "+like+` ? ESCAPE '\'`)
				args = append(args, "%"+likeEscaper.Replace(v)+"%")
			}
		}
		if col.Within != "" {
			for i := range ors {
				ors[i] = fmt.Sprintf(col.Within, ors[i])
			}
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}
